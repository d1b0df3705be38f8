package revnuetest_test

import (
	"fmt"
	"strconv"
	"testing"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// TestFaultLostAnswer loses the answers of a create and a PUT: both were
// applied (the create is in the list, the PUT replaced the record), reads
// are never lost, and the stats count each loss under its route.
func TestFaultLostAnswer(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := oneShot(t, s)
	id := idOf(c.create(s.FullCustomer("Replaced", 0)))

	s.SetFaults(revnuetest.Faults{Seed: 4, LostAnswerRate: 1})
	if a, err := c.send("POST", "/customer/", minimal("Lost Create")); err == nil {
		t.Fatalf("a lost answer arrived: %v", a)
	}
	if a, err := c.send("PUT", fmt.Sprintf("/customer/%d", id), minimal("Replaced")); err == nil {
		t.Fatalf("a lost answer arrived: %v", a)
	}
	if _, err := c.send("GET", fmt.Sprintf("/customer/%d/", id), nil); err != nil {
		t.Fatalf("a read with lost answers on: %v", err)
	}
	s.SetFaults(revnuetest.Faults{})

	all := c.all(1)
	if len(all) != 2 || all[1]["name"] != "Lost Create" {
		t.Fatalf("the create whose answer was lost: %v", all)
	}
	if got := c.get(id); got["fax"] != nil || got["template"] != nil || got["nda_signed"] != false {
		t.Errorf("the PUT whose answer was lost was not applied: %v", got)
	}
	if a := c.do("POST", "/customer/", minimal("lost create")); a.Status != 400 || a.fieldError("name") == "" {
		t.Errorf("retrying the lost create: %v", a)
	}
	st := s.Stats().Requests
	if st["POST /customer/"]["lost"] != 1 || st["PUT /customer/{id}"]["lost"] != 1 || st["GET /customer/{id}/"]["lost"] != 0 {
		t.Errorf("stats %v", st)
	}
}

// TestFaultErrors injects 5xx answers: {"detail"} like every error, 503
// with Retry-After: 1, writes not applied, and the stats agree with what
// the client saw.
func TestFaultErrors(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := oneShot(t, s)
	id := idOf(c.create(s.FullCustomer("Stays", 0)))
	s.SetFaults(revnuetest.Faults{Seed: 1, ErrorRate: 0.5})
	seen := map[int]int64{}
	for range 80 {
		a := c.do("GET", "/customer/?company=1", nil)
		seen[a.Status]++
		if a.Status >= 500 && (a.Body["detail"] != "A server error occurred." || (a.Status == 503) != (a.Header.Get("Retry-After") == "1")) {
			t.Errorf("injected error: %v %v", a, a.Header)
		}
	}
	if seen[200] == 0 || seen[500] == 0 || seen[502] == 0 || seen[503] == 0 {
		t.Errorf("statuses %v: want 200 and each of 500, 502, 503", seen)
	}
	s.SetFaults(revnuetest.Faults{Seed: 1, ErrorRate: 1})
	if a := c.do("POST", "/customer/", minimal("Failed")); a.Status < 500 {
		t.Fatalf("create with error rate 1: %v", a)
	}
	if a := c.do("PUT", fmt.Sprintf("/customer/%d", id), minimal("Stays")); a.Status < 500 {
		t.Fatalf("PUT with error rate 1: %v", a)
	}
	s.SetFaults(revnuetest.Faults{})
	if got := c.get(id); got["fax"] == nil || s.Stats().Customers != 1 {
		t.Errorf("a write answered 5xx was applied: %v", got)
	}
	st := s.Stats().Requests["GET /customer/"]
	for status, n := range seen {
		if st[strconv.Itoa(status)] != n {
			t.Errorf("stats %v, client saw %v", st, seen)
			break
		}
	}
}

// TestFaultDrop drops connections before anything is applied; the stats
// endpoint is never faulted.
func TestFaultDrop(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := oneShot(t, s)
	s.SetFaults(revnuetest.Faults{Seed: 3, DropRate: 1})
	if a, err := c.send("POST", "/customer/", minimal("Dropped")); err == nil {
		t.Fatalf("a dropped request got an answer: %v", a)
	}
	stats := c.sandbox(s)
	a := stats.ok(200, "GET", "/_sandbox/stats", nil)
	req, _ := a.Body["requests"].(map[string]any)
	if post, _ := req["POST /customer/"].(map[string]any); post["dropped"] != float64(1) {
		t.Errorf("stats: %s", a.Raw)
	}
	s.SetFaults(revnuetest.Faults{})
	if s.Stats().Customers != 0 {
		t.Error("a dropped create was applied")
	}
}

// TestFaultsAreDeterministic replays a seed: the same requests get the
// same faults, another seed other faults.
func TestFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	emutest.CheckReplay(t, "POST /customer/", "GET /customer/", func(f emulator.Faults) emutest.Replayed {
		s := start(t, revnuetest.Options{Faults: f})
		c := oneShot(t, s)
		return emutest.Replayed{
			Create: func(i int) (*emutest.Answer, error) {
				return c.Send("POST", "/customer/", minimal(fmt.Sprintf("Seeded %d", i)))
			},
			List:     func() (*emutest.Answer, error) { return c.Send("GET", "/customer/?company=1", nil) },
			Requests: func() map[string]map[string]int64 { return s.Stats().Requests },
		}
	})
}

// TestFaultsTakeRateLimit checks that a request given an injected 5xx
// takes its share of the account's limit, and that past the limit the
// 429 comes first.
func TestFaultsTakeRateLimit(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{RateLimit: 2, Faults: revnuetest.Faults{Seed: 1, ErrorRate: 1}})
	c := oneShot(t, s)
	for i := range 2 {
		if a := c.do("GET", "/customer/?company=1", nil); a.Status < 500 {
			t.Errorf("request %d: %v", i, a)
		}
	}
	if a := c.do("GET", "/customer/?company=1", nil); a.Status != 429 || a.Header.Get("Retry-After") == "" {
		t.Errorf("third request: %v", a)
	}
}
