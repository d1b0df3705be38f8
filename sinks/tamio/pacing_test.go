package tamio_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// With no --rate, the client learns the server's refill rate from its
// rate-limit headers and keeps under it, with few 429s. (How close to the
// limit a sync runs is measured by make bench, not asserted here.)
func TestPacerLearnsTheServersRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 6 seconds")
	}
	const limit = 400
	a := startAccount(t, tamiotest.Options{RateLimit: limit, RateBurst: 50})
	pacer := pipeline.NewPacer(pipeline.PacerOptions{})
	c := tamio.NewClient(a.srv.URL, a.srv.APIKey, nil, pacer)
	ctx := context.Background()
	const calls, workers = 2000, 8
	work := make(chan struct{}, calls)
	for range calls {
		work <- struct{}{}
	}
	close(work)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if _, err := c.Teammates(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	// The bucket's first 50 calls are free; the rest come at the limit.
	ideal := float64(calls-50) / limit
	got429 := pacer.Stats.RateLimited.Load()
	t.Logf("%d calls in %v (ideal %.2fs), %d answered 429, learnt %.0f/s", calls, elapsed, ideal, got429, pacer.LearnedRate())
	if share := float64(got429) / calls; share > 0.01 {
		t.Errorf("%.1f%% of calls answered 429, want at most 1%%", share*100)
	}
	if r := pacer.LearnedRate(); r < 0.9*limit || r > 1.1*limit {
		t.Errorf("the pacer learnt a rate of %.0f/s; the server's is %d/s", r, limit)
	}
}
