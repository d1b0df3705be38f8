package revnuetest

import (
	"testing"
	"time"
)

// TestSlidingLog drives the account's limiter with times of its own: it
// allows limit requests in any minute, refuses the next until the oldest
// is a minute old, rounds the wait up to whole seconds, and does not log
// refused requests.
func TestSlidingLog(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 30, 0, time.UTC)
	l := newSlidingLog(3, time.Minute)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, step := range []struct {
		at      time.Duration
		allowed bool
		retry   time.Duration
	}{
		{0, true, 0},
		{10 * time.Second, true, 0},
		{20 * time.Second, true, 0},
		{30 * time.Second, false, 30 * time.Second},
		{30*time.Second + 500*time.Millisecond, false, 30 * time.Second}, // 29.5 s, rounded up
		{59*time.Second + 500*time.Millisecond, false, time.Second},      // half a second, rounded up
		{59*time.Second + 999*time.Millisecond, false, time.Second},
		{60 * time.Second, true, 0}, // the first is a minute old: gone
		{61 * time.Second, false, 9 * time.Second},
		{69*time.Second + 100*time.Millisecond, false, time.Second},
		{70 * time.Second, true, 0},
		{80 * time.Second, true, 0},
		{80 * time.Second, false, 40 * time.Second},
		{200 * time.Second, true, 0}, // everything has left the minute
		{200 * time.Second, true, 0},
		{200 * time.Second, true, 0},
		{200 * time.Second, false, 60 * time.Second},
	} {
		q := l.Take(at(step.at))
		if q.Allowed != step.allowed || q.RetryAfter != step.retry || q.Limit != 3 {
			t.Errorf("at %v: allowed %v retry %v limit %d, want %v %v", step.at, q.Allowed, q.RetryAfter, q.Limit, step.allowed, step.retry)
		}
	}
}

// TestSlidingLogAllowsASteadyRate checks that a client pacing itself at
// exactly the limit is never refused: the sliding minute holds limit
// requests and the oldest leaves as the next arrives.
func TestSlidingLogAllowsASteadyRate(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newSlidingLog(1200, time.Minute)
	for i := range 5000 {
		if q := l.Take(t0.Add(time.Duration(i) * 50 * time.Millisecond)); !q.Allowed {
			t.Fatalf("request %d at 20 a second refused, retry %v", i, q.RetryAfter)
		}
	}
	if q := l.Take(t0.Add(4999 * 50 * time.Millisecond)); q.Allowed {
		t.Error("a request beyond the steady rate was allowed")
	}
}
