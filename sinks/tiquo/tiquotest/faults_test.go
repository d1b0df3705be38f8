package tiquotest_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"crmsync/sinks/tiquo/tiquotest"
)

// oneShot returns a client with a new connection per request: Go's
// transport silently retries an idempotent request whose reused
// connection was closed, which would hide the cuts under test.
func oneShot(t testing.TB, s *tiquotest.Server) *client {
	c := newClient(t, s)
	c.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return c
}

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
	if a := c.do("POST", "/customers", person("lost@example.com")); a.status != 409 {
		t.Errorf("retried create: %v", a)
	}
	if got := c.get(id)["notes"]; got != "applied" {
		t.Errorf("the PATCH whose answer was lost: notes %v", got)
	}
	if a := c.do("GET", "/customers/"+gone, nil); a.status != 404 {
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
		statuses[a.status]++
		if a.status >= 500 && (a.code() != "internal_error" || (a.status == 503) != (a.header.Get("Retry-After") == "1")) {
			t.Errorf("injected error: %v %v", a, a.header)
		}
		// Every answer carries the rate limit headers, injected ones too.
		limitHeaders(t, a)
	}
	if statuses[200] == 0 || statuses[500] == 0 || statuses[502] == 0 || statuses[503] == 0 {
		t.Errorf("statuses %v: want 200 and each of 500, 502, 503", statuses)
	}
	s.SetFaults(tiquotest.Faults{Seed: 1, ErrorRate: 1})
	if a := c.do("POST", "/customers", person("failed@example.com")); a.status < 500 {
		t.Fatalf("create with error rate 1: %v", a)
	}
	if a := c.do("PATCH", "/customers/"+id, map[string]any{"notes": "failed"}); a.status < 500 {
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
	stats := &client{t: t, base: sandboxURL(s), hc: c.hc}
	a := stats.ok(200, "GET", "/_sandbox/stats", nil)
	req, _ := a.data()["requests"].(map[string]any)
	if post, _ := req["POST /customers"].(map[string]any); post["dropped"] != float64(1) {
		t.Errorf("stats: %s", a.raw)
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
	run := func(seed int64) ([]string, map[string]map[string]int64) {
		s := start(t, tiquotest.Options{Faults: tiquotest.Faults{Seed: seed, ErrorRate: 0.2, DropRate: 0.2, LostAnswerRate: 0.2}})
		c := oneShot(t, s)
		var out []string
		for i := range 60 {
			var a *answer
			var err error
			if i%2 == 0 {
				a, err = c.send("POST", "/customers", person(fmt.Sprintf("d%d@example.com", i)))
			} else {
				a, err = c.send("GET", "/customers?limit=100", nil)
			}
			if err != nil {
				out = append(out, "cut")
			} else {
				out = append(out, strconv.Itoa(a.status))
			}
		}
		return out, s.Stats().Requests
	}
	a, sa := run(7)
	b, sb := run(7)
	other, _ := run(8)
	if !slices.Equal(a, b) || fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 gave the same faults: %v", a)
	}
	create := sa["POST /customers"]
	if create["lost"] == 0 || create["dropped"] == 0 || create["500"]+create["502"]+create["503"] == 0 || create["201"] == 0 {
		t.Errorf("create outcomes %v: want 201, lost, dropped and 5xx", create)
	}
	if sa["GET /customers"]["lost"] != 0 {
		t.Errorf("a read was counted lost: %v", sa["GET /customers"])
	}
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
		if _, remaining, _ := limitHeaders(t, a); a.status < 500 || remaining != 1-i {
			t.Errorf("request %d: %v, remaining %d", i, a, remaining)
		}
	}
	if a := c.do("GET", "/customers", nil); a.status != 429 || a.code() != "rate_limited" {
		t.Errorf("third request: %v", a)
	}
}
