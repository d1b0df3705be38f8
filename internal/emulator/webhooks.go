package emulator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// WebhookOptions configure [NewWebhooks]; zero fields take the defaults
// named.
type WebhookOptions struct {
	// URLs receive every event, each from a queue and a sender of its own.
	URLs []string
	// UserAgent is sent with every delivery.
	UserAgent string
	// QueueSize is the number of events a URL's queue holds; 1,000.
	QueueSize int
	// Attempts is how many times an event is tried; 5.
	Attempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one; 100 ms.
	Backoff time.Duration
	// Timeout bounds one attempt; 5 s.
	Timeout time.Duration
	// Sign, when set, is called before every attempt (so that a timestamp
	// in a signature is fresh on a retry) to add headers to the request.
	// It runs on the URL's sender goroutine.
	Sign func(h http.Header, ep Endpoint, body []byte)
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger
}

// Endpoint is a webhook URL and its id.
type Endpoint struct {
	URL string
	// ID is a UUID derived from the URL, the same after a restart.
	ID string
}

// EndpointID is the id of a webhook URL: a name-based UUID of it.
func EndpointID(url string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(url)).String()
}

// WebhookStats count deliveries, one per event and URL.
type WebhookStats struct {
	// Delivered events got a 2xx answer.
	Delivered int64 `json:"delivered"`
	// Attempts is the number of POSTs made, retries included.
	Attempts int64 `json:"attempts"`
	// Failed events were given up after the last attempt, or at close.
	Failed int64 `json:"failed"`
	// Dropped events found their URL's queue full.
	Dropped int64 `json:"dropped"`
}

// Webhooks POSTs events to each URL from a queue and a goroutine of its
// own, so that events reach a receiver in order and a slow or failing
// receiver delays only itself. A delivery fails on a transport error or a
// non-2xx answer.
type Webhooks struct {
	o      WebhookOptions
	log    *slog.Logger
	client *http.Client
	eps    []*hookEndpoint

	// ctx is cancelled when Close has waited long enough: requests in
	// flight and backoff sleeps end at once.
	ctx    context.Context
	cancel context.CancelFunc
	// stopping tells senders to send what is queued, then return.
	stopping  chan struct{}
	closed    atomic.Bool
	closeOnce sync.Once
	wg        sync.WaitGroup

	delivered, attempts, failed, dropped atomic.Int64
}

type hookEndpoint struct {
	Endpoint
	queue chan []byte
}

// NewWebhooks starts a sender per URL. The URLs are not checked: options
// checking is the emulator's, before it starts.
func NewWebhooks(o WebhookOptions) *Webhooks {
	if o.QueueSize <= 0 {
		o.QueueSize = 1000
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	h := &Webhooks{
		o:        o,
		log:      o.Logger,
		client:   &http.Client{Timeout: o.Timeout},
		stopping: make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for _, u := range o.URLs {
		ep := &hookEndpoint{Endpoint: Endpoint{URL: u, ID: EndpointID(u)}, queue: make(chan []byte, o.QueueSize)}
		h.eps = append(h.eps, ep)
		h.wg.Add(1)
		go h.send(ep)
	}
	return h
}

// Emit queues an event for every URL; build makes the body sent to one
// URL (it may differ by URL, as tamio's endpoint_id does) and is not
// called at all when there is no URL or the webhooks are closed. An event
// that finds a queue full is dropped for that URL and counted; Emit never
// blocks. label names the event in logs. Called from any goroutine; events
// emitted by one goroutine reach each URL in that order.
func (h *Webhooks) Emit(label string, build func(ep Endpoint) ([]byte, error)) {
	if len(h.eps) == 0 || h.closed.Load() {
		return
	}
	for _, ep := range h.eps {
		body, err := build(ep.Endpoint)
		if err != nil {
			h.log.Error("cannot encode webhook event", "event", label, "error", err)
			return
		}
		select {
		case ep.queue <- body:
		default:
			h.dropped.Add(1)
			h.log.Warn("webhook queue full; event dropped", "url", ep.URL, "event", label)
		}
	}
}

// Endpoints returns the URLs and their ids.
func (h *Webhooks) Endpoints() []Endpoint {
	out := make([]Endpoint, len(h.eps))
	for i, ep := range h.eps {
		out[i] = ep.Endpoint
	}
	return out
}

// Stats returns the delivery counters; safe at any time.
func (h *Webhooks) Stats() WebhookStats {
	return WebhookStats{
		Delivered: h.delivered.Load(),
		Attempts:  h.attempts.Load(),
		Failed:    h.failed.Load(),
		Dropped:   h.dropped.Load(),
	}
}

func (h *Webhooks) send(ep *hookEndpoint) {
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

func (h *Webhooks) deliver(ep *hookEndpoint, body []byte) {
	wait := h.o.Backoff
	for attempt := 1; ; attempt++ {
		h.attempts.Add(1)
		err := h.post(ep, body)
		if err == nil {
			h.delivered.Add(1)
			return
		}
		if attempt == h.o.Attempts {
			h.failed.Add(1)
			h.log.Warn("webhook delivery failed", "url", ep.URL, "attempts", attempt, "error", err)
			return
		}
		h.log.Debug("webhook attempt failed; retrying", "url", ep.URL, "attempt", attempt, "in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
			h.failed.Add(1)
			h.log.Warn("webhook delivery abandoned at close", "url", ep.URL, "attempts", attempt, "error", err)
			return
		}
		wait *= 2
	}
}

func (h *Webhooks) post(ep *hookEndpoint, body []byte) error {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.o.UserAgent != "" {
		req.Header.Set("User-Agent", h.o.UserAgent)
	}
	if h.o.Sign != nil {
		h.o.Sign(req.Header, ep.Endpoint, body)
	}
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

// Close stops accepting events, sends what is queued for at most wait,
// then cancels what is left (counted as failed). It returns when every
// sender has stopped; a second call does nothing.
func (h *Webhooks) Close(wait time.Duration) {
	h.closeOnce.Do(func() {
		h.closed.Store(true)
		close(h.stopping)
		done := make(chan struct{})
		go func() {
			h.wg.Wait()
			close(done)
		}()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			h.log.Warn("webhook deliveries still running at close; cancelling them")
			h.cancel()
			<-done
		}
		h.cancel()
		h.client.CloseIdleConnections()
	})
}
