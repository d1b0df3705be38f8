package tamiotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBody caps request bodies: a bulk body of 1,000 full customers is far
// below it, and a client sending more is broken.
const maxBody = 8 << 20

// closeWait bounds how long Close waits for requests, the running bulk
// job and webhook deliveries.
const closeWait = 5 * time.Second

// Server is a running emulator.
type Server struct {
	// URL is the base URL of the API, with "/v2": http://127.0.0.1:PORT/v2.
	URL string
	// APIKey is the token of the first key.
	APIKey string

	opts    Options
	log     *slog.Logger
	st      *store
	v       *validator
	keys    map[string]*keyState
	faults  faultInjector
	stats   counters
	jobs    *jobQueue
	hooks   *webhooks
	mux     *http.ServeMux
	srv     *http.Server
	closing chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// NewServer starts a server; it is listening when NewServer returns.
func NewServer(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
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
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		st.close()
		return nil, err
	}
	s := &Server{
		URL:     "http://" + ln.Addr().String() + "/v2",
		APIKey:  o.Keys[0].Token,
		opts:    o,
		log:     o.Logger,
		st:      st,
		v:       &validator{teammates: make(map[string]Teammate, len(o.Teammates))},
		keys:    make(map[string]*keyState, len(o.Keys)),
		closing: make(chan struct{}),
	}
	for _, t := range o.Teammates {
		t.ID, _ = parseUUID(t.ID)
		s.v.teammates[t.ID] = t
	}
	for _, k := range o.Keys {
		s.keys[k.Token] = newKeyState(k, o.RateLimit, o.RateBurst)
	}
	s.faults.set(o.Faults)
	s.stats.init()
	s.hooks = newWebhooks(o.Webhooks, s.log, &s.stats)
	s.jobs = newJobQueue(s, pending)
	s.routes()
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("tamio sandbox stopped serving", "error", err)
		}
	}()
	s.log.Info("tamio sandbox listening", "url", s.URL, "db", dbName(o.DBPath), "keys", len(o.Keys),
		"pending_jobs", len(pending))
	return s, nil
}

// Handler returns the whole API, /_sandbox/ included, for embedding in
// another server or calling without a network.
func (s *Server) Handler() http.Handler { return s.mux }

// SetFaults replaces the faults and re-seeds their random source, so that
// a test can seed data without faults and then turn them on. Rates are
// clamped to [0, 1].
func (s *Server) SetFaults(f Faults) {
	if f.validate() != nil {
		s.log.Warn("faults clamped", "error", f.validate())
	}
	s.faults.set(f.clamp())
}

// WaitIdle returns when no bulk job is queued or running, or with ctx's
// error, or with an error when the server closes with jobs left.
func (s *Server) WaitIdle(ctx context.Context) error { return s.jobs.waitIdle(ctx) }

// Close stops the listener, waits (for at most a few seconds each) for the
// requests in progress, for the running bulk job to finish its current
// transaction and for webhook deliveries, then closes the database. Jobs
// not yet run stay in the database and run when a server opens it again.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.log.Warn("requests still running at close; cutting them", "error", err)
			s.srv.Close()
		}
		s.jobs.stop()
		s.hooks.close(closeWait)
		s.closeErr = s.st.close()
		s.log.Info("tamio sandbox closed")
	})
	return s.closeErr
}

// Permissions as bits.
const (
	bitView uint8 = 1 << iota
	bitEdit
	bitCreate
	bitRemove
)

func permBit(p string) uint8 {
	switch p {
	case PermView:
		return bitView
	case PermEdit:
		return bitEdit
	case PermCreate:
		return bitCreate
	case PermRemove:
		return bitRemove
	}
	return 0
}

func permName(b uint8) string {
	switch b {
	case bitView:
		return PermView
	case bitEdit:
		return PermEdit
	case bitCreate:
		return PermCreate
	}
	return PermRemove
}

type keyState struct {
	name  string
	perms uint8
	only  map[string]struct{} // nil: every customer
	list  []string            // only, sorted, for list queries
	lim   *rate.Limiter       // nil: no rate limit
}

func newKeyState(k Key, limit float64, burst int) *keyState {
	ks := &keyState{name: k.Name}
	for _, p := range k.Permissions {
		ks.perms |= permBit(p)
	}
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
	if limit > 0 {
		ks.lim = rate.NewLimiter(rate.Limit(limit), burst)
	}
	return ks
}

// sees reports whether the key may see the customer.
func (k *keyState) sees(id string) bool {
	if k.only == nil {
		return true
	}
	_, ok := k.only[id]
	return ok
}

// limit takes a token and sets the rate limit headers.
func (k *keyState) limit(h http.Header, now time.Time) *apiError {
	if k.lim == nil {
		return nil
	}
	ok := k.lim.AllowN(now, 1)
	tokens := k.lim.TokensAt(now)
	burst, per := k.lim.Burst(), float64(k.lim.Limit())
	full := now.Add(time.Duration((float64(burst) - tokens) / per * float64(time.Second)))
	reset := full.Unix()
	if full.Nanosecond() > 0 {
		reset++
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, int(math.Floor(tokens)))))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	if ok {
		return nil
	}
	wait := max(1, int(math.Ceil((1-tokens)/per)))
	h.Set("Retry-After", strconv.Itoa(wait))
	return &apiError{status: http.StatusTooManyRequests, code: codeRateLimited, index: -1,
		msg: "rate limit exceeded: " + strconv.FormatFloat(per, 'f', -1, 64) + " requests per second"}
}

// handler is an endpoint: it returns the success payload or an error,
// and leaves writing them to the endpoint wrapper.
type handler func(r *http.Request, k *keyState) (any, *apiError)

