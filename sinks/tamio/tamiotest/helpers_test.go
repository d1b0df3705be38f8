package tamiotest_test

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

	"crmsync/sinks/tamio/tamiotest"
)

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends.
func start(t testing.TB, opts tamiotest.Options) *tamiotest.Server {
	t.Helper()
	if opts.DBPath == "" {
		opts.DBPath = filepath.Join(t.TempDir(), "tamio.db")
	}
	s, err := tamiotest.NewServer(opts)
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
	t    testing.TB
	base string
	key  string
	hc   *http.Client
}

func newClient(t testing.TB, s *tamiotest.Server) *client {
	return &client{t: t, base: s.URL, key: s.APIKey, hc: &http.Client{Timeout: 30 * time.Second}}
}

func (c *client) withKey(key string) *client {
	cp := *c
	cp.key = key
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

// code returns the error_code of an error answer, or 0.
func (a *answer) code() int {
	if v, ok := a.body["error_code"].(float64); ok {
		return int(v)
	}
	return 0
}

func (a *answer) customer() map[string]any {
	m, _ := a.body["customer"].(map[string]any)
	return m
}

func (a *answer) list(key string) []any {
	l, _ := a.body[key].([]any)
	return l
}

// send makes a request; body is JSON-encoded unless it is a string or
// []byte, which are sent as they are. Transport errors are returned, not
// fatal, for the fault tests.
func (c *client) send(method, path string, body any) (*answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
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
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
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
	if st, ok := a.body["status"].(float64); !ok || int(st) != a.status {
		return nil, fmt.Errorf("%s %s: envelope status %v differs from HTTP %d", method, path, a.body["status"], a.status)
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

// ok is do for requests that must succeed.
func (c *client) ok(method, path string, body any) *answer {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.status != 200 {
		c.t.Fatalf("%s %s: %v", method, path, a)
	}
	return a
}

func (c *client) create(body map[string]any) map[string]any {
	c.t.Helper()
	return c.ok("POST", "/customers/create", body).customer()
}

// allCustomers pages through the list with per_page 100.
func (c *client) allCustomers(query string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for page := 1; ; page++ {
		a := c.ok("GET", fmt.Sprintf("/customers/list?page=%d&per_page=100&include_leads=true&%s", page, query), nil)
		l := a.list("customers")
		for _, v := range l {
			out = append(out, v.(map[string]any))
		}
		if len(l) < 100 {
			return out
		}
	}
}

func waitIdle(t testing.TB, s *tamiotest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

func person(email string) map[string]any {
	return map[string]any{"name": "Test", "last_name": "Person", "email": email, "country": "de"}
}
