package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// PacerOptions configures a Pacer.
type PacerOptions struct {
	// Rate is the most calls per second the pacer starts; 0 means no
	// client-side limit (the pacer still slows down on 429s).
	Rate float64
	// MaxRetries is how many times one call is retried; default 8.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries; defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Logger gets a line at info level for each retry (see CallRoute);
	// nil logs nothing.
	Logger *slog.Logger
}

// CallStats counts what a pacer did; the summary reports it.
type CallStats struct {
	Calls       atomic.Int64 // attempts, retries included
	Retries     atomic.Int64
	RateLimited atomic.Int64 // attempts answered 429
}

// Pacer runs every API call of a sink: it spaces calls to a rate, retries
// retryable errors with capped exponential backoff and full jitter,
// honours a server's Retry-After, and learns the server's rate limit.
//
// Servers that send rate-limit headers (see ObserveQuota) tell the pacer
// their refill rate, and it paces just under it when the quota runs low.
// For others a 429 sets the rate to what the server was admitting, and
// every calm second adds 5% back (additive increase, multiplicative
// decrease).
//
// A Pacer is safe for concurrent use; one is shared by all the workers of
// a sink so they slow down together.
type Pacer struct {
	opts  PacerOptions
	Stats CallStats

	mu         sync.Mutex
	limiter    *rate.Limiter // nil: no limit yet
	pauseUntil time.Time     // set from Retry-After: nobody calls before it
	ceiling    float64       // --rate, or 0
	lastRaise  time.Time
	started    time.Time
	admitted   [10]int64 // successful calls per 100 ms, the last second
	admittedAt int64     // the 100 ms slot admitted[admittedAt%10] counts

	// Quota readings (see ObserveQuota): the last sample, the answers
	// seen since, and the server's refill rate learnt from them.
	quotaAt      time.Time
	quotaLeft    int
	quotaAnswers int
	refill       float64

	// Window readings (see ObserveWindow): the end of the newest window
	// seen, set once a server has said it limits by fixed windows.
	windowEnd time.Time
}

// NewPacer returns a pacer with the given options.
func NewPacer(opts PacerOptions) *Pacer {
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 8
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	p := &Pacer{opts: opts, ceiling: opts.Rate, started: time.Now()}
	if opts.Rate > 0 {
		p.limiter = rate.NewLimiter(rate.Limit(opts.Rate), 1)
	}
	return p
}

// ErrRateLimited is the error a sink wraps (as Retryable) for a 429, so
// the pacer can tell it from other retryable errors.
var ErrRateLimited = errors.New("rate limited (429)")

// Call runs fn until it succeeds, fails with an error that is not
// retryable, runs out of retries, or ctx ends. fn is called with the
// attempt number (0 for the first). The last error is returned as it
// came, so its class survives; a context error is returned as is.
func (p *Pacer) Call(ctx context.Context, fn func(attempt int) error) error {
	return p.CallRoute(ctx, "", "", fn)
}

