package revnuetest

import (
	"sync"
	"time"

	"crmsync/internal/emulator"
)

// slidingLog is the rate limit of Django REST framework's throttles,
// which Revnue's 429 body shows it uses: the times of the requests allowed
// in the last period are kept, a request is allowed while fewer than limit
// are, and a refused one waits until the oldest leaves the period. A
// refused request is not logged. Unlike a window of the clock it never
// lets 2×limit through across a boundary, and unlike a token bucket it
// has no burst beyond the limit. Safe for concurrent use.
type slidingLog struct {
	limit int
	per   time.Duration

	mu sync.Mutex
	// times is a ring of the allowed requests' times, oldest at head.
	times []time.Time
	head  int
	n     int
}

var _ emulator.Limiter = (*slidingLog)(nil)

func newSlidingLog(limit int, per time.Duration) *slidingLog {
	return &slidingLog{limit: limit, per: per, times: make([]time.Time, limit)}
}

// Take logs a request made at now if the limit allows it. Reset is when
// the newest logged request leaves the period; RetryAfter, for a refused
// request, is the whole seconds until the oldest does (at least one).
func (l *slidingLog) Take(now time.Time) emulator.Quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	// DRF drops a time once it is at least a period old.
	for l.n > 0 && !now.Before(l.times[l.head].Add(l.per)) {
		l.head = (l.head + 1) % len(l.times)
		l.n--
	}
	q := emulator.Quota{Limit: l.limit}
	if l.n >= l.limit {
		wait := l.times[l.head].Add(l.per).Sub(now)
		q.RetryAfter = max(time.Second, wait.Truncate(time.Second))
		if q.RetryAfter < wait {
			q.RetryAfter += time.Second // rounded up, as DRF's math.ceil
		}
		q.Reset = l.times[(l.head+l.n-1)%len(l.times)].Add(l.per)
		return q
	}
	l.times[(l.head+l.n)%len(l.times)] = now
	l.n++
	q.Allowed, q.Remaining, q.Reset = true, l.limit-l.n, now.Add(l.per)
	return q
}
