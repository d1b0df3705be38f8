package revnue_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

var templateFields = []string{"template.contract_value", "template.seats", "template.renewal_date", "template.account_tier"}

// Each template value is checked against its field's type and bounds
// before anything is sent: a value that fails rejects its row alone, with
// CodeTemplateValue on the field, and costs no call; the values at the
// bounds are created and read back as Revnue holds them.
func TestTemplateValuesCheckedBeforeSending(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	s := extended(t, templateFields...)
	bad := []struct{ field, value string }{
		{"template.contract_value", "-0.01"},
		{"template.contract_value", "1.005"},
		{"template.contract_value", "1e5"},
		{"template.contract_value", "1000000000000000"},
		{"template.contract_value", "999999999999999.01"},
		{"template.contract_value", "twelve"},
		{"template.seats", "1.5"},
		{"template.seats", "1000000000000000"},
		{"template.seats", "-1000000000000000"},
		{"template.seats", "12 seats"},
		{"template.renewal_date", "2031-02-29"},
		{"template.renewal_date", "31.01.2031"},
		{"template.account_tier", strings.Repeat("x", 51)},
		{"template.account_tier", strings.Repeat("é", 51)},
	}
	good := []map[string]string{
		{"template.contract_value": "999999999999999.00", "template.seats": "999999999999999", "template.renewal_date": "2032-02-29", "template.account_tier": strings.Repeat("é", 50)},
		{"template.contract_value": "0", "template.seats": "-999999999999999", "template.renewal_date": "2031-01-31", "template.account_tier": "gold"},
		{"template.contract_value": "1200.5", "template.seats": "007"},
	}
	var chs []pipeline.Change
	for i, b := range bad {
		chs = append(chs, change(fmt.Sprint("bad", i), "", values(s, map[string]string{"name": fmt.Sprint("Bad ", i), b.field: b.value})))
	}
	for i, g := range good {
		g["name"] = fmt.Sprint("Good ", i)
		chs = append(chs, change(fmt.Sprint("good", i), "", values(s, g)))
	}
	res := run(t, a.sink(t, revnue.Options{Schema: s}), pipeline.Plan{Mapped: mapped(s, append([]string{"name"}, templateFields...)...)}, chs)
	for i, b := range bad {
		r := res[i]
		if r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != revnue.CodeTemplateValue || r.Reject.Field != b.field ||
			r.Reject.Stage != pipeline.StageValidate || strings.Contains(r.Reject.Message, b.value) {
			t.Errorf("%s = %q: %v %+v", b.field, b.value, r.Outcome, r.Reject)
		}
	}
	reqs := a.front.requests()
	if n := count(reqs, "POST", ""); n != len(good) {
		t.Errorf("%d creates sent for %d rows that pass", n, len(good))
	}
	want := []map[string]any{
		{"contract_value": "999999999999999.00", "seats": float64(999999999999999), "renewal_date": "2032-02-29", "account_tier": strings.Repeat("é", 50)},
		{"contract_value": "0.00", "seats": float64(-999999999999999), "renewal_date": "2031-01-31", "account_tier": "gold"},
		{"contract_value": "1200.50", "seats": float64(7), "renewal_date": nil, "account_tier": nil},
	}
	for i := range good {
		r := res[len(bad)+i]
		if r.Outcome != pipeline.OutcomeCreated {
			t.Errorf("good %d: %v %v", i, r.Outcome, r.Reject)
			continue
		}
		got := a.held(t, r.ID)["template"].(map[string]any)["fields"].(map[string]any)
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("good %d: %s reads %v, want %v", i, k, got[k], v)
			}
		}
	}

	// Revnue answers money with two decimals and numbers without leading
	// zeros: the values as mapped compare equal, and a second run writes
	// nothing.
	res = run(t, a.sink(t, revnue.Options{Schema: s}), pipeline.Plan{Mapped: mapped(s, append([]string{"name"}, templateFields...)...), IndexAccount: true}, chs[len(bad):])
	wantOutcome(t, res, pipeline.OutcomeUnchanged)
	if n := count(a.front.requests(), "PUT", ""); n != 0 {
		t.Errorf("the second run sent %d PUTs", n)
	}
}

// A mapping that fills a template field the account's template lacks
// stops the run in Prepare, naming the fields the template has, before
// anything is written.
func TestUnknownTemplateFieldStopsTheRun(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	s := extended(t, "template.seats", "template.contract_valeu")
	_, err := tryRun(a.sink(t, revnue.Options{Schema: s}), pipeline.Plan{Mapped: mapped(s, "name", "template.seats", "template.contract_valeu")},
		[]pipeline.Change{change("k", "", values(s, map[string]string{"name": "ACME"}))})
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Fatalf("Prepare: %v, want a fatal error", err)
	}
	for _, w := range []string{`"template.contract_valeu"`, `"template.account_tier", "template.contract_value", "template.renewal_date", "template.seats"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %s", err, w)
		}
	}
	if strings.Contains(err.Error(), `fills "template.seats"`) {
		t.Errorf("error %q names a field the template has", err)
	}
	if n := count(a.front.requests(), "POST", ""); n != 0 || a.srv.Stats().Customers != 0 {
		t.Errorf("%d creates sent", n)
	}

	// An account without a template says so.
	b := startAccount(t, revnuetest.Options{Template: &revnuetest.Template{ID: 9, Name: "Empty"}})
	_, err = tryRun(b.sink(t, revnue.Options{Schema: s}), pipeline.Plan{Mapped: mapped(s, "name")}, nil)
	if err == nil || !strings.Contains(err.Error(), "template 9") {
		t.Errorf("Prepare on a template without fields: %v", err)
	}
	// The registered schema, without template fields, reads the template
	// only to prove the token.
	api, err := revnue.NewAPI(revnue.Options{BaseURL: a.url, Token: a.srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Prepare(context.Background(), pipeline.Plan{}); err != nil {
		t.Errorf("Prepare without template fields: %v", err)
	}
}
