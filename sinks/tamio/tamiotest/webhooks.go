package tamiotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

const (
	hookQueueSize   = 1000
	hookAttempts    = 5
	hookBackoff     = 100 * time.Millisecond // doubled after each failed attempt
	hookHTTPTimeout = 5 * time.Second
)

type event struct {
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	APIVersion int       `json:"api_version"`
	Object     string    `json:"object"`
	Data       eventData `json:"data"`
	EndpointID string    `json:"endpoint_id"`
}

type eventData struct {
	Customer *customer `json:"customer"`
}

// webhooks sends events to each URL from a queue and a goroutine of its
// own, so that events reach a receiver in order and a slow or failing
// receiver delays only itself. emit never blocks.
type webhooks struct {
	log    *slog.Logger
	stats  *counters
	client *http.Client
	eps    []*hookEndpoint

	// ctx is cancelled when Close has waited long enough: requests in
	// flight and backoff sleeps end at once.
	ctx    context.Context
	cancel context.CancelFunc
	// stopping tells senders to send what is queued, then return.
	stopping chan struct{}
	closed   atomic.Bool
	wg       sync.WaitGroup
}

type hookEndpoint struct {
	url, id string
	queue   chan []byte
}

func newWebhooks(urls []string, log *slog.Logger, stats *counters) *webhooks {
	h := &webhooks{
		log:      log,
		stats:    stats,
		client:   &http.Client{Timeout: hookHTTPTimeout},
		stopping: make(chan struct{}),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for _, u := range urls {
		ep := &hookEndpoint{
			url: u,
			// Derived from the URL so that a receiver sees the same
			// endpoint_id after a restart.
			id:    uuid.NewSHA1(uuid.NameSpaceURL, []byte(u)).String(),
			queue: make(chan []byte, hookQueueSize),
		}
		h.eps = append(h.eps, ep)
		h.wg.Add(1)
		go h.send(ep)
	}
	return h
}

// emit queues an event about c for every URL.
func (h *webhooks) emit(eventType string, c *customer, src eventSource) {
	if len(h.eps) == 0 || h.closed.Load() {
		return
	}
	cc := *c
	cc.Source = src
	ev := event{
		EventID:    "whev_" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		EventType:  eventType,
		APIVersion: 2,
		Object:     "event",
		Data:       eventData{Customer: &cc},
	}
	for _, ep := range h.eps {
		ev.EndpointID = ep.id
		body, err := json.Marshal(ev)
		if err != nil {
			h.log.Error("cannot encode webhook event", "error", err)
			return
		}
		select {
		case ep.queue <- body:
		default:
			h.stats.hookDropped.Add(1)
			h.log.Warn("webhook queue full; event dropped", "url", ep.url, "event", eventType, "event_id", ev.EventID)
		}
	}
}

func (h *webhooks) send(ep *hookEndpoint) {
	defer h.wg.Done()
	for {
		select {
		case body := <-ep.queue:
			h.deliver(ep, body)
		case <-h.stopping:
			for {
				select {
				case body := <-ep.queue:
					h.deliver(ep, body)
				default:
					return
				}
			}
		}
	}
}

func (h *webhooks) deliver(ep *hookEndpoint, body []byte) {
	wait := hookBackoff
	for attempt := 1; ; attempt++ {
		h.stats.hookAttempts.Add(1)
		err := h.post(ep, body)
		if err == nil {
			h.stats.hookDelivered.Add(1)
			return
		}
		if attempt == hookAttempts {
			h.stats.hookFailed.Add(1)
			h.log.Warn("webhook delivery failed", "url", ep.url, "attempts", attempt, "error", err)
			return
		}
		h.log.Debug("webhook attempt failed; retrying", "url", ep.url, "attempt", attempt, "in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			h.stats.hookFailed.Add(1)
			h.log.Warn("webhook delivery abandoned at close", "url", ep.url, "attempts", attempt, "error", err)
			return
		}
		wait *= 2
	}
}

func (h *webhooks) post(ep *hookEndpoint, body []byte) error {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tamio-sandbox-webhooks/2")
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	// Read (a bounded part of) the answer so the connection is reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// close sends what is queued, waiting at most wait, then cancels what is
// left.
func (h *webhooks) close(wait time.Duration) {
	h.closed.Store(true)
	close(h.stopping)
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		h.log.Warn("webhook deliveries still running at close; cancelling them")
		h.cancel()
		<-done
	}
	h.cancel()
	h.client.CloseIdleConnections()
}
