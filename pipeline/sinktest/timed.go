package sinktest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"crmsync/crm"
	"crmsync/pipeline"
)

// Retry-After tolerances. A call sent within retryAfterGrace of a 429's
// answer was on its way (past the sink's pacer) before the sink could
// have read the 429: the answer is read, decoded and classified first,
// longer on a loaded machine under -race. A pacer that ignores
// Retry-After sends its retries and queued calls over the whole wait, so
// the grace hides little. retryAfterSlack allows for timer granularity at
// the wait's end.
const (
	retryAfterGrace = 100 * time.Millisecond
	retryAfterSlack = 20 * time.Millisecond
)

// wantHonoured checks that after every 429 with Retry-After d answered at
// t, the calls the same client sent after t+retryAfterGrace went out at
// t+d or after. It returns the number of 429s.
func wantHonoured(t *testing.T, who string, calls []call) (n429 int) {
	t.Helper()
	bad := 0
	for _, c := range calls {
		if c.Status != http.StatusTooManyRequests {
			continue
		}
		n429++
		if c.RetryAfter == 0 {
			continue
		}
		from, until := c.Answered.Add(retryAfterGrace), c.Answered.Add(c.RetryAfter-retryAfterSlack)
		for _, d := range calls {
			if d.Sent.After(from) && d.Sent.Before(until) {
				if bad++; bad <= 5 {
					t.Errorf("%s: %s %s went out %v after a 429 that said Retry-After: %v", who, d.Method, d.Path,
						d.Sent.Sub(c.Answered).Round(time.Millisecond), c.RetryAfter)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d calls in all went out before a Retry-After had passed", who, bad)
	}
	return n429
}

// RetryAfter: four sinks share one key whose rate limit their updates
// exceed together; each sink's calls after a 429 wait for its
// Retry-After, and every update is applied once.
//
// An emulator that limits by fixed windows (so many calls a minute)
// shows no 429 at this load: a window's quota outlasts the test. For it a
// second phase (spentQuota) provokes one.
func testRetryAfter(t *testing.T, s *suite) {
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
	e.overshoot = true
	// Four sinks, each with as many calls in flight as it likes: calls
	// queued in a sink's pacer when another's 429 comes are what a
	// pacer that honours Retry-After only for the call that met it lets
	// through.
	const sinks, each = 4, 15
	ids, values := e.seed(0, sinks*each)
	e.restart(crm.SandboxOptions{RateLimit: 10})
	var wg sync.WaitGroup
	results := make([][]pipeline.Result, sinks)
	calls := make([][]call, sinks)
	next := make([][]string, len(values))
	for i := range values {
		next[i] = s.gen.with(values[i], upd[0], i, 1)
	}
	for w := range sinks {
		sk, rec := e.sink()
		chs := changes(w*each, next[w*each:(w+1)*each])
		for k := range chs {
			chs[k].ID, chs[k].Send = ids[w*each+k], s.only(upd[0])
		}
		plan := s.plan()
		plan.IndexAccount = false
		wg.Go(func() {
			res, err := tryRun(t, sk, plan, chs)
			if err != nil {
				t.Errorf("sink %d: %v", w, err)
			}
			results[w], calls[w] = res, rec.Calls()
		})
	}
	wg.Wait()
	n429 := 0
	for w := range sinks {
		if results[w] != nil {
			wantOutcome(t, results[w], pipeline.OutcomeUpdated)
		}
		n429 += wantHonoured(t, fmt.Sprintf("sink %d", w), calls[w])
		logCalls(t, fmt.Sprintf("sink %d", w), calls[w])
	}
	e.restart(crm.SandboxOptions{})
	for i := range next {
		e.wantHeld(fmt.Sprintf("customer %d", i), ids[i], next[i], s.gen.mapped())
	}
	if n429 > 0 {
		t.Logf("%d calls answered 429 at 10 calls a second", n429)
		return
	}
	t.Logf("no 429 at 10 calls a second for %d sinks: the emulator limits by longer windows", sinks)
	spentQuota(t, s, e)
}

// retryWatch is how long spentQuota watches a sink after its 429 when
// the Retry-After is longer: a sink that ignored it would have retried
// within its backoff, well under it.
const retryWatch = 4 * time.Second

// spentQuota is RetryAfter's second phase, for an emulator that limits
// by windows: a key allowed one call a minute, spent by a first sink, so
// that a second sink's first call meets a 429. The second sink must send
// nothing until the Retry-After has passed: watched for the whole of it
// when it is at most retryWatch, and then the sink must call again;
// otherwise for retryWatch, and the sink is cancelled. The window may
// turn between the two sinks, so it tries twice.
func spentQuota(t *testing.T, s *suite, e *env) {
	e.restart(crm.SandboxOptions{RateLimit: 1.0 / 60})
	plan := s.plan()
	plan.IndexAccount = false
	for attempt := 1; ; attempt++ {
		first, _ := e.sink()
		// Its first call spends the minute's quota; a first sink that
		// then waits for the next minute is not waited for.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		first.Prepare(ctx, plan)
		cancel()
		first.Close()
		if watchRetry(t, e, plan) || attempt == 2 {
			return
		}
	}
}

// watchRetry runs a second sink's Prepare and checks what it does after
// its first 429; it reports false when no 429 came (the window turned).
func watchRetry(t *testing.T, e *env, plan pipeline.Plan) bool {
	second, rec := e.sink()
	defer second.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- second.Prepare(ctx, plan) }()
	finished := false
	wait := func(d time.Duration) {
		if finished {
			return
		}
		select {
		case <-done:
			finished = true
		case <-time.After(d):
		}
	}
	var got *call
	for deadline := time.Now().Add(5 * time.Second); got == nil; wait(20 * time.Millisecond) {
		for _, c := range rec.Calls() {
			if c.Status == http.StatusTooManyRequests {
				got = &c
				break
			}
		}
		switch {
		case got != nil:
		case finished:
			t.Logf("the second sink's Prepare ended without a 429 (%d calls): the window turned", len(rec.Calls()))
			return false
		case time.Now().After(deadline):
			t.Fatalf("with the one call a minute spent by another sink, the emulator answered the second sink no 429 in 5 s (%d calls)", len(rec.Calls()))
		}
	}
	if got.RetryAfter == 0 {
		t.Fatal("the emulator answered 429 without Retry-After")
	}
	watch := min(got.RetryAfter, retryWatch)
	wait(time.Until(got.Answered.Add(watch)))
	if got.RetryAfter <= retryWatch {
		// The whole wait was watched: the sink must now call again.
		for deadline := time.Now().Add(10 * time.Second); ; wait(20 * time.Millisecond) {
			calls := rec.Calls()
			if n := len(calls); n > 0 && calls[n-1].Sent.After(got.Answered) {
				break
			}
			if finished || time.Now().After(deadline) {
				t.Errorf("the second sink did not call again in the 10 s after its 429's Retry-After of %v", got.RetryAfter)
				break
			}
		}
	}
	cancel()
	if !finished {
		<-done
	}
	wantHonoured(t, "the second sink", rec.Calls())
	for _, c := range rec.Calls() {
		if c.Sent.After(got.Answered.Add(retryAfterGrace)) && c.Sent.Before(got.Answered.Add(watch)) {
			return true // reported by wantHonoured
		}
	}
	t.Logf("after a 429 with Retry-After: %v, the second sink sent nothing for the %v watched", got.RetryAfter, watch)
	return true
}

// Rate limit bounds. The suite updates rateUpdates customers, one call
// each, against an emulator limited to rateLimit calls a second, and
// measures the calls admitted after rateWarmup, when the sink has learnt
// the limit and spent what the emulator let it save before (a bucket
// that starts full admits a second's worth of calls at once); the run is
// long enough (about 11 s) that the window measured is about 8 s. make
// bench measures a whole 10,000-update run.
const (
	// rateLimit is low so that a loaded 2-core machine under -race keeps
	// up: with 8 calls in flight, an answer may take 400 ms.
	rateLimit   = 20
	rateUpdates = 11 * rateLimit
	rateWarmup  = 3 * time.Second
	// rateLow is the least share of the limit a sink must keep.
	rateLow = 0.95
	// rateBurst is how many seconds' worth of calls an emulator may admit
	// beyond its rate in the window: a sink that left tokens in a bucket
	// before the window spends them in it. The window's share may exceed
	// 100% by rateBurst over its length in seconds.
	rateBurst = 1.0
	// rate429 is the largest share of calls answered 429 in the window.
	// Before it, while the sink learns the limit, each of its calls in
	// flight may meet one: make bench's 1% is of a run long enough for
	// those to vanish, this window's would be a tenth of that run.
	rate429 = 0.01
)

// RateLimit: a sink told no rate of its own keeps within 95–100% of the
// emulator's rate limit, learnt from the emulator's answers, with at
// most 1% of its calls answered 429 once it has learnt the limit. It
// measures time, so it runs only without -short, alone.
func testRateLimit(t *testing.T, s *suite) {
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, rateUpdates)
	e.restart(crm.SandboxOptions{RateLimit: rateLimit})
	chs := make([]pipeline.Change, len(values))
	for i := range values {
		chs[i] = changes(i, [][]string{s.gen.with(values[i], upd[0], i, 1)})[0]
		chs[i].ID, chs[i].Send = ids[i], s.only(upd[0])
	}
	sk, rec := e.sink()
	plan := s.plan()
	plan.IndexAccount = false
	res := run(t, sk, plan, chs)
	wantOutcome(t, res, pipeline.OutcomeUpdated)
	calls := rec.Calls()
	if len(calls) < rateUpdates {
		t.Fatalf("%d calls for %d updates", len(calls), rateUpdates)
	}
	first, last := calls[0].Sent, calls[0].Sent
	for _, c := range calls {
		if c.Sent.Before(first) {
			first = c.Sent
		}
		if c.Sent.After(last) {
			last = c.Sent
		}
	}
	from := first.Add(rateWarmup)
	admitted, limited, early429, inWindow := 0, 0, 0, 0
	for _, c := range calls {
		switch {
		case c.Sent.Before(from):
			if c.Status == http.StatusTooManyRequests {
				early429++
			}
			continue
		case c.Status == http.StatusTooManyRequests:
			limited++
		case c.Status != 0:
			admitted++
		}
		inWindow++
	}
	secs := last.Sub(from).Seconds()
	if secs < 4 {
		t.Fatalf("the run lasted %v: too short to measure a rate after %v", last.Sub(first), rateWarmup)
	}
	got := float64(admitted) / secs / rateLimit
	high := 1 + rateBurst/secs
	t.Logf("%d calls in %v, %d answered 429 in the first %v; after it: %d admitted in %.2fs, %.1f%% of %d/s, %d answered 429",
		len(calls), last.Sub(first).Round(time.Millisecond), early429, rateWarmup, admitted, secs, got*100, rateLimit, limited)
	if got < rateLow || got > high {
		inFlight, latency := load(calls, from, last)
		t.Errorf("the sink kept %.1f%% of the emulator's limit of %d calls a second, want %.0f%% to %.0f%% (in the window: %.1f calls in flight on average, answered in %v on average)",
			got*100, rateLimit, rateLow*100, high*100, inFlight, latency.Round(time.Millisecond))
	}
	if share := float64(limited) / float64(inWindow); share > rate429 {
		t.Errorf("after %v, %.1f%% of the calls were answered 429, want at most %.0f%%", rateWarmup, share*100, rate429*100)
	}
	if n := workers(sk); early429 > n {
		t.Errorf("in the first %v, %d calls were answered 429: more than the %d the sink had in flight when it met the limit", rateWarmup, early429, n)
	}
}

// load returns the mean number of calls in flight between from and to,
// and the mean time to answer of the calls sent then: what tells a sink
// that held its calls back (few in flight, quick answers) from a machine
// too slow to answer at the limit (many in flight, slow answers).
func load(calls []call, from, to time.Time) (inFlight float64, latency time.Duration) {
	var busy, total time.Duration
	n := 0
	for _, c := range calls {
		if c.Sent.Before(from) || c.Sent.After(to) {
			continue
		}
		d := c.Answered.Sub(c.Sent)
		total += d
		end := c.Answered
		if end.After(to) {
			end = to
		}
		busy += end.Sub(c.Sent)
		n++
	}
	if n == 0 || !to.After(from) {
		return 0, 0
	}
	return busy.Seconds() / to.Sub(from).Seconds(), total / time.Duration(n)
}
