package sinktest

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"crmsync/internal/httpapi"
)

// call is one request a sink or reader sent, as its client saw it.
type call struct {
	Method, Path string
	Sent         time.Time
	Answered     time.Time // when the answer's headers came, or the error
	// Status is the answer's HTTP status; 0 when the request got no
	// answer (a dropped connection, a lost answer, a timeout).
	Status int
	// RetryAfter is the answer's Retry-After in seconds, 0 when absent.
	RetryAfter time.Duration
}

// write reports whether the request may change the account: every method
// but GET and HEAD. (An API that reads with POST would need its reads
// told apart; none does yet.)
func (c call) write() bool { return c.Method != http.MethodGet && c.Method != http.MethodHead }

// recorder is an http.RoundTripper that notes every request before a real
// transport sends it: what the suite counts a sink's writes by, and checks
// its waits after a 429 with. It changes nothing on the way.
type recorder struct {
	next http.RoundTripper

	mu    sync.Mutex
	calls []call
}

// newClient returns an http.Client as the CLI builds one for connectors
// (no redirects, a timeout per attempt), whose requests rec records.
func newClient(rec *recorder) *http.Client {
	c := httpapi.NewHTTPClient(30 * time.Second)
	rec.next = c.Transport
	c.Transport = rec
	return c
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := call{Method: req.Method, Path: req.URL.Path, Sent: time.Now()}
	resp, err := r.next.RoundTrip(req)
	c.Answered = time.Now()
	if err == nil {
		c.Status = resp.StatusCode
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			c.RetryAfter = time.Duration(s) * time.Second
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return resp, err
}

// CloseIdleConnections closes the idle connections of the transport
// underneath, for http.Client.CloseIdleConnections.
func (r *recorder) CloseIdleConnections() {
	if c, ok := r.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Calls returns a copy of the calls so far, in the order they were
// answered.
func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// mark returns the number of calls so far, for since.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// since returns the calls answered after mark m.
func (r *recorder) since(m int) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls[m:]...)
}

// writes counts the writes among calls.
func writes(calls []call) int {
	n := 0
	for _, c := range calls {
		if c.write() {
			n++
		}
	}
	return n
}

// withStatus counts the calls answered status.
func withStatus(calls []call, status int) int {
	n := 0
	for _, c := range calls {
		if c.Status == status {
			n++
		}
	}
	return n
}
