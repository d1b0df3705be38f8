package tamiotest_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tamio/tamiotest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	p := emutest.WriteConfig(t, `
keys:
  - token: rehearsal-key
    name: rehearsal
    permissions: [view, edit, create, remove]
  - token: reader
    name: reader
    permissions: [view]
    customers: [0F8FAD5B-D9CB-469F-A165-70867728950E]
teammates:
  - {id: 2f1c0a4e-8b7d-4c3e-a1f2-0b9c8d7e6f50, email: jo@example.com, name: Jo}
rate_limit: 10
rate_burst: 20
bulk_delay: 2s
webhooks: [http://127.0.0.1:9/hooks]
faults:
  seed: 42
  error_rate: 0.05
  latency: 20ms
  drop_rate: 0.01
  lost_answer_rate: 0.02
`)
	o, err := tamiotest.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := tamiotest.Options{
		Keys: []tamiotest.Key{
			{Token: "rehearsal-key", Name: "rehearsal", Permissions: []string{"view", "edit", "create", "remove"}},
			{Token: "reader", Name: "reader", Permissions: []string{"view"}, Customers: []string{"0F8FAD5B-D9CB-469F-A165-70867728950E"}},
		},
		Teammates: []tamiotest.Teammate{{ID: "2f1c0a4e-8b7d-4c3e-a1f2-0b9c8d7e6f50", Email: "jo@example.com", Name: "Jo"}},
		RateLimit: 10, RateBurst: 20, BulkDelay: 2 * time.Second,
		Webhooks: []string{"http://127.0.0.1:9/hooks"},
		Faults:   tamiotest.Faults{Seed: 42, ErrorRate: 0.05, Latency: 20 * time.Millisecond, DropRate: 0.01, LostAnswerRate: 0.02},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}

	// The options run a server with the file's key and teammates.
	o.Faults = tamiotest.Faults{}
	o.Webhooks = nil
	s := start(t, o)
	c := newClient(t, s)
	if s.APIKey != "rehearsal-key" {
		t.Errorf("APIKey %q", s.APIKey)
	}
	tms := c.ok("GET", "/teammates/list", nil).list("teammates")
	if len(tms) != 1 || tms[0].(map[string]any)["name"] != "Jo" {
		t.Errorf("teammates %v", tms)
	}
	if a := c.withKey("reader").do("POST", "/customers/create", person("x@example.com")); a.Status != 403 {
		t.Errorf("reader key created: %v", a)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "rate_limt: 5\n", "rate_limt"},
		{"bad permission", "keys: [{token: k, permissions: [admin]}]\n", "admin"},
		{"empty token", "keys: [{name: k}]\n", "empty token"},
		{"bad duration", "bulk_delay: soon\n", "soon"},
		{"duration without unit", "bulk_delay: 5\n", "5"},
		{"rate above 1", "faults: {error_rate: 1.5}\n", "error_rate"},
		{"rates adding past 1", "faults: {error_rate: 0.6, drop_rate: 0.6}\n", "more than 1"},
		{"teammate id", "teammates: [{id: ana, email: a@example.com}]\n", "not a UUID"},
		{"customer id", "keys: [{token: k, customers: [nope]}]\n", "not a UUID"},
		{"webhook URL", "webhooks: [ftp://example.com]\n", "ftp://"},
		{"not YAML", "keys: [\n", "yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tamiotest.LoadConfig(emutest.WriteConfig(t, tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	emutest.CheckRefused(t, tamiotest.NewServer, map[string]tamiotest.Options{
		"duplicate token": {Keys: []tamiotest.Key{{Token: "a"}, {Token: "a"}}},
		"negative rate":   {RateLimit: -1},
		"fault rate":      {Faults: tamiotest.Faults{DropRate: 2}},
		"db path with ?":  {DBPath: "a?b.db"},
		"teammate email":  {Teammates: []tamiotest.Teammate{{ID: "2f1c0a4e-8b7d-4c3e-a1f2-0b9c8d7e6f50", Email: "jo"}}},
	})
}

// TestLoadConfigErrorsNameTheLine checks that every kind of mistake in a
// configuration file is reported as path:line, at the line of the mistake,
// and that an unknown key reads as a setting, not as a Go type.
func TestLoadConfigErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	emutest.CheckLoadConfig(t, tamiotest.LoadConfig, []emutest.ConfigError{
		{"unknown key", "teammates: []\nrate_limt: 5\n", `:2: unknown setting "rate_limt"`},
		{"wrong type", "rate_limit: fast\n", ":1: "},
		{"not YAML", "keys: [\n", ":1: "},
		{"bad duration", "faults:\n  latency: soon\n", ":2: "},
		{"second teammate", "teammates:\n  - {id: 2f1c0a4e-8b7d-4c3e-a1f2-0b9c8d7e6f50, email: jo@example.com}\n  - {id: ana, email: a@example.com}\n", `:3: teammate 1: id "ana" is not a UUID`},
		{"key permission", "keys:\n  - token: a\n  - token: b\n    permissions: [admin]\n", `:3: key 1 (key2): unknown permission "admin"`},
		{"faults", "# rehearsal\nfaults: {error_rate: 1.5}\n", ":2: faults: error_rate"},
	})
}
