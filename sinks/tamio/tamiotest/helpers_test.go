package tamiotest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tamio/tamiotest"
)

// start runs a server on a SQLite file in t's temporary directory, unless
// opts names another, and closes it when t ends.
func start(t testing.TB, opts tamiotest.Options) *tamiotest.Server {
	t.Helper()
	if opts.DBPath == "" {
		opts.DBPath = emutest.TempDB(t, "tamio.db")
	}
	s, err := tamiotest.NewServer(opts)
	return emutest.Serve(t, s, err)
}

// client talks to a server the way a sink would; every answer must be a
// JSON object whose status is the HTTP status.
type client struct{ *emutest.Client }

func newClient(t testing.TB, s *tamiotest.Server) *client {
	c := emutest.NewClient(t, s.URL)
	c.Token, c.Check = s.APIKey, checkEnvelope
	return &client{c}
}

// oneShot is a client with a new connection per request, for the fault
// tests (see emutest.Client.OneShot).
func oneShot(t testing.TB, s *tamiotest.Server) *client { return &client{newClient(t, s).OneShot()} }

func (c *client) withKey(key string) *client {
	return &client{c.With(func(c *emutest.Client) { c.Token = key })}
}

// sandbox is c without a key at url.
func (c *client) sandbox(url string) *client {
	return &client{c.With(func(c *emutest.Client) { c.Base, c.Token = url, "" })}
}

// checkEnvelope checks tamio's envelope: its status is the HTTP status.
func checkEnvelope(a *emutest.Answer) error {
	if st, ok := a.Body["status"].(float64); !ok || int(st) != a.Status {
		return fmt.Errorf("envelope status %v differs from HTTP %d", a.Body["status"], a.Status)
	}
	return nil
}

// answer is a decoded response.
type answer struct{ *emutest.Answer }

// code returns the error_code of an error answer, or 0.
func (a *answer) code() int {
	if v, ok := a.Body["error_code"].(float64); ok {
		return int(v)
	}
	return 0
}

func (a *answer) customer() map[string]any { return a.Object("customer") }

func (a *answer) list(key string) []any {
	l, _ := a.Body[key].([]any)
	return l
}

// send makes a request; body is JSON-encoded unless it is a string or
// []byte, which are sent as they are. Transport errors are returned, not
// fatal, for the fault tests.
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

// ok is do for requests that must succeed.
func (c *client) ok(method, path string, body any) *answer {
	c.T.Helper()
	return &answer{c.OK(200, method, path, body)}
}

func (c *client) create(body map[string]any) map[string]any {
	c.T.Helper()
	return c.ok("POST", "/customers/create", body).customer()
}

// allCustomers pages through the list with per_page 100.
func (c *client) allCustomers(query string) []map[string]any {
	c.T.Helper()
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
