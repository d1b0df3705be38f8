package tiquotest

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"crmsync/internal/emulator"
)

// maxBody caps request bodies: one customer is a few KiB at most.
const maxBody = 1 << 20

// closeWait bounds how long Close waits for requests in progress and for
// webhook deliveries.
const closeWait = 5 * time.Second

// Server is a running emulator.
type Server struct {
	// URL is the base URL of the API, with "/v1": http://127.0.0.1:PORT/v1.
	URL string
	// APIKey is the token of the first key.
	APIKey string

	opts  Options
	log   *slog.Logger
	http  *emulator.Server
	st    *store
	keys  *emulator.Keyring
	hooks *emulator.Webhooks
	// anon holds the rate limit windows of requests without a valid key,
	// one per client address, so that their answers carry X-RateLimit-*
	// too.
	anon sync.Map // host → *emulator.Window

	permRead, permWrite emulator.Perm

	closeOnce sync.Once
	closeErr  error
}

// NewServer starts a server; it is listening when NewServer returns.
// Errors are the options' (see [LoadConfig] for their wording), the
// database's or the listener's.
func NewServer(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(o.DBPath, o.Logger)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: o.Logger, st: st, APIKey: o.Keys[0].Token}
	s.keys, err = emulator.NewKeyring(kitKeys(o.Keys), scopes, s.newWindow)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.permRead, s.permWrite = s.keys.Perm(ScopeRead), s.keys.Perm(ScopeWrite)
	s.http, err = emulator.Listen(emulator.ServerOptions{
		Addr:       o.Addr,
		Name:       "tiquo sandbox",
		MaxBody:    maxBody,
		Faults:     o.Faults,
		WriteFault: s.writeFault,
		Logger:     o.Logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.URL = s.http.URL + "/v1"
	s.hooks = emulator.NewWebhooks(emulator.WebhookOptions{
		URLs:      o.Webhooks,
		UserAgent: "tiquo-sandbox-webhooks/1",
		Logger:    o.Logger,
	})
	s.routes()
	s.http.Serve()
	s.log.Info("tiquo sandbox listening", "url", s.URL, "db", st.Name(), "keys", len(o.Keys),
		"rate_limit_per_minute", o.RateLimit)
	return s, nil
}

func (s *Server) newWindow() emulator.Limiter {
	return emulator.NewWindow(s.opts.RateLimit, time.Minute)
}

// handler is an endpoint of the API: it returns the status and payload of
// a success, or an error, and leaves writing them to api.
type handler func(r *http.Request) (int, any, *apiError)

func (s *Server) routes() {
	for _, rt := range []struct {
		method, path string
		write        bool
		h            handler
	}{
		{"GET", "/customers", false, s.listCustomers},
		{"POST", "/customers", true, s.createCustomer},
		{"GET", "/customers/{id}", false, s.getCustomer},
		{"PATCH", "/customers/{id}", true, s.updateCustomer},
		{"DELETE", "/customers/{id}", true, s.deleteCustomer},
	} {
		perm := s.permRead
		if rt.write {
			perm = s.permWrite
		}
		s.http.Endpoint(rt.method+" /v1"+rt.path, rt.method+" "+rt.path, rt.write, s.api(perm, rt.h))
	}
	s.http.Fallback(s.unmatched)
	s.http.Sandbox("GET /_sandbox/stats", s.serveStats)
	s.http.Sandbox("GET /v1/_sandbox/stats", s.serveStats)
}

// api wraps a handler with what every API request goes through after the
// kit's faults, in this order: the rate limit (whose headers every answer
// carries), authentication, the scope, and only then the handler, so that
// a key without the scope learns nothing of the customer it named.
func (s *Server) api(perm emulator.Perm, h handler) emulator.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
		p, aerr := s.admit(w, r, c)
		if aerr == nil && !p.Has(perm) {
			aerr = &apiError{status: http.StatusForbidden, code: codeInsufficientScope,
				msg: "this API key lacks the " + strings.Join(s.keys.Names(perm), ", ") + " scope"}
		}
		if aerr != nil {
			s.answer(w, c, 0, nil, aerr)
			return
		}
		status, body, aerr := h(r)
		s.answer(w, c, status, body, aerr)
	}
}

// admit takes the request's share of its rate limit window, sets the
// X-RateLimit-* headers, and returns the key that made the request, or
// the 429 or 401 to answer. A request without a valid key is limited by
// its client address, in a window of the same size.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c *emulator.Call) (*emulator.Principal, *apiError) {
	now := time.Now()
	p, authErr := s.keys.Authenticate(r)
	var q emulator.Quota
	if p != nil {
		c.Key = p.Name
		q, _ = p.Take(now)
	} else {
		q = s.anonWindow(r).Take(now)
	}
	q.SetHeaders(w.Header())
	switch {
	case !q.Allowed:
		return nil, &apiError{status: http.StatusTooManyRequests, code: codeRateLimited,
			msg: "rate limit exceeded: " + strconv.Itoa(q.Limit) + " requests a minute; retry after " +
				strconv.Itoa(int(q.RetryAfter/time.Second)) + "s"}
	case errors.Is(authErr, emulator.ErrNoToken):
		return nil, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
			msg: "missing API key: send Authorization: Bearer <api key>"}
	case authErr != nil:
		return nil, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: "invalid API key"}
	}
	return p, nil
}

