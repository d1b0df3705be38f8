package counttest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/sinks/count/counttest"
)

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends.
func start(t testing.TB, opts counttest.Options) *counttest.Server {
	t.Helper()
	if opts.DBPath == "" {
		opts.DBPath = filepath.Join(t.TempDir(), "count.db")
	}
	s, err := counttest.NewServer(opts)
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

// clock is a settable server clock, for the timestamp window and the rate
// limit's minutes.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// sign is the test's own signature, written from COUNT's documentation
// and not the emulator's code: the lower-case hex HMAC-SHA256 keyed with
// the secret of METHOD:path:timestamp:bodyHash.
func sign(secret, method, path string, ts int64, body []byte) string {
	hash := ""
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s:%s:%d:%s", method, path, ts, hash)
	return hex.EncodeToString(mac.Sum(nil))
}

// client talks to a server the way a sink would, signing every request.
// Its fields after hc let a test break one part of a request.
type client struct {
	t                 testing.TB
	base              string
	token, id, secret string
	hc                *http.Client
	now               func() time.Time // the timestamp's clock; time.Now when nil
	tsOffset          time.Duration    // added to the timestamp
	signQuery         bool             // sign the path with its query string
	signPrefix        bool             // sign the path with /partners
	upperHex          bool             // send the signature in upper case
	emptyHash         bool             // sign an empty body with SHA-256("") instead of ""
	alter             func([]byte) []byte
	drop              string // a header not to send
	timestamp         string // when set, x-timestamp as it is, signed as it is
	contentType       string // when set, instead of application/json
}

func newClient(t testing.TB, s *counttest.Server) *client {
	return &client{t: t, base: s.URL, token: s.Token, id: s.ClientID, secret: s.ClientSecret,
		hc: &http.Client{Timeout: 30 * time.Second}}
}

// with returns a copy of c changed by f.
func (c *client) with(f func(*client)) *client {
	cp := *c
	f(&cp)
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

func (a *answer) code() string { s, _ := a.body["code"].(string); return s }

func (a *answer) message() string { s, _ := a.body["message"].(string); return s }

// fields are the fields the errors of a 400 name, in order.
func (a *answer) fields() []string {
	l, _ := a.body["errors"].([]any)
	out := []string{}
	for _, e := range l {
		m, _ := e.(map[string]any)
		f, _ := m["field"].(string)
		out = append(out, f)
	}
	return out
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

// send makes a signed request; body is JSON-encoded unless it is a
// string, which is sent as it is. Transport errors are returned, not
// fatal, for the fault tests. Every answer must be a JSON object in the
// envelope its status calls for.
func (c *client) send(method, path string, body any) (*answer, error) {
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	ts := now().Add(c.tsOffset).Unix()
	signed, _, _ := strings.Cut(path, "?")
	if c.signQuery {
		signed = path
	}
	if c.signPrefix {
		signed = "/partners" + signed
	}
	sig := sign(c.secret, method, signed, ts, data)
	tsText := strconv.FormatInt(ts, 10)
	if c.timestamp != "" {
		tsText = c.timestamp
		mac := hmac.New(sha256.New, []byte(c.secret))
		fmt.Fprintf(mac, "%s:%s:%s:", method, signed, tsText)
		sig = hex.EncodeToString(mac.Sum(nil))
	}
	if c.emptyHash {
		sum := sha256.Sum256(nil)
		mac := hmac.New(sha256.New, []byte(c.secret))
		fmt.Fprintf(mac, "%s:%s:%d:%x", method, signed, ts, sum)
		sig = hex.EncodeToString(mac.Sum(nil))
	}
	if c.upperHex {
		sig = strings.ToUpper(sig)
	}
	if c.alter != nil {
		data = c.alter(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	for _, h := range [][2]string{
		{"Authorization", "Bearer " + c.token},
		{"x-client-id", c.id},
		{"x-timestamp", tsText},
		{"x-signature", sig},
	} {
		if !strings.EqualFold(h[0], c.drop) {
			req.Header.Set(h[0], h[1])
		}
	}
	if data != nil {
		ct := "application/json"
		if c.contentType != "" {
			ct = c.contentType
		}
		req.Header.Set("Content-Type", ct)
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
	if err := checkEnvelope(a); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return a, nil
}

// checkEnvelope decodes an answer and checks it is in COUNT's envelope:
// status "success" with message and data below 400, status "error" with
// message and code from 400 on.
func checkEnvelope(a *answer) error {
	if err := json.Unmarshal(a.raw, &a.body); err != nil {
		return fmt.Errorf("answer is not a JSON object: %v: %q", err, a.raw)
	}
	want := "success"
	if a.status >= 400 {
		want = "error"
	}
	if a.body["status"] != want {
		return fmt.Errorf("envelope status %v with HTTP %d: %s", a.body["status"], a.status, a.raw)
	}
	if a.message() == "" {
		return fmt.Errorf("answer without message: %s", a.raw)
	}
	if _, ok := a.body["data"]; want == "success" && !ok {
		return fmt.Errorf("success without data: %s", a.raw)
	}
	if want == "error" && a.code() == "" {
		return fmt.Errorf("error without code: %s", a.raw)
	}
	return nil
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

func (c *client) put(id string, body any) map[string]any {
	c.t.Helper()
	return c.ok(200, "PUT", "/customers/"+id, body).data()
}

// find asks find-by-email; nil for a 404.
func (c *client) find(email string) map[string]any {
	c.t.Helper()
	a := c.do("GET", "/customers/find-by-email?email="+url.QueryEscape(email), nil)
	switch a.status {
	case 200:
		return a.data()
	case 404:
		return nil
	}
	c.t.Fatalf("find-by-email %s: %v", email, a)
	return nil
}

func company(name, email string) map[string]any {
	return map[string]any{"customer": name, "email": email}
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
func sandboxURL(s *counttest.Server) string { return strings.TrimSuffix(s.URL, "/partners") }

// getJSON GETs a URL without signing and decodes its JSON object.
func getJSON(t testing.TB, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s, %v", u, resp.Status, err)
	}
	return m
}

// signedRequest is a GET made by hand, with the signature given.
func signedRequest(t testing.TB, s *counttest.Server, method, path string, ts int64, sig string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("x-client-id", s.ClientID)
	req.Header.Set("x-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("x-signature", sig)
	return req
}

// roundTrip sends a request made by hand and checks its envelope.
func roundTrip(t testing.TB, req *http.Request) *answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := &answer{status: resp.StatusCode, header: resp.Header}
	if a.raw, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := checkEnvelope(a); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return a
}
