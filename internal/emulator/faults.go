package emulator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Faults describes the faults a server injects; the zero value injects none.
//
// Faults are decided per request, in arrival order, from a random source
// seeded with Seed: the same seed and the same sequence of requests give
// the same faults. Each faulted request draws two numbers whatever
// happens, so one fault never shifts the next. The first falls in
// [0, DropRate) for a dropped connection, in the next ErrorRate for a 500,
// 502 or 503 (the second number chooses), and in the next LostAnswerRate
// for a lost answer, which applies to writes only. When the rates add up
// to more than 1, the later ones get what is left. Latency is added before
// anything else.
type Faults struct {
	// Seed makes the faults deterministic.
	Seed int64
	// ErrorRate is the share of requests answered 500, 502 or 503 without
	// being applied.
	ErrorRate float64
	// Latency is added to every request.
	Latency time.Duration
	// DropRate is the share of requests whose connection is closed before
	// any answer, without being applied.
	DropRate float64
	// LostAnswerRate is the share of write requests that are applied, after
	// which the connection is closed without an answer.
	LostAnswerRate float64
}

// Any reports whether any fault is asked for, latency included.
func (f Faults) Any() bool { return f.Active() || f.Latency > 0 }

// Active reports whether any rate is set; Latency alone draws nothing.
func (f Faults) Active() bool {
	return f.ErrorRate > 0 || f.DropRate > 0 || f.LostAnswerRate > 0
}

// Validate returns an error naming the first setting out of range, worded
// with the configuration file's names (error_rate, drop_rate...).
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"error_rate", f.ErrorRate}, {"drop_rate", f.DropRate}, {"lost_answer_rate", f.LostAnswerRate}} {
		// The negated comparison also rejects NaN.
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("faults: %s %v is not between 0 and 1", r.name, r.v)
		}
	}
	if f.ErrorRate+f.DropRate+f.LostAnswerRate > 1 {
		return errors.New("faults: error_rate + drop_rate + lost_answer_rate is more than 1")
	}
	if f.Latency < 0 {
		return fmt.Errorf("faults: negative latency %v", f.Latency)
	}
	return nil
}

// Clamp brings rates into [0, 1] and latency to at least 0, for callers
// that cannot return an error; drawing gives later rates what is left when
// they add up past 1.
func (f Faults) Clamp() Faults {
	c := func(v float64) float64 {
		if !(v > 0) { // NaN too
			return 0
		}
		return min(v, 1)
	}
	f.ErrorRate, f.DropRate, f.LostAnswerRate = c(f.ErrorRate), c(f.DropRate), c(f.LostAnswerRate)
	f.Latency = max(f.Latency, 0)
	return f
}

// Fault is what happens to one request.
type Fault int

// The faults a request can get.
const (
	// NoFault: the request is served (after the latency).
	NoFault Fault = iota
	// Drop: the connection is closed before anything is applied.
	Drop
	// Fail: the request is answered Decision.Status without being applied.
	Fail
	// Lose: the request is applied, then the connection is closed without
	// an answer.
	Lose
)

// Decision is the fault of one request.
type Decision struct {
	// Latency is to be waited before anything else.
	Latency time.Duration
	Fault   Fault
	// Status is 500, 502 or 503 when Fault is Fail, else 0.
	Status int
}

var failStatuses = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// Injector decides the fault of each request. The draws happen under one
// mutex, in the order requests reach it, from a source seeded by the
// configuration: that is what makes a seed replayable. Its methods may be
// called from any goroutine; the zero value injects nothing.
type Injector struct {
	// on is read without the lock, so that a server without faults (the
	// benchmarks, most rehearsals) never contends on mu.
	on  atomic.Bool
	mu  sync.Mutex
	cfg Faults
	rng *rand.Rand
}

// NewInjector returns an injector of f; f is used as it is (see
// [Faults.Validate] and [Faults.Clamp]).
func NewInjector(f Faults) *Injector {
	fi := &Injector{}
	fi.Set(f)
	return fi
}

// Set replaces the faults and re-seeds the random source, so that a test
// can seed data without faults and then turn them on. Requests deciding
// at the same time get either the old or the new faults.
func (fi *Injector) Set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.cfg = f
	// The stream selector is a constant: the seed alone picks the faults.
	fi.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x7a6d696f))
	fi.on.Store(f.Active() || f.Latency > 0)
}

// Decide draws the fault of one request; write says whether the request
// would change something, which lost answers need. Called once per
// request, in arrival order, for the draws to be replayable.
func (fi *Injector) Decide(write bool) Decision {
	if !fi.on.Load() {
		return Decision{}
	}
	fi.mu.Lock()
	f := fi.cfg
	if !f.Active() {
		fi.mu.Unlock()
		return Decision{Latency: f.Latency}
	}
	// Always two draws, whatever the outcome, so that one request's fault
	// does not shift the stream for the next.
	u := fi.rng.Float64()
	pick := fi.rng.IntN(len(failStatuses))
	fi.mu.Unlock()

	d := Decision{Latency: f.Latency}
	switch {
	case u < f.DropRate:
		d.Fault = Drop
	case u < f.DropRate+f.ErrorRate:
		d.Fault, d.Status = Fail, failStatuses[pick]
	case write && u < f.DropRate+f.ErrorRate+f.LostAnswerRate:
		d.Fault = Lose
	}
	return d
}

// Cut closes the connection of w without an answer: a dropped connection
// or a lost answer. Called from a handler instead of writing an answer;
// nothing may be written to w afterwards.
func Cut(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not a hijackable connection (HTTP/2, a recorder): abort the way
		// net/http itself does, which also sends no answer.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
