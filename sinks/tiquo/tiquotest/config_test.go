package tiquotest_test

import (
	"reflect"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tiquo/tiquotest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	p := emutest.WriteConfig(t, `
keys:
  - token: sk_test_rehearsal
    name: rehearsal
    scopes: [customers:read, customers:write]
  - {token: sk_test_reader, name: reader, scopes: [customers:read]}
rate_limit: 100
webhooks: [http://127.0.0.1:9/hooks]
faults:
  seed: 42
  error_rate: 0.05
  latency: 20ms
  drop_rate: 0.01
  lost_answer_rate: 0.02
`)
	o, err := tiquotest.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := tiquotest.Options{
		Keys: []tiquotest.Key{
			{Token: "sk_test_rehearsal", Name: "rehearsal", Scopes: []string{"customers:read", "customers:write"}},
			{Token: "sk_test_reader", Name: "reader", Scopes: []string{"customers:read"}},
		},
		RateLimit: 100,
		Webhooks:  []string{"http://127.0.0.1:9/hooks"},
		Faults:    tiquotest.Faults{Seed: 42, ErrorRate: 0.05, Latency: 20 * time.Millisecond, DropRate: 0.01, LostAnswerRate: 0.02},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	// The options run a server with the file's keys and limit.
	o.Faults, o.Webhooks = tiquotest.Faults{}, nil
	s := start(t, o)
	c := newClient(t, s)
	if s.APIKey != "sk_test_rehearsal" {
		t.Errorf("APIKey %q", s.APIKey)
	}
	if a := c.ok(200, "GET", "/customers", nil); a.Header.Get("X-RateLimit-Limit") != "100" {
		t.Errorf("limit header %q", a.Header.Get("X-RateLimit-Limit"))
	}
	if a := c.withKey("sk_test_reader").do("POST", "/customers", person("x@example.com")); a.Status != 403 {
		t.Errorf("reader key created: %v", a)
	}
}

// TestLoadConfigErrors checks that each kind of mistake is reported as
// path:line: message at the line of the mistake, and an unknown key as a
// setting rather than a Go type.
func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	emutest.CheckLoadConfig(t, tiquotest.LoadConfig, []emutest.ConfigError{
		{"unknown key", "keys: []\nrate_limt: 5\n", `:2: unknown setting "rate_limt"`},
		{"tamio permissions", "keys:\n  - token: a\n    permissions: [view]\n", `:3: unknown setting "permissions"`},
		{"unknown scope", "keys:\n  - token: a\n  - token: b\n    scopes: [customers:admin]\n", `:3: key 1 (key2): unknown permission "customers:admin"`},
		{"empty token", "keys:\n  - name: k\n", ":2: key 0: empty token"},
		{"duplicate token", "keys: [{token: a}, {token: a}]\n", ":1: key 1 (key2): the token of an earlier key"},
		{"negative rate limit", "# plan\nrate_limit: -5\n", ":2: rate limit -5 is negative"},
		{"fractional rate limit", "rate_limit: 0.5\n", `:1: "0.5" is not a whole number`},
		{"rate limit text", "\nrate_limit: fast\n", `:2: "fast" is not a whole number`},
		{"bad duration", "faults:\n  latency: soon\n", ":2: "},
		{"rate above 1", "faults: {error_rate: 1.5}\n", ":1: faults: error_rate"},
		{"rates adding past 1", "faults: {error_rate: 0.6, drop_rate: 0.6}\n", ":1: faults: error_rate + drop_rate"},
		{"webhook URL", "webhooks:\n  - http://127.0.0.1/ok\n  - ftp://example.com\n", `:3: webhook "ftp://example.com"`},
		{"not YAML", "keys: [\n", ":1: "},
	})
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	emutest.CheckRefused(t, tiquotest.NewServer, map[string]tiquotest.Options{
		"duplicate token": {Keys: []tiquotest.Key{{Token: "a"}, {Token: "a"}}},
		"unknown scope":   {Keys: []tiquotest.Key{{Token: "a", Scopes: []string{"customers:delete"}}}},
		"negative rate":   {RateLimit: -1},
		"fault rate":      {Faults: tiquotest.Faults{DropRate: 2}},
		"db path with ?":  {DBPath: "a?b.db"},
		"webhook":         {Webhooks: []string{"127.0.0.1:9000"}},
		"address":         {Addr: "127.0.0.1:notaport"},
	})
}
