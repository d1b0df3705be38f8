package tiquotest_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tiquo/tiquotest"
)

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends.
func start(t testing.TB, opts tiquotest.Options) *tiquotest.Server {
	t.Helper()
	if opts.DBPath == "" {
		opts.DBPath = emutest.TempDB(t, "tiquo.db")
	}
	s, err := tiquotest.NewServer(opts)
	return emutest.Serve(t, s, err)
}

// client talks to a server the way a sink would; every answer must be a
// JSON object in the envelope its status calls for.
type client struct{ *emutest.Client }

func newClient(t testing.TB, s *tiquotest.Server) *client {
	c := emutest.NewClient(t, s.URL)
	c.Token, c.Check = s.APIKey, checkEnvelope
	return &client{c}
}

// oneShot is a client with a new connection per request, for the fault
// tests (see emutest.Client.OneShot).
func oneShot(t testing.TB, s *tiquotest.Server) *client { return &client{newClient(t, s).OneShot()} }

func (c *client) withKey(key string) *client {
	return &client{c.With(func(c *emutest.Client) { c.Token = key })}
}

// sandbox is c without a key at the server's root, where /_sandbox/ lives.
func (c *client) sandbox(s *tiquotest.Server) *client {
	// The stats come in the kit's shape every emulator serves, not in
	// tiquo's envelope.
	return &client{c.With(func(c *emutest.Client) { c.Base, c.Token, c.Check = sandboxURL(s), "", nil })}
}

// checkEnvelope checks tiquo's envelope: success true below 400, false
// with an error code and message from 400 on.
func checkEnvelope(a *emutest.Answer) error {
	ok, isBool := a.Body["success"].(bool)
	if !isBool || ok != (a.Status < 400) {
		return fmt.Errorf("envelope success %v with HTTP %d", a.Body["success"], a.Status)
	}
	if e := (&answer{a}); !ok && (e.code() == "" || e.errorMember("message") == "") {
		return fmt.Errorf("error without code or message: %s", a.Raw)
	}
	return nil
}

// answer is a decoded response.
type answer struct{ *emutest.Answer }

// code and field are those of an error answer, or "".
func (a *answer) code() string  { return a.errorMember("code") }
func (a *answer) field() string { return a.errorMember("field") }

func (a *answer) errorMember(name string) string {
	s, _ := a.Object("error")[name].(string)
	return s
}

// data is the data of a success answer holding one object.
func (a *answer) data() map[string]any { return a.Object("data") }

// items is the data of a list answer.
func (a *answer) items() []map[string]any { return a.Objects("data") }

// send makes a request; body is JSON-encoded unless it is a string,
// which is sent as it is. Transport errors are returned, not fatal, for
// the fault tests.
func (c *client) send(method, path string, body any) (*answer, error) {
	a, err := c.Send(method, path, body)
	if err != nil {
		return nil, err
	}
	return &answer{a}, nil
}

// do is send for requests that must get an answer.
func (c *client) do(method, path string, body any) *answer {
	c.T.Helper()
	return &answer{c.Do(method, path, body)}
}

// ok is do for requests that must succeed with want.
func (c *client) ok(want int, method, path string, body any) *answer {
	c.T.Helper()
	return &answer{c.OK(want, method, path, body)}
}

func (c *client) create(body map[string]any) map[string]any {
	c.T.Helper()
	return c.ok(201, "POST", "/customers", body).data()
}

func (c *client) get(id string) map[string]any {
	c.T.Helper()
	return c.ok(200, "GET", "/customers/"+id, nil).data()
}

func (c *client) patch(id string, body any) map[string]any {
	c.T.Helper()
	return c.ok(200, "PATCH", "/customers/"+id, body).data()
}

// all pages through the list with limit 100 and returns the customers.
func (c *client) all() []map[string]any {
	c.T.Helper()
	var out []map[string]any
	q := "/customers?limit=100"
	for {
		a := c.ok(200, "GET", q, nil)
		out = append(out, a.items()...)
		pg := a.Body["pagination"].(map[string]any)
		if pg["hasMore"] != true {
			return out
		}
		q = "/customers?limit=100&cursor=" + url.QueryEscape(pg["nextCursor"].(string))
	}
}

// byEmail asks the list for the customers with an email.
func (c *client) byEmail(email string) []map[string]any {
	c.T.Helper()
	return c.ok(200, "GET", "/customers?email="+url.QueryEscape(email), nil).items()
}

func person(email string) map[string]any {
	return map[string]any{"firstName": "Test", "lastName": "Person", "email": email}
}

// sandboxURL is the server's root, where /_sandbox/ lives.
func sandboxURL(s *tiquotest.Server) string { return strings.TrimSuffix(s.URL, "/v1") }