func (s *Server) anonWindow(r *http.Request) emulator.Limiter {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if l, ok := s.anon.Load(host); ok {
		return l.(emulator.Limiter)
	}
	l, _ := s.anon.LoadOrStore(host, s.newWindow())
	return l.(emulator.Limiter)
}

// answer writes a success (status and body) or e in the error envelope.
func (s *Server) answer(w http.ResponseWriter, c *emulator.Call, status int, body any, e *apiError) {
	if e != nil {
		status, body = e.status, e.envelope()
		if e.code == codeInternal {
			s.log.Error("request failed", "route", c.Route, "key", c.Key, "error", e.msg)
		}
	}
	if err := emulator.WriteJSON(w, status, body); err != nil && e == nil {
		// Only a bug can get here: every payload is a plain struct.
		emulator.WriteJSON(w, http.StatusInternalServerError, internalError(err).envelope())
	}
}

// writeFault answers an injected 500, 502 or 503. The request takes its
// share of the rate limit first, as every request does, so that the
// answer carries X-RateLimit-*; over the limit the 429 comes instead,
// since the limit stands before the part of the API that failed.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, c *emulator.Call, status int) {
	if aerr := s.throttled(w, r, c); aerr != nil {
		s.answer(w, c, 0, nil, aerr)
		return
	}
	s.answer(w, c, 0, nil, &apiError{status: status, code: codeInternal,
		msg: "injected fault: " + strings.ToLower(http.StatusText(status))})
}

// throttled is admit for answers that do not depend on the key (a fault,
// an unknown path): only its 429 counts.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request, c *emulator.Call) *apiError {
	if _, aerr := s.admit(w, r, c); aerr != nil && aerr.status == http.StatusTooManyRequests {
		return aerr
	}
	return nil
}

// unmatched answers requests no endpoint takes: 405 when the path exists
// with another method, else 404. Both carry the rate limit headers and
// count against the window, as every answer of the API does.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
	if aerr := s.throttled(w, r, c); aerr != nil {
		s.answer(w, c, 0, nil, aerr)
		return
	}
	u := s.http.Unrouted(r)
	code := codeNotFound
	if u.Status == http.StatusMethodNotAllowed {
		code = codeMethodNotAllowed
	}
	u.SetAllow(w.Header())
	s.answer(w, c, 0, nil, &apiError{status: u.Status, code: code, msg: u.Message()})
}

// readRequest reads the request body into a pooled buffer; release gives
// the buffer back once nothing refers to its bytes.
func (s *Server) readRequest(r *http.Request) ([]byte, func(), *apiError) {
	buf := emulator.GetBuffer()
	release := func() { emulator.PutBuffer(buf) }
	if err := emulator.ReadBody(r, buf); err != nil {
		release()
		var be *emulator.BodyError
		if errors.As(err, &be) {
			return nil, nil, &apiError{status: be.Status, code: codeValidation, msg: be.Msg}
		}
		return nil, nil, invalid("", "cannot read the request body: %v", err)
	}
	return buf.Bytes(), release, nil
}

// SetFaults replaces the faults and re-seeds their random source, so that
// a test can seed data without faults and then turn them on. Rates are
// clamped to [0, 1]. Safe at any time.
func (s *Server) SetFaults(f Faults) { s.http.SetFaults(f) }

// Handler returns the whole API, /_sandbox/ included, for embedding in
// another server or calling without a network.
func (s *Server) Handler() http.Handler { return s.http.Handler() }

// Close stops the listener, waits (for at most a few seconds each) for
// the requests in progress and for webhook deliveries, then closes the
// database. A second call returns the first's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		err := s.http.Close(closeWait)
		s.hooks.Close(closeWait)
		s.closeErr = errors.Join(err, s.st.Close())
		s.log.Info("tiquo sandbox closed")
	})
	return s.closeErr
}

// Stats are the server's counters, as GET /_sandbox/stats answers them
// (in the success envelope, under "data").
type Stats struct {
	// RequestStats count the answers by route ("PATCH /customers/{id}",
	// "unmatched"), by status ("200", "429", or "dropped" and "lost" for
	// the injected connection cuts) and by key name.
	emulator.RequestStats
	// Customers is the number of customers in the database, or -1 when it
	// could not be counted (the server is closed).
	Customers int64 `json:"customers"`
	// Webhooks counts event deliveries.
	Webhooks emulator.WebhookStats `json:"webhooks"`
}

// Stats returns the counters; the same data as GET /_sandbox/stats.
func (s *Server) Stats() Stats {
	return Stats{RequestStats: s.http.Stats(), Customers: s.st.CountRows("customers"), Webhooks: s.hooks.Stats()}
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	// In the kit's shape, as every emulator serves them (crm.StatsPath),
	// not in tiquo's envelope: the stats are the sandbox's, not tiquo's.
	emulator.WriteJSON(w, http.StatusOK, s.Stats())
}
