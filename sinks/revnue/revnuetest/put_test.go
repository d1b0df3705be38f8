package revnuetest_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// readKeys are the keys of the read shape, every one always present.
var readKeys = []string{"id", "company", "name", "category", "contact_person", "address_line_1", "address_line_2",
	"city", "state_province", "zip_postal_code", "country", "phone", "mobile", "fax", "website",
	"general_description", "nda_signed", "nda_signed_date", "msa_signed", "msa_signed_date",
	"supplementary_description", "additional_description", "template"}

// TestPutReplacesWholeRecord is Revnue's trap: a customer with every
// field set, PUT with only company and name, reads back with every other
// field null and nda_signed and msa_signed false, in the PUT's answer, a
// GET and the list alike.
func TestPutReplacesWholeRecord(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	full := c.create(s.FullCustomer("Acme GmbH", 1))
	for _, k := range readKeys {
		if full[k] == nil || full[k] == false {
			t.Fatalf("the full customer lacks %s: %v", k, full)
		}
	}
	id := idOf(full)
	want := map[string]any{"id": float64(id), "company": float64(1), "name": "Acme GmbH", "nda_signed": false, "msa_signed": false}
	for _, k := range readKeys {
		if _, ok := want[k]; !ok {
			want[k] = nil
		}
	}
	put := c.put(id, minimal("Acme GmbH"))
	for name, got := range map[string]map[string]any{"PUT answer": put, "GET": c.get(id), "list": c.all(1)[0]} {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s after a PUT of company and name:\n got %v\nwant %v", name, got, want)
		}
	}
}

// TestPutSetsExactlyTheBody checks that a PUT of a complete record sets
// every field to it (nothing of the old record shows through), and that a
// template sent with some of its fields clears the others.
func TestPutSetsExactlyTheBody(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	id := idOf(c.create(s.FullCustomer("Before", 1)))
	other := seed(t, s, s.FullCustomer("Reference", 2)) // what the same body reads as
	body := s.FullCustomer("After", 2)
	got := c.put(id, body)
	other["id"], other["name"] = float64(id), "After"
	if !reflect.DeepEqual(got, other) {
		t.Errorf("PUT of a full body\n got %v\nwant %v", got, other)
	}
	body["template"] = tmpl(field(2, 7))
	body["contact_person"] = contact("type", "sales")
	got = c.put(id, body)
	wantFields := map[string]any{"contract_value": nil, "seats": float64(7), "renewal_date": nil, "account_tier": nil}
	if f := got["template"].(map[string]any)["fields"]; !reflect.DeepEqual(f, wantFields) {
		t.Errorf("template fields after a PUT of one: %v", f)
	}
	if cp := got["contact_person"]; !reflect.DeepEqual(cp, map[string]any{"name": nil, "email": nil, "type": "sales"}) {
		t.Errorf("contact person after a PUT of its type: %v", cp)
	}
}

// TestPutRefusedChangesNothing checks that a PUT answered 400 leaves the
// customer as it was: validation comes before anything is replaced.
func TestPutRefusedChangesNothing(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	before := c.create(s.FullCustomer("Kept", 3))
	id := idOf(before)
	if a := c.do("PUT", fmt.Sprintf("/customer/%d", id), emutest.With(minimal("Kept"), "fax", "123456789012345678901")); a.Status != 400 {
		t.Fatalf("PUT with a long fax: %v", a)
	}
	if a := c.do("PUT", fmt.Sprintf("/customer/%d", id), emutest.Without(s.FullCustomer("Kept", 3), "name")); a.Status != 400 || a.fieldError("name") == "" {
		t.Fatalf("PUT without name: %v", a)
	}
	if got := c.get(id); !reflect.DeepEqual(got, before) {
		t.Errorf("a refused PUT changed the customer:\n got %v\nwant %v", got, before)
	}
}

