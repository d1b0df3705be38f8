package revnuetest

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"crmsync/internal/emulator"
)

// maxBody caps request bodies: one customer is a few KiB at most.
const maxBody = 1 << 20

// closeWait bounds how long Close waits for requests in progress.
const closeWait = 5 * time.Second

// APIPrefix is the path under which the API's routes lie, below
// [Server.URL].
const APIPrefix = "/api/v2"

// Server is a running emulator.
type Server struct {
	// URL is the server's root, http://127.0.0.1:PORT: a client's base
	// URL in place of https://dashboard-api.revnue.com. The API is under
	// URL + APIPrefix, the counters at URL + "/_sandbox/stats".
	URL string
	// Token is the bearer token of the first of [Options.Tokens].
	Token string

	opts       Options
	log        *slog.Logger
	http       *emulator.Server
	st         *store
	keys       *emulator.Keyring
	categories map[int64]string

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
	s := &Server{opts: o, log: o.Logger, st: st, Token: o.Tokens[0].Token, categories: map[int64]string{}}
	for _, c := range o.Categories {
		s.categories[c.ID] = c.Name
	}
	// One log for every token: the limit is the account's.
	account := emulator.NewSlidingLog(o.RateLimit, time.Minute)
	s.keys, err = emulator.NewKeyring(kitKeys(o.Tokens), nil, func() emulator.Limiter { return account })
	if err != nil {
		st.Close()
		return nil, err
	}
	s.http, err = emulator.Listen(emulator.ServerOptions{
		Addr:       o.Addr,
		Name:       "revnue sandbox",
		MaxBody:    maxBody,
		Faults:     o.Faults,
		WriteFault: s.writeFault,
		Logger:     o.Logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.URL = s.http.URL
	s.routes()
	s.http.Serve()
	s.log.Info("revnue sandbox listening", "url", s.URL+APIPrefix, "db", st.Name(), "tokens", len(o.Tokens),
		"rate_limit_per_minute", o.RateLimit)
	return s, nil
}

// handler is an endpoint of the API: it returns the status and payload of
// a success, or an error, and leaves writing them to answer.
type handler func(r *http.Request) (int, any, *apiError)

// routes registers each endpoint with and without its trailing slash
// (neither redirects to the other), under one name in the stats.
func (s *Server) routes() {
	for _, rt := range []struct {
		method, path string
		write        bool
		h            handler
		name         string
	}{
		{"GET", "/customer", false, s.listCustomers, "GET /customer/"},
		{"POST", "/customer", true, s.createCustomer, "POST /customer/"},
		{"GET", "/customer/{id}", false, s.getCustomer, "GET /customer/{id}/"},
		{"PUT", "/customer/{id}", true, s.replaceCustomer, "PUT /customer/{id}"},
		{"GET", "/category", false, s.listCategories, "GET /category/"},
		{"GET", "/custom-field-template", false, s.listTemplates, "GET /custom-field-template/"},
	} {
		h := s.api(rt.h)
		s.http.Endpoint(rt.method+" "+APIPrefix+rt.path, rt.name, rt.write, h)
		// {$}: a pattern ending in a slash would take every path below it.
		s.http.Endpoint(rt.method+" "+APIPrefix+rt.path+"/{$}", rt.name, rt.write, h)
	}
	s.http.Fallback(s.unmatched)
	s.http.Sandbox("GET /_sandbox/stats", s.serveStats)
}

// api wraps a handler with what every API request goes through after the
// kit's faults, in Django REST framework's order: authentication, then
// the account's rate limit, then the handler (validation, the customer).
func (s *Server) api(h handler) emulator.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
		if aerr := s.admit(r, c); aerr != nil {
			s.answer(w, c, 0, nil, aerr)
			return
		}
		status, body, aerr := h(r)
		s.answer(w, c, status, body, aerr)
	}
}

