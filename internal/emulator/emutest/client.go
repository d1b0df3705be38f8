package emutest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// Answer is an emulator's answer, its body decoded as a JSON object.
type Answer struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

func (a *Answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.Raw) }

// Object is member key of the body as an object, nil when it is not one.
func (a *Answer) Object(key string) map[string]any {
	m, _ := a.Body[key].(map[string]any)
	return m
}

// Objects is member key of the body as a list of objects; an item that
// is not an object is nil, and a member that is not a list gives none.
func (a *Answer) Objects(key string) []map[string]any {
	l, _ := a.Body[key].([]any)
	out := make([]map[string]any, len(l))
	for i, v := range l {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// Client talks to an emulator the way a connector would. Its fields are
// read at each request; change them on a copy ([Client.With]) while
// requests may be in flight. Safe for concurrent requests otherwise.
type Client struct {
	T testing.TB
	// Base is put before every path: the API's base URL.
	Base string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Authorization, when set, is sent as the Authorization header as it
	// is, in place of Token's.
	Authorization string
	// HTTP makes the requests.
	HTTP *http.Client
	// Check, when set, checks every decoded answer against the API's
	// envelope; its error is Send's.
	Check func(a *Answer) error
}

// NewClient returns a client of the API at base, with a 30-second
// timeout and Go's default transport.
func NewClient(t testing.TB, base string) *Client {
	return &Client{T: t, Base: base, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// With returns a copy of c changed by f.
func (c *Client) With(f func(*Client)) *Client {
	cp := *c
	f(&cp)
	return &cp
}

// OneShot returns a copy of c opening a new connection for every
// request: Go's transport silently retries an idempotent request whose
// reused connection was closed, which would hide the cuts a fault test
// looks for.
func (c *Client) OneShot() *Client {
	return c.With(func(c *Client) {
		c.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	})
}

// Pooled returns a copy of c keeping up to n idle connections, for
// benchmarks whose concurrent clients would otherwise open and close
// connections all the time (the default keeps two).
func (c *Client) Pooled(n int) *Client {
	return c.With(func(c *Client) {
		c.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	})
}

// Encode is a request body as sent: nil for nil, a string or []byte as
// it is, anything else as JSON (failing t when it cannot be).
func Encode(t testing.TB, body any) []byte {
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return []byte(b)
	case []byte:
		return b
	}
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Send makes a request of method to Base+path with body ([Encode]d, and
// sent with Content-Type: application/json when not nil) and the
// client's Authorization. Transport errors and answers that fail the
// checks are returned, not fatal, for the fault tests; a request that
// cannot be made fails T.
func (c *Client) Send(method, path string, body any) (*Answer, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(Encode(c.T, body))
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.Base+path, r)
	if err != nil {
		c.T.Fatal(err)
	}
	switch {
	case c.Authorization != "":
		req.Header.Set("Authorization", c.Authorization)
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.Exchange(req)
}

// Exchange sends a request made by hand (a signed one) and decodes its
// answer, which must be a JSON object passing Check. Errors name the
// request.
func (c *Client) Exchange(req *http.Request) (*Answer, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	a := &Answer{Status: resp.StatusCode, Header: resp.Header}
	if a.Raw, err = io.ReadAll(resp.Body); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(a.Raw, &a.Body); err != nil {
		return nil, fmt.Errorf("%s %s: answer is not a JSON object: %v: %q", req.Method, req.URL.RequestURI(), err, a.Raw)
	}
	if c.Check != nil {
		if err := c.Check(a); err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.RequestURI(), err)
		}
	}
	return a, nil
}

// Do is Send for requests that must get an answer: anything else fails
// T at once.
func (c *Client) Do(method, path string, body any) *Answer {
	c.T.Helper()
	a, err := c.Send(method, path, body)
	if err != nil {
		c.T.Fatal(err)
	}
	return a
}

// OK is Do for requests that must be answered want.
func (c *Client) OK(want int, method, path string, body any) *Answer {
	c.T.Helper()
	a := c.Do(method, path, body)
	if a.Status != want {
		c.T.Fatalf("%s %s: %v, want %d", method, path, a, want)
	}
	return a
}
