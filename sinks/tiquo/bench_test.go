package tiquo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// BenchmarkPacedUpdates updates customers known from a state (an id and
// the field to send each: one PATCH a customer) against tiquotest limited
// to 3,000 requests a minute (50 a second), with eight Apply calls at
// once as the engine makes them, and reports the rate kept as a share of
// the limit and the share of requests answered 429. Run it with
// -benchtime=1x; each iteration takes about updates/50 seconds.
func BenchmarkPacedUpdates(b *testing.B) {
	const updates, limit = 1500, 3000
	a := startAccount(b, tiquotest.Options{RateLimit: limit, Keys: []tiquotest.Key{
		{Token: "sk_test_bench", Scopes: []string{tiquotest.ScopeRead, tiquotest.ScopeWrite}},
		{Token: "sk_test_seed", Scopes: []string{tiquotest.ScopeRead, tiquotest.ScopeWrite}},
	}})
	seeder := tiquo.NewClient(a.srv.URL, "sk_test_seed", nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	ids := make([]string, updates)
	for i := range ids {
		id, err := seeder.Create(context.Background(), body(full(i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	send := make([]bool, len(sch.Fields))
	send[sch.Index("notes")] = true
	b.ResetTimer()
	for it := range b.N {
		chs := make([]pipeline.Change, updates)
		for i := range chs {
			v := values(full(i))
			v[sch.Index("notes")] = fmt.Sprintf("run %d", it)
			chs[i] = change(fmt.Sprintf("k%d", i), v)
			chs[i].ID, chs[i].Send = ids[i], send
		}
		s, err := tiquo.New(tiquo.Options{BaseURL: a.url, APIKey: "sk_test_bench"})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := s.Prepare(ctx, pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert}); err != nil {
			b.Fatal(err)
		}
		before := a.srv.Stats()
		start := time.Now()
		batches := make(chan []pipeline.Change)
		var wg sync.WaitGroup
		var failed sync.Once
		for range 8 {
			wg.Go(func() {
				for batch := range batches {
					res := make([]pipeline.Result, len(batch))
					if err := s.Apply(ctx, batch, res); err != nil {
						failed.Do(func() { b.Error(err) })
					}
				}
			})
		}
		for lo := 0; lo < len(chs); lo += s.Properties().MaxBatch {
			batches <- chs[lo:min(lo+s.Properties().MaxBatch, len(chs))]
		}
		close(batches)
		wg.Wait()
		took := time.Since(start)
		after := a.srv.Stats()
		patches := after.Requests["PATCH /customers/{id}"]["200"] - before.Requests["PATCH /customers/{id}"]["200"]
		refused := after.ByStatus["429"] - before.ByStatus["429"]
		total := after.TotalRequests - before.TotalRequests
		if patches != updates {
			b.Errorf("%d PATCHes answered 200 for %d changed customers", patches, updates)
		}
		b.ReportMetric(float64(total)/took.Seconds()/(limit/60.0)*100, "%limit")
		b.ReportMetric(float64(refused)/float64(total)*100, "%429")
		b.ReportMetric(float64(total)/updates, "requests/update")
		s.Close()
	}
}
