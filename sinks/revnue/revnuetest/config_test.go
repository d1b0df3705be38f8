package revnuetest_test

import (
	"reflect"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	p := emutest.WriteConfig(t, `
tokens:
  - token: rv_test_rehearsal
    name: rehearsal
  - {token: rv_test_other}
rate_limit: 1200
companies: [1, 4]
categories:
  - {id: 1, name: Default}
  - {id: 7, name: Wholesale}
template:
  id: 3
  name: Sales
  fields:
    - {id: 30, key: budget, type: money}
    - {id: 31, key: seats, type: number}
faults:
  seed: 42
  error_rate: 0.05
  latency: 20ms
  drop_rate: 0.01
  lost_answer_rate: 0.02
`)
	o, err := revnuetest.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := revnuetest.Options{
		Tokens:     []revnuetest.Token{{Token: "rv_test_rehearsal", Name: "rehearsal"}, {Token: "rv_test_other"}},
		RateLimit:  1200,
		Companies:  []int64{1, 4},
		Categories: []revnuetest.Category{{ID: 1, Name: "Default"}, {ID: 7, Name: "Wholesale"}},
		Template: &revnuetest.Template{ID: 3, Name: "Sales", Fields: []revnuetest.TemplateField{
			{ID: 30, Key: "budget", Type: "money"}, {ID: 31, Key: "seats", Type: "number"}}},
		Faults: revnuetest.Faults{Seed: 42, ErrorRate: 0.05, Latency: 20 * time.Millisecond, DropRate: 0.01, LostAnswerRate: 0.02},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	// The options run a server with the file's account.
	o.Faults = revnuetest.Faults{}
	s := start(t, o)
	c := newClient(t, s)
	if s.Token != "rv_test_rehearsal" {
		t.Errorf("Token %q", s.Token)
	}
	got := c.withToken("rv_test_other").create(map[string]any{"company": 4, "name": "Configured", "category": 7,
		"template": map[string]any{"id": 3, "fields": []any{field(30, 5)}}})
	if got["category"].(map[string]any)["name"] != "Wholesale" || got["template"].(map[string]any)["fields"].(map[string]any)["budget"] != "5.00" {
		t.Errorf("customer on the configured account: %v", got)
	}
}

// TestLoadConfigErrors checks that each kind of mistake is reported as
// path:line: message at the line of the mistake, and an unknown key as a
// setting rather than a Go type.
func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	emutest.CheckLoadConfig(t, revnuetest.LoadConfig, []emutest.ConfigError{
		{"unknown key", "tokens: []\nrate_limt: 5\n", `:2: unknown setting "rate_limt"`},
		{"tiquo's keys", "keys:\n  - token: a\n", `:1: unknown setting "keys"`},
		{"scopes on a token", "tokens:\n  - token: a\n    scopes: [x]\n", `:3: unknown setting "scopes"`},
		{"empty token", "tokens:\n  - name: k\n", ":2: key 0: empty token"},
		{"duplicate token", "tokens: [{token: a}, {token: a}]\n", ":1: key 1 (key2): the token of an earlier key"},
		{"negative rate limit", "# plan\nrate_limit: -5\n", ":2: rate limit -5 is negative"},
		{"fractional rate limit", "rate_limit: 0.5\n", `:1: "0.5" is not a whole number`},
		{"company zero", "companies:\n  - 1\n  - 0\n", ":3: company id 0 is not positive"},
		{"company twice", "companies: [1, 1]\n", ":1: company 1 is listed twice"},
		{"fractional company", "companies: [1.5]\n", `:1: "1.5" is not a whole number`},
		{"category without a name", "categories:\n  - {id: 1, name: A}\n  - {id: 2}\n", ":3: category 2 has no name"},
		{"category twice", "categories:\n  - {id: 1, name: A}\n  - {id: 1, name: B}\n", ":3: category 1 is listed twice"},
		{"template without id", "\ntemplate:\n  fields: []\n", ":2: the template has no id"},
		{"template field type", "template:\n  id: 1\n  fields:\n    - {id: 1, key: a, type: percent}\n", `:1: field 0 (id 1): type "percent" is not one of money, number, date, text`},
		{"template field key twice", "template:\n  id: 1\n  fields: [{id: 1, key: a, type: text}, {id: 2, key: a, type: date}]\n", `:1: field 1: key "a" is used twice`},
		{"template unknown setting", "template:\n  id: 1\n  field: []\n", `:3: unknown setting "field"`},
		{"bad duration", "faults:\n  latency: soon\n", ":2: "},
		{"rate above 1", "faults: {error_rate: 1.5}\n", ":1: faults: error_rate"},
		{"not YAML", "tokens: [\n", ":1: "},
	})
}

func TestNewServerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	emutest.CheckRefused(t, revnuetest.NewServer, map[string]revnuetest.Options{
		"duplicate token":  {Tokens: []revnuetest.Token{{Token: "a"}, {Token: "a"}}},
		"negative rate":    {RateLimit: -1},
		"fault rate":       {Faults: revnuetest.Faults{DropRate: 2}},
		"db path with ?":   {DBPath: "a?b.db"},
		"address":          {Addr: "127.0.0.1:notaport"},
		"company":          {Companies: []int64{-1}},
		"category id":      {Categories: []revnuetest.Category{{ID: 0, Name: "x"}}},
		"template field":   {Template: &revnuetest.Template{ID: 1, Fields: []revnuetest.TemplateField{{ID: 1, Key: "a", Type: "bool"}}}},
		"template id":      {Template: &revnuetest.Template{Name: "x"}},
		"template dup ids": {Template: &revnuetest.Template{ID: 1, Fields: []revnuetest.TemplateField{{1, "a", "text"}, {1, "b", "text"}}}},
	})
}
