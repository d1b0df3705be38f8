package tamiotest

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

type faultAction int

const (
	faultNone faultAction = iota
	faultDrop
	faultError
	faultLost
)

var failStatuses = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// faultInjector decides the fault of each request. The draws happen under
// one mutex, in the order requests reach it, from a source seeded by the
// configuration: that is what makes a seed replayable.
type faultInjector struct {
	// on is read without the lock, so that a server without faults (the
	// benchmarks, most rehearsals) never contends on mu.
	on  atomic.Bool
	mu  sync.Mutex
	cfg Faults
	rng *rand.Rand
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.cfg = f
	fi.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x7a6d696f)) // constant stream selector
	fi.on.Store(f.active() || f.Latency > 0)
}

// decide returns the latency to add and the fault of one request.
func (fi *faultInjector) decide(write bool) (time.Duration, faultAction, int) {
	if !fi.on.Load() {
		return 0, faultNone, 0
	}
	fi.mu.Lock()
	f := fi.cfg
	if !f.active() {
		fi.mu.Unlock()
		return f.Latency, faultNone, 0
	}
	// Always two draws, whatever the outcome, so that one request's fault
	// does not shift the stream for the next.
	u := fi.rng.Float64()
	pick := fi.rng.IntN(len(failStatuses))
	fi.mu.Unlock()

	switch {
	case u < f.DropRate:
		return f.Latency, faultDrop, 0
	case u < f.DropRate+f.ErrorRate:
		return f.Latency, faultError, failStatuses[pick]
	case write && u < f.DropRate+f.ErrorRate+f.LostAnswerRate:
		return f.Latency, faultLost, 0
	}
	return f.Latency, faultNone, 0
}
