package revnue_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// how a change reaches the sink: matched through the index of the
// account (a run without a state), bound by the state (its id and what
// changed), or matched by name with Find (a new key, a state run).
var reaches = []struct {
	name  string
	index bool
	bound bool
}{{"indexed", true, false}, {"bound", false, true}, {"found", false, false}}

// phoneOnly seeds a customer with every field set (descriptions, fax,
// contact person, category, NDA and MSA with their dates, every template
// value), runs a sink on schema s with a mapping of name and phone (and
// the template fields s names, each given a new value), and returns the
// fields of the customer that differ from what they should be afterwards:
// the phone and those template fields changed, everything else as seeded.
func phoneOnly(t *testing.T, s *pipeline.Schema, index, bound bool, mk func(*account, *pipeline.Schema, []bool) pipeline.Sink) []string {
	t.Helper()
	a := startAccount(t, revnuetest.Options{})
	id := a.seed(t, a.srv.FullCustomer("ACME GmbH", 3))
	want := a.held(t, id)
	for _, f := range []string{"company", "name", "category", "contact_person", "address_line_1", "address_line_2", "city",
		"state_province", "zip_postal_code", "country", "phone", "mobile", "fax", "website", "general_description",
		"nda_signed", "nda_signed_date", "msa_signed", "msa_signed_date", "supplementary_description", "additional_description"} {
		if v := want[f]; v == nil || v == false {
			t.Fatalf("the seeded customer has no %s: %v", f, want)
		}
	}
	newValues := map[string]string{"template.contract_value": "2500.5", "template.seats": "77",
		"template.renewal_date": "2032-02-29", "template.account_tier": "platinum"}
	rec := map[string]string{"name": "ACME GmbH", "phone": "+49 30 123456"}
	names := []string{"name", "phone"}
	fields := want["template"].(map[string]any)["fields"].(map[string]any)
	for f := len(revnue.Schema().Fields); f < len(s.Fields); f++ {
		n := s.Fields[f].Name
		rec[n] = newValues[n]
		names = append(names, n)
		fields[n[len(revnue.TemplatePrefix):]] = newValues[n]
		if n == "template.contract_value" {
			fields["contract_value"] = "2500.50"
		}
		if n == "template.seats" {
			fields["seats"] = float64(77)
		}
	}
	want["phone"] = "+49 30 123456"

	ch := change("k1", "", values(s, rec))
	if bound {
		ch.ID = id
		ch.Send = mapped(s, names[1:]...)
	}
	res := run(t, mk(a, s, mapped(s, names...)), pipeline.Plan{Mapped: mapped(s, names...), IndexAccount: index}, []pipeline.Change{ch})
	if r := res[0]; r.Outcome != pipeline.OutcomeUpdated || r.ID != id {
		t.Fatalf("%v with id %q %v, want updated %s", r.Outcome, r.ID, r.Reject, id)
	}
	got := a.held(t, id)
	var diff []string
	for k := range want {
		if k == "template" {
			gf, _ := got["template"].(map[string]any)
			if gf == nil {
				diff = append(diff, "template")
				continue
			}
			for key, v := range fields {
				if !reflect.DeepEqual(gf["fields"].(map[string]any)[key], v) {
					diff = append(diff, "template."+key)
				}
			}
			continue
		}
		if !reflect.DeepEqual(got[k], want[k]) {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return diff
}

// The test: a customer seeded with every field set, a mapping
// that changes only the phone, and every other field unchanged
// afterwards, custom template values included, however the change
// reaches the sink; and a mapping that changes template values keeps the
// others.
func TestPhoneChangeKeepsEveryOtherField(t *testing.T) {
	for _, r := range reaches {
		for _, tmpl := range [][]string{nil, {"template.seats"}, {"template.contract_value", "template.renewal_date", "template.account_tier", "template.seats"}} {
			t.Run(fmt.Sprintf("%s/%v", r.name, tmpl), func(t *testing.T) {
				if diff := phoneOnly(t, extended(t, tmpl...), r.index, r.bound, revnueSink); len(diff) > 0 {
					t.Errorf("fields changed or erased: %v", diff)
				}
			})
		}
	}
}

// revnueSink is the connector's sink.
func revnueSink(a *account, s *pipeline.Schema, _ []bool) pipeline.Sink {
	return a.sink(nil, revnue.Options{Schema: s})
}

// mappedOnly is the connector with the mistake this connector exists to
// avoid: its update sends the mapped fields alone (and the company
// Revnue requires), as a PATCH would, not the whole record.
type mappedOnly struct {
	*revnue.API
	mapped []bool
}

func (m mappedOnly) Update(ctx context.Context, id string, w *rowsink.Write) error {
	only := &rowsink.Write{Record: w.Record, Values: slices.Clone(w.Record.Values), Send: slices.Clone(m.mapped)}
	only.Values[0], only.Send[0] = "1", true // company
	return m.API.Update(ctx, id, only)
}

// The same test against a sink that sends only the mapped fields finds
// Revnue's PUT erasing the rest: the test above would catch a connector
// that forgot the record.
func TestPhoneChangeErasesWithoutTheWholeRecord(t *testing.T) {
	for _, r := range reaches {
		t.Run(r.name, func(t *testing.T) {
			diff := phoneOnly(t, extended(t, "template.seats"), r.index, r.bound, func(a *account, s *pipeline.Schema, m []bool) pipeline.Sink {
				api, err := revnue.NewAPI(revnue.Options{BaseURL: a.url, Token: a.srv.Token, Schema: s, Rate: 1e6})
				if err != nil {
					t.Fatal(err)
				}
				return rowsink.New(mappedOnly{api, m}, rowsink.Options{})
			})
			for _, f := range []string{"fax", "general_description", "nda_signed", "nda_signed_date", "category", "contact_person", "template.contract_value"} {
				if !slices.Contains(diff, f) {
					t.Errorf("a sink sending only name and phone left %s alone; erased: %v", f, diff)
				}
			}
		})
	}
}

// Revnue requires the contact person's name and email each when the
// other is given: an update that clears one while Revnue holds the other
// is rejected before it is sent, naming the part missing; clearing both
// removes the contact person.
func TestContactPersonKeepsNameAndEmailTogether(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	id := a.seed(t, a.srv.FullCustomer("ACME GmbH", 1))
	s := revnue.Schema()
	one := change("k", id, values(s, map[string]string{"name": "ACME GmbH", "contact_person.name": "Ann"}))
	one.Send = mapped(s, "contact_person.name", "contact_person.email")
	res := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: mapped(s, "name", "contact_person.name", "contact_person.email")}, []pipeline.Change{one})
	if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeRequired || r.Reject.Field != "contact_person.email" {
		t.Errorf("clearing the email alone: %v %+v", r.Outcome, r.Reject)
	}
	if n := count(a.front.requests(), "PUT", ""); n != 0 {
		t.Errorf("%d PUTs sent", n)
	}
	both := change("k", id, values(s, map[string]string{"name": "ACME GmbH"}))
	both.Send = one.Send
	res = run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: mapped(s, "name", "contact_person.name", "contact_person.email", "contact_person.type")}, []pipeline.Change{both})
	if r := res[0]; r.Outcome != pipeline.OutcomeUpdated {
		t.Errorf("clearing both: %v %+v", r.Outcome, r.Reject)
	}
	if c := a.held(t, id); c["contact_person"] != nil || c["fax"] == nil {
		t.Errorf("after clearing both: contact %v, fax %v", c["contact_person"], c["fax"])
	}
}

// A field the mapping fills but whose source value did not change (the
// state's Send leaves it out) keeps what Revnue holds, as it would under
// a partial update: a sales rep's edit of the website since the last run
// survives a run that changes the phone.
func TestUnchangedMappedFieldKeepsRevnuesValue(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	body := a.srv.FullCustomer("ACME GmbH", 1)
	body["website"] = "https://edited.example.com"
	id := a.seed(t, body)
	s := revnue.Schema()
	ch := change("k", id, values(s, map[string]string{"name": "ACME GmbH", "phone": "+49 1", "website": "https://old.example.com"}))
	ch.Send = mapped(s, "phone")
	res := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: mapped(s, "name", "phone", "website")}, []pipeline.Change{ch})
	if r := res[0]; r.Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%v %v", r.Outcome, r.Reject)
	}
	if c := a.held(t, id); c["website"] != "https://edited.example.com" || c["phone"] != "+49 1" {
		t.Errorf("website %v, phone %v", c["website"], c["phone"])
	}
}
