package counttest_test

import (
	"testing"

	"crmsync/sinks/count/counttest"
)

// TestStats checks the counters a bench reads at /_sandbox/stats (and
// under /partners): requests by method, route and status at the top
// level, by client name, the total, and the number of customers.
func TestStats(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	id := c.create(company("Counted", "counted@example.com"))["id"].(string)
	c.put(id, company("Counted", "recounted@example.com"))
	c.find("recounted@example.com")
	c.find("nobody@example.com")
	c.do("POST", "/customers", company("Dup", "recounted@example.com"))
	c.with(func(c *client) { c.secret = "wrong" }).do("GET", "/customers", nil)

	for _, u := range []string{sandboxURL(s) + "/_sandbox/stats", s.URL + "/_sandbox/stats"} {
		st := getJSON(t, u)
		req, _ := st["requests"].(map[string]any)
		want := map[string]map[string]any{
			"POST /customers":              {"201": 1.0, "409": 1.0},
			"PUT /customers/{uuid}":        {"200": 1.0},
			"GET /customers/find-by-email": {"200": 1.0, "404": 1.0},
			"GET /customers":               {"401": 1.0},
			"GET /customers/{uuid}":        {},
		}
		for route, by := range want {
			if !sameJSON(req[route], by) {
				t.Errorf("%s: %s: %v, want %v", u, route, req[route], by)
			}
		}
		if st["total_requests"] != 6.0 || st["customers"] != 1.0 || !sameJSON(st["by_key"], map[string]any{"default": 5}) ||
			!sameJSON(st["by_status"], map[string]any{"200": 2, "201": 1, "401": 1, "404": 1, "409": 1}) {
			t.Errorf("%s: %v", u, st)
		}
	}
}
