package main

import (
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// drainPlan picks the requests of a run before which the neighbour
// empties the key's bucket: its first (see Config.FirstDrains), so each
// fresh process meets 429s before its pacer has learnt the rate, and then
// one every few hundred, so a long run meets them again; not more often,
// since each 429 pauses the whole run for its Retry-After, as each 503
// does. Its numbers come from a source of their own, so that the kill
// plans stay what the seed made them. An emulator with a window limit
// drains by the clock instead (front.drainDue).
func (c *chaos) drainPlan() []int64 {
	c.neighbourRuns++
	if c.api.window {
		return nil
	}
	rng := mrand.New(mrand.NewPCG(c.cfg.Seed, c.neighbourRuns))
	var at []int64
	// A sliding log spent at a run's first request, after a quiet minute
	// (the checks between days), would hold crmsync back for the whole of
	// the next: its first drain comes later.
	if !c.api.sliding && rng.Float64() < c.cfg.FirstDrains {
		at = append(at, 1)
	}
	for n := int64(1); len(at) < 1000; {
		n += 300 + rng.Int64N(600)
		at = append(at, n)
	}
	return at
}

// drain plays another integration that shares crmsync's API key and
// spends its rate limit: it sends bursts of reads until the emulator
// answers one with 429, each burst several times what a token bucket
// holds, or with a window or sliding limit as many as the limit has left
// (all it holds when the answers do not say what is left, the burst
// stopping at the first 429). The front calls it just before it hands
// crmsync's request on, which then meets a spent limit. It returns
// whether the limit was found spent.
//
// A window's drain ends with its minute, 429 or not: reads that went on
// into the next minute would spend that window too, and leave crmsync
// nothing for a whole minute.
func (c *chaos) drain() bool {
	var spent atomic.Bool
	var reads atomic.Int64
	started := time.Now()
	end := started.Truncate(time.Minute).Add(time.Minute)
	over := func() bool { return spent.Load() || (c.api.window && !time.Now().Before(end)) }
	defer func() {
		// Enough reads to time: the pace drainLead plans the next with.
		if n, took := reads.Load(), time.Since(started); n >= 20 {
			c.drainSpeed.Store(math.Float64bits(float64(n) / took.Seconds()))
		}
	}()
	for try := 0; try < 5 && !over(); try++ {
		burst := 3*c.cfg.RateBurst + 5
		if c.api.window || c.api.sliding {
			remaining, ok := c.neighbourRead()
			reads.Add(1)
			if ok && remaining == limitSpent {
				spent.Store(true)
				break
			}
			burst = remaining + 1
			if remaining == limitUntold {
				burst = perMinute(c.cfg.RateLimit)
			}
		}
		// At most 32 at once: a window's remainder can be a thousand.
		sem := make(chan struct{}, 32)
		var wg sync.WaitGroup
		for range burst {
			if over() {
				break
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				left, ok := c.neighbourRead()
				reads.Add(1)
				if ok && left == limitSpent {
					spent.Store(true)
				}
			})
		}
		wg.Wait()
	}
	return spent.Load()
}

// Bounds of drainLead, and the pace it assumes of a neighbour not yet
// timed: a slow one, as under the race detector on a busy machine, so that
// the first drain still finds the window spent.
const (
	maxDrainLead      = 30 * time.Second
	initialDrainSpeed = 50.0 // reads a second
	drainLeadHeadroom = 1.5
)

// drainLead is how long before a minute's end the neighbour starts to
// spend a window limit when crmsync has made used requests in the
// minute: long enough for the reads the rest takes at the pace of its
// last drain, between windowDrainLead and maxDrainLead. A neighbour that
// started late would reach the minute's end with the window unspent, and
// crmsync would never meet a 429. It may be called from any goroutine.
func (c *chaos) drainLead(used int64) time.Duration {
	speed := math.Float64frombits(c.drainSpeed.Load())
	if speed <= 0 {
		speed = initialDrainSpeed
	}
	left := float64(perMinute(c.cfg.RateLimit)) - float64(used)
	d := time.Duration(left / speed * drainLeadHeadroom * float64(time.Second))
	return min(max(d, windowDrainLead), maxDrainLead)
}

// What neighbourRead says of the limit when the answer does not give the
// requests left: limitSpent for a 429, limitUntold for a success without
// X-RateLimit-Remaining.
const (
	limitSpent  = -1
	limitUntold = -2
)

// neighbourRead makes one of the neighbour's reads and returns what the
// answer's X-RateLimit-Remaining says is left, limitSpent when it was
// answered 429 and limitUntold when it does not say, and ok false when it
// met a fault (the neighbour meets them too).
func (c *chaos) neighbourRead() (remaining int, ok bool) {
	req, err := http.NewRequest(http.MethodGet, c.sb.URL()+c.api.read, nil)
	if err != nil {
		return 0, false
	}
	c.api.authorizeRequest(req, nil, c.sb.Credentials())
	resp, err := c.neighbourClient.Do(req)
	if err != nil {
		return 0, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		return limitSpent, true
	}
	h := resp.Header.Get("X-RateLimit-Remaining")
	if h == "" {
		return limitUntold, resp.StatusCode == http.StatusOK
	}
	remaining, _ = strconv.Atoi(h)
	return remaining, resp.StatusCode == http.StatusOK
}
