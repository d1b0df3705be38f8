package counttest_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"crmsync/sinks/count/counttest"
)

// TestSigning sends requests each broken in one part of the token or the
// signature, with the server's clock fixed so that the window's edges are
// exact: every broken one is a 401 unauthorized and nothing is applied;
// the edges of the window and a signed body are accepted.
func TestSigning(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 30, 0, time.UTC))
	other := counttest.Client{Token: "other_token", ClientID: "other-client", ClientSecret: "other-secret"}
	s := start(t, counttest.Options{Now: clk.now, Clients: []counttest.Client{
		{Token: counttest.DefaultToken, ClientID: counttest.DefaultClientID, ClientSecret: counttest.DefaultClientSecret},
		other,
	}})
	c := newClient(t, s).with(func(c *client) { c.now = clk.now })
	id := c.create(company("Signed Ltd", "signed@example.com"))["id"].(string)

	for _, tc := range []struct {
		name   string
		break_ func(*client)
		want   int
		says   string // in the message of a 401
		only   string // the one method the break applies to: a body is a PUT's, a query a GET's
	}{
		{"well signed", func(*client) {}, 200, "", ""},
		{"timestamp 300 s old", func(c *client) { c.tsOffset = -300 * time.Second }, 200, "", ""},
		{"timestamp 300 s ahead", func(c *client) { c.tsOffset = 300 * time.Second }, 200, "", ""},
		{"replayed, 301 s old", func(c *client) { c.tsOffset = -301 * time.Second }, 401, "x-timestamp", ""},
		{"301 s ahead", func(c *client) { c.tsOffset = 301 * time.Second }, 401, "x-timestamp", ""},
		{"milliseconds", func(c *client) { c.timestamp = strconv.FormatInt(clk.now().UnixMilli(), 10) }, 401, "unix seconds", ""},
		{"timestamp not a number", func(c *client) { c.timestamp = "now" }, 401, "unix seconds", ""},
		{"wrong secret", func(c *client) { c.secret = "not-the-secret" }, 401, "Invalid signature", ""},
		{"another client's secret", func(c *client) { c.secret = other.ClientSecret }, 401, "Invalid signature", ""},
		{"body altered after signing", func(c *client) {
			c.alter = func(b []byte) []byte { return []byte(strings.Replace(string(b), "Signed", "Forged", 1)) }
		}, 401, "Invalid signature", "PUT"},
		{"query string signed", func(c *client) { c.signQuery = true }, 401, "Invalid signature", "GET"},
		{"/partners signed", func(c *client) { c.signPrefix = true }, 401, "Invalid signature", ""},
		{"upper-case hex", func(c *client) { c.upperHex = true }, 401, "lower-case", ""},
		{"no Authorization", func(c *client) { c.drop = "Authorization" }, 401, "Authorization", ""},
		{"no x-client-id", func(c *client) { c.drop = "x-client-id" }, 401, "x-client-id", ""},
		{"no x-timestamp", func(c *client) { c.drop = "x-timestamp" }, 401, "x-timestamp", ""},
		{"no x-signature", func(c *client) { c.drop = "x-signature" }, 401, "x-signature", ""},
		{"unknown token", func(c *client) { c.token = "nobody" }, 401, "token", ""},
		{"token of another client", func(c *client) { c.token = other.Token }, 401, "x-client-id", ""},
		{"client id of another client", func(c *client) { c.id = other.ClientID }, 401, "x-client-id", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc := c.with(tc.break_)
			bc.T = t
			// A write, so that a refused request shows it changed nothing,
			// and a read with a query string, whose signature leaves it out.
			put := bc.do("PUT", "/customers/"+id, map[string]any{"customer": "Signed Ltd", "email": "signed@example.com",
				"website": "https://" + strings.ReplaceAll(tc.name, " ", "-") + ".example"})
			get := bc.do("GET", "/customers/find-by-email?email=signed%40example.com", nil)
			for _, a := range []*answer{put, get} {
				want := tc.want
				if tc.only != "" && a != map[string]*answer{"PUT": put, "GET": get}[tc.only] {
					want = 200
				}
				if a.Status != want {
					t.Fatalf("%v, want %d", a, want)
				}
				if want == 401 && (a.code() != "unauthorized" || !strings.Contains(a.message(), tc.says)) {
					t.Errorf("%v: want code unauthorized and a message saying %q", a, tc.says)
				}
			}
			got := c.get(id)["website"]
			if applied := got == "https://"+strings.ReplaceAll(tc.name, " ", "-")+".example"; applied != (put.Status == 200) {
				t.Errorf("website %v after a %d", got, put.Status)
			}
		})
	}
}

// TestSigningEmptyBody checks that a request without a body signs ""
// as its body hash, not the SHA-256 of no bytes, and that a body signed
// on a GET is hashed like any other.
func TestSigningEmptyBody(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	if a := c.with(func(c *client) { c.emptyHash = true }).do("GET", "/customers", nil); a.Status != 401 {
		t.Errorf("GET signed with SHA-256 of no bytes: %v", a)
	}
	c.ok(200, "GET", "/customers", nil)
	c.ok(200, "GET", "/customers", `{"ignored": true}`)
}

// TestSignatureMessageKeepsSecrets checks that a 401 for a wrong
// signature quotes the string the server signed, so that a rehearsal
// shows what the client got wrong, and never the secret or the expected
// signature.
func TestSignatureMessageKeepsSecrets(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s).with(func(c *client) { c.signQuery = true })
	a := c.do("GET", "/customers?page=1", nil)
	if a.Status != 401 || !strings.Contains(a.message(), `"GET:/customers:`) {
		t.Fatalf("%v: want the signed string in the message", a)
	}
	ts := a.message()[strings.Index(a.message(), `"GET:/customers:`)+len(`"GET:/customers:`):]
	ts = ts[:strings.IndexByte(ts, ':')]
	sec, _ := strconv.ParseInt(ts, 10, 64)
	for _, secret := range []string{counttest.DefaultClientSecret, sign(counttest.DefaultClientSecret, "GET", "/customers", sec, nil)} {
		if strings.Contains(string(a.Raw), secret) {
			t.Errorf("the 401 reveals %q: %s", secret, a.Raw)
		}
	}
}

// TestSignedPathAsSent checks that the signed path is the path as it
// was sent, percent-escapes kept, as a router mounted at /partners sees
// it: a client signing the decoded path is refused.
func TestSignedPathAsSent(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	if a := c.do("GET", "/customers/a%20b", nil); a.Status != 400 || a.code() != "validation_error" {
		t.Errorf("signed as sent: %v, want a 400 for the id", a)
	}
	ts := time.Now().Unix()
	req := signedRequest(t, s, "GET", "/customers/a%20b", ts, sign(s.ClientSecret, "GET", "/customers/a b", ts, nil))
	if a := roundTrip(t, req); a.Status != 401 {
		t.Errorf("signed decoded: %v, want 401", a)
	}
}
