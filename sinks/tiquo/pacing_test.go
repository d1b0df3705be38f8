package tiquo_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// A 429 is retried after its Retry-After, not before, and the row is
// written once.
func TestRetryAfterIsHonoured(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	var mu sync.Mutex
	var refusedAt, nextAt time.Time
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost {
			return false
		}
		if refusedAt.IsZero() {
			refusedAt = time.Now()
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"success":false,"error":{"code":"rate_limited","message":"slow down"}}`))
			return true
		}
		if nextAt.IsZero() {
			nextAt = time.Now()
		}
		return false
	})
	s := a.sink(t, tiquo.Options{})
	res := run(t, s, pipeline.Plan{}, records(1))
	if res[0].Outcome != pipeline.OutcomeCreated || a.count(t) != 1 {
		t.Fatalf("%v %v, %d customers", res[0].Outcome, res[0].Reject, a.count(t))
	}
	if gap := nextAt.Sub(refusedAt); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if n := s.Stats().RateLimited.Load(); n != 1 {
		t.Errorf("%d calls counted rate limited, want 1", n)
	}
}

// tiquo's X-RateLimit-* headers reach the pacer on the first answer: a
// fresh window of 600 a minute paces calls at 10 a second, the window's
// sustained rate, before any 429 (the figures of a long run are the
// benchmark's, BenchmarkPacedUpdates).
func TestRateLimitHeadersPaceBeforeAny429(t *testing.T) {
	a := startAccount(t, tiquotest.Options{RateLimit: 600})
	api, err := tiquo.NewAPI(tiquo.Options{BaseURL: a.url, APIKey: a.srv.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	if r := api.Client().Pacer().Rate(); r != 0 {
		t.Fatalf("rate %v before any answer", r)
	}
	if err := api.Prepare(context.Background(), pipeline.Plan{}); err != nil {
		t.Fatal(err)
	}
	// Whatever is left of the minute, 599 calls remain: the pace is the
	// sustained 10 a second, or less when the window ends sooner.
	if r := api.Client().Pacer().Rate(); r <= 0 || r > 10 {
		t.Errorf("rate %v after one answer of a 600-a-minute window, want at most 10", r)
	}
	if n := api.Stats().RateLimited.Load(); n != 0 {
		t.Errorf("%d 429s", n)
	}
}

// The calls in flight never pass Concurrency, however many Apply calls
// run at once; and they do run concurrently.
func TestConcurrencyIsBounded(t *testing.T) {
	a := startAccount(t, tiquotest.Options{Faults: tiquotest.Faults{Latency: 5 * time.Millisecond}})
	s := a.sink(t, tiquo.Options{Concurrency: 3})
	ctx := context.Background()
	if err := s.Prepare(ctx, pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert}); err != nil {
		t.Fatal(err)
	}
	chs := records(40)
	res := make([]pipeline.Result, len(chs))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Go(func() {
			lo, hi := g*10, g*10+10
			errs[g] = s.Apply(ctx, chs[lo:hi], res[lo:hi])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantOutcome(t, res, pipeline.OutcomeCreated)
	a.front.mu.Lock()
	peak := a.front.maxFlight
	a.front.mu.Unlock()
	if peak > 3 || peak < 2 {
		t.Errorf("at most %d requests in flight, want 2 or 3 (Concurrency 3)", peak)
	}
	if p := s.Properties(); p.MaxBatch != 6 || p.BulkCreate || !p.FindByMatch {
		t.Errorf("properties %+v", p)
	}
}