// admit authenticates the request and takes its share of the account's
// rate limit: the 401 or 429 to answer, or nil. A request without a
// valid token takes nothing from the limit.
func (s *Server) admit(r *http.Request, c *emulator.Call) *apiError {
	p, err := s.keys.Authenticate(r)
	switch {
	case errors.Is(err, emulator.ErrNoToken):
		return &apiError{status: http.StatusUnauthorized, detail: detailNoToken}
	case err != nil:
		return &apiError{status: http.StatusUnauthorized, detail: detailBadToken}
	}
	c.Key = p.Name
	if q, ok := p.Take(time.Now()); ok && !q.Allowed {
		return throttled(int(q.RetryAfter / time.Second))
	}
	return nil
}

// answer writes a success (status and body) or e.
func (s *Server) answer(w http.ResponseWriter, c *emulator.Call, status int, body any, e *apiError) {
	if e != nil {
		status, body = e.status, e.body()
		switch e.status {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		}
	}
	if err := emulator.WriteJSON(w, status, body); err != nil {
		// Only a bug can get here: every payload is a plain struct.
		s.log.Error("cannot encode an answer", "route", c.Route, "error", err)
		emulator.WriteJSON(w, http.StatusInternalServerError, internalError().body())
	}
}

// fail turns a store error into an answer: an *apiError is the client's,
// anything else is the emulator's, logged.
func (s *Server) fail(r *http.Request, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	return internalError()
}

// writeFault answers an injected 500, 502 or 503. A request with a valid
// token takes its share of the rate limit first, as every request does,
// and over the limit gets the 429 instead: the limit stands before the
// part of the API that failed.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, c *emulator.Call, status int) {
	if aerr := s.admit(r, c); aerr != nil && aerr.status == http.StatusTooManyRequests {
		s.answer(w, c, 0, nil, aerr)
		return
	}
	s.answer(w, c, 0, nil, &apiError{status: status, detail: detailServerError})
}

// unmatched answers requests no endpoint takes. A path the API has, with
// a method it does not (DELETE of a customer), is authenticated and
// limited like any request and then answered 405 with Allow, as Django
// REST framework does; any other path is a 404, as Django's router
// answers before authentication.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
	u := s.http.Unrouted(r)
	if u.Status == http.StatusNotFound {
		s.answer(w, c, 0, nil, notFound())
		return
	}
	if aerr := s.admit(r, c); aerr != nil {
		s.answer(w, c, 0, nil, aerr)
		return
	}
	u.SetAllow(w.Header())
	s.answer(w, c, 0, nil, &apiError{status: u.Status, detail: "Method \"" + r.Method + "\" not allowed."})
}

// readRequest reads the request body into a pooled buffer; release gives
// the buffer back once nothing refers to its bytes.
func readRequest(r *http.Request) ([]byte, func(), *apiError) {
	buf := emulator.GetBuffer()
	release := func() { emulator.PutBuffer(buf) }
	if err := emulator.ReadBody(r, buf); err != nil {
		release()
		var be *emulator.BodyError
		if errors.As(err, &be) {
			if be.Status == http.StatusBadRequest {
				return nil, nil, &apiError{status: be.Status, detail: be.Msg, fields: fieldErrors{}}
			}
			return nil, nil, &apiError{status: be.Status, detail: be.Msg}
		}
		return nil, nil, &apiError{status: http.StatusBadRequest, detail: "cannot read the request body: " + err.Error(),
			fields: fieldErrors{}}
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

// Close stops the listener, waits (for at most a few seconds) for the
// requests in progress, then closes the database. A second call returns
// the first's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		err := s.http.Close(closeWait)
		s.closeErr = errors.Join(err, s.st.Close())
		s.log.Info("revnue sandbox closed")
	})
	return s.closeErr
}

// Stats are the server's counters, as GET /_sandbox/stats answers them.
type Stats struct {
	// RequestStats count the answers by route ("PUT /customer/{id}",
	// "unmatched"), by status ("200", "429", or "dropped" and "lost" for
	// the injected connection cuts) and by token name.
	emulator.RequestStats
	// Customers is the number of customers in the database, or -1 when it
	// could not be counted (the server is closed).
	Customers int64 `json:"customers"`
}

// Stats returns the counters; the same data as GET /_sandbox/stats.
func (s *Server) Stats() Stats {
	return Stats{RequestStats: s.http.Stats(), Customers: s.st.CountRows("customers")}
}

func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	emulator.WriteJSON(w, http.StatusOK, s.Stats())
}
