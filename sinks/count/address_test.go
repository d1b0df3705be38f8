package count_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
)

var billingParts = []string{"billingAddress.street", "billingAddress.city", "billingAddress.state", "billingAddress.zipCode", "billingAddress.country"}

// keys returns the keys of a JSON object, sorted.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestAddressTrap: COUNT replaces an address whole. A mapping that fills
// the billing address and changes only its city sends the whole billing
// address, and leaves the shipping address, which it does not map, out
// of the body and untouched in COUNT. It holds whether the sink compares
// with COUNT itself or is told that only the city changed.
func TestAddressTrap(t *testing.T) {
	for _, told := range []bool{false, true} {
		name := "compared"
		if told {
			name = "told"
		}
		t.Run(name, func(t *testing.T) {
			a := startAccount(t, counttest.Options{})
			id := a.seed(t, body(full(1)))
			before := a.held(t, id)
			fields := append([]string{"customer", "email"}, billingParts...)
			m := only(full(1), fields...)
			m["billingAddress.city"] = "Westminster"
			ch := pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k", Values: values(m)}, ID: id}
			if told {
				ch.Send = marks("billingAddress.city")
			}
			a.front.requests()
			mapped := mappedOnly(fields...)
			res := run(t, a.sink(t, count.Options{}), pipeline.Plan{Mapped: mapped}, []pipeline.Change{ch})
			if res[0].Outcome != pipeline.OutcomeUpdated {
				t.Fatalf("%+v", res[0])
			}
			puts := routed(a.front.requests(), http.MethodPut, "/customers/"+id)
			if len(puts) != 1 {
				t.Fatalf("%d PUTs", len(puts))
			}
			sent := decoded(t, puts[0].Body)
			if got := strings.Join(keys(sent), " "); got != "billingAddress customer email" {
				t.Errorf("the PUT sent %s", got)
			}
			want := map[string]any{"street": "12 St James's Square", "city": "Westminster", "state": "Greater London", "zipCode": "SW1Y 4JH", "country": "GB"}
			if got := jsonText(sent["billingAddress"]); got != jsonText(want) {
				t.Errorf("billingAddress sent %s, want the whole address %s", got, jsonText(want))
			}
			after := a.held(t, id)
			if jsonText(after["billingAddress"]) != jsonText(want) {
				t.Errorf("COUNT holds billingAddress %s", jsonText(after["billingAddress"]))
			}
			if jsonText(after["shippingAddress"]) != jsonText(before["shippingAddress"]) {
				t.Errorf("shippingAddress went from %s to %s", jsonText(before["shippingAddress"]), jsonText(after["shippingAddress"]))
			}
		})
	}
}

// TestAddressPartlyMapped: a mapping that fills only the city and the
// country of the billing address replaces the address with the parts it
// does not map as COUNT holds them (read once), so a changed city erases
// neither the street nor the zip code.
func TestAddressPartlyMapped(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id := a.seed(t, body(full(1)))
	fields := []string{"customer", "email", "billingAddress.city", "billingAddress.country"}
	m := only(full(1), fields...)
	m["billingAddress.city"] = "Westminster"
	a.front.requests()
	mapped := mappedOnly(fields...)
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{Mapped: mapped}, []pipeline.Change{
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k", Values: values(m)}, ID: id, Send: marks("billingAddress.city", "billingAddress.country")}})
	if res[0].Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%+v", res[0])
	}
	rs := a.front.requests()
	if n := len(routed(rs, http.MethodGet, "/customers/"+id)); n != 1 {
		t.Errorf("%d GETs of the customer, want the one that reads the parts the mapping leaves alone", n)
	}
	want := map[string]any{"street": "12 St James's Square", "city": "Westminster", "state": "Greater London", "zipCode": "SW1Y 4JH", "country": "GB"}
	if got := jsonText(a.held(t, id)["billingAddress"]); got != jsonText(want) {
		t.Errorf("COUNT holds billingAddress %s, want %s", got, jsonText(want))
	}
}

// TestAddressRemoved: emptying every part a mapping fills removes an
// address that holds nothing else (null, COUNT's way); emptying the one
// part a mapping fills of an address that holds others removes that part
// only. The other address stays.
func TestAddressRemoved(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id1 := a.seed(t, body(full(1)))
	id2 := a.seed(t, body(full(2)))
	m1 := only(full(1), append([]string{"customer", "email"}, billingParts...)...)
	for _, p := range billingParts {
		m1[p] = ""
	}
	m2 := only(full(2), "customer", "email", "billingAddress.city")
	m2["billingAddress.city"] = ""
	a.front.requests()
	all := mappedOnly(append([]string{"customer", "email"}, billingParts...)...)
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{Mapped: all}, []pipeline.Change{
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k1", Values: values(m1)}, ID: id1}})
	res = append(res, run(t, a.sink(t, count.Options{}), pipeline.Plan{Mapped: mappedOnly("customer", "email", "billingAddress.city")}, []pipeline.Change{
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 2}, Key: "k2", Values: values(m2)}, ID: id2}})...)
	wantOutcome(t, res, pipeline.OutcomeUpdated)
	puts := writes(a.front.requests())
	if len(puts) != 2 {
		t.Fatalf("%d writes", len(puts))
	}
	if b, ok := decoded(t, puts[0].Body)["billingAddress"]; !ok || b != nil {
		t.Errorf("emptying every part sent billingAddress %s, want null", jsonText(b))
	}
	c1, c2 := a.held(t, id1), a.held(t, id2)
	if c1["billingAddress"] != nil || c1["shippingAddress"] == nil {
		t.Errorf("COUNT holds billingAddress %s, shippingAddress %s", jsonText(c1["billingAddress"]), jsonText(c1["shippingAddress"]))
	}
	want := map[string]any{"street": "1 Dock Road", "city": "Tilbury", "state": "Essex", "zipCode": "RM18 7EH", "country": "GB"}
	if jsonText(c2["shippingAddress"]) != jsonText(want) {
		t.Errorf("shippingAddress %s", jsonText(c2["shippingAddress"]))
	}
	want = map[string]any{"street": "12 St James's Square", "city": nil, "state": "Greater London", "zipCode": "SW1Y 4JH", "country": "GB"}
	if got := jsonText(c2["billingAddress"]); got != jsonText(want) {
		t.Errorf("the city emptied: COUNT holds billingAddress %s, want %s", got, jsonText(want))
	}
}

