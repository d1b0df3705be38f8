package tiquotest_test

import (
	"fmt"
	"strconv"
	"testing"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tiquo/tiquotest"
)

// TestFaultLostAnswer loses the answers of a create, a PATCH and a DELETE:
// each was applied, and the create is found by its email, as a sink
// resolves a lost create; retrying the create is a 409.
func TestFaultLostAnswer(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := oneShot(t, s)
	id := c.create(person("patched@example.com"))["id"].(string)
	gone := c.create(person("deleted@example.com"))["id"].(string)

	s.SetFaults(tiquotest.Faults{Seed: 4, LostAnswerRate: 1})
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/customers", person("lost@example.com")},
		{"PATCH", "/customers/" + id, map[string]any{"notes": "applied"}},
		{"DELETE", "/customers/" + gone, nil},
	} {
		if a, err := c.send(req.method, req.path, req.body); err == nil {
			t.Fatalf("%s %s: a lost answer arrived: %v", req.method, req.path, a)
		}
	}
	// Reads are never lost: there is nothing to apply.
	if _, err := c.send("GET", "/customers/"+id, nil); err != nil {
		t.Fatalf("read with lost answers on: %v", err)
	}
	s.SetFaults(tiquotest.Faults{})

	found := c.byEmail("LOST@example.com")
	if len(found) != 1 || found[0]["email"] != "lost@example.com" {
		t.Fatalf("the create whose answer was lost: %v", found)
	}
	if a := c.do("POST", "/customers", person("lost@example.com")); a.Status != 409 {
		t.Errorf("retried create: %v", a)
	}
	if got := c.get(id)["notes"]; got != "applied" {
		t.Errorf("the PATCH whose answer was lost: notes %v", got)
	}
	if a := c.do("GET", "/customers/"+gone, nil); a.Status != 404 {
		t.Errorf("the DELETE whose answer was lost: %v", a)
	}
	st := s.Stats().Requests
	for _, r := range []string{"POST /customers", "PATCH /customers/{id}", "DELETE /customers/{id}"} {
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
	s := start(t, tiquotest.Options{})
	c := oneShot(t, s)
	id := c.create(person("there@example.com"))["id"].(string)
	s.SetFaults(tiquotest.Faults{Seed: 1, ErrorRate: 0.5})
	statuses := map[int]int64{}
	for range 80 {
		a := c.do("GET", "/customers/"+id, nil)
		statuses[a.Status]++
		if a.Status >= 500 && (a.code() != "internal_error" || (a.Status == 503) != (a.Header.Get("Retry-After") == "1")) {
			t.Errorf("injected error: %v %v", a, a.Header)
		}
		// Every answer carries the rate limit headers, injected ones too.
		limitHeaders(t, a)
	}
	if statuses[200] == 0 || statuses[500] == 0 || statuses[502] == 0 || statuses[503] == 0 {
		t.Errorf("statuses %v: want 200 and each of 500, 502, 503", statuses)
	}
	s.SetFaults(tiquotest.Faults{Seed: 1, ErrorRate: 1})
	if a := c.do("POST", "/customers", person("failed@example.com")); a.Status < 500 {
		t.Fatalf("create with error rate 1: %v", a)
	}
	if a := c.do("PATCH", "/customers/"+id, map[string]any{"notes": "failed"}); a.Status < 500 {
		t.Fatalf("PATCH with error rate 1: %v", a)
	}
	s.SetFaults(tiquotest.Faults{})
	if got := c.byEmail("failed@example.com"); len(got) != 0 {
		t.Errorf("a create answered 5xx was applied: %v", got)
	}
	if got := c.get(id)["notes"]; got != nil {
		t.Errorf("a PATCH answered 5xx was applied: notes %v", got)
	}
	st := s.Stats().Requests["GET /customers/{id}"]
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
	s := start(t, tiquotest.Options{})
	c := oneShot(t, s)
	s.SetFaults(tiquotest.Faults{Seed: 3, DropRate: 1})
	if a, err := c.send("POST", "/customers", person("dropped@example.com")); err == nil {
		t.Fatalf("a dropped request got an answer: %v", a)
	}
	if _, err := c.send("GET", "/customers", nil); err == nil {
		t.Fatal("a dropped read got an answer")
	}
	stats := c.sandbox(s)
	a := stats.ok(200, "GET", "/_sandbox/stats", nil)
	req, _ := a.Body["requests"].(map[string]any)
	if post, _ := req["POST /customers"].(map[string]any); post["dropped"] != float64(1) {
		t.Errorf("stats: %s", a.Raw)
	}
	s.SetFaults(tiquotest.Faults{})
	if got := c.byEmail("dropped@example.com"); len(got) != 0 {
		t.Errorf("a dropped create was applied: %v", got)
	}
}

// TestFaultsAreDeterministic replays a seed: the same requests get the
// same faults, another seed other faults.
func TestFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	emutest.CheckReplay(t, "POST /customers", "GET /customers", func(f emulator.Faults) emutest.Replayed {
		s := start(t, tiquotest.Options{Faults: f})
		c := oneShot(t, s)
		return emutest.Replayed{
			Create: func(i int) (*emutest.Answer, error) {
				return c.Send("POST", "/customers", person(fmt.Sprintf("d%d@example.com", i)))
			},
			List:     func() (*emutest.Answer, error) { return c.Send("GET", "/customers?limit=100", nil) },
			Requests: func() map[string]map[string]int64 { return s.Stats().Requests },
		}
	})
}

// TestFaultsTakeRateLimit checks that a request given an injected 5xx
// takes its share of the window like any other, and that past the limit
// the 429 comes first.
func TestFaultsTakeRateLimit(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{RateLimit: 2, Faults: tiquotest.Faults{Seed: 1, ErrorRate: 1}})
	c := oneShot(t, s)
	freshMinute()
	for i := range 2 {
		a := c.do("GET", "/customers", nil)
		if _, remaining, _ := limitHeaders(t, a); a.Status < 500 || remaining != 1-i {
			t.Errorf("request %d: %v, remaining %d", i, a, remaining)
		}
	}
	if a := c.do("GET", "/customers", nil); a.Status != 429 || a.code() != "rate_limited" {
		t.Errorf("third request: %v", a)
	}
}
