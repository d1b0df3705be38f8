package count_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
)

// BenchmarkPacedUpdates updates customers known from a state (an id and
// the fields to send each) against counttest with its limit raised to
// 1,200 requests a minute (20 a second; COUNT's own 100 a minute would
// take 20 minutes), with eight Apply calls at once as the engine makes
// them. One customer in ten changes its email, which costs a
// find-by-email before its PUT. It reports the rate kept as a share of
// the limit, the share of requests answered 429, and the requests per
// update, and fails when a changed customer costs other than one PUT
// (plus one find-by-email per email change). Run it with -benchtime=1x;
// each iteration takes about 110 seconds.
func BenchmarkPacedUpdates(b *testing.B) {
	const updates, limit = 2000, 1200
	a := startAccount(b, counttest.Options{RateLimit: limit, Clients: []counttest.Client{
		{Token: "bench-token", ClientID: "bench", ClientSecret: "bench-secret"},
		{Token: "seed-token", ClientID: "seed", ClientSecret: "seed-secret"},
	}})
	seeder := count.NewClient(count.ClientOptions{BaseURL: a.srv.URL, Pacer: pipeline.NewPacer(pipeline.PacerOptions{Rate: float64(limit) / 60}),
		Credentials: count.Credentials{Token: "seed-token", ClientID: "seed", ClientSecret: "seed-secret"}})
	ids := make([]string, updates)
	for i := range ids {
		id, err := seeder.Create(context.Background(), body(full(i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	mainPhone, email := sch.Index("mainPhone"), sch.Index("email")
	b.ResetTimer()
	for it := range b.N {
		chs := make([]pipeline.Change, updates)
		emailChanges := 0
		for i := range chs {
			v := values(full(i))
			v[mainPhone] = fmt.Sprintf("+44 20 7946 %04d", it)
			send := marks("mainPhone")
			if i%10 == 0 {
				v[email] = fmt.Sprintf("ada%d.run%d@example.com", i, it)
				send = marks("mainPhone", "email")
				emailChanges++
			}
			chs[i] = change(fmt.Sprintf("k%d", i), v)
			chs[i].ID, chs[i].Send = ids[i], send
		}
		s, err := count.New(count.Options{BaseURL: a.url, Rate: float64(limit) / 60,
			Credentials: count.Credentials{Token: "bench-token", ClientID: "bench", ClientSecret: "bench-secret"}})
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
					for _, r := range res {
						if r.Outcome != pipeline.OutcomeUpdated {
							failed.Do(func() { b.Errorf("a change %v %v", r.Outcome, r.Reject) })
						}
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
		diff := func(route, status string) int64 {
			return after.Requests[route][status] - before.Requests[route][status]
		}
		puts := diff("PUT /customers/{uuid}", "200")
		finds := diff("GET /customers/find-by-email", "404") + diff("GET /customers/find-by-email", "200")
		refused := after.ByStatus["429"] - before.ByStatus["429"]
		total := after.TotalRequests - before.TotalRequests
		if puts != updates || finds != int64(emailChanges) {
			b.Errorf("%d PUTs answered 200 and %d find-by-email for %d changed customers, %d of them with a new email", puts, finds, updates, emailChanges)
		}
		b.ReportMetric(float64(total)/took.Seconds()/(limit/60.0)*100, "%limit")
		b.ReportMetric(float64(refused)/float64(total)*100, "%429")
		b.ReportMetric(float64(total)/updates, "requests/update")
		s.Close()
	}
}