// TestClears: null and an empty value clear website and mainPhone, sent
// as null; COUNT then holds null.
func TestClears(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id := a.seed(t, body(full(1)))
	m := full(1)
	m["website"], m["mainPhone"] = pipeline.Null, ""
	a.front.requests()
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{}, []pipeline.Change{
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k", Values: values(m)}, ID: id}})
	if res[0].Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%+v", res[0])
	}
	puts := writes(a.front.requests())
	if len(puts) != 1 {
		t.Fatalf("%d writes", len(puts))
	}
	sent := decoded(t, puts[0].Body)
	if got := strings.Join(keys(sent), " "); got != "customer email mainPhone website" {
		t.Errorf("the PUT sent %s", got)
	}
	for _, f := range []string{"website", "mainPhone"} {
		if v, ok := sent[f]; !ok || v != nil {
			t.Errorf("%s sent as %s, want null", f, jsonText(v))
		}
	}
	c := a.held(t, id)
	if c["website"] != nil || c["mainPhone"] != nil || c["customer"] != "Lovelace Analytics 1" {
		t.Errorf("COUNT holds website %v, mainPhone %v, customer %v", c["website"], c["mainPhone"], c["customer"])
	}
}

// TestContactsOnCreateOnly: the contact goes with the create as COUNT's
// contacts list, marked primary; no update sends it, even one told that
// it changed, and COUNT keeps the contact it was created with. The
// reader reads it back from the primary contact.
func TestContactsOnCreateOnly(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{}, []pipeline.Change{change("k", values(full(1)))})
	if res[0].Outcome != pipeline.OutcomeCreated {
		t.Fatalf("%+v", res[0])
	}
	id := res[0].ID
	posts := writes(a.front.requests())
	if len(posts) != 1 {
		t.Fatalf("%d writes", len(posts))
	}
	sent := decoded(t, posts[0].Body)
	wantContacts := []any{map[string]any{"name": "Ada Lovelace", "email": "ada1.contact@example.com", "phone": "+44 20 7946 0001", "primary": true}}
	if _, ok := sent["contact"]; ok || jsonText(sent["contacts"]) != jsonText(wantContacts) {
		t.Errorf("the create sent contact %s, contacts %s", jsonText(sent["contact"]), jsonText(sent["contacts"]))
	}
	m := full(1)
	m["contact.name"], m["mainPhone"] = "Charles Babbage", "+44 20 7946 1234"
	res = run(t, a.sink(t, count.Options{}), pipeline.Plan{}, []pipeline.Change{
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k", Values: values(m)}, ID: id, Send: marks("mainPhone", "contact.name")}})
	if res[0].Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%+v", res[0])
	}
	puts := writes(a.front.requests())
	if len(puts) != 1 {
		t.Fatalf("%d writes", len(puts))
	}
	if got := strings.Join(keys(decoded(t, puts[0].Body)), " "); got != "customer email mainPhone" {
		t.Errorf("the update sent %s", got)
	}
	// The API leaves the contact out itself, whatever rowsink sends.
	api, err := count.NewAPI(a.options(count.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	m["contact.email"] = "charles@example.com"
	if err := api.Update(t.Context(), id, &rowsink.Write{Values: values(m), Send: marks("contact.name", "contact.email")}); err != nil {
		t.Fatal(err)
	}
	puts = writes(a.front.requests())
	if len(puts) != 1 || strings.Join(keys(decoded(t, puts[0].Body)), " ") != "customer email" {
		t.Errorf("an update told the contact changed sent %d writes, the first %s", len(puts), puts[0].Body)
	}
	c := a.held(t, id)
	if jsonText(c["contacts"]) != jsonText(wantContacts) || c["mainPhone"] != "+44 20 7946 1234" {
		t.Errorf("COUNT holds contacts %s, mainPhone %v", jsonText(c["contacts"]), c["mainPhone"])
	}
	got, err := api.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Values[sch.Index("contact.name")]; v != "Ada Lovelace" {
		t.Errorf("the reader reads contact.name %q", v)
	}
}
