package revnuetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/sinks/revnue/revnuetest"
)

// testRateLimit is the rate limit of servers whose test sets none:
// Revnue's 100 a minute would throttle a table test half way.
const testRateLimit = 1_000_000

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends. A zero RateLimit is
// testRateLimit; TestRateLimitDefault checks the real default.
func start(t testing.TB, opts revnuetest.Options) *revnuetest.Server {
	t.Helper()
	if opts.RateLimit == 0 {
		opts.RateLimit = testRateLimit
	}
	if opts.DBPath == "" {
		opts.DBPath = filepath.Join(t.TempDir(), "revnue.db")
	}
	s, err := revnuetest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// client talks to a server the way a sink would.
type client struct {
	t     testing.TB
	base  string // the API's base, with /api/v2
	token string
	hc    *http.Client
}

func newClient(t testing.TB, s *revnuetest.Server) *client {
	return &client{t: t, base: s.URL + revnuetest.APIPrefix, token: s.Token, hc: &http.Client{Timeout: 30 * time.Second}}
}

func (c *client) withToken(token string) *client {
	cp := *c
	cp.token = token
	return &cp
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a *answer) String() string { return fmt.Sprintf("%d %s", a.status, a.raw) }

// errors is the "errors" of a 400.
func (a *answer) errors() map[string]any {
	e, _ := a.body["errors"].(map[string]any)
	return e
}

// fieldError is the first message for a field of a 400, or "".
func (a *answer) fieldError(field string) string {
	l, _ := a.errors()[field].([]any)
	if len(l) == 0 {
		return ""
	}
	s, _ := l[0].(string)
	return s
}

// results is the results of a list answer.
func (a *answer) results() []map[string]any {
	l, _ := a.body["results"].([]any)
	out := make([]map[string]any, len(l))
	for i, v := range l {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// send makes a request; body is JSON-encoded unless it is a string,
// which is sent as it is. Transport errors are returned, not fatal, for
// the fault tests. Every answer must be a JSON object, and an error
// answer must have a detail, a 400 its errors too.
func (c *client) send(method, path string, body any) (*answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	a := &answer{status: resp.StatusCode, header: resp.Header}
	if a.raw, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(a.raw, &a.body); err != nil {
		return nil, fmt.Errorf("%s %s: answer is not a JSON object: %v: %q", method, path, err, a.raw)
	}
	if a.status >= 400 {
		if d, _ := a.body["detail"].(string); d == "" {
			return nil, fmt.Errorf("%s %s: error without detail: %s", method, path, a.raw)
		}
		if _, ok := a.body["errors"].(map[string]any); ok != (a.status == 400) {
			return nil, fmt.Errorf("%s %s: errors present %v with HTTP %d", method, path, ok, a.status)
		}
	}
	return a, nil
}

// do is send for requests that must get an answer.
func (c *client) do(method, path string, body any) *answer {
	c.t.Helper()
	a, err := c.send(method, path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// ok is do for requests that must succeed with want.
func (c *client) ok(want int, method, path string, body any) *answer {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.status != want {
		c.t.Fatalf("%s %s: %v, want %d", method, path, a, want)
	}
	return a
}

func (c *client) create(body map[string]any) map[string]any {
	c.t.Helper()
	return c.ok(201, "POST", "/customer/", body).body
}

func (c *client) get(id any) map[string]any {
	c.t.Helper()
	return c.ok(200, "GET", fmt.Sprintf("/customer/%v/", id), nil).body
}

func (c *client) put(id any, body map[string]any) map[string]any {
	c.t.Helper()
	return c.ok(200, "PUT", fmt.Sprintf("/customer/%v", id), body).body
}

// minimal is the smallest body a create or PUT accepts.
func minimal(name string) map[string]any {
	return map[string]any{"company": 1, "name": name}
}

// with returns a copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out[k] = v
	return out
}

// without returns a copy of m without k.
func without(m map[string]any, k string) map[string]any {
	out := with(m, k, nil)
	delete(out, k)
	return out
}

// idOf is the id of a customer in the read shape.
func idOf(c map[string]any) int64 { return int64(c["id"].(float64)) }

// oneShot returns a client with a new connection per request: Go's
// transport silently retries an idempotent request whose reused
// connection was closed, which would hide the cuts under test.
func oneShot(t testing.TB, s *revnuetest.Server) *client {
	c := newClient(t, s)
	c.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return c
}

// all pages through a company's customers with the largest page.
func (c *client) all(company int) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	a := c.ok(200, "GET", fmt.Sprintf("/customer/?company=%d&page_size=100", company), nil)
	for {
		out = append(out, a.results()...)
		next, _ := a.body["next"].(string)
		if next == "" {
			return out
		}
		a = c.ok(200, "GET", strings.TrimPrefix(next, c.base), nil)
	}
}

// ids are the ids of customers in the read shape.
func ids(cs []map[string]any) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = idOf(c)
	}
	return out
}

// seed stores a customer through Server.Seed and returns it.
func seed(t testing.TB, s *revnuetest.Server, body map[string]any) map[string]any {
	t.Helper()
	c, err := s.Seed(t.Context(), body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
