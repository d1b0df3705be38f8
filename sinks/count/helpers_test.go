package count_test

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
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
	"crmsync/state"
)

// account is a COUNT emulator on a SQLite file, reached through a front
// of its own on 127.0.0.1 that records every request (and may answer
// some itself, see front): what the sink sent is read from there, not
// guessed.
type account struct {
	srv    *counttest.Server
	url    string // the front's base URL, with /partners
	client *count.Client
	front  *front
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
	Method, Path string
	Query        string
	Header       http.Header
	Body         []byte
}

func (f *front) serve(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
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

// writes returns the POST and PUT requests of rs.
func writes(rs []request) []request {
	var out []request
	for _, r := range rs {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// routed returns the requests of rs to method and path (after /partners).
func routed(rs []request, method, path string) []request {
	var out []request
	for _, r := range rs {
		if r.Method == method && strings.TrimPrefix(r.Path, "/partners") == path {
			out = append(out, r)
		}
	}
	return out
}

// finds returns the find-by-email requests of rs.
func finds(rs []request) []request { return routed(rs, http.MethodGet, "/customers/find-by-email") }

// noLimit is a rate limit no test reaches: COUNT's 100 a minute would
// make most tests wait.
const noLimit = 1_000_000

func startAccount(t testing.TB, opts counttest.Options) *account {
	t.Helper()
	opts.DBPath = filepath.Join(t.TempDir(), "count.db")
	opts.Addr = "127.0.0.1:0"
	if opts.RateLimit == 0 {
		opts.RateLimit = noLimit
	}
	srv, err := counttest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &front{}
	ts := httptest.NewServer(f.serve(srv.Handler()))
	t.Cleanup(ts.Close)
	a := &account{srv: srv, url: ts.URL + "/partners", front: f}
	a.client = count.NewClient(count.ClientOptions{BaseURL: srv.URL, Credentials: a.creds(), Now: opts.Now,
		Pacer: pipeline.NewPacer(pipeline.PacerOptions{})})
	t.Cleanup(a.client.CloseIdleConnections)
	return a
}

// creds are the emulator's credentials.
func (a *account) creds() count.Credentials {
	return count.Credentials{Token: a.srv.Token, ClientID: a.srv.ClientID, ClientSecret: a.srv.ClientSecret}
}

// options are a sink's options on the account's front, paced far above
// anything a test does unless opts says otherwise.
func (a *account) options(opts count.Options) count.Options {
	if opts.BaseURL == "" {
		opts.BaseURL = a.url
	}
	if opts.Credentials == (count.Credentials{}) {
		opts.Credentials = a.creds()
	}
	if opts.Rate == 0 {
		opts.Rate = 10_000
	}
	return opts
}

// sink returns a COUNT sink on the account's front.
func (a *account) sink(t *testing.T, opts count.Options) pipeline.Sink {
	t.Helper()
	s, err := count.New(a.options(opts))
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

var sch = count.Schema()

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
		"customer": fmt.Sprintf("Lovelace Analytics %d", n), "email": fmt.Sprintf("ada%d@example.com", n),
		"mainPhone": "+44 20 7946 0000", "website": "https://lovelace.example.com", "status": "active",
		"billingAddress.street": "12 St James's Square", "billingAddress.city": "London", "billingAddress.state": "Greater London",
		"billingAddress.zipCode": "SW1Y 4JH", "billingAddress.country": "GB",
		"shippingAddress.street": "1 Dock Road", "shippingAddress.city": "Tilbury", "shippingAddress.state": "Essex",
		"shippingAddress.zipCode": "RM18 7EH", "shippingAddress.country": "GB",
		"contact.name": "Ada Lovelace", "contact.email": fmt.Sprintf("ada%d.contact@example.com", n), "contact.phone": "+44 20 7946 0001",
	}
}

// body is the create body of a record of full's shape, as COUNT takes it.
func body(m map[string]string) map[string]any {
	b := map[string]any{}
	contact := map[string]any{"primary": true}
	for name, v := range m {
		group, leaf, nested := strings.Cut(name, ".")
		switch {
		case !nested:
			b[name] = v
		case group == "contact":
			contact[leaf] = v
			b["contacts"] = []any{contact}
		default:
			obj, _ := b[group].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
				b[group] = obj
			}
			obj[leaf] = v
		}
	}
	return b
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
		i := sch.Index(n)
		if i < 0 {
			panic("no field " + n)
		}
		m[i] = true
	}
	return m
}

// only keeps the values of the named fields of m, as a mapping that
// fills only those makes them: an unmapped field is always "".
func only(m map[string]string, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = m[n]
	}
	return out
}

// marks marks the named fields, as a Change.Send.
func marks(names ...string) []bool { return mappedOnly(names...) }

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

// jsonText renders v as JSON, for comparisons and messages.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
