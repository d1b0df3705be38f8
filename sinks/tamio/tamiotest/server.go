package tamiotest

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"crmsync/internal/emulator"
)

// closeWait bounds how long Close waits for requests, the running bulk
// job and webhook deliveries.
const closeWait = 5 * time.Second

// Server is a running emulator.
type Server struct {
	// URL is the base URL of the API, with "/v2": http://127.0.0.1:PORT/v2.
	URL string
	// APIKey is the token of the first key.
	APIKey string

	opts  Options
	log   *slog.Logger
	api   *emulator.Server
	st    *store
	v     *validator
	keys  *emulator.Keyring
	kst   []*keyState // by the keyring's index
	stats counters
	jobs  *jobQueue
	hooks *emulator.Webhooks

	closeOnce sync.Once
	closeErr  error
}

// NewServer starts a server; it is listening when NewServer returns.
func NewServer(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var lim func() emulator.Limiter
	if o.RateLimit > 0 {
		lim = func() emulator.Limiter { return emulator.NewTokenBucket(o.RateLimit, o.RateBurst) }
	}
	keys, err := emulator.NewKeyring(kitKeys(o.Keys), permissions, lim)
	if err != nil {
		return nil, err
	}
	st, err := openStore(o.DBPath, o.Logger)
	if err != nil {
		return nil, err
	}
	pending, err := st.pendingJobs(context.Background())
	if err != nil {
		st.close()
		return nil, err
	}
	// A job left by an earlier server runs when it was due, or after this
	// server's delay if that comes first: the delay is a setting of the
	// server that runs the job.
	for i, due := 0, time.Now().Add(o.BulkDelay); i < len(pending); i++ {
		if pending[i].runAt.After(due) {
			pending[i].runAt = due
		}
	}
	api, err := emulator.Listen(emulator.ServerOptions{
		Addr: o.Addr, Name: "tamio sandbox", Faults: o.Faults, Logger: o.Logger,
		WriteFault: func(w http.ResponseWriter, _ *http.Request, _ *emulator.Call, status int) {
			writeAnswer(w, nil, &apiError{status: status, code: codeInternal, index: -1,
				msg: "injected fault: " + strings.ToLower(http.StatusText(status))})
		},
	})
	if err != nil {
		st.close()
		return nil, err
	}
	s := &Server{
		URL:    api.URL + "/v2",
		APIKey: o.Keys[0].Token,
		opts:   o,
		log:    o.Logger,
		api:    api,
		st:     st,
		v:      &validator{teammates: make(map[string]Teammate, len(o.Teammates))},
		keys:   keys,
	}
	for _, t := range o.Teammates {
		t.ID, _ = parseUUID(t.ID)
		s.v.teammates[t.ID] = t
	}
	for _, k := range o.Keys {
		s.kst = append(s.kst, newKeyState(k))
	}
	s.hooks = emulator.NewWebhooks(emulator.WebhookOptions{URLs: o.Webhooks,
		UserAgent: "tamio-sandbox-webhooks/2", Logger: s.log})
	s.jobs = newJobQueue(s, pending)
	s.routes()
	api.Serve()
	s.log.Info("tamio sandbox listening", "url", s.URL, "db", emulator.DBName(o.DBPath), "keys", len(o.Keys),
		"pending_jobs", len(pending))
	return s, nil
}

// Handler returns the whole API, /_sandbox/ included, for embedding in
// another server or calling without a network.
func (s *Server) Handler() http.Handler { return s.api.Handler() }

// SetFaults replaces the faults and re-seeds their random source, so that
// a test can seed data without faults and then turn them on. Rates are
// clamped to [0, 1].
func (s *Server) SetFaults(f Faults) { s.api.SetFaults(f) }

// WaitIdle returns when no bulk job is queued or running, or with ctx's
// error, or with an error when the server closes with jobs left.
func (s *Server) WaitIdle(ctx context.Context) error { return s.jobs.waitIdle(ctx) }

// Close stops the listener, waits (for at most a few seconds each) for the
// requests in progress, for the running bulk job to finish its current
// transaction and for webhook deliveries, then closes the database. Jobs
// not yet run stay in the database and run when a server opens it again.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.api.Close(closeWait)
		s.jobs.stop()
		s.hooks.Close(closeWait)
		s.closeErr = s.st.close()
		s.log.Info("tamio sandbox closed")
	})
	return s.closeErr
}

// keyState is what the server knows of a key beyond the kit's keyring.
type keyState struct {
	only map[string]struct{} // nil: every customer
	list []string            // only, sorted, for list queries
}

func newKeyState(k Key) *keyState {
	ks := &keyState{}
	if len(k.Customers) > 0 {
		ks.only = make(map[string]struct{}, len(k.Customers))
		for _, c := range k.Customers {
			id, _ := parseUUID(c)
			ks.only[id] = struct{}{}
		}
		for id := range ks.only {
			ks.list = append(ks.list, id)
		}
		slices.Sort(ks.list)
	}
	return ks
}

// caller is the key of a request.
type caller struct {
	*emulator.Principal
	*keyState
}

