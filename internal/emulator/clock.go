package emulator

import (
	"sync"
	"time"
)

// Clock gives records their creation times: unix nanoseconds that always
// increase, even when the system clock steps back, so that a list sorted
// by creation time follows the insertion order and pages stably. Call
// Next inside the write transaction that stores the record, so that the
// order of the stamps is the order of the commits. The zero value is
// ready; safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	last int64
}

// Observe makes later stamps come after ns, the latest stamp stored
// before (read when a database opens).
func (c *Clock) Observe(ns int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last, ns)
}

// Next returns the current time in unix nanoseconds, or one more than the
// last stamp given if the clock has not moved past it.
func (c *Clock) Next() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ns := time.Now().UnixNano()
	if ns <= c.last {
		ns = c.last + 1
	}
	c.last = ns
	return ns
}
