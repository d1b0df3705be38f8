package emulator

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ServerOptions configure [Listen].
type ServerOptions struct {
	// Addr is the listen address; "" means "127.0.0.1:0", a free port of
	// the loopback interface.
	Addr string
	// Name labels the server in logs ("tamio sandbox").
	Name string
	// MaxBody caps request bodies of endpoints; 0 means [DefaultMaxBody],
	// negative means no cap.
	MaxBody int64
	// Faults are injected from the start; see [Server.SetFaults].
	Faults Faults
	// WriteFault answers an injected 500, 502 or 503 in the API's error
	// envelope (Retry-After: 1 is already set on a 503). It is given the
	// request so that it may set headers every answer of the API carries
	// (a rate limit's, after authenticating), and c so that it may name
	// the key (c.Key) the answer is counted for; it must not apply the
	// request. Required; runs concurrently, one goroutine per request.
	WriteFault func(w http.ResponseWriter, r *http.Request, c *Call, status int)
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is the HTTP side of an emulator: the listener, the routes, the
// faults and the request counters. The emulator registers its routes with
// [Server.Endpoint], [Server.Fallback] and [Server.Sandbox], then calls
// [Server.Serve]; it owns everything behind the handlers (storage, keys,
// webhooks) and closes it after [Server.Close].
type Server struct {
	// Addr is the address listened on, "127.0.0.1:PORT".
	Addr string
	// URL is "http://" + Addr, without a path.
	URL string

	o       ServerOptions
	log     *slog.Logger
	ln      net.Listener
	mux     *http.ServeMux
	srv     *http.Server
	faults  Injector
	stats   Counters
	maxBody int64
	closing chan struct{}

	serveOnce, closeOnce sync.Once
	closeErr             error
}

// Listen opens the listener; nothing is served before [Server.Serve].
// The faults are checked ([Faults.Validate]); errors are the listener's
// or the faults'.
func Listen(o ServerOptions) (*Server, error) {
	if o.WriteFault == nil {
		return nil, errors.New("emulator: ServerOptions.WriteFault is required")
	}
	if err := o.Faults.Validate(); err != nil {
		return nil, err
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr:    ln.Addr().String(),
		o:       o,
		log:     o.Logger,
		ln:      ln,
		mux:     http.NewServeMux(),
		maxBody: o.MaxBody,
		closing: make(chan struct{}),
	}
	s.URL = "http://" + s.Addr
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBody
	}
	s.faults.Set(o.Faults)
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Serve starts serving in a goroutine of its own and returns; the routes
// must be registered by then. A second call does nothing.
func (s *Server) Serve() {
	s.serveOnce.Do(func() {
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				s.log.Error(s.o.Name+" stopped serving", "error", err)
			}
		}()
	})
}

// Handler returns every route, /_sandbox/ included, for embedding in
// another server or calling without a network.
func (s *Server) Handler() http.Handler { return s.mux }

// SetFaults replaces the faults and re-seeds their random source, so that
// a test can seed data without faults and then turn them on. Rates are
// clamped to [0, 1] (with a warning). Safe at any time.
func (s *Server) SetFaults(f Faults) {
	if err := f.Validate(); err != nil {
		s.log.Warn("faults clamped", "error", err)
	}
	s.faults.Set(f.Clamp())
}

// Stats returns the request counters.
func (s *Server) Stats() RequestStats { return s.stats.Snapshot() }

// Closing is closed when Close begins, so that a handler's waits (the
// injected latency, a long poll) end at once.
func (s *Server) Closing() <-chan struct{} { return s.closing }

// Close stops the listener and waits at most wait for the requests in
// progress, then cuts those still running. It does not close what the
// emulator owns. A second call returns the first's result.
func (s *Server) Close(wait time.Duration) error {
	s.closeOnce.Do(func() {
		close(s.closing)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		s.serveOnce.Do(func() {}) // no Serve from now on
		if err := s.srv.Shutdown(ctx); err != nil {
			s.log.Warn("requests still running at close; cutting them", "error", err)
			s.closeErr = s.srv.Close()
		}
		// Shutdown closes only listeners Serve was given.
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = errors.Join(s.closeErr, err)
		}
	})
	return s.closeErr
}
