package emulator

import (
	"net/http"
	"testing"
	"time"
)

// The limiters take the time as an argument, so these tests step a
// clock of their own instead of sleeping.

func TestTokenBucket(t *testing.T) {
	b := NewTokenBucket(1, 3)
	now := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		q := b.Take(now)
		if !q.Allowed || q.Limit != 3 || q.Remaining != 2-i || q.RetryAfter != 0 {
			t.Errorf("request %d: %+v", i, q)
		}
		// Full again after one second per token taken.
		if got, want := q.ResetUnix(), now.Unix()+int64(i+1); got != want {
			t.Errorf("request %d: reset %d, want %d", i, got, want)
		}
	}
	q := b.Take(now)
	if q.Allowed || q.Remaining != 0 || q.RetryAfter != time.Second || q.ResetUnix() != now.Unix()+3 {
		t.Errorf("fourth request: %+v", q)
	}
	// Half a token later the wait is still rounded up to a whole second.
	if q := b.Take(now.Add(500 * time.Millisecond)); q.Allowed || q.RetryAfter != time.Second {
		t.Errorf("half a second on: %+v", q)
	}
	if q := b.Take(now.Add(time.Second)); !q.Allowed || q.Remaining != 0 {
		t.Errorf("a second on: %+v", q)
	}
	slow := NewTokenBucket(0.25, 1)
	slow.Take(now)
	if q := slow.Take(now); q.Allowed || q.RetryAfter != 4*time.Second {
		t.Errorf("one token per 4 s: %+v", q)
	}
	// 3.5 s to the next token is answered 4, never 3.
	if q := slow.Take(now.Add(500 * time.Millisecond)); q.Allowed || q.RetryAfter != 4*time.Second {
		t.Errorf("3.5 s before the next token: %+v", q)
	}
}

func TestWindow(t *testing.T) {
	w := NewWindow(3, time.Minute)
	minute := time.Unix(1_700_000_040, 0) // a whole minute
	if minute.Unix()%60 != 0 {
		t.Fatal("not on a minute")
	}
	at := minute.Add(10 * time.Second)
	for i := range 3 {
		q := w.Take(at)
		if !q.Allowed || q.Limit != 3 || q.Remaining != 2-i || !q.Reset.Equal(minute.Add(time.Minute)) {
			t.Errorf("request %d: %+v", i, q)
		}
	}
	// Refused requests do not count, and wait for the next window.
	for range 2 {
		q := w.Take(at.Add(500 * time.Millisecond))
		if q.Allowed || q.Remaining != 0 || q.RetryAfter != 50*time.Second {
			t.Errorf("over the limit: %+v", q)
		}
	}
	if q := w.Take(minute.Add(time.Minute - time.Millisecond)); q.Allowed || q.RetryAfter != time.Second {
		t.Errorf("at the end of the window: %+v", q)
	}
	q := w.Take(minute.Add(time.Minute))
	if !q.Allowed || q.Remaining != 2 || q.ResetUnix() != minute.Unix()+120 {
		t.Errorf("next window: %+v", q)
	}
}

func TestQuotaHeaders(t *testing.T) {
	h := http.Header{}
	Quota{Allowed: true, Limit: 100, Remaining: 7, Reset: time.Unix(1000, 1)}.SetHeaders(h)
	if h.Get("X-RateLimit-Limit") != "100" || h.Get("X-RateLimit-Remaining") != "7" ||
		h.Get("X-RateLimit-Reset") != "1001" || h.Get("Retry-After") != "" {
		t.Errorf("allowed: %v", h)
	}
	h = http.Header{}
	Quota{Limit: 100, Reset: time.Unix(1000, 0), RetryAfter: 3 * time.Second}.SetHeaders(h)
	if h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") != "1000" || h.Get("Retry-After") != "3" {
		t.Errorf("refused: %v", h)
	}
}

// TestSlidingLog allows limit requests in any period, refuses the next
// until the oldest is a period old, rounds the wait up to whole seconds,
// and does not log refused requests.
func TestSlidingLog(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 30, 0, time.UTC)
	l := NewSlidingLog(3, time.Minute)
	for _, step := range []struct {
		at        time.Duration
		allowed   bool
		retry     time.Duration
		remaining int
	}{
		{0, true, 0, 2},
		{10 * time.Second, true, 0, 1},
		{20 * time.Second, true, 0, 0},
		{30 * time.Second, false, 30 * time.Second, 0},
		{30*time.Second + 500*time.Millisecond, false, 30 * time.Second, 0}, // 29.5 s, rounded up
		{59*time.Second + 500*time.Millisecond, false, time.Second, 0},      // half a second, rounded up
		{59*time.Second + 999*time.Millisecond, false, time.Second, 0},
		{60 * time.Second, true, 0, 0}, // the first is a minute old: gone
		{61 * time.Second, false, 9 * time.Second, 0},
		{69*time.Second + 100*time.Millisecond, false, time.Second, 0},
		{70 * time.Second, true, 0, 0},
		{80 * time.Second, true, 0, 0},
		{80 * time.Second, false, 40 * time.Second, 0},
		{200 * time.Second, true, 0, 2}, // everything has left the minute
		{200 * time.Second, true, 0, 1},
		{200 * time.Second, true, 0, 0},
		{200 * time.Second, false, 60 * time.Second, 0},
	} {
		q := l.Take(t0.Add(step.at))
		if q.Allowed != step.allowed || q.RetryAfter != step.retry || q.Limit != 3 || q.Remaining != step.remaining {
			t.Errorf("at %v: %+v, want allowed %v retry %v remaining %d", step.at, q, step.allowed, step.retry, step.remaining)
		}
	}
	// Reset is when the newest logged request leaves the minute, refused
	// or not.
	l = NewSlidingLog(3, time.Minute)
	for _, at := range []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second} {
		if q, want := l.Take(t0.Add(at)), t0.Add(min(at, 20*time.Second)+time.Minute); !q.Reset.Equal(want) {
			t.Errorf("at %v: reset %v, want %v", at, q.Reset, want)
		}
	}
}

// TestSlidingLogAllowsASteadyRate checks that a client pacing itself at
// exactly the limit is never refused: the sliding period holds limit
// requests and the oldest leaves as the next arrives.
func TestSlidingLogAllowsASteadyRate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewSlidingLog(1200, time.Minute)
	for i := range 5000 {
		if q := l.Take(t0.Add(time.Duration(i) * 50 * time.Millisecond)); !q.Allowed {
			t.Fatalf("request %d at 20 a second refused, retry %v", i, q.RetryAfter)
		}
	}
	if q := l.Take(t0.Add(4999 * 50 * time.Millisecond)); q.Allowed {
		t.Error("a request beyond the steady rate was allowed")
	}
}
