package counttest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/count/counttest"
)

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends.
func start(t testing.TB, opts counttest.Options) *counttest.Server {
	t.Helper()
	if opts.DBPath == "" {
		opts.DBPath = emutest.TempDB(t, "count.db")
	}
	s, err := counttest.NewServer(opts)
	return emutest.Serve(t, s, err)
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

// client talks to a server the way a sink would, signing every request;
// every answer must be in COUNT's envelope. Its fields after Client let a
// test break one part of a request.
type client struct {
	*emutest.Client
	token, id, secret string
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
	c := emutest.NewClient(t, s.URL)
	c.Check = checkEnvelope
	return &client{Client: c, token: s.Token, id: s.ClientID, secret: s.ClientSecret}
}

// oneShot is a client with a new connection per request, for the fault
// tests (see emutest.Client.OneShot).
func oneShot(t testing.TB, s *counttest.Server) *client {
	c := newClient(t, s)
	c.Client = c.OneShot()
	return c
}

// with returns a copy of c changed by f.
func (c *client) with(f func(*client)) *client {
	cp := *c
	f(&cp)
	return &cp
}

// answer is a decoded response.
type answer struct{ *emutest.Answer }

func (a *answer) code() string { s, _ := a.Body["code"].(string); return s }

func (a *answer) message() string { s, _ := a.Body["message"].(string); return s }

// fields are the fields the errors of a 400 name, in order.
func (a *answer) fields() []string {
	out := []string{}
	for _, e := range a.Objects("errors") {
		f, _ := e["field"].(string)
		out = append(out, f)
	}
	return out
}

// data is the data of a success answer holding one object.
func (a *answer) data() map[string]any { return a.Object("data") }

// items is the data of a list answer.
func (a *answer) items() []map[string]any { return a.Objects("data") }

// send makes a signed request; body is JSON-encoded unless it is a
// string, which is sent as it is. Transport errors are returned, not
// fatal, for the fault tests.
func (c *client) send(method, path string, body any) (*answer, error) {
	data := emutest.Encode(c.T, body)
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
	req, err := http.NewRequestWithContext(context.Background(), method, c.Base+path, bytes.NewReader(data))
	if err != nil {
		c.T.Fatal(err)
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
	a, err := c.Exchange(req)
	if err != nil {
		return nil, err
	}
	return &answer{a}, nil
}

// checkEnvelope checks COUNT's envelope: status "success" with message
// and data below 400, status "error" with message and code from 400 on.
func checkEnvelope(ea *emutest.Answer) error {
	a := &answer{ea}
	want := "success"
	if a.Status >= 400 {
		want = "error"
	}
	if a.Body["status"] != want {
		return fmt.Errorf("envelope status %v with HTTP %d: %s", a.Body["status"], a.Status, a.Raw)
	}
	if a.message() == "" {
		return fmt.Errorf("answer without message: %s", a.Raw)
	}
	if _, ok := a.Body["data"]; want == "success" && !ok {
		return fmt.Errorf("success without data: %s", a.Raw)
	}
	if want == "error" && a.code() == "" {
		return fmt.Errorf("error without code: %s", a.Raw)
	}
	return nil
}

// do is send for requests that must get an answer.
func (c *client) do(method, path string, body any) *answer {
	c.T.Helper()
	a, err := c.send(method, path, body)
	if err != nil {
		c.T.Fatal(err)
	}
	return a
}

// ok is do for requests that must succeed with want.
func (c *client) ok(want int, method, path string, body any) *answer {
	c.T.Helper()
	a := c.do(method, path, body)
	if a.Status != want {
		c.T.Fatalf("%s %s: %v, want %d", method, path, a, want)
	}
	return a
}

func (c *client) create(body map[string]any) map[string]any {
	c.T.Helper()
	return c.ok(201, "POST", "/customers", body).data()
}

func (c *client) get(id string) map[string]any {
	c.T.Helper()
	return c.ok(200, "GET", "/customers/"+id, nil).data()
}

func (c *client) put(id string, body any) map[string]any {
	c.T.Helper()
	return c.ok(200, "PUT", "/customers/"+id, body).data()
}

// find asks find-by-email; nil for a 404.
func (c *client) find(email string) map[string]any {
	c.T.Helper()
	a := c.do("GET", "/customers/find-by-email?email="+url.QueryEscape(email), nil)
	switch a.Status {
	case 200:
		return a.data()
	case 404:
		return nil
	}
	c.T.Fatalf("find-by-email %s: %v", email, a)
	return nil
}

func company(name, email string) map[string]any {
	return map[string]any{"customer": name, "email": email}
}

// sandboxURL is the server's root, where /_sandbox/ lives.
func sandboxURL(s *counttest.Server) string { return strings.TrimSuffix(s.URL, "/partners") }

// getJSON GETs a URL without signing and decodes its JSON object.
func getJSON(t testing.TB, u string) map[string]any {
	t.Helper()
	return emutest.NewClient(t, "").OK(200, "GET", u, nil).Body
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
	c := emutest.NewClient(t, "")
	c.Check = checkEnvelope
	a, err := c.Exchange(req)
	if err != nil {
		t.Fatal(err)
	}
	return &answer{a}
}
