package main

import (
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
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
	if rng.Float64() < c.cfg.FirstDrains {
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
// holds, or with a window limit as many as the window has left. The front
// calls it just before it hands crmsync's request on, which then meets a
// spent limit. It returns whether the limit was found spent.
func (c *chaos) drain() bool {
	var spent atomic.Bool
	for try := 0; try < 5 && !spent.Load(); try++ {
		burst := 3*c.cfg.RateBurst + 5
		if c.api.window {
			remaining, ok := c.neighbourRead()
			if ok && remaining < 0 {
				spent.Store(true)
				break
			}
			burst = remaining + 1
		}
		// At most 32 at once: a window's remainder can be a thousand.
		sem := make(chan struct{}, 32)
		var wg sync.WaitGroup
		for range burst {
			if spent.Load() {
				break
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if left, ok := c.neighbourRead(); ok && left < 0 {
					spent.Store(true)
				}
			})
		}
		wg.Wait()
	}
	return spent.Load()
}

// neighbourRead makes one of the neighbour's reads and returns what the
// answer's X-RateLimit-Remaining says is left (0 without the header), -1
// when it was answered 429, and ok false when it met a fault (the
// neighbour meets them too).
func (c *chaos) neighbourRead() (remaining int, ok bool) {
	req, err := http.NewRequest(http.MethodGet, c.sb.URL()+c.api.read, nil)
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.neighbourClient.Do(req)
	if err != nil {
		return 0, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		return -1, true
	}
	remaining, _ = strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	return remaining, resp.StatusCode == http.StatusOK
}
