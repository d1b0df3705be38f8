package revnue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
	"crmsync/state"
)

// account is a revnuetest emulator on a SQLite file, reached through a
// front of its own on 127.0.0.1 that records every request (and may
// answer some itself, see front): what the sink sent is read from there,
// not guessed.
type account struct {
	srv   *revnuetest.Server
	url   string // the front's root
	front *front
}

// front serves the emulator's handler and records each request. When
// intercept is set it may answer a request itself (it returns true).
type front struct {
	mu        sync.Mutex
	reqs      []request
	intercept func(w http.ResponseWriter, r *http.Request, body []byte, api http.Handler) bool
}

// request is one request the front received.
type request struct {
	Method, Path, Query string
	Body                []byte
}

func (f *front) serve(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body})
		icpt := f.intercept
		f.mu.Unlock()
		if icpt != nil && icpt(w, r, body, api) {
			return
		}
		api.ServeHTTP(w, r)
	})
}

func (f *front) set(icpt func(w http.ResponseWriter, r *http.Request, body []byte, api http.Handler) bool) {
	f.mu.Lock()
	f.intercept = icpt
	f.mu.Unlock()
}

// requests returns what the front received, and forgets it.
func (f *front) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.reqs
	f.reqs = nil
	return out
}

// count is how many of rs have the method (and, when prefix is not "",
// a path starting with it).
func count(rs []request, method, prefix string) int {
	n := 0
	for _, r := range rs {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// startAccount starts an emulator with opts (a rate limit high enough
// for tests unless opts say otherwise) behind a recording front.
func startAccount(t testing.TB, opts revnuetest.Options) *account {
	t.Helper()
	opts.DBPath = filepath.Join(t.TempDir(), "revnue.db")
	if opts.RateLimit == 0 {
		opts.RateLimit = 1 << 20
	}
	srv, err := revnuetest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &front{}
	ts := httptest.NewServer(f.serve(srv.Handler()))
	t.Cleanup(ts.Close)
	return &account{srv: srv, url: ts.URL, front: f}
}

// sink returns a Revnue sink on the account's front, fast unless opts
// say otherwise.
func (a *account) sink(t testing.TB, opts revnue.Options) *revnue.Sink {
	if opts.BaseURL == "" {
		opts.BaseURL = a.url
	}
	if opts.Token == "" {
		opts.Token = a.srv.Token
	}
	if opts.Rate == 0 {
		opts.Rate = 1e6
	}
	s, err := revnue.New(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// seed stores a customer past the front and returns its id.
func (a *account) seed(t testing.TB, body map[string]any) string {
	t.Helper()
	c, err := a.srv.Seed(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	return idOf(c)
}

func idOf(c map[string]any) string {
	switch x := c["id"].(type) {
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(c["id"])
}

// held returns the customer as the emulator holds it, in the read shape,
// or nil.
func (a *account) held(t testing.TB, id string) map[string]any {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("id %q", id)
	}
	c, err := a.srv.Customer(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// extended is Revnue's schema with the named template fields, as a
// mapping naming them makes it.
func extended(t testing.TB, names ...string) *pipeline.Schema {
	t.Helper()
	s, err := revnue.Schema().Extend(names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// values builds a record's values from field names.
func values(s *pipeline.Schema, m map[string]string) []string {
	v := make([]string, len(s.Fields))
	for name, x := range m {
		i := s.Index(name)
		if i < 0 {
			panic("no field " + name)
		}
		v[i] = x
	}
	return v
}

// mapped marks the named fields.
func mapped(s *pipeline.Schema, names ...string) []bool {
	m := make([]bool, len(s.Fields))
	for _, n := range names {
		i := s.Index(n)
		if i < 0 {
			panic("no field " + n)
		}
		m[i] = true
	}
	return m
}

func change(key, id string, v []string) pipeline.Change {
	return pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: key, Values: v}, ID: id}
}

// run prepares s with plan, applies the changes in batches of its
// MaxBatch and closes it. It fails the test on an error and on a change
// left without an outcome.
func run(t testing.TB, s pipeline.Sink, plan pipeline.Plan, chs []pipeline.Change) []pipeline.Result {
	t.Helper()
	res, err := tryRun(s, plan, chs)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for i, r := range res {
		if r.Outcome == pipeline.OutcomePending {
			t.Errorf("change %d has no outcome", i)
		}
	}
	return res
}

func tryRun(s pipeline.Sink, plan pipeline.Plan, chs []pipeline.Change) ([]pipeline.Result, error) {
	ctx := context.Background()
	if plan.Mode == "" {
		plan.Mode = pipeline.ModeUpsert
	}
	defer s.Close()
	if err := s.Prepare(ctx, plan); err != nil {
		return nil, err
	}
	res := make([]pipeline.Result, len(chs))
	n := s.Properties().MaxBatch
	for start := 0; start < len(chs); start += n {
		end := min(start+n, len(chs))
		if err := s.Apply(ctx, chs[start:end], res[start:end]); err != nil {
			return res, err
		}
	}
	return res, nil
}

func wantOutcome(t testing.TB, res []pipeline.Result, want pipeline.Outcome) {
	t.Helper()
	for i, r := range res {
		if r.Outcome != want {
			t.Errorf("change %d: %v %v, want %v", i, r.Outcome, r.Reject, want)
		}
	}
}

// newState opens a state on a SQLite file, whose Claim binds keys.
func newState(t testing.TB) *state.Store {
	t.Helper()
	st, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
