package tiquotest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/sinks/tiquo/tiquotest"
)

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends.
func start(t testing.TB, opts tiquotest.Options) *tiquotest.Server {
	t.Helper()
	if opts.DBPath == "" {
		opts.DBPath = filepath.Join(t.TempDir(), "tiquo.db")
	}
	s, err := tiquotest.NewServer(opts)
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
	auth string // when set, the Authorization header as it is, instead of key
	hc   *http.Client
}

func newClient(t testing.TB, s *tiquotest.Server) *client {
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

// code and field are those of an error answer, or "".
func (a *answer) code() string  { return a.errorMember("code") }
func (a *answer) field() string { return a.errorMember("field") }

func (a *answer) errorMember(name string) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

// data is the data of a success answer holding one object.
func (a *answer) data() map[string]any {
	m, _ := a.body["data"].(map[string]any)
	return m
}

// items is the data of a list answer.
func (a *answer) items() []map[string]any {
	l, _ := a.body["data"].([]any)
	out := make([]map[string]any, len(l))
	for i, v := range l {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// send makes a request; body is JSON-encoded unless it is a string,
// which is sent as it is. Transport errors are returned, not fatal, for
// the fault tests. Every answer must be a JSON object in the envelope
// its status calls for.
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
	switch {
	case c.auth != "":
		req.Header.Set("Authorization", c.auth)
	case c.key != "":
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
	ok, isBool := a.body["success"].(bool)
	if !isBool || ok != (a.status < 400) {
		return nil, fmt.Errorf("%s %s: envelope success %v with HTTP %d", method, path, a.body["success"], a.status)
	}
	if !ok && (a.code() == "" || a.errorMember("message") == "") {
		return nil, fmt.Errorf("%s %s: error without code or message: %s", method, path, a.raw)
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
	return c.ok(201, "POST", "/customers", body).data()
}

func (c *client) get(id string) map[string]any {
	c.t.Helper()
	return c.ok(200, "GET", "/customers/"+id, nil).data()
}

func (c *client) patch(id string, body any) map[string]any {
	c.t.Helper()
	return c.ok(200, "PATCH", "/customers/"+id, body).data()
}

// all pages through the list with limit 100 and returns the customers.
func (c *client) all() []map[string]any {
	c.t.Helper()
	var out []map[string]any
	q := "/customers?limit=100"
	for {
		a := c.ok(200, "GET", q, nil)
		out = append(out, a.items()...)
		pg := a.body["pagination"].(map[string]any)
		if pg["hasMore"] != true {
			return out
		}
		q = "/customers?limit=100&cursor=" + url.QueryEscape(pg["nextCursor"].(string))
	}
}

// byEmail asks the list for the customers with an email.
func (c *client) byEmail(email string) []map[string]any {
	c.t.Helper()
	return c.ok(200, "GET", "/customers?email="+url.QueryEscape(email), nil).items()
}

func person(email string) map[string]any {
	return map[string]any{"firstName": "Test", "lastName": "Person", "email": email}
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

// sandboxURL is the server's root, where /_sandbox/ lives.
func sandboxURL(s *tiquotest.Server) string { return strings.TrimSuffix(s.URL, "/v1") }
