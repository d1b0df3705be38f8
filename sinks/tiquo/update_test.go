package tiquo_test

import (
	"net/http"
	"reflect"
	"slices"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// updateOne seeds a customer of full(0), runs one change for its email
// with the given values (no id: matched by email, compared with what
// tiquo holds), and returns the result, the PATCH bodies sent and the
// customer as tiquo holds it after.
func updateOne(t *testing.T, plan pipeline.Plan, vals map[string]string) (pipeline.Result, []map[string]any, map[string]any) {
	t.Helper()
	a := startAccount(t, tiquotest.Options{})
	id := a.seed(t, body(full(0)))
	res := run(t, a.sink(t, tiquo.Options{}), plan, []pipeline.Change{change("k0", values(vals))})
	if res[0].ID != id {
		t.Errorf("result id %q, want the seeded %q", res[0].ID, id)
	}
	var bodies []map[string]any
	for _, r := range routed(a.front.requests(), http.MethodPatch, "/v1/customers/") {
		bodies = append(bodies, decoded(t, r.Body))
	}
	return res[0], bodies, a.held(t, id)
}

// with returns full(0) with some fields changed.
func with(changes map[string]string) map[string]string {
	m := full(0)
	for k, v := range changes {
		m[k] = v
	}
	return m
}

// An update sends only the fields that differ, an address only the parts
// that differ (tiquo merges them), and tiquo keeps every other value; the
// result says what was sent and, when the sink read the customer, what
// tiquo held before.
func TestUpdateSendsOnlyChangedFields(t *testing.T) {
	for _, plan := range []pipeline.Plan{{IndexAccount: true}, {}} {
		r, bodies, held := updateOne(t, plan, with(map[string]string{"phone": "+1 555 0100", "address.city": "Bath"}))
		if r.Outcome != pipeline.OutcomeUpdated {
			t.Fatalf("index %v: %v %v, want updated", plan.IndexAccount, r.Outcome, r.Reject)
		}
		want := map[string]any{"phone": "+1 555 0100", "address": map[string]any{"city": "Bath"}}
		if len(bodies) != 1 || !reflect.DeepEqual(bodies[0], want) {
			t.Errorf("index %v: sent %v, want one PATCH %v", plan.IndexAccount, bodies, want)
		}
		if got := sentFields(r.Sent); !slices.Equal(got, []string{"phone", "address.city"}) {
			t.Errorf("index %v: Result.Sent names %v", plan.IndexAccount, got)
		}
		if got, want := sch.Values(held), values(with(map[string]string{"phone": "+1 555 0100", "address.city": "Bath"})); !reflect.DeepEqual(got, want) {
			t.Errorf("index %v: tiquo holds\n%q\nwant\n%q", plan.IndexAccount, got, want)
		}
		if !plan.IndexAccount && (r.Old == nil || r.Old[sch.Index("phone")] != "+44 20 7946 0000") {
			t.Errorf("looked up by email: Result.Old = %q, want what tiquo held", r.Old)
		}
	}
}

// A field that is empty in the record is cleared with null (an address
// part inside the address, tags with []); a field tiquo cannot clear is
// left out and keeps its value.
func TestEmptyValuesClear(t *testing.T) {
	r, bodies, held := updateOne(t, pipeline.Plan{IndexAccount: true}, with(map[string]string{
		"phone": "", "address.line2": "", "tags": "", "marketingConsent": "", "firstName": "",
	}))
	if r.Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%v %v, want updated", r.Outcome, r.Reject)
	}
	want := map[string]any{"phone": nil, "address": map[string]any{"line2": nil}, "tags": []any{}, "marketingConsent": nil}
	if len(bodies) != 1 || !reflect.DeepEqual(bodies[0], want) {
		t.Errorf("sent %v, want one PATCH %v", bodies, want)
	}
	if held["phone"] != nil || held["marketingConsent"] != nil || !reflect.DeepEqual(held["tags"], []any{}) {
		t.Errorf("tiquo holds phone %v, marketingConsent %v, tags %v; want them cleared", held["phone"], held["marketingConsent"], held["tags"])
	}
	addr, _ := held["address"].(map[string]any)
	if addr["line2"] != nil || addr["line1"] != "12 St James's Square" {
		t.Errorf("tiquo holds address %v; want line2 cleared and line1 kept", addr)
	}
	if held["firstName"] != "Ada" || slices.Contains(sentFields(r.Sent), "firstName") {
		t.Errorf("firstName %v, sent %v: a field tiquo cannot clear was sent empty", held["firstName"], sentFields(r.Sent))
	}
	// Empty where tiquo cannot clear is no change at all: no call.
	r, bodies, _ = updateOne(t, pipeline.Plan{}, with(map[string]string{"firstName": "", "lastName": ""}))
	if r.Outcome != pipeline.OutcomeUnchanged || len(bodies) > 0 {
		t.Errorf("only names left empty: %v, sent %v, want unchanged without a call", r.Outcome, bodies)
	}

	// Cleared once, it is unchanged the next time.
	a := startAccount(t, tiquotest.Options{})
	id := a.seed(t, body(with(map[string]string{"phone": "", "tags": `[]`, "address.line2": ""})))
	res := run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{IndexAccount: true},
		[]pipeline.Change{change("k0", values(with(map[string]string{"phone": "", "tags": "", "address.line2": ""})))})
	if res[0].Outcome != pipeline.OutcomeUnchanged || res[0].ID != id {
		t.Errorf("%v %v (sent %v), want unchanged", res[0].Outcome, res[0].Reject, sentFields(res[0].Sent))
	}
}

