package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
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
}

// CallStats counts what a pacer did; the summary reports it.
type CallStats struct {
	Calls       atomic.Int64 // attempts, retries included
	Retries     atomic.Int64
	RateLimited atomic.Int64 // attempts answered 429
}

// Pacer runs every API call of a sink: it spaces calls to a rate, retries
// retryable errors with capped exponential backoff and full jitter,
// honours a server's Retry-After, and on a 429 lowers its rate for a
// while, then climbs back (additive increase, multiplicative decrease).
//
// A Pacer is safe for concurrent use; one is shared by all the workers of
// a sink so they slow down together.
type Pacer struct {
	opts  PacerOptions
	Stats CallStats

	limiter *rate.Limiter // nil when there is no rate, until the first 429

	mu         sync.Mutex
	pauseUntil time.Time // set from Retry-After: nobody calls before it
	ceiling    float64   // the configured rate, or the rate seen to work
	lastRaise  time.Time
	started    time.Time
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
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
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
	if lim != nil {
		return lim.Wait(ctx)
	}
	return ctx.Err()
}

func (p *Pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := time.Now().Add(d); u.After(p.pauseUntil) {
		p.pauseUntil = u
	}
}

// lower cuts the rate by a quarter. Without a configured rate the first
// 429 starts a limiter at three quarters of the average rate achieved so
// far, and the next 429s and calm seconds tune it.
func (p *Pacer) lower() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limiter == nil {
		achieved := float64(p.Stats.Calls.Load()) / max(time.Since(p.started).Seconds(), 1)
		p.limiter = rate.NewLimiter(rate.Limit(max(achieved*0.75, 1)), 1)
		p.lastRaise = time.Now()
		return
	}
	cur := float64(p.limiter.Limit())
	p.limiter.SetLimit(rate.Limit(max(cur*0.75, 1)))
	p.lastRaise = time.Now()
}

// raise climbs back towards the ceiling by 5% a second of calm.
func (p *Pacer) raise() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limiter == nil || time.Since(p.lastRaise) < time.Second {
		return
	}
	p.lastRaise = time.Now()
	cur := float64(p.limiter.Limit())
	next := cur * 1.05
	if p.ceiling > 0 && next > p.ceiling {
		next = p.ceiling
	}
	if p.ceiling == 0 && next > 10000 {
		next = 10000
	}
	p.limiter.SetLimit(rate.Limit(next))
}

// Rate returns the rate the pacer currently allows, 0 for unlimited.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limiter == nil {
		return 0
	}
	return float64(p.limiter.Limit())
}
