package counttest_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/count/counttest"
)

// TestFaultLostAnswer loses the answers of a create and a PUT: each was
// applied, the create is found by its email, as a sink resolves a lost
// create, and retrying it is a 409; reads never lose their answer.
func TestFaultLostAnswer(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := oneShot(t, s)
	id := c.create(company("Put", "put@example.com"))["id"].(string)

	s.SetFaults(counttest.Faults{Seed: 4, LostAnswerRate: 1})
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/customers", company("Lost", "lost@example.com")},
		{"PUT", "/customers/" + id, emutest.With(company("Put", "put@example.com"), "website", "applied.example")},
	} {
		if a, err := c.send(req.method, req.path, req.body); err == nil {
			t.Fatalf("%s %s: a lost answer arrived: %v", req.method, req.path, a)
		}
	}
	if _, err := c.send("GET", "/customers/"+id, nil); err != nil {
		t.Fatalf("read with lost answers on: %v", err)
	}
	s.SetFaults(counttest.Faults{})

	if found := c.find("LOST@example.com"); found == nil || found["customer"] != "Lost" {
		t.Fatalf("the create whose answer was lost: %v", found)
	}
	if a := c.do("POST", "/customers", company("Lost", "lost@example.com")); a.Status != 409 {
		t.Errorf("retried create: %v", a)
	}
	if got := c.get(id)["website"]; got != "applied.example" {
		t.Errorf("the PUT whose answer was lost: website %v", got)
	}
	st := s.Stats().Requests
	for _, r := range []string{"POST /customers", "PUT /customers/{uuid}"} {
		if st[r]["lost"] != 1 {
			t.Errorf("%s: lost counted %d", r, st[r]["lost"])
		}
	}
}

// TestFaultErrors injects 5xx answers: they are in the error envelope,
// 503 carries Retry-After, a write answered 5xx is not applied, and the
// stats count what the client saw.
func TestFaultErrors(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{RateLimit: 1000})
	c := oneShot(t, s)
	id := c.create(company("There", "there@example.com"))["id"].(string)
	s.SetFaults(counttest.Faults{Seed: 1, ErrorRate: 0.5})
	statuses := map[int]int64{}
	for range 80 {
		a := c.do("GET", "/customers/"+id, nil)
		statuses[a.Status]++
		if a.Status >= 500 && (a.code() != "internal_error" || (a.Status == 503) != (a.Header.Get("Retry-After") == "1")) {
			t.Errorf("injected error: %v %v", a, a.Header)
		}
	}
	if statuses[200] == 0 || statuses[500] == 0 || statuses[502] == 0 || statuses[503] == 0 {
		t.Errorf("statuses %v: want 200 and each of 500, 502, 503", statuses)
	}
	s.SetFaults(counttest.Faults{Seed: 1, ErrorRate: 1})
	if a := c.do("POST", "/customers", company("Failed", "failed@example.com")); a.Status < 500 {
		t.Fatalf("create with error rate 1: %v", a)
	}
	if a := c.do("PUT", "/customers/"+id, emutest.With(company("There", "there@example.com"), "website", "failed.example")); a.Status < 500 {
		t.Fatalf("PUT with error rate 1: %v", a)
	}
	s.SetFaults(counttest.Faults{})
	if got := c.find("failed@example.com"); got != nil {
		t.Errorf("a create answered 5xx was applied: %v", got)
	}
	if got := c.get(id)["website"]; got != nil {
		t.Errorf("a PUT answered 5xx was applied: website %v", got)
	}
	st := s.Stats().Requests["GET /customers/{uuid}"]
	for status, n := range statuses {
		if st[strconv.Itoa(status)] != n+boolInt(status == 200) { // the final get
			t.Errorf("stats %v, client saw %v", st, statuses)
			break
		}
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestFaultDrop drops connections before anything is applied; the
// /_sandbox/stats endpoint is never faulted.
func TestFaultDrop(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := oneShot(t, s)
	s.SetFaults(counttest.Faults{Seed: 3, DropRate: 1})
	if a, err := c.send("POST", "/customers", company("Dropped", "dropped@example.com")); err == nil {
		t.Fatalf("a dropped request got an answer: %v", a)
	}
	st := getJSON(t, sandboxURL(s)+"/_sandbox/stats")
	post, _ := st["requests"].(map[string]any)["POST /customers"].(map[string]any)
	if post["dropped"] != float64(1) {
		t.Errorf("stats: %v", st)
	}
	s.SetFaults(counttest.Faults{})
	if got := c.find("dropped@example.com"); got != nil {
		t.Errorf("a dropped create was applied: %v", got)
	}
}

// TestFaultsAreDeterministic replays a seed: the same requests get the
// same faults, another seed other faults.
func TestFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	emutest.CheckReplay(t, "POST /customers", "GET /customers", func(f emulator.Faults) emutest.Replayed {
		s := start(t, counttest.Options{RateLimit: 1000, Faults: f})
		c := oneShot(t, s)
		kit := func(a *answer, err error) (*emutest.Answer, error) {
			if err != nil {
				return nil, err
			}
			return a.Answer, nil
		}
		return emutest.Replayed{
			Create: func(i int) (*emutest.Answer, error) {
				return kit(c.send("POST", "/customers", company("D", fmt.Sprintf("d%d@example.com", i))))
			},
			List:     func() (*emutest.Answer, error) { return kit(c.send("GET", "/customers?limit=100", nil)) },
			Requests: func() map[string]map[string]int64 { return s.Stats().Requests },
		}
	})
}

// TestFaultsTakeRateLimit checks that a signed request given an injected
// 5xx takes its share of the minute like any other, and that past the
// limit the 429 comes first.
func TestFaultsTakeRateLimit(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC))
	s := start(t, counttest.Options{Now: clk.now, RateLimit: 2, Faults: counttest.Faults{Seed: 1, ErrorRate: 1}})
	c := oneShot(t, s).with(func(c *client) { c.now = clk.now })
	for i := range 2 {
		if a := c.do("PUT", "/customers/00000000-0000-4000-8000-000000000000", company("F", "f@example.com")); a.Status < 500 {
			t.Errorf("request %d: %v", i, a)
		}
	}
	if a := c.do("GET", "/customers", nil); a.Status != 429 || a.Header.Get("Retry-After") != "50" {
		t.Errorf("third request: %v", a)
	}
	if got := s.Stats().ByKey["default"]; got != 3 {
		t.Errorf("requests counted for the client: %d, want 3", got)
	}
}
