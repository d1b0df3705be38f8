package tamiotest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tamio/tamiotest"
	"github.com/google/uuid"
)

func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	rc := emutest.NewReceiver(t)
	s := start(t, tamiotest.Options{Webhooks: []string{rc.URL + "/hooks"}, BulkDelay: time.Millisecond})
	c := newClient(t, s)
	id := c.create(person("hook@example.com"))["id"].(string)
	c.ok("POST", "/customers/update/"+id, map[string]any{"name": "Changed"})
	c.ok("POST", "/customers/update/"+id, map[string]any{"name": "Changed"}) // no change, no event
	c.ok("DELETE", "/customers/"+id, nil)
	c.ok("POST", "/customers/bulk/create", map[string]any{"customers": []any{person("imported@example.com")}})
	waitIdle(t, s)

	events := rc.Wait(t, 4)
	want := []struct{ typ, source, name, email string }{
		{"customer.created", "api", "Test", "hook@example.com"},
		{"customer.updated", "api", "Changed", "hook@example.com"},
		{"customer.removed", "api", "Changed", "hook@example.com"},
		{"customer.created", "import", "Test", "imported@example.com"},
	}
	endpoint := uuid.NewSHA1(uuid.NameSpaceURL, []byte(rc.URL+"/hooks")).String()
	eventIDs := map[string]bool{}
	for i, ev := range events {
		cu := ev["data"].(map[string]any)["customer"].(map[string]any)
		w := want[i]
		if ev["event_type"] != w.typ || cu["source"] != w.source || cu["name"] != w.name || cu["email"] != w.email {
			t.Errorf("event %d: %v, want %+v", i, ev, w)
		}
		if ev["api_version"] != float64(2) || ev["object"] != "event" || ev["endpoint_id"] != endpoint {
			t.Errorf("event %d envelope: %v", i, ev)
		}
		eid, _ := ev["event_id"].(string)
		if !strings.HasPrefix(eid, "whev_") || eventIDs[eid] {
			t.Errorf("event %d id %q", i, eid)
		}
		eventIDs[eid] = true
		for _, k := range seedCustomerKeys {
			if _, ok := cu[k]; !ok {
				t.Errorf("event %d: customer has no %s", i, k)
			}
		}
		if len(ev) != 6 {
			t.Errorf("event %d has keys beyond the documented six: %v", i, ev)
		}
	}
	// The receiver has the fourth event before the sender has its answer.
	emutest.Eventually(t, "the fourth delivery to be counted", func() bool { return s.Stats().Webhooks.Delivered == 4 })
	if st := s.Stats().Webhooks; st.Attempts != 4 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("webhook stats %+v", st)
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	var flakyCalls, brokenCalls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flakyCalls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer flaky.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		brokenCalls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer broken.Close()

	s := start(t, tamiotest.Options{Webhooks: []string{flaky.URL, broken.URL}})
	c := newClient(t, s)
	c.create(person("retry@example.com"))
	emutest.Eventually(t, "delivery and failure", func() bool {
		st := s.Stats().Webhooks
		return st.Delivered == 1 && st.Failed == 1
	})
	if st := s.Stats().Webhooks; flakyCalls.Load() != 3 || brokenCalls.Load() != 5 || st.Attempts != 8 {
		t.Errorf("flaky called %d times (want 3), broken %d (want 5), stats %+v", flakyCalls.Load(), brokenCalls.Load(), st)
	}
}

// TestWebhookQueueFull holds the receiver so that events pile up: the
// API must not wait for it, and what does not fit is dropped and counted.
func TestWebhookQueueFull(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var got atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		got.Add(1)
	}))
	defer slow.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()

	s := start(t, tamiotest.Options{Webhooks: []string{slow.URL}, BulkDelay: time.Millisecond})
	c := pooled(t, s)
	var body []any
	for i := range 1000 {
		body = append(body, person(fmt.Sprintf("q%04d@example.com", i)))
	}
	c.ok("POST", "/customers/bulk/create", map[string]any{"customers": body})
	waitIdle(t, s)
	began := time.Now()
	for i := range 5 {
		c.create(person(fmt.Sprintf("extra%d@example.com", i)))
	}
	// Blocking on the receiver would take until the release below.
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("creates took %v with a stuck webhook receiver", d)
	}
	st := s.Stats().Webhooks
	if st.Dropped < 4 || st.Dropped > 5 {
		t.Errorf("dropped %d of 1005 events with a queue of 1000 and one in flight", st.Dropped)
	}
	unblock()
	emutest.Eventually(t, "the queue to drain", func() bool {
		st := s.Stats().Webhooks
		return st.Delivered+st.Dropped == 1005
	})
	if int64(got.Load()) != s.Stats().Webhooks.Delivered {
		t.Errorf("receiver got %d, stats say %d delivered", got.Load(), s.Stats().Webhooks.Delivered)
	}
}