// TestPutUnknownCustomer checks the 404 of an id that names no customer,
// whatever its shape, and that it comes before the body is looked at.
func TestPutUnknownCustomer(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	c.create(minimal("Only"))
	for _, id := range []string{"2", "0", "-1", "abc", "1.0", "99999999999999999999", "%20"} {
		for _, body := range []any{minimal("X"), "{broken", map[string]any{}} {
			a := c.do("PUT", "/customer/"+id, body)
			if a.Status != 404 || a.Body["detail"] != "Not found." {
				t.Errorf("PUT %s with %v: %v", id, body, a)
			}
		}
		if a := c.do("GET", "/customer/"+id+"/", nil); a.Status != 404 || a.Body["detail"] != "Not found." {
			t.Errorf("GET %s: %v", id, a)
		}
	}
	if st := s.Stats(); st.Customers != 1 {
		t.Errorf("%d customers", st.Customers)
	}
}

// TestNameUnique checks that names are unique in the account, folded
// through Unicode simple case folding and trimmed, on create and on PUT,
// across companies; that a customer keeps its own name, in any case; and
// that a name set free by a PUT may be taken again.
func TestNameUnique(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{Companies: []int64{1, 2}})
	c := newClient(t, s)
	acme := idOf(c.create(minimal("Acme GmbH")))
	straße := idOf(c.create(minimal("Straße AG")))
	kelvin := idOf(c.create(minimal("\u212a-Werk"))) // KELVIN SIGN, which folds to k
	for _, name := range []string{"Acme GmbH", "ACME GMBH", "acme gmbh", "  Acme GmbH\t", "straße ag", "STRASSE AG", "k-werk", "K-WERK"} {
		for _, company := range []int{1, 2} {
			a := c.do("POST", "/customer/", map[string]any{"company": company, "name": name})
			taken := name != "STRASSE AG" // simple folding: ß is not ss
			if taken != (a.Status == 400) || (taken && a.fieldError("name") != "A customer with this name already exists.") {
				t.Errorf("create %q in company %d: %v (taken %v)", name, company, a, taken)
			}
			if a.Status == 201 {
				// Put it back out of the way for the other company.
				c.put(idOf(a.Body), minimal(fmt.Sprintf("moved %d %d", company, idOf(a.Body))))
			}
		}
	}
	// PUT: another's name, in any case, is taken; one's own is not.
	if a := c.do("PUT", fmt.Sprintf("/customer/%d", straße), minimal("ACME gmbh")); a.Status != 400 || a.fieldError("name") == "" {
		t.Errorf("PUT to another's name: %v", a)
	}
	if got := c.put(acme, minimal("ACME GmbH"))["name"]; got != "ACME GmbH" {
		t.Errorf("PUT of its own name in another case: name %v", got)
	}
	if got := c.put(kelvin, minimal("  k-Werk "))["name"]; got != "k-Werk" {
		t.Errorf("PUT of its own name folded and padded: name %q", got)
	}
	// Renamed, the old name is free.
	c.put(acme, minimal("Acme Holding"))
	if a := c.do("POST", "/customer/", minimal("acme gmbh")); a.Status != 201 {
		t.Errorf("create with a name set free by a PUT: %v", a)
	}
	names := map[string]bool{}
	for _, cu := range append(c.all(1), c.all(2)...) {
		names[cu["name"].(string)] = true
	}
	for _, n := range []string{"Acme Holding", "acme gmbh", "Straße AG", "k-Werk"} {
		if !names[n] {
			t.Errorf("%q missing from %v", n, slices.Sorted(maps.Keys(names)))
		}
	}
}

// TestNameUniqueRace creates the same name, in different cases, from many
// goroutines at once: exactly one create succeeds.
func TestNameUniqueRace(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	statuses := make(chan int, 16)
	for i := range 16 {
		go func() {
			name := "Racing Ltd"
			if i%2 == 1 {
				name = "RACING LTD"
			}
			a, err := c.send("POST", "/customer/", minimal(name))
			if err != nil {
				t.Error(err)
				statuses <- 0
				return
			}
			statuses <- a.Status
		}()
	}
	created := 0
	for range 16 {
		if <-statuses == 201 {
			created++
		}
	}
	if created != 1 || s.Stats().Customers != 1 {
		t.Errorf("%d creates succeeded, %d customers stored", created, s.Stats().Customers)
	}
}
