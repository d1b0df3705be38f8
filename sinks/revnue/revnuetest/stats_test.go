package revnuetest_test

import (
	"maps"
	"slices"
	"testing"

	"crmsync/sinks/revnue/revnuetest"
)

// TestStats checks the counters a bench reads (it holds a sink to at most
// 1.05 calls per updated customer, reads included, and at most 1% 429):
// requests by method and route, the trailing-slash form counted with the
// other, by status and by token, and the customers stored; the same in
// Server.Stats and GET /_sandbox/stats, which is itself not counted, at
// the top level of its answer, as every emulator serves it.
func TestStats(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	id := idOf(c.create(minimal("Counted")))
	c.ok(201, "POST", "/customer", minimal("Counted too"))
	c.put(id, minimal("Counted"))
	c.ok(200, "PUT", "/customer/1/", minimal("Counted"))
	c.get(id)
	c.ok(200, "GET", "/customer/?company=1", nil)
	c.ok(200, "GET", "/category/?company=1", nil)
	c.ok(200, "GET", "/custom-field-template/?company=1", nil)
	c.do("POST", "/customer/", minimal("COUNTED")) // 400
	c.do("GET", "/customer/9/", nil)               // 404
	c.do("DELETE", "/customer/1", nil)             // 405
	c.withToken("").do("GET", "/nothing", nil)     // 404, no token
	seed(t, s, minimal("Seeded"))                  // not a request

	want := map[string]map[string]int64{
		"POST /customer/":             {"201": 2, "400": 1},
		"PUT /customer/{id}":          {"200": 2},
		"GET /customer/{id}/":         {"200": 1, "404": 1},
		"GET /customer/":              {"200": 1},
		"GET /category/":              {"200": 1},
		"GET /custom-field-template/": {"200": 1},
		"unmatched":                   {"405": 1, "404": 1},
	}
	stats := c.sandbox(s)
	for range 2 {
		stats.ok(200, "GET", "/_sandbox/stats", nil)
	}
	st := s.Stats()
	if !maps.EqualFunc(st.Requests, want, maps.Equal) {
		t.Errorf("requests %v\nwant %v", st.Requests, want)
	}
	if st.TotalRequests != 12 || st.ByStatus["200"] != 6 || st.ByKey["default"] != 11 || st.Customers != 3 {
		t.Errorf("stats %+v", st)
	}
	top := stats.ok(200, "GET", "/_sandbox/stats", nil).Body
	if keys := slices.Sorted(maps.Keys(top)); !slices.Equal(keys, []string{"by_key", "by_status", "customers", "requests", "total_requests"}) ||
		top["total_requests"] != float64(12) || top["customers"] != float64(3) {
		t.Errorf("/_sandbox/stats %v", top)
	}
}
