package emulator

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Quota is the state of one key's rate limit after a request took (or
// failed to take) its share, from which an emulator writes the headers of
// its API: [Quota.SetHeaders] for the X-RateLimit-* style, or its own.
type Quota struct {
	// Allowed is false when the request is over the limit and must be
	// answered 429 without being served.
	Allowed bool
	// Limit is the size of the bucket, or the requests a window allows.
	Limit int
	// Remaining is how many more requests would be allowed now.
	Remaining int
	// Reset is when the bucket is full again, or the window ends.
	Reset time.Time
	// RetryAfter is how long a refused request should wait, in whole
	// seconds and at least one; zero when Allowed.
	RetryAfter time.Duration
}

// ResetUnix is Reset as a unix second, rounded up so that the quota has
// been restored by then.
func (q Quota) ResetUnix() int64 {
	s := q.Reset.Unix()
	if q.Reset.Nanosecond() > 0 {
		s++
	}
	return s
}

// SetHeaders sets X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (unix seconds), and Retry-After (whole seconds) when
// the request was refused.
func (q Quota) SetHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(q.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(q.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(q.ResetUnix(), 10))
	if !q.Allowed {
		h.Set("Retry-After", strconv.FormatInt(int64(q.RetryAfter/time.Second), 10))
	}
}

// Limiter is one key's rate limit. Take is called once per request, from
// any goroutine, with the time the request arrived.
type Limiter interface {
	Take(now time.Time) Quota
}

// TokenBucket is a bucket of Burst tokens refilled at a steady rate per
// second; each request takes one token. Safe for concurrent use.
type TokenBucket struct {
	lim *rate.Limiter
}

// NewTokenBucket returns a full bucket. perSecond must be positive and
// burst at least 1.
func NewTokenBucket(perSecond float64, burst int) *TokenBucket {
	return &TokenBucket{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// Take takes a token if there is one. Remaining counts whole tokens,
// Reset is when the bucket is full again, and RetryAfter the wait for the
// next whole token.
func (b *TokenBucket) Take(now time.Time) Quota {
	ok := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	burst, per := b.lim.Burst(), float64(b.lim.Limit())
	q := Quota{
		Allowed:   ok,
		Limit:     burst,
		Remaining: max(0, int(math.Floor(tokens))),
		Reset:     now.Add(time.Duration((float64(burst) - tokens) / per * float64(time.Second))),
	}
	if !ok {
		q.RetryAfter = time.Duration(max(1, int(math.Ceil((1-tokens)/per)))) * time.Second
	}
	return q
}

// Window allows Limit requests in each fixed window of Per, windows being
// aligned on multiples of Per since the zero time (so a minute window runs
// from :00 to :00 of the clock). A refused request does not count. Safe
// for concurrent use.
type Window struct {
	limit int
	per   time.Duration

	mu    sync.Mutex
	start time.Time
	used  int
}

// NewWindow returns a window limiter of limit requests per period. limit
// must be at least 1 and per positive.
func NewWindow(limit int, per time.Duration) *Window {
	return &Window{limit: limit, per: per}
}

// Take counts the request in the current window if there is room. Reset
// is the end of the window and RetryAfter the whole seconds until then.
func (w *Window) Take(now time.Time) Quota {
	w.mu.Lock()
	defer w.mu.Unlock()
	if start := now.Truncate(w.per); !start.Equal(w.start) {
		w.start, w.used = start, 0
	}
	end := w.start.Add(w.per)
	q := Quota{Limit: w.limit, Reset: end}
	if w.used < w.limit {
		w.used++
		q.Allowed = true
	} else {
		secs := (end.Sub(now) + time.Second - 1) / time.Second
		q.RetryAfter = max(1, secs) * time.Second
	}
	q.Remaining = w.limit - w.used
	return q
}

// SlidingLog is the rate limit of Django REST framework's throttles: the
// times of the requests allowed in the last period are kept, a request
// is allowed while fewer than limit are, and a refused one waits until
// the oldest leaves the period. A refused request is not logged. Unlike a
// [Window] it never lets 2×limit through across a boundary, and unlike a
// [TokenBucket] it has no burst beyond the limit: a drained limit comes
// back request by request as each ages past the period. Safe for
// concurrent use; one SlidingLog may serve several keys that share a
// limit (an account's).
type SlidingLog struct {
	limit int
	per   time.Duration

	mu sync.Mutex
	// times is a ring of the allowed requests' times, oldest at head.
	times []time.Time
	head  int
	n     int
}

// NewSlidingLog returns a sliding log of limit requests per period. limit
// must be at least 1 and per positive.
func NewSlidingLog(limit int, per time.Duration) *SlidingLog {
	return &SlidingLog{limit: limit, per: per, times: make([]time.Time, limit)}
}

// Take logs a request made at now if the limit allows it. Reset is when
// the newest logged request leaves the period; RetryAfter, for a refused
// request, is the whole seconds until the oldest does (at least one).
func (l *SlidingLog) Take(now time.Time) Quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	// DRF drops a time once it is at least a period old.
	for l.n > 0 && !now.Before(l.times[l.head].Add(l.per)) {
		l.head = (l.head + 1) % len(l.times)
		l.n--
	}
	q := Quota{Limit: l.limit}
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
