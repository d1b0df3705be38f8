package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// killPlan says when to kill a run: after a delay, or at its nth API
// request (when it arrives, or once the emulator handled it); the zero
// plan never kills.
type killPlan struct {
	delay time.Duration
	nth   int64
	after bool
}

// front serves the emulator's API to crmsync, counting requests and
// killing the crmsync process at the request its kill plan names. It sits
// in the request path so that a kill can land exactly while a write is
// being applied.
type front struct {
	api http.Handler
	// prefix is the path of the API's base URL ("/v2"); requests outside
	// it (the emulator's /_sandbox/ routes) pass uncounted.
	prefix           string
	requests, writes atomic.Int64 // API requests since reset, and those that write
	got5xx, got429   atomic.Int64 // answers crmsync got, in all
	cut              atomic.Int64 // requests the emulator answered by closing the connection
	last             atomic.Int64 // when the last API request came, in Unix nanoseconds

	// drain is the neighbour's: see chaos.drain. drains counts its calls,
	// drained those that found the limit spent.
	drain           func() bool
	drains, drained atomic.Int64
	// window says the emulator limits per minute of the clock: the
	// neighbour drains in each minute's last seconds (see drainDue)
	// instead of at the requests of drainAt.
	window bool
	// lead says, given the requests crmsync made in the current minute,
	// how long before the minute's end the neighbour starts to spend what
	// is left of it; nil means windowDrainLead.
	lead func(used int64) time.Duration

	mu      sync.Mutex
	proc    *os.Process
	plan    killPlan
	drainAt []int64 // sorted request numbers
	// drainedWindow is the minute whose quota the neighbour spent last.
	drainedWindow time.Time
	// minute is the current minute of the clock and used the requests
	// crmsync made in it, for lead.
	minute time.Time
	used   int64

	timer *time.Timer
	fired string // how the process was killed; "" while it was not
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, f.prefix+"/") {
		f.api.ServeHTTP(w, r)
		return
	}
	n := f.requests.Add(1)
	f.last.Store(time.Now().UnixNano())
	if r.Method != http.MethodGet {
		f.writes.Add(1)
	}
	f.killAt(n, false, r)
	if f.drainDue(n, time.Now()) {
		f.drains.Add(1)
		if f.drain() {
			f.drained.Add(1)
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	f.api.ServeHTTP(sw, r)
	switch {
	case sw.status == 0:
		f.cut.Add(1)
	case sw.status == http.StatusTooManyRequests:
		f.got429.Add(1)
	case sw.status >= 500:
		f.got5xx.Add(1)
	}
	f.killAt(n, true, r)
}

// faults returns the 5xx, 429s and connections cut without an answer
// that crmsync met so far.
func (f *front) faults() [3]int64 {
	return [3]int64{f.got5xx.Load(), f.got429.Load(), f.cut.Load()}
}

// statusWriter notes the status of an answer; a connection the emulator
// cuts (a fault) has none. Unwrap lets the emulator hijack the connection
// through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (f *front) lastRequest() time.Time { return time.Unix(0, f.last.Load()) }

func (f *front) reset() {
	f.requests.Store(0)
	f.writes.Store(0)
}

func (f *front) arm(p *os.Process, plan killPlan, drainAt []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proc, f.plan, f.fired, f.drainAt = p, plan, "", drainAt
	if plan.delay > 0 {
		f.timer = time.AfterFunc(plan.delay, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.proc == p {
				f.kill(fmt.Sprintf("timed %s after start", plan.delay.Round(time.Millisecond)))
			}
		})
	}
}

// disarm forgets the process and returns how it was killed, if it was.
func (f *front) disarm() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	f.proc, f.drainAt = nil, nil
	return f.fired
}

// windowDrainLead is how long before the end of a minute the neighbour
// spends what is left of a window limit, at the least (see
// chaos.drainLead). A spent window holds crmsync back until the next
// minute starts; a drain early in the minute would idle the run for most
// of it.
const windowDrainLead = 4 * time.Second

// drainDue reports whether the neighbour drains the key's limit before
// request n, arriving at now, of a run: at the requests of the run's
// drain plan, or with a window limit at the first request in the last
// seconds of each minute, as many as lead asks for.
func (f *front) drainDue(n int64, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proc == nil {
		return false
	}
	if !f.window {
		_, found := slices.BinarySearch(f.drainAt, n)
		return found
	}
	minute := now.Truncate(time.Minute)
	if !minute.Equal(f.minute) {
		f.minute, f.used = minute, 0
	}
	f.used++
	lead := windowDrainLead
	if f.lead != nil {
		lead = f.lead(f.used)
	}
	if now.Sub(minute) < time.Minute-lead || minute.Equal(f.drainedWindow) {
		return false
	}
	f.drainedWindow = minute
	return true
}

func (f *front) killAt(n int64, after bool, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proc == nil || f.plan.nth != n || f.plan.after != after {
		return
	}
	when := "arriving"
	if after {
		when = "handled"
	}
	f.kill(fmt.Sprintf("at-request %d (%s %s, %s)", n, r.Method, routeOf(strings.TrimPrefix(r.URL.Path, f.prefix+"/")), when))
}

// kill sends SIGKILL; callers hold f.mu.
func (f *front) kill(how string) {
	if f.fired != "" {
		return
	}
	// A process that already exited cannot be killed: it finished first.
	if f.proc.Signal(syscall.SIGKILL) == nil {
		f.fired = how
	}
}

// routeOf shortens a path below the base URL for the log: ids (a UUID,
// or a segment with a digit, as tiquo's cust_… ids have) are dropped; a
// version (Revnue's base URL is its root, so its paths start api/v2) is
// kept.
func routeOf(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		version := len(s) > 1 && s[0] == 'v' && strings.Trim(s[1:], "0123456789") == ""
		if (len(s) == 36 && strings.Count(s, "-") == 4) || strings.ContainsAny(s, "0123456789") && !version {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}
