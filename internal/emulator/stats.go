package emulator

import "sync"

// RequestStats are the request counters of a server, in the JSON shape of
// GET /_sandbox/stats.
type RequestStats struct {
	// Requests counts the answers of each endpoint, named as the emulator
	// registered it ("POST /customers/update/{uuid}", or "unmatched"), by
	// HTTP status ("200", "429"), or "dropped" and "lost" for the injected
	// connection cuts. Every endpoint is listed, with an empty map until it
	// is called. /_sandbox/ requests are not counted.
	Requests map[string]map[string]int64 `json:"requests"`
	// ByStatus is Requests summed over endpoints.
	ByStatus map[string]int64 `json:"by_status"`
	// ByKey counts requests by the name of the key that made them;
	// requests without a valid key are not in it.
	ByKey map[string]int64 `json:"by_key"`
	// TotalRequests is the number of requests counted in Requests.
	TotalRequests int64 `json:"total_requests"`
}

// Counters count requests by endpoint, outcome and key. The zero value is
// ready; every method may be called from any goroutine.
type Counters struct {
	mu       sync.Mutex
	requests map[string]map[string]int64
	byKey    map[string]int64
	total    int64
}

// AddRoute lists an endpoint, so that it appears in a snapshot before its
// first request. Called while the routes are set up.
func (c *Counters) AddRoute(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requests == nil {
		c.requests = make(map[string]map[string]int64)
	}
	if c.requests[name] == nil {
		c.requests[name] = make(map[string]int64)
	}
}

// Count counts one answer of route: outcome is the HTTP status as text,
// or "dropped" or "lost"; key is the name of the key that made the
// request, or "" when there was none.
func (c *Counters) Count(route, outcome, key string) {
	c.mu.Lock()
	if c.requests == nil {
		c.requests = make(map[string]map[string]int64)
		c.byKey = make(map[string]int64)
	}
	m := c.requests[route]
	if m == nil {
		m = make(map[string]int64)
		c.requests[route] = m
	}
	m[outcome]++
	if key != "" {
		if c.byKey == nil {
			c.byKey = make(map[string]int64)
		}
		c.byKey[key]++
	}
	c.total++
	c.mu.Unlock()
}

// Snapshot returns a copy of the counters, its maps never nil.
func (c *Counters) Snapshot() RequestStats {
	st := RequestStats{
		Requests: make(map[string]map[string]int64),
		ByStatus: make(map[string]int64),
		ByKey:    make(map[string]int64),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for route, m := range c.requests {
		cp := make(map[string]int64, len(m))
		for status, n := range m {
			cp[status] = n
			st.ByStatus[status] += n
		}
		st.Requests[route] = cp
	}
	for k, n := range c.byKey {
		st.ByKey[k] = n
	}
	st.TotalRequests = c.total
	return st
}
