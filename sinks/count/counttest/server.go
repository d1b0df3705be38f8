package counttest

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"crmsync/internal/emulator"
)

// maxBody caps request bodies: one customer with its contacts is a few
// KiB at most.
const maxBody = 1 << 20

// closeWait bounds how long Close waits for requests in progress.
const closeWait = 5 * time.Second

// Server is a running emulator.
type Server struct {
	// URL is the base URL of the API, with "/partners":
	// http://127.0.0.1:PORT/partners.
	URL string
	// Token, ClientID and ClientSecret are the credentials of the first
	// client.
	Token, ClientID, ClientSecret string

	opts Options
	log  *slog.Logger
	http *emulator.Server
	st   *store
	keys *emulator.Keyring

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
	first := o.Clients[0]
	s := &Server{opts: o, log: o.Logger, st: st,
		Token: first.Token, ClientID: first.ClientID, ClientSecret: first.ClientSecret}
	s.keys, err = emulator.NewKeyring(kitKeys(o.Clients), nil, func() emulator.Limiter {
		return emulator.NewWindow(o.RateLimit, time.Minute)
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.http, err = emulator.Listen(emulator.ServerOptions{
		Addr:       o.Addr,
		Name:       "count sandbox",
		MaxBody:    maxBody,
		Faults:     o.Faults,
		WriteFault: s.writeFault,
		Logger:     o.Logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s.URL = s.http.URL + basePath
	s.routes()
	s.http.Serve()
	s.log.Info("count sandbox listening", "url", s.URL, "db", st.Name(), "clients", len(o.Clients),
		"rate_limit_per_minute", o.RateLimit)
	return s, nil
}

// handler is an endpoint of the API, given the request's body as it was
// signed: it returns the status and payload of a success, or an error,
// and leaves writing them to api.
type handler func(r *http.Request, body []byte) (int, any, *apiError)

func (s *Server) routes() {
	for _, rt := range []struct {
		method, path string
		write        bool
		h            handler
	}{
		{"GET", "/customers", false, s.listCustomers},
		{"POST", "/customers", true, s.createCustomer},
		{"GET", "/customers/find-by-email", false, s.findByEmail},
		{"GET", "/customers/{uuid}", false, s.getCustomer},
		{"PUT", "/customers/{uuid}", true, s.updateCustomer},
	} {
		s.http.Endpoint(rt.method+" "+basePath+rt.path, rt.method+" "+rt.path, rt.write, s.api(rt.h))
	}
	s.http.Fallback(s.unmatched)
	s.http.Sandbox("GET /_sandbox/stats", s.serveStats)
	s.http.Sandbox("GET "+basePath+"/_sandbox/stats", s.serveStats)
}

// api wraps a handler with what every API request goes through after the
// kit's faults, in this order: the body is read as sent, the request's
// token and signature are checked (401), the client's rate limit is taken
// (429), and only then the handler runs. Requests refused 401 take no
// share of any limit: a client id alone, without its secret, cannot use
// up another's quota.
func (s *Server) api(h handler) emulator.Handler {
	return func(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
		buf := emulator.GetBuffer()
		defer emulator.PutBuffer(buf)
		if aerr := s.admit(r, c, buf); aerr != nil {
			s.answer(w, c, 0, nil, aerr)
			return
		}
		status, body, aerr := h(r, buf.Bytes())
		s.answer(w, c, status, body, aerr)
	}
}

// admit reads the body into buf, authenticates the request, names its
// client in c and takes its share of the client's rate limit.
func (s *Server) admit(r *http.Request, c *emulator.Call, buf *bytes.Buffer) *apiError {
	if aerr := readRaw(r, buf); aerr != nil {
		return aerr
	}
	_, p, aerr := s.authenticate(r, buf.Bytes())
	if aerr != nil {
		return aerr
	}
	c.Key = p.Name
	if q, ok := p.Take(s.opts.Now()); ok && !q.Allowed {
		secs := int(q.RetryAfter / time.Second)
		return &apiError{status: http.StatusTooManyRequests, code: codeRateLimited, retryAfter: secs,
			msg: "Rate limit exceeded: " + strconv.Itoa(q.Limit) + " requests a minute; retry after " +
				strconv.Itoa(secs) + " s"}
	}
	return nil
}

// answer writes a success (status and body) or e in the error envelope.
func (s *Server) answer(w http.ResponseWriter, c *emulator.Call, status int, body any, e *apiError) {
	if e != nil {
		status, body = e.status, e.envelope()
		if e.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
		}
		if e.code == codeInternal {
			s.log.Error("request failed", "route", c.Route, "client", c.Key, "error", e.msg)
		}
	}
	if err := emulator.WriteJSON(w, status, body); err != nil && e == nil {
		// Only a bug can get here: every payload is a plain struct.
		emulator.WriteJSON(w, http.StatusInternalServerError, internalError(err).envelope())
	}
}

// writeFault answers an injected 500, 502 or 503. A request a client
// signed takes its share of the rate limit first, as every request does;
// over the limit the 429 comes instead, since the limit stands before the
// part of the API that failed.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, c *emulator.Call, status int) {
	buf := emulator.GetBuffer()
	defer emulator.PutBuffer(buf)
	if aerr := s.admit(r, c, buf); aerr != nil && aerr.status == http.StatusTooManyRequests {
		s.answer(w, c, 0, nil, aerr)
		return
	}
	s.answer(w, c, 0, nil, &apiError{status: status, code: codeInternal,
		msg: "Injected fault: " + strings.ToLower(http.StatusText(status))})
}

// unmatched answers requests no endpoint takes: 405 when the path exists
// with another method (a DELETE of a customer: COUNT documents none),
// else 404. Neither is authenticated nor limited.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
	u := s.http.Unrouted(r)
	code := codeNotFound
	if u.Status == http.StatusMethodNotAllowed {
		code = codeMethodNotAllowed
	}
	u.SetAllow(w.Header())
	// COUNT's messages begin with a capital; a 405's does already.
	msg := u.Message()
	s.answer(w, c, 0, nil, &apiError{status: u.Status, code: code, msg: strings.ToUpper(msg[:1]) + msg[1:]})
}

// jsonBody checks that a body sent with a Content-Type says JSON. A wrong
// one is a 400, the status COUNT documents for a bad request, not the
// kit's 415.
func jsonBody(r *http.Request) *apiError {
	if err := emulator.CheckContentType(r); err != nil {
		return invalid("%s", err)
	}
	return nil
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
		s.log.Info("count sandbox closed")
	})
	return s.closeErr
}

// Stats are the server's counters, as GET /_sandbox/stats answers them:
// the kit's request counters at the top level, as every emulator serves
// them, and the number of customers.
type Stats struct {
	// RequestStats count the answers by route ("PUT /customers/{uuid}",
	// "unmatched"), by status ("200", "429", or "dropped" and "lost" for
	// the injected connection cuts) and by client name.
	emulator.RequestStats
	// Customers is the number of customers in the database, or -1 when it
	// could not be counted (the server is closed).
	Customers int64 `json:"customers"`
}

// Stats returns the counters; the same data as GET /_sandbox/stats.
func (s *Server) Stats() Stats {
	return Stats{RequestStats: s.http.Stats(), Customers: s.st.CountRows("customers")}
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	emulator.WriteJSON(w, http.StatusOK, s.Stats())
}