// sees reports whether the key may see the customer.
func (k caller) sees(id string) bool {
	if k.only == nil {
		return true
	}
	_, ok := k.only[id]
	return ok
}

// handler is an endpoint: it returns the success payload or an error,
// and leaves writing them to the endpoint wrapper.
type handler func(r *http.Request, k caller) (any, *apiError)

type route struct {
	method, path string
	perm         string
	h            handler
}

func (s *Server) routes() {
	for _, rt := range []route{
		{"POST", "/customers/create", PermCreate, s.create},
		{"GET", "/customers/retrieve/{uuid}", PermView, s.retrieve},
		{"POST", "/customers/update/{uuid}", PermEdit, s.update},
		{"DELETE", "/customers/{uuid}", PermRemove, s.delete},
		{"POST", "/customers/bulk/create", PermCreate, s.bulkCreate},
		{"POST", "/customers/bulk/assign-to-teammate", PermEdit, s.bulkAssign},
		{"POST", "/customers/bulk/delete", PermRemove, s.bulkDelete},
		{"POST", "/customers/bulk/remove", PermRemove, s.bulkDelete},
		{"POST", "/customers/bulk/add-to-list", PermEdit, s.bulkAddToList},
		{"POST", "/customers/add-to-list/{uuid}", PermEdit, s.addToList},
		{"POST", "/customers/remove-from-list/{uuid}", PermEdit, s.removeFromList},
		{"GET", "/customers/list", PermView, s.list},
		{"GET", "/teammates/list", PermView, s.teammates},
	} {
		name := rt.method + " " + rt.path
		s.api.Endpoint(rt.method+" /v2"+rt.path, name, rt.method != "GET", s.endpoint(rt.perm, rt.h))
	}
	s.api.Sandbox("GET /_sandbox/stats", s.serveStats)
	s.api.Sandbox("GET /v2/_sandbox/stats", s.serveStats)
	s.api.Fallback(s.unmatched)
}

// endpoint adapts a handler to the kit, which has drawn the faults by
// the time it runs: authentication, rate limit, permission, the handler.
func (s *Server) endpoint(perm string, h handler) emulator.Handler {
	need := s.keys.Perm(perm)
	return func(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
		k, err := s.authorize(w.Header(), r, perm, need)
		if k.Principal != nil {
			c.Key = k.Name
		}
		var body any
		if err == nil {
			body, err = h(r, k)
		}
		if err != nil && err.status >= 500 && err.code == codeInternal {
			s.log.Error("request failed", "route", c.Route, "key", c.Key, "error", err.msg)
		}
		writeAnswer(w, body, err)
	}
}

// writeAnswer writes the success payload, or e in the error envelope.
func writeAnswer(w http.ResponseWriter, body any, e *apiError) {
	status := http.StatusOK
	if e != nil {
		status = e.status
		body = e.envelope()
	}
	if err := emulator.WriteJSON(w, status, body); err != nil {
		// Only a bug can get here: every payload is a plain struct.
		emulator.WriteJSON(w, http.StatusInternalServerError, internalError(err).envelope())
	}
}

func (s *Server) authorize(h http.Header, r *http.Request, perm string, need emulator.Perm) (caller, *apiError) {
	p, err := s.keys.Authenticate(r)
	switch err {
	case emulator.ErrNoToken:
		return caller{}, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, index: -1,
			msg: "missing bearer token: send Authorization: Bearer <api key>"}
	case emulator.ErrUnknownKey:
		return caller{}, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, index: -1, msg: "invalid API key"}
	}
	k := caller{p, s.kst[p.Index]}
	if q, limited := p.Take(time.Now()); limited {
		q.SetHeaders(h)
		if !q.Allowed {
			return k, &apiError{status: http.StatusTooManyRequests, code: codeRateLimited, index: -1,
				msg: "rate limit exceeded: " + strconv.FormatFloat(s.opts.RateLimit, 'f', -1, 64) + " requests per second"}
		}
	}
	if !p.Has(need) {
		return k, &apiError{status: http.StatusForbidden, code: codeForbidden, index: -1,
			msg: "this API key lacks the " + perm + " permission"}
	}
	return k, nil
}

// readObject reads a JSON object body.
func readObject(r *http.Request) (object, *apiError) {
	buf := emulator.GetBuffer()
	defer emulator.PutBuffer(buf)
	if err := emulator.ReadBody(r, buf); err != nil {
		be := err.(*emulator.BodyError)
		return nil, &apiError{status: be.Status, code: codeValidation, index: -1, msg: be.Msg}
	}
	// decodeObject copies what it keeps, so the buffer can go back.
	return decodeObject(buf.Bytes())
}

// unmatched answers requests no route takes: 405 when the path exists
// with another method, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, _ *emulator.Call) {
	u := s.api.Unrouted(r)
	code := codeNotFound
	if u.Status == http.StatusMethodNotAllowed {
		code = codeValidation
	}
	u.SetAllow(w.Header())
	writeAnswer(w, nil, &apiError{status: u.Status, code: code, index: -1, msg: u.Message()})
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	// In the API's success envelope, so that a client's decoder takes it.
	writeAnswer(w, struct {
		Status int `json:"status"`
		Stats
	}{200, s.Stats()}, nil)
}
