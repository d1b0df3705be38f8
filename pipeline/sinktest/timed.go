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

// RetryAfter: two sinks share one key whose rate limit their updates
// exceed together; each sink's calls after a 429 wait for its
// Retry-After, and every update is applied once.
//
// An emulator that limits by fixed windows (tiquo: so many calls a
// minute) shows no 429 at this load: a window's quota outlasts the test.
// For it, and only without -short, a second phase spends the quota of a
// one-call-a-minute key with one sink, then checks that a second sink's
// call after its 429 waits the whole Retry-After, up to a minute; the
// run is then cancelled. Its wait is idle time, so it runs beside the
// other behaviours, and a loaded machine only lengthens waits, which the
// check allows.
func testRetryAfter(t *testing.T, s *suite) {
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
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
		t.Logf("%d calls answered 429 at 10 calls a second, each waited out", n429)
		return
	}
	if testing.Short() {
		t.Skip("the emulator answered no 429 to two sinks at 10 calls a second (it limits by longer windows); waiting out such a window runs only without -short")
	}
	spentQuota(t, s, e)
}

// spentQuota is RetryAfter's second phase: a key allowed one call a
// minute, spent by one sink; a second sink's 429 must be waited out.
func spentQuota(t *testing.T, s *suite, e *env) {
	e.restart(crm.SandboxOptions{RateLimit: 1.0 / 60})
	plan := s.plan()
	plan.IndexAccount = false
	first, _ := e.sink()
	// Its first call spends the minute's quota; a sink that then waits
	// for the next minute is not waited for.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	first.Prepare(ctx, plan)
	cancel()
	first.Close()

	second, rec := e.sink()
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- second.Prepare(ctx, plan) }()
	defer second.Close()
	var got *call
	var calls []call
	deadline := time.Now().Add(5 * time.Second)
	for {
		var finished bool
		var perr error
		select {
		case perr = <-done:
			finished = true
		case <-time.After(20 * time.Millisecond):
		}
		calls = rec.Calls()
		if got == nil {
			for i := range calls {
				if calls[i].Status == http.StatusTooManyRequests {
					c := calls[i]
					got = &c
					if c.RetryAfter == 0 {
						t.Fatal("the emulator answered 429 without Retry-After")
					}
					deadline = c.Answered.Add(c.RetryAfter + 10*time.Second)
					break
				}
			}
		}
		if got != nil {
			for _, c := range calls {
				if c.Sent.After(got.Answered) {
					cancel()
					if !finished {
						<-done
					}
					wantHonoured(t, "the second sink", calls)
					t.Logf("after a 429 with Retry-After: %v, the second sink's next call went out %v later",
						got.RetryAfter, c.Sent.Sub(got.Answered).Round(time.Millisecond))
					return
				}
			}
		}
		switch {
		case finished && got == nil:
			t.Fatalf("with the one call a minute spent by another sink, the second sink's Prepare ended (%v) without a 429 (%d calls)", perr, len(calls))
		case finished:
			t.Fatalf("the second sink's Prepare ended (%v) after a 429 without calling again", perr)
		case time.Now().After(deadline) && got == nil:
			t.Fatalf("with the one call a minute spent by another sink, the emulator answered the second sink no 429 in 5 s (%d calls)", len(calls))
		case time.Now().After(deadline):
			t.Fatalf("the second sink sent nothing in the 10 s after its 429's Retry-After of %v", got.RetryAfter)
		}
	}
}

// Rate limit bounds. The suite updates rateUpdates customers, one call
// each, against an emulator limited to rateLimit calls a second, and
// measures the calls admitted after rateWarmup, when the sink has learnt
// the limit and spent what the emulator let it save before (tamio's
// bucket starts full: a second's worth of calls at once); the run is
// long enough (about 11 s) that the window measured is about 8 s. make
// bench measures a whole 10,000-update run.
const (
	rateLimit   = 50
	rateUpdates = 550
	rateWarmup  = 3 * time.Second
	// rateLow is the least share of the limit a sink must keep, and the
	// limit is low enough that a 2-core machine under -race keeps up.
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
		t.Errorf("the sink kept %.1f%% of the emulator's limit of %d calls a second, want %.0f%% to %.0f%%", got*100, rateLimit, rateLow*100, high*100)
	}
	if share := float64(limited) / float64(inWindow); share > rate429 {
		t.Errorf("after %v, %.1f%% of the calls were answered 429, want at most %.0f%%", rateWarmup, share*100, rate429*100)
	}
	if n := workers(sk); early429 > n {
		t.Errorf("in the first %v, %d calls were answered 429: more than the %d the sink had in flight when it met the limit", rateWarmup, early429, n)
	}
}
