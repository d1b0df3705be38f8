package tiquo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
	"crmsync/state"
)

// account is a tiquo emulator on a SQLite file, reached through a front
// of its own on 127.0.0.1 that records every request (and may change
// answers, see front): what the sink sent is read from there, not
// guessed.
type account struct {
	srv    *tiquotest.Server
	url    string // the front's base URL, with /v1
	client *tiquo.Client
	front  *front
}

// front serves the emulator's handler and records each request. When
// intercept is set it may answer a request itself (it returns true), or
// change the emulator's answer.
type front struct {
	mu        sync.Mutex
	reqs      []request
	inFlight  int
	maxFlight int
	intercept func(w http.ResponseWriter, r *http.Request, body []byte, api http.Handler) bool
}

// request is one request the front received.
type request struct {
	Method, Path string
	Query        string
	Body         []byte
}

func (f *front) serve(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body})
		f.inFlight++
		f.maxFlight = max(f.maxFlight, f.inFlight)
		icpt := f.intercept
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.inFlight--
			f.mu.Unlock()
		}()
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

// writes returns the POST, PATCH and DELETE requests of rs.
func writes(rs []request) []request {
	var out []request
	for _, r := range rs {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func startAccount(t testing.TB, opts tiquotest.Options) *account {
	t.Helper()
	opts.DBPath = filepath.Join(t.TempDir(), "tiquo.db")
	srv, err := tiquotest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &front{}
	ts := httptest.NewServer(f.serve(srv.Handler()))
	t.Cleanup(ts.Close)
	a := &account{srv: srv, url: ts.URL + "/v1", front: f}
	a.client = tiquo.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	t.Cleanup(a.client.CloseIdleConnections)
	return a
}

// sink returns a tiquo sink on the account's front.
func (a *account) sink(t *testing.T, opts tiquo.Options) pipeline.Sink {
	t.Helper()
	if opts.BaseURL == "" {
		opts.BaseURL = a.url
	}
	if opts.APIKey == "" {
		opts.APIKey = a.srv.APIKey
	}
	s, err := tiquo.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seed creates a customer directly, past the front, and returns its id.
func (a *account) seed(t *testing.T, body map[string]any) string {
	t.Helper()
	id, err := a.client.Create(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// held returns the customer as the emulator holds it, as decoded JSON,
// or nil when it does not exist.
func (a *account) held(t *testing.T, id string) map[string]any {
	t.Helper()
	raw, err := a.client.Get(context.Background(), id)
	if pipeline.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// count is how many customers the emulator holds.
func (a *account) count(t *testing.T) int {
	t.Helper()
	return int(a.srv.Stats().Customers)
}

var sch = tiquo.Schema()

// values builds a record's values from field names.
func values(m map[string]string) []string {
	v := make([]string, len(sch.Fields))
	for name, x := range m {
		i := sch.Index(name)
		if i < 0 {
			panic("no field " + name)
		}
		v[i] = x
	}
	return v
}

// full is a record filling every field, distinct for each n.
func full(n int) map[string]string {
	return map[string]string{
		"firstName": "Ada", "lastName": fmt.Sprintf("Lovelace %d", n), "email": fmt.Sprintf("ada%d@example.com", n),
		"phone": "+44 20 7946 0000", "dateOfBirth": "1815-12-10",
		"address.line1": "12 St James's Square", "address.line2": "Flat 3", "address.city": "London",
		"address.state": "Greater London", "address.postalCode": "SW1Y 4JH", "address.country": "GB",
		"tags": `["vip","analyst"]`, "notes": "prefers letters", "preferredLocationId": "loc_1",
		"marketingConsent": "true", "companyId": "comp_7",
	}
}

// body is what seed takes for a record of full's shape.
func body(m map[string]string) map[string]any {
	s := tiquo.Schema()
	return s.Body(values(m), nil)
}

func change(key string, v []string) pipeline.Change {
	return pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: key, Values: v}}
}

func allMapped() []bool {
	m := make([]bool, len(sch.Fields))
	for i := range m {
		m[i] = true
	}
	return m
}

// mappedOnly marks the named fields.
func mappedOnly(names ...string) []bool {
	m := make([]bool, len(sch.Fields))
	for _, n := range names {
		m[sch.Index(n)] = true
	}
	return m
}

// run prepares s with plan, applies the changes in batches of its
// MaxBatch and closes it. It fails the test on an error and on a change
// left without an outcome.
func run(t *testing.T, s pipeline.Sink, plan pipeline.Plan, chs []pipeline.Change) []pipeline.Result {
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
	if plan.Mapped == nil {
		plan.Mapped = allMapped()
	}
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

// newState opens a state on a SQLite file, whose Claim binds keys.
func newState(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func wantOutcome(t *testing.T, res []pipeline.Result, want pipeline.Outcome) {
	t.Helper()
	for i, r := range res {
		if r.Outcome != want {
			t.Errorf("change %d: %v %v, want %v", i, r.Outcome, r.Reject, want)
		}
	}
}

// decoded is a request body as JSON.
func decoded(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

// sentFields names the fields marked in sent.
func sentFields(sent []bool) []string {
	var out []string
	for f, on := range sent {
		if on {
			out = append(out, sch.Fields[f].Name)
		}
	}
	return out
}

// routed returns the requests of rs to method and a path starting with
// prefix.
func routed(rs []request, method, prefix string) []request {
	var out []request
	for _, r := range rs {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}
