package emutest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Receiver collects the webhook events POSTed to it, on 127.0.0.1 until
// the test ends. A delivery that is not a POST of a JSON object with
// Content-Type application/json fails the test; it is collected still.
type Receiver struct {
	// URL is the receiver's root; any path below it is taken.
	URL string

	mu     sync.Mutex
	events []map[string]any
	raws   [][]byte
}

// NewReceiver starts a receiver, closed when t ends.
func NewReceiver(t testing.TB) *Receiver {
	rc := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &ev) != nil || ev == nil {
			t.Errorf("webhook request %s %s %q", r.Method, r.Header.Get("Content-Type"), body)
		}
		rc.mu.Lock()
		rc.events = append(rc.events, ev)
		rc.raws = append(rc.raws, body)
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Events returns the events received so far, decoded.
func (rc *Receiver) Events() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.events...)
}

// Raw returns the bodies received so far, as they came.
func (rc *Receiver) Raw() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.raws...)
}

// Wait returns the events once n have come, failing t when they have
// not after ten seconds, or when more than n came.
func (rc *Receiver) Wait(t testing.TB, n int) []map[string]any {
	t.Helper()
	var got []map[string]any
	Eventually(t, "webhook events", func() bool {
		got = rc.Events()
		return len(got) >= n
	})
	if len(got) != n {
		t.Fatalf("%d events, want %d: %v", len(got), n, got)
	}
	return got
}

// Eventually polls cond until it holds, failing t with what after ten
// seconds: for work an emulator does in the background (deliveries,
// jobs), never to time anything.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