type route struct {
	method, path string
	perm         uint8
	h            handler
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	for _, rt := range []route{
		{"POST", "/customers/create", bitCreate, s.create},
		{"GET", "/customers/retrieve/{uuid}", bitView, s.retrieve},
		{"POST", "/customers/update/{uuid}", bitEdit, s.update},
		{"DELETE", "/customers/{uuid}", bitRemove, s.delete},
		{"POST", "/customers/bulk/create", bitCreate, s.bulkCreate},
		{"POST", "/customers/bulk/assign-to-teammate", bitEdit, s.bulkAssign},
		{"POST", "/customers/bulk/delete", bitRemove, s.bulkDelete},
		{"POST", "/customers/bulk/remove", bitRemove, s.bulkDelete},
		{"POST", "/customers/bulk/add-to-list", bitEdit, s.bulkAddToList},
		{"POST", "/customers/add-to-list/{uuid}", bitEdit, s.addToList},
		{"POST", "/customers/remove-from-list/{uuid}", bitEdit, s.removeFromList},
		{"GET", "/customers/list", bitView, s.list},
		{"GET", "/teammates/list", bitView, s.teammates},
	} {
		name := rt.method + " " + rt.path
		s.stats.addRoute(name)
		s.mux.Handle(rt.method+" /v2"+rt.path, s.endpoint(name, rt.method != "GET", rt.perm, rt.h))
	}
	s.mux.HandleFunc("GET /_sandbox/stats", s.serveStats)
	s.mux.HandleFunc("GET /v2/_sandbox/stats", s.serveStats)
	s.mux.HandleFunc("/", s.unmatched)
}

// endpoint wraps a handler with what every API request goes through, in
// this order: faults (latency, drop, 5xx), authentication, rate limit,
// permission, the handler, and a lost answer.
func (s *Server) endpoint(name string, write bool, perm uint8, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		latency, act, failStatus := s.faults.decide(write)
		if latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closing:
				t.Stop()
			}
		}
		switch act {
		case faultDrop:
			s.stats.request(name, "dropped", "")
			s.log.Debug("request dropped (fault)", "route", name)
			cut(w)
			return
		case faultError:
			e := &apiError{status: failStatus, code: codeInternal, index: -1,
				msg: "injected fault: " + strings.ToLower(http.StatusText(failStatus))}
			if failStatus == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			s.finish(w, name, "", start, nil, e)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		k, err := s.authorize(w.Header(), r, perm)
		var body any
		if err == nil {
			body, err = h(r, k)
		}
		keyName := ""
		if k != nil {
			keyName = k.name
		}
		if act == faultLost {
			s.stats.request(name, "lost", keyName)
			s.log.Debug("answer lost (fault)", "route", name, "key", keyName)
			cut(w)
			return
		}
		s.finish(w, name, keyName, start, body, err)
	})
}

// cut closes the connection without an answer.
func cut(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not a hijackable connection (HTTP/2, a recorder): abort the way
		// net/http itself does, which also sends no answer.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func (s *Server) finish(w http.ResponseWriter, name, keyName string, start time.Time, body any, e *apiError) {
	status := http.StatusOK
	if e != nil {
		status = e.status
		body = e.envelope()
		if status >= 500 && e.code == codeInternal {
			s.log.Error("request failed", "route", name, "key", keyName, "error", e.msg)
		}
	}
	// Counted before the answer leaves, so that a client that has its
	// answer finds it in the stats.
	s.stats.request(name, strconv.Itoa(status), keyName)
	writeJSON(w, status, body)
	s.log.Debug("request", "route", name, "key", keyName, "status", status, "duration", time.Since(start))
}

func (s *Server) authorize(h http.Header, r *http.Request, perm uint8) (*keyState, *apiError) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, index: -1,
			msg: "missing bearer token: send Authorization: Bearer <api key>"}
	}
	k := s.keys[strings.TrimSpace(token)]
	if k == nil {
		return nil, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, index: -1, msg: "invalid API key"}
	}
	if err := k.limit(h, time.Now()); err != nil {
		return k, err
	}
	if k.perms&perm != perm {
		return k, &apiError{status: http.StatusForbidden, code: codeForbidden, index: -1,
			msg: "this API key lacks the " + permName(perm) + " permission"}
	}
	return k, nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a bug can get here: every payload is a plain struct.
		status = http.StatusInternalServerError
		buf.Reset()
		enc.Encode(internalError(err).envelope())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// readObject reads a JSON object body.
func readObject(r *http.Request) (object, *apiError) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, &apiError{status: http.StatusUnsupportedMediaType, code: codeValidation, index: -1,
				msg: "Content-Type must be application/json, not " + ct}
		}
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: codeValidation, index: -1,
				msg: "the request body is larger than " + strconv.Itoa(maxBody>>20) + " MiB"}
		}
		return nil, invalid("", "cannot read the request body: %v", err)
	}
	// decodeObject copies what it keeps, so the buffer can go back.
	return decodeObject(buf.Bytes())
}

// unmatched answers requests no route takes: 405 when the path exists
// with another method, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	e := &apiError{status: http.StatusNotFound, code: codeNotFound, index: -1, msg: "no such endpoint: " + r.URL.Path}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		e = &apiError{status: http.StatusMethodNotAllowed, code: codeValidation, index: -1,
			msg: r.Method + " is not allowed here; use " + strings.Join(allow, " or ")}
	}
	s.finish(w, "unmatched", "", time.Now(), nil, e)
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	// In the API's success envelope, so that a client's decoder takes it.
	writeJSON(w, http.StatusOK, struct {
		Status int `json:"status"`
		Stats
	}{200, s.Stats()})
}
