package counttest_test

import (
	"reflect"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/count/counttest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	p := emutest.WriteConfig(t, `
clients:
  - token: count_rehearsal_token
    client_id: rehearsal
    client_secret: rehearsal-secret
    name: rehearsal
  - {token: t2, client_id: second, client_secret: s2}
rate_limit: 1200
faults:
  seed: 42
  error_rate: 0.05
  latency: 20ms
  drop_rate: 0.01
  lost_answer_rate: 0.02
`)
	o, err := counttest.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := counttest.Options{
		Clients: []counttest.Client{
			{Token: "count_rehearsal_token", ClientID: "rehearsal", ClientSecret: "rehearsal-secret", Name: "rehearsal"},
			{Token: "t2", ClientID: "second", ClientSecret: "s2"},
		},
		RateLimit: 1200,
		Faults:    counttest.Faults{Seed: 42, ErrorRate: 0.05, Latency: 20 * time.Millisecond, DropRate: 0.01, LostAnswerRate: 0.02},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	// The options run a server with the file's clients; the first one's
	// credentials are the server's.
	o.Faults = counttest.Faults{}
	s := start(t, o)
	if s.Token != "count_rehearsal_token" || s.ClientID != "rehearsal" || s.ClientSecret != "rehearsal-secret" {
		t.Errorf("credentials %q %q %q", s.Token, s.ClientID, s.ClientSecret)
	}
	c := newClient(t, s)
	c.ok(200, "GET", "/customers", nil)
	c.with(func(c *client) { c.token, c.id, c.secret = "t2", "second", "s2" }).ok(200, "GET", "/customers", nil)
	if got := s.Stats().ByKey; got["rehearsal"] != 1 || got["second"] != 1 {
		t.Errorf("by client %v: want the name, else the client id", got)
	}
	if a := c.with(func(c *client) { c.token = counttest.DefaultToken }).do("GET", "/customers", nil); a.Status != 401 {
		t.Errorf("the default token with clients configured: %v", a)
	}
}

// TestLoadConfigErrors checks that each kind of mistake is reported as
// path:line: message at the line of the mistake, and an unknown key as a
// setting rather than a Go type.
func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	emutest.CheckLoadConfig(t, counttest.LoadConfig, []emutest.ConfigError{
		{"unknown key", "clients: []\nrate_limt: 5\n", `:2: unknown setting "rate_limt"`},
		{"tiquo keys", "keys:\n  - token: a\n", `:1: unknown setting "keys"`},
		{"misspelt client setting", "clients:\n  - token: a\n    clientId: b\n", `:3: unknown setting "clientId"`},
		{"empty token", "clients:\n  - client_id: a\n    client_secret: s\n", ":2: client 0: empty token"},
		{"empty client id", "clients:\n  - {token: a, client_id: x, client_secret: s}\n  - {token: b, client_secret: s}\n", ":3: client 1: empty client_id"},
		{"empty secret", "clients:\n  - {token: a, client_id: x}\n", ":2: client 0 (x): empty client_secret"},
		{"duplicate token", "clients: [{token: a, client_id: x, client_secret: s}, {token: a, client_id: y, client_secret: s}]\n", ":1: client 1 (y): the token of an earlier client"},
		{"duplicate client id", "clients:\n- {token: a, client_id: x, client_secret: s}\n- {token: b, client_id: x, client_secret: t}\n", ":3: client 1 (x): the client_id of an earlier client"},
		{"token with space", "clients:\n  - {token: 'a b', client_id: x, client_secret: s}\n", ":2: client 0 (x): the token holds white space"},
		{"negative rate limit", "# plan\nrate_limit: -5\n", ":2: rate limit -5 is negative"},
		{"fractional rate limit", "rate_limit: 0.5\n", `:1: "0.5" is not a whole number`},
		{"bad duration", "faults:\n  latency: soon\n", ":2: "},
		{"rate above 1", "faults: {error_rate: 1.5}\n", ":1: faults: error_rate"},
		{"not YAML", "clients: [\n", ":1: "},
	})
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	emutest.CheckRefused(t, counttest.NewServer, map[string]counttest.Options{
		"duplicate client id": {Clients: []counttest.Client{{Token: "a", ClientID: "x", ClientSecret: "s"}, {Token: "b", ClientID: "x", ClientSecret: "s"}}},
		"no secret":           {Clients: []counttest.Client{{Token: "a", ClientID: "x"}}},
		"negative rate":       {RateLimit: -1},
		"fault rate":          {Faults: counttest.Faults{DropRate: 2}},
		"db path with ?":      {DBPath: "a?b.db"},
		"address":             {Addr: "127.0.0.1:notaport"},
	})
}