// CallRoute is Call for one API call, named by its method and route (the
// path with placeholders for its ids: "/customers/update/{id}"). Each
// retry is logged at info level with the method, route, attempt, reason
// and wait, so a run held up by a failing or stalling server says so
// while it waits. The reason is what the error's RetryReason method says
// (a status, "timed out"), not its text, which may quote a server's
// answer and the personal data it echoed; an error without one is named
// by the first line of its text.
func (p *Pacer) CallRoute(ctx context.Context, method, route string, fn func(attempt int) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		if werr := p.wait(ctx); werr != nil {
			if err != nil {
				return errors.Join(werr, err)
			}
			return werr
		}
		p.Stats.Calls.Add(1)
		err = fn(attempt)
		if err == nil {
			p.raise()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ClassOf(err) != ClassRetryable || attempt >= p.opts.MaxRetries {
			return err
		}
		p.Stats.Retries.Add(1)
		delay := p.backoff(attempt)
		if errors.Is(err, ErrRateLimited) {
			p.Stats.RateLimited.Add(1)
			p.lower()
		}
		if ra := RetryAfter(err); ra > 0 {
			delay = ra + time.Duration(rand.Int64N(int64(ra/10)+1))
			p.pause(delay)
		}
		if p.opts.Logger != nil {
			p.opts.Logger.Info("API call failed; retrying", "method", method, "route", route,
				"attempt", attempt+1, "attempts", p.opts.MaxRetries+1, "reason", retryReason(err), "wait", delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryReason names why a retryable attempt failed, for the retry log.
func retryReason(err error) string {
	var r interface{ RetryReason() string }
	if errors.As(err, &r) {
		if s := r.RetryReason(); s != "" {
			return s
		}
	}
	if errors.Is(err, ErrRateLimited) {
		return ErrRateLimited.Error()
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s
}

// backoff is "full jitter": uniform in [min, min·2^attempt], capped.
func (p *Pacer) backoff(attempt int) time.Duration {
	d := p.opts.MinBackoff << min(attempt, 20)
	if d <= 0 || d > p.opts.MaxBackoff {
		d = p.opts.MaxBackoff
	}
	return p.opts.MinBackoff/2 + time.Duration(rand.Int64N(int64(d)))
}

func (p *Pacer) wait(ctx context.Context) error {
	took := false
	for {
		p.mu.Lock()
		until := p.pauseUntil
		lim := p.limiter
		p.mu.Unlock()
		if d := time.Until(until); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if lim == nil || took {
			return ctx.Err()
		}
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		took = true
		// A 429 may have paused every caller while this one waited for its
		// turn on the limiter: it waits out that pause too, or it would go
		// out inside the Retry-After it was told.
		p.mu.Lock()
		paused := time.Now().Before(p.pauseUntil)
		p.mu.Unlock()
		if !paused {
			return ctx.Err()
		}
	}
}

func (p *Pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := time.Now().Add(d); u.After(p.pauseUntil) {
		p.pauseUntil = u
	}
}

// setRate paces calls at r a second, never above the ceiling; r = 0
// lifts the pacer's own limit. Callers hold p.mu.
func (p *Pacer) setRate(r float64) {
	if p.ceiling > 0 && (r == 0 || r > p.ceiling) {
		r = p.ceiling
	}
	lim := rate.Limit(r)
	if r == 0 {
		lim = rate.Inf
	}
	if p.limiter == nil {
		if r == 0 {
			return
		}
		p.limiter = rate.NewLimiter(lim, 1)
		return
	}
	p.limiter.SetLimit(lim)
}

// lower answers a 429: pace just under the server's refill rate when it is
// known, else at what the server admitted over the last second.
func (p *Pacer) lower() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastRaise = time.Now()
	if !p.windowEnd.IsZero() {
		// The window's own readings set the pace; the 429's Retry-After
		// has paused every caller until the window ends.
		return
	}
	if p.refill > 0 {
		p.setRate(p.refill * 0.9)
		return
	}
	admitted := p.admittedLastSecond(time.Now())
	if admitted == 0 {
		admitted = float64(p.Stats.Calls.Load()) / max(time.Since(p.started).Seconds(), 1)
	}
	if p.limiter != nil && p.limiter.Limit() != rate.Inf {
		admitted = min(admitted, float64(p.limiter.Limit()))
	}
	p.setRate(max(admitted*0.95, 1))
}

// raise adds 5% back to the rate for each calm second, when the server's
// rate is not known from its headers.
func (p *Pacer) raise() {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.countAdmitted(now)
	if p.refill > 0 || !p.windowEnd.IsZero() || p.limiter == nil || p.limiter.Limit() == rate.Inf || now.Sub(p.lastRaise) < time.Second {
		return
	}
	p.lastRaise = now
	next := float64(p.limiter.Limit()) * 1.05
	if p.ceiling == 0 && next > 10000 {
		next = 0
	}
	p.setRate(next)
}

func (p *Pacer) countAdmitted(now time.Time) {
	slot := now.UnixMilli() / 100
	if gap := slot - p.admittedAt; gap > 0 {
		for i := int64(1); i <= min(gap, 10); i++ {
			p.admitted[(p.admittedAt+i)%10] = 0
		}
		p.admittedAt = slot
	}
	p.admitted[slot%10]++
}

func (p *Pacer) admittedLastSecond(now time.Time) float64 {
	slot := now.UnixMilli() / 100
	var n int64
	for i := range int64(10) {
		if s := slot - i; s <= p.admittedAt && s > p.admittedAt-10 {
			n += p.admitted[s%10]
		}
	}
	return float64(n)
}

// Rate returns the rate the pacer currently allows, 0 for unlimited.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limiter == nil || p.limiter.Limit() == rate.Inf {
		return 0
	}
	return float64(p.limiter.Limit())
}

// LearnedRate returns the server's refill rate learnt from its rate-limit
// headers, or 0 while it is unknown.
func (p *Pacer) LearnedRate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refill
}

// The pacer's quota thresholds: below quotaLow of the server's quota it
// paces itself just under the refill rate; above quotaHigh it spends the
// quota that has built up, at quotaSpend times the refill rate, so the
// quota drains slowly enough to be measured and never runs out at once.
const (
	quotaLow   = 0.25
	quotaHigh  = 0.5
	quotaSpend = 1.5
	// quotaSampleMin is the shortest span between two readings from which
	// a refill rate is taken; shorter spans are all jitter.
	quotaSampleMin = 50 * time.Millisecond
)

// ObserveQuota is told, after an answer, what the server said of the
// caller's quota: remaining calls (X-RateLimit-Remaining) out of limit
// (X-RateLimit-Limit). Between two readings the server spent one call per
// answer and refilled at its rate, so the pacer learns that rate:
// refill = (remaining now - remaining then + answers between) / time
// between. When the quota runs low it paces itself to that rate, so a run
// with no --rate keeps close to the server's limit without living on 429s.
func (p *Pacer) ObserveQuota(remaining, limit int) {
	if limit <= 0 || remaining < 0 {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quotaAnswers++
	if p.quotaAt.IsZero() {
		p.quotaAt, p.quotaLeft, p.quotaAnswers = now, remaining, 0
		return
	}
	if dt := now.Sub(p.quotaAt); dt >= quotaSampleMin {
		// A reading at 0 or near the full limit is clamped: the bucket
		// refused, or overflowed while the caller was slower than the
		// refill, and says nothing of the rate.
		full := int(0.9 * float64(limit))
		if remaining > 0 && p.quotaLeft > 0 && remaining < full && p.quotaLeft < full {
			if r := float64(remaining-p.quotaLeft+p.quotaAnswers) / dt.Seconds(); r > 0 {
				if p.refill == 0 {
					p.refill = r
				} else {
					p.refill = 0.7*p.refill + 0.3*r
				}
			}
		}
		p.quotaAt, p.quotaLeft, p.quotaAnswers = now, remaining, 0
	}
	if p.refill == 0 {
		// Paced below a rate not yet learnt, with the quota filling up:
		// the server allows more. Probe upwards quickly until the quota
		// drains slowly enough to be measured.
		if p.limiter != nil && p.limiter.Limit() != rate.Inf && float64(remaining) > quotaHigh*float64(limit) && now.Sub(p.lastRaise) >= 100*time.Millisecond {
			p.lastRaise = now
			p.setRate(float64(p.limiter.Limit()) * 1.2)
		}
		return
	}
	switch left := float64(remaining) / float64(limit); {
	case left < quotaLow:
		p.setRate(p.refill * 0.98)
	case left > quotaHigh:
		p.setRate(p.refill * quotaSpend)
	}
}

// windowMargin is how long after a window's announced end the pacer waits
// when the window's quota is spent: the end is given in whole seconds, and
// a call that arrives a moment early is refused.
const windowMargin = 50 * time.Millisecond

// ObserveWindow is told, after an answer, what a server that limits calls
// by fixed windows (so many calls in each minute of the clock) said
// of the caller's quota: remaining calls out of limit until reset, the
// end of the current window (X-RateLimit-Reset), for windows of length
// per (0 when the server does not say).
//
// Such a quota does not refill while a window runs, so ObserveQuota, which
// learns a refill rate, learns nothing from it. Instead the pacer spreads
// what remains over what is left of the window: remaining / (reset - now)
// calls a second, never more than limit / per, the window's sustained
// rate, so that a run that starts in a window with its quota unspent does
// not spend it in a burst and then wait. With nothing remaining it pauses
// every caller until the window ends. Readings of an older window (an
// answer overtaken by one of the next window) are ignored. Once it has
// been called, 429s no longer lower the rate (their Retry-After pauses the
// callers) and calm seconds no longer raise it: the windows set the pace.
func (p *Pacer) ObserveWindow(remaining, limit int, reset time.Time, per time.Duration) {
	if limit <= 0 || remaining < 0 || reset.IsZero() {
		return
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if reset.Before(p.windowEnd) {
		return
	}
	p.windowEnd = reset
	left := reset.Sub(now)
	if left <= 0 {
		return
	}
	if remaining == 0 {
		if u := reset.Add(windowMargin); u.After(p.pauseUntil) {
			p.pauseUntil = u
		}
		return
	}
	r := float64(remaining) / left.Seconds()
	if per > 0 {
		r = min(r, float64(limit)/per.Seconds())
	}
	p.setRate(r)
}