// tags are sent whole, and tiquo holds exactly the record's list: none
// of its old tags is kept, the order is the record's.
func TestTagsReplacedWhole(t *testing.T) {
	r, bodies, held := updateOne(t, pipeline.Plan{}, with(map[string]string{"tags": `["analyst","board"]`}))
	if r.Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%v %v, want updated", r.Outcome, r.Reject)
	}
	want := map[string]any{"tags": []any{"analyst", "board"}}
	if len(bodies) != 1 || !reflect.DeepEqual(bodies[0], want) {
		t.Errorf("sent %v, want one PATCH %v", bodies, want)
	}
	if !reflect.DeepEqual(held["tags"], []any{"analyst", "board"}) {
		t.Errorf("tiquo holds tags %v", held["tags"])
	}
}

// A change that comes with the customer's id and the fields to send
// (from the state) is written with one PATCH of those fields, without
// reading the customer, even where other fields of the record differ from
// what tiquo holds.
func TestSendFromTheStateIsOneCall(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	id := a.seed(t, body(full(0)))
	ch := change("k0", values(with(map[string]string{"notes": "called back", "lastName": "Byron"})))
	ch.ID = id
	ch.Send = make([]bool, len(sch.Fields))
	ch.Send[sch.Index("notes")] = true
	res := run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{}, []pipeline.Change{ch})
	if res[0].Outcome != pipeline.OutcomeUpdated || res[0].ID != id {
		t.Fatalf("%v %v, want updated", res[0].Outcome, res[0].Reject)
	}
	rs := a.front.requests()
	if len(rs) != 2 || rs[1].Method != http.MethodPatch {
		t.Fatalf("requests %v, want the key check and one PATCH", rs)
	}
	if got := decoded(t, rs[1].Body); !reflect.DeepEqual(got, map[string]any{"notes": "called back"}) {
		t.Errorf("sent %v", got)
	}
	if held := a.held(t, id); held["lastName"] != "Lovelace 0" {
		t.Errorf("lastName %v: a field the change did not mark was written", held["lastName"])
	}
}

// A mapping that fills only some fields sends only those: the others are
// never compared, cleared or created.
func TestUnmappedFieldsAreLeftAlone(t *testing.T) {
	plan := pipeline.Plan{IndexAccount: true, Mapped: mappedOnly("firstName", "lastName", "email", "notes")}
	vals := map[string]string{"firstName": "Ada", "lastName": "Lovelace 0", "email": "ada0@example.com", "notes": "new"}
	r, bodies, held := updateOne(t, plan, vals)
	if r.Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%v %v, want updated", r.Outcome, r.Reject)
	}
	if len(bodies) != 1 || !reflect.DeepEqual(bodies[0], map[string]any{"notes": "new"}) {
		t.Errorf("sent %v", bodies)
	}
	if held["phone"] != "+44 20 7946 0000" || !reflect.DeepEqual(held["tags"], []any{"vip", "analyst"}) {
		t.Errorf("unmapped fields changed: phone %v tags %v", held["phone"], held["tags"])
	}
}
