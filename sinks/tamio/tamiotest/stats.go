package tamiotest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the server's counters, as GET /_sandbox/stats answers them.
type Stats struct {
	// Requests counts the answers of each endpoint, named by method and
	// route ("POST /customers/update/{uuid}", or "unmatched"), by HTTP
	// status ("200", "429"), or "dropped" and "lost" for the injected
	// connection cuts. Every endpoint is listed, with an empty map until
	// it is called. /_sandbox/ requests are not counted.
	Requests map[string]map[string]int64 `json:"requests"`
	// ByStatus is Requests summed over endpoints.
	ByStatus map[string]int64 `json:"by_status"`
	// ByKey counts requests by the name of the key that made them;
	// requests without a valid key are not in it.
	ByKey map[string]int64 `json:"by_key"`
	// TotalRequests is the number of requests counted in Requests.
	TotalRequests int64 `json:"total_requests"`
	// Customers is the number of customers in the database, or -1 when it
	// could not be counted (the server is closed).
	Customers int64 `json:"customers"`
	// JobsRun is the number of bulk/create jobs run to the end,
	// JobsFailed of those stopped by a database error (they stay in the
	// database and run again at the next start), JobsPending of those
	// queued or running.
	JobsRun     int64 `json:"jobs_run"`
	JobsFailed  int64 `json:"jobs_failed"`
	JobsPending int   `json:"jobs_pending"`
	// Imported is the number of customers bulk jobs created, and
	// ImportSkipped of those they skipped because the email existed.
	Imported      int64 `json:"imported"`
	ImportSkipped int64 `json:"import_skipped"`
	// Webhooks counts event deliveries.
	Webhooks WebhookStats `json:"webhooks"`
}

// WebhookStats counts webhook deliveries, one per event and URL.
type WebhookStats struct {
	// Delivered events got a 2xx answer.
	Delivered int64 `json:"delivered"`
	// Attempts is the number of POSTs made, retries included.
	Attempts int64 `json:"attempts"`
	// Failed events were given up after the last attempt.
	Failed int64 `json:"failed"`
	// Dropped events found their URL's queue full.
	Dropped int64 `json:"dropped"`
}

type counters struct {
	mu       sync.Mutex
	requests map[string]map[string]int64
	byKey    map[string]int64
	total    int64

	jobsRun, jobsFailed, imported, skipped               atomic.Int64
	hookDelivered, hookAttempts, hookFailed, hookDropped atomic.Int64
}

func (c *counters) init() {
	c.requests = make(map[string]map[string]int64)
	c.byKey = make(map[string]int64)
}

func (c *counters) addRoute(name string) { c.requests[name] = make(map[string]int64) }

func (c *counters) request(route, status, key string) {
	c.mu.Lock()
	m := c.requests[route]
	if m == nil {
		m = make(map[string]int64)
		c.requests[route] = m
	}
	m[status]++
	if key != "" {
		c.byKey[key]++
	}
	c.total++
	c.mu.Unlock()
}

// Stats returns the counters; the same data as GET /_sandbox/stats.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests:      make(map[string]map[string]int64),
		ByStatus:      make(map[string]int64),
		ByKey:         make(map[string]int64),
		JobsRun:       s.stats.jobsRun.Load(),
		JobsFailed:    s.stats.jobsFailed.Load(),
		JobsPending:   s.jobs.pending(),
		Imported:      s.stats.imported.Load(),
		ImportSkipped: s.stats.skipped.Load(),
		Webhooks: WebhookStats{
			Delivered: s.stats.hookDelivered.Load(),
			Attempts:  s.stats.hookAttempts.Load(),
			Failed:    s.stats.hookFailed.Load(),
			Dropped:   s.stats.hookDropped.Load(),
		},
	}
	s.stats.mu.Lock()
	for route, m := range s.stats.requests {
		cp := make(map[string]int64, len(m))
		for status, n := range m {
			cp[status] = n
			st.ByStatus[status] += n
		}
		st.Requests[route] = cp
	}
	for k, n := range s.stats.byKey {
		st.ByKey[k] = n
	}
	st.TotalRequests = s.stats.total
	s.stats.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := s.st.count(ctx)
	if err != nil {
		s.log.Warn("cannot count customers", "error", err)
		n = -1
	}
	st.Customers = n
	return st
}
