package revnuetest_test

import (
	"fmt"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
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
		opts.DBPath = emutest.TempDB(t, "revnue.db")
	}
	s, err := revnuetest.NewServer(opts)
	return emutest.Serve(t, s, err)
}

// client talks to a server the way a sink would, at the API's base (with
// /api/v2); every answer must be a JSON object, an error one with a
// detail, a 400 with its errors too.
type client struct{ *emutest.Client }

func newClient(t testing.TB, s *revnuetest.Server) *client {
	c := emutest.NewClient(t, s.URL+revnuetest.APIPrefix)
	c.Token, c.Check = s.Token, checkAnswer
	return &client{c}
}

// oneShot is a client with a new connection per request, for the fault
// tests (see emutest.Client.OneShot).
func oneShot(t testing.TB, s *revnuetest.Server) *client { return &client{newClient(t, s).OneShot()} }

func (c *client) withToken(token string) *client {
	return &client{c.With(func(c *emutest.Client) { c.Token = token })}
}

// sandbox is c without a token at the server's root, where /_sandbox/
// lives.
func (c *client) sandbox(s *revnuetest.Server) *client {
	return &client{c.With(func(c *emutest.Client) { c.Base, c.Token = s.URL, "" })}
}

// checkAnswer checks Revnue's error shape: a detail on every error, and
// errors by field on a 400 and on nothing else.
func checkAnswer(a *emutest.Answer) error {
	if a.Status >= 400 {
		if d, _ := a.Body["detail"].(string); d == "" {
			return fmt.Errorf("error without detail: %s", a.Raw)
		}
		if _, ok := a.Body["errors"].(map[string]any); ok != (a.Status == 400) {
			return fmt.Errorf("errors present %v with HTTP %d", ok, a.Status)
		}
	}
	return nil
}

// answer is a decoded response.
type answer struct{ *emutest.Answer }

// errors is the "errors" of a 400.
func (a *answer) errors() map[string]any { return a.Object("errors") }

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
func (a *answer) results() []map[string]any { return a.Objects("results") }

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
	return c.ok(201, "POST", "/customer/", body).Body
}

func (c *client) get(id any) map[string]any {
	c.T.Helper()
	return c.ok(200, "GET", fmt.Sprintf("/customer/%v/", id), nil).Body
}

func (c *client) put(id any, body map[string]any) map[string]any {
	c.T.Helper()
	return c.ok(200, "PUT", fmt.Sprintf("/customer/%v", id), body).Body
}

// minimal is the smallest body a create or PUT accepts.
func minimal(name string) map[string]any {
	return map[string]any{"company": 1, "name": name}
}

// idOf is the id of a customer in the read shape.
func idOf(c map[string]any) int64 { return int64(c["id"].(float64)) }

// all pages through a company's customers with the largest page.
func (c *client) all(company int) []map[string]any {
	c.T.Helper()
	var out []map[string]any
	a := c.ok(200, "GET", fmt.Sprintf("/customer/?company=%d&page_size=100", company), nil)
	for {
		out = append(out, a.results()...)
		next, _ := a.Body["next"].(string)
		if next == "" {
			return out
		}
		a = c.ok(200, "GET", strings.TrimPrefix(next, c.Base), nil)
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
