package tiquotest_test

import (
	"maps"
	"slices"
	"testing"

	"crmsync/sinks/tiquo/tiquotest"
)

// TestStats checks the counters a bench reads: requests by method and
// route and by status, by key, and the customers stored, the same in
// Server.Stats and GET /_sandbox/stats, which is itself not counted.
func TestStats(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("s@example.com"))["id"].(string)
	c.patch(id, map[string]any{"notes": "a"})
	c.patch(id, map[string]any{"notes": "b"})
	c.get(id)
	c.byEmail("s@example.com")
	c.do("POST", "/customers", person("S@example.com")) // 409
	c.do("GET", "/nothing", nil)
	other := c.create(person("t@example.com"))["id"].(string)
	c.ok(200, "DELETE", "/customers/"+other, nil)

	want := map[string]map[string]int64{
		"GET /customers":         {"200": 1},
		"POST /customers":        {"201": 2, "409": 1},
		"GET /customers/{id}":    {"200": 1},
		"PATCH /customers/{id}":  {"200": 2},
		"DELETE /customers/{id}": {"200": 1},
		"unmatched":              {"404": 1},
	}
	sandbox := c.sandbox(s)
	for range 2 {
		sandbox.ok(200, "GET", "/_sandbox/stats", nil)
	}
	st := s.Stats()
	if !maps.EqualFunc(st.Requests, want, maps.Equal) {
		t.Errorf("requests %v\nwant %v", st.Requests, want)
	}
	if st.TotalRequests != 9 || st.ByStatus["200"] != 5 || st.ByStatus["201"] != 2 || st.ByKey["default"] != 9 || st.Customers != 1 {
		t.Errorf("stats %+v", st)
	}
	d := sandbox.ok(200, "GET", "/v1/_sandbox/stats", nil).Body
	req, _ := d["requests"].(map[string]any)
	patch, _ := req["PATCH /customers/{id}"].(map[string]any)
	keys := slices.Sorted(maps.Keys(d))
	if patch["200"] != float64(2) || d["customers"] != float64(1) || d["total_requests"] != float64(9) ||
		!slices.Equal(keys, []string{"by_key", "by_status", "customers", "requests", "total_requests", "webhooks"}) {
		t.Errorf("/_sandbox/stats data %v", d)
	}
}
