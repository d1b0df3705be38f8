package emulator

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves one API request. It writes its answer to w as usual
// (see [WriteJSON]) and sets c.Key once it knows who asked, so that the
// answer is counted for that key. It may be given a writer that discards
// the answer (a lost answer), and must not rely on the answer reaching
// the client. Handlers run concurrently, one goroutine per request.
type Handler func(w http.ResponseWriter, r *http.Request, c *Call)

// Call is what the kit knows of a request on its way through an endpoint.
type Call struct {
	// Route is the endpoint's name in the stats.
	Route string
	// Key is the name of the key that made the request, set by the
	// handler after authentication; "" for none.
	Key string
	// Start is when the request reached the endpoint.
	Start time.Time
}

// Endpoint registers an API endpoint on the server's mux: pattern is a
// ServeMux pattern ("POST /v2/customers/create"), name its name in the
// stats, write whether it changes data (only writes lose answers).
// Every request goes through, in this order: the fault draw and the
// latency; the body size cap; a dropped connection or an injected 5xx
// (neither reaches h); h; a lost answer (h ran, its answer is discarded
// and the connection cut). Answers are counted by status before they leave,
// so that a client holding its answer finds it in the stats. Called while
// setting up, before [Server.Serve].
func (s *Server) Endpoint(pattern, name string, write bool, h Handler) {
	s.stats.AddRoute(name)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, stats: &s.stats, call: Call{Route: name, Start: time.Now()}}
		d := s.faults.Decide(write)
		if d.Latency > 0 {
			t := time.NewTimer(d.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closing:
				t.Stop()
			}
		}
		if s.maxBody > 0 {
			// Before WriteFault too, which may read the body (to check a
			// signature); given w itself, which the size cap tells to
			// close the connection after the answer.
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		}
		switch d.Fault {
		case Drop:
			s.stats.Count(name, "dropped", "")
			s.log.Debug("request dropped (fault)", "route", name)
			Cut(w)
			return
		case Fail:
			if d.Status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			s.log.Debug("error injected (fault)", "route", name, "status", d.Status)
			s.o.WriteFault(rec, r, &rec.call, d.Status)
			return
		}
		if d.Fault == Lose {
			h(&discard{}, r, &rec.call)
			s.stats.Count(name, "lost", rec.call.Key)
			s.log.Debug("answer lost (fault)", "route", name, "key", rec.call.Key)
			Cut(w)
			return
		}
		h(rec, r, &rec.call)
		if !rec.wrote {
			rec.WriteHeader(http.StatusOK)
		}
		s.log.Debug("request", "route", name, "key", rec.call.Key, "status", rec.status,
			"duration", time.Since(rec.call.Start))
	}))
}

// Fallback registers the handler of requests no route takes ("/"), such
// as an unknown path or a method the path does not have (see
// [Server.Unrouted]). Its answers are counted as route "unmatched", with
// c.Key as h sets it; it is never faulted.
func (s *Server) Fallback(h Handler) {
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, stats: &s.stats, call: Call{Route: "unmatched", Start: time.Now()}}
		h(rec, r, &rec.call)
		if !rec.wrote {
			rec.WriteHeader(http.StatusOK)
		}
	}))
}

// Sandbox registers a handler outside the API: unauthenticated, never
// faulted, not counted, such as GET /_sandbox/stats.
func (s *Server) Sandbox(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, h) }

// allowProbe are the methods Allow tries.
var allowProbe = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// Allow returns the methods for which an endpoint takes r's path, for the
// Allow header of a 405; empty when the path is unknown (a 404).
func (s *Server) Allow(r *http.Request) []string {
	var allow []string
	for _, m := range allowProbe {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// Unrouted is why no endpoint takes a request, for a [Server.Fallback]
// to answer in the API's envelope.
type Unrouted struct {
	// Status is 405 when endpoints take the request's path with other
	// methods, else 404.
	Status int
	// Method and Path are the request's.
	Method, Path string
	// Allow are the methods endpoints take the path with, for a 405.
	Allow []string
}

// Unrouted tells why no endpoint takes r. Called from a Fallback.
func (s *Server) Unrouted(r *http.Request) Unrouted {
	u := Unrouted{Status: http.StatusNotFound, Method: r.Method, Path: r.URL.Path, Allow: s.Allow(r)}
	if len(u.Allow) > 0 {
		u.Status = http.StatusMethodNotAllowed
	}
	return u
}

// SetAllow sets the Allow header of a 405 ("GET, PUT"); a 404 has none.
// Called before the answer is written, when the API answers the 405
// (not, say, its 429 instead).
func (u Unrouted) SetAllow(h http.Header) {
	if u.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", strings.Join(u.Allow, ", "))
	}
}

// Message words the answer for the client: "no such endpoint: /v1/x",
// or "DELETE is not allowed here; use GET or PUT".
func (u Unrouted) Message() string {
	if u.Status == http.StatusMethodNotAllowed {
		return u.Method + " is not allowed here; use " + strings.Join(u.Allow, " or ")
	}
	return "no such endpoint: " + u.Path
}

// recorder counts an answer when its status is written.
type recorder struct {
	http.ResponseWriter
	stats  *Counters
	call   Call
	wrote  bool
	status int
}

func (rw *recorder) WriteHeader(status int) {
	if !rw.wrote {
		rw.wrote, rw.status = true, status
		rw.stats.Count(rw.call.Route, strconv.Itoa(status), rw.call.Key)
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wrote {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// discard takes a lost answer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = make(http.Header)
	}
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
