package tamiotest

import (
	"sync/atomic"

	"crmsync/internal/emulator"
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

// WebhookStats counts webhook deliveries, one per event and URL:
// Delivered events got a 2xx answer, Attempts is the number of POSTs made
// (retries included), Failed events were given up after the last attempt,
// Dropped events found their URL's queue full.
type WebhookStats = emulator.WebhookStats

// counters are tamio's own; the kit counts requests and deliveries.
type counters struct {
	jobsRun, jobsFailed, imported, skipped atomic.Int64
}

// Stats returns the counters; the same data as GET /_sandbox/stats.
func (s *Server) Stats() Stats {
	req := s.api.Stats()
	st := Stats{
		Requests:      req.Requests,
		ByStatus:      req.ByStatus,
		ByKey:         req.ByKey,
		TotalRequests: req.TotalRequests,
		JobsRun:       s.stats.jobsRun.Load(),
		JobsFailed:    s.stats.jobsFailed.Load(),
		JobsPending:   s.jobs.pending(),
		Imported:      s.stats.imported.Load(),
		ImportSkipped: s.stats.skipped.Load(),
		Webhooks:      s.hooks.Stats(),
	}
	st.Customers = s.st.db.CountRows("customers")
	return st
}
