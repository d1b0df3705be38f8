package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookReceiver records what is POSTed to it; answer picks the status of
// each call (numbered from 1).
type hookReceiver struct {
	mu     sync.Mutex
	bodies []string
	heads  []http.Header
	calls  atomic.Int32
	srv    *httptest.Server
}

func newHookReceiver(t *testing.T, answer func(call int32) int) *hookReceiver {
	rc := &hookReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, string(body))
		rc.heads = append(rc.heads, r.Header.Clone())
		rc.mu.Unlock()
		w.WriteHeader(answer(n))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookReceiver) got() ([]string, []http.Header) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies), slices.Clone(rc.heads)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWebhooksOrderAndPerURLBodies sends events to two URLs: each gets
// them in order, with the body built for it, and the endpoint id is
// derived from the URL.
func TestWebhooksOrderAndPerURLBodies(t *testing.T) {
	a := newHookReceiver(t, func(int32) int { return 204 })
	b := newHookReceiver(t, func(int32) int { return 200 })
	h := NewWebhooks(WebhookOptions{URLs: []string{a.srv.URL, b.srv.URL + "/b"}, UserAgent: "kit-test/1"})
	defer h.Close(time.Second)
	eps := h.Endpoints()
	if len(eps) != 2 || eps[1].ID != EndpointID(b.srv.URL+"/b") || eps[0].ID == eps[1].ID || len(eps[0].ID) != 36 {
		t.Fatalf("endpoints %v", eps)
	}
	for i := range 50 {
		h.Emit("item.created", func(ep Endpoint) ([]byte, error) {
			return json.Marshal(map[string]any{"n": i, "endpoint": ep.ID})
		})
	}
	waitFor(t, "100 deliveries", func() bool { return h.Stats().Delivered == 100 })
	for _, rc := range []*hookReceiver{a, b} {
		bodies, heads := rc.got()
		for i, body := range bodies {
			var ev struct {
				N        int
				Endpoint string
			}
			json.Unmarshal([]byte(body), &ev)
			want := EndpointID(rc.srv.URL)
			if rc == b {
				want = EndpointID(b.srv.URL + "/b")
			}
			if ev.N != i || ev.Endpoint != want {
				t.Errorf("event %d at %s: %s", i, rc.srv.URL, body)
			}
			if heads[i].Get("Content-Type") != "application/json" || heads[i].Get("User-Agent") != "kit-test/1" {
				t.Errorf("headers %v", heads[i])
			}
		}
	}
	if st := h.Stats(); st != (WebhookStats{Delivered: 100, Attempts: 100}) {
		t.Errorf("stats %+v", st)
	}
}

// TestWebhooksRetryAndSignEveryAttempt fails the first two attempts:
// the third succeeds, each attempt signed afresh; a receiver that always
// fails gets the configured number of attempts.
func TestWebhooksRetryAndSignEveryAttempt(t *testing.T) {
	flaky := newHookReceiver(t, func(n int32) int {
		if n <= 2 {
			return 503
		}
		return 200
	})
	broken := newHookReceiver(t, func(int32) int { return 500 })
	var signed atomic.Int64
	h := NewWebhooks(WebhookOptions{URLs: []string{flaky.srv.URL, broken.srv.URL}, Attempts: 4, Backoff: time.Millisecond,
		Sign: func(hd http.Header, ep Endpoint, body []byte) {
			hd.Set("X-Signature", fmt.Sprintf("%d:%s:%s", signed.Add(1), ep.ID, body))
		}})
	defer h.Close(time.Second)
	h.Emit("e", func(Endpoint) ([]byte, error) { return []byte(`{}`), nil })
	waitFor(t, "a delivery and a failure", func() bool { st := h.Stats(); return st.Delivered == 1 && st.Failed == 1 })
	if flaky.calls.Load() != 3 || broken.calls.Load() != 4 || h.Stats().Attempts != 7 {
		t.Errorf("flaky %d calls, broken %d, stats %+v", flaky.calls.Load(), broken.calls.Load(), h.Stats())
	}
	_, heads := flaky.got()
	seen := map[string]bool{}
	for _, hd := range heads {
		sig := hd.Get("X-Signature")
		if sig == "" || seen[sig] {
			t.Errorf("attempt signature %q (seen before: %v)", sig, seen[sig])
		}
		seen[sig] = true
	}
}

// TestWebhooksQueueFullAndClose holds the receiver: Emit never waits,
// what does not fit is dropped and counted, and Close gives up on the
// rest after its wait.
func TestWebhooksQueueFullAndClose(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	h := NewWebhooks(WebhookOptions{URLs: []string{stuck.URL}, QueueSize: 3})
	body := func(Endpoint) ([]byte, error) { return []byte(`{}`), nil }
	h.Emit("first", body)
	<-entered // the first is in flight, the queue empty
	began := time.Now()
	for range 5 {
		h.Emit("more", body)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Emit waited %v for a stuck receiver", d)
	}
	if st := h.Stats(); st.Dropped != 2 {
		t.Errorf("stats %+v: want 2 of 5 dropped with a queue of 3", st)
	}
	h.Close(50 * time.Millisecond)
	if st := h.Stats(); st != (WebhookStats{Attempts: 4, Failed: 4, Dropped: 2}) {
		t.Errorf("after close: %+v, want the one in flight and the three queued failed", st)
	}
	h.Emit("late", func(Endpoint) ([]byte, error) {
		t.Error("an event built after Close")
		return nil, nil
	})
	h.Close(time.Second) // a second close does nothing
}
