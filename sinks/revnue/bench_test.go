package revnue_test

import (
	"fmt"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// BenchmarkUpdates updates the phone of 2,000 customers, every other
// field kept, against an emulator allowing 20 requests a second (1,200
// in any sliding minute) with the sink paced to that rate, as a run with
// a state does (each change bound, with what changed), and reports the
// API calls per updated customer (reads included), the share of the rate
// kept, and the share of answers that were 429. Run it alone:
//
//	go test -run '^$' -bench BenchmarkUpdates -benchtime 1x ./sinks/revnue/
//
// It takes about 100 s: the rate is the point.
func BenchmarkUpdates(b *testing.B) {
	const n, rate = 2000, 20.0
	for range b.N {
		b.StopTimer()
		a := startAccount(b, revnuetest.Options{RateLimit: int(rate * 60)})
		ids := seedMany(b, a, n)
		s := revnue.Schema()
		chs := make([]pipeline.Change, n)
		for i := range chs {
			chs[i] = change(fmt.Sprint("k", i), ids[i], values(s, map[string]string{"name": fmt.Sprintf("Customer %d", i), "phone": fmt.Sprintf("+1 555 %04d", i)}))
			chs[i].Send = mapped(s, "phone")
		}
		sink := a.sink(b, revnue.Options{Rate: rate})
		b.StartTimer()
		started := time.Now()
		res := run(b, sink, pipeline.Plan{Mapped: mapped(s, "name", "phone")}, chs)
		took := time.Since(started)
		b.StopTimer()
		wantOutcome(b, res, pipeline.OutcomeUpdated)
		st := a.srv.Stats()
		calls := float64(st.TotalRequests)
		b.ReportMetric(calls/n, "calls/update")
		b.ReportMetric(calls/took.Seconds()/rate*100, "%rate")
		b.ReportMetric(float64(st.ByStatus["429"])/calls*100, "%429")
	}
}
