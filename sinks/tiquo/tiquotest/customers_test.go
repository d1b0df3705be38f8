package tiquotest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tiquo/tiquotest"
)

// customerKeys are the keys of the customer object, in the order of the
// API reference's field list.
var customerKeys = []string{"id", "firstName", "lastName", "email", "phone", "dateOfBirth", "address",
	"tags", "notes", "preferredLocationId", "marketingConsent", "companyId", "loyaltyPoints",
	"createdAt", "updatedAt"}

// keysInOrder returns the keys of the JSON object under "data" in raw, in
// the order they were written.
func keysInOrder(t *testing.T, raw []byte) []string {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(env["data"]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("data is not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func parseStamp(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Fatalf("timestamp %#v is not ISO 8601 in UTC: %v", v, err)
	}
	return ts
}

// TestCreateDefaults creates a customer with only the required fields: the
// answer is a 201 with every key, in order, and the documented defaults.
func TestCreateDefaults(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	before := time.Now().Add(-time.Second)
	a := c.ok(201, "POST", "/customers", person("new@example.com"))
	if got := keysInOrder(t, a.Raw); !slices.Equal(got, customerKeys) {
		t.Errorf("customer keys\n got %v\nwant %v", got, customerKeys)
	}
	cu := a.data()
	id, _ := cu["id"].(string)
	if !strings.HasPrefix(id, "cust_") || len(id) < 10 {
		t.Errorf("id %q", id)
	}
	want := map[string]any{"id": id, "firstName": "Test", "lastName": "Person", "email": "new@example.com",
		"phone": nil, "dateOfBirth": nil, "address": nil, "tags": []any{}, "notes": nil,
		"preferredLocationId": nil, "marketingConsent": nil, "companyId": nil, "loyaltyPoints": float64(0),
		"createdAt": cu["createdAt"], "updatedAt": cu["createdAt"]}
	if !reflect.DeepEqual(cu, want) {
		t.Errorf("created\n got %v\nwant %v", cu, want)
	}
	if ts := parseStamp(t, cu["createdAt"]); ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("createdAt %v is not now", ts)
	}
	if got := c.get(id); !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n got %v\nwant %v", got, want)
	}
}

// full is a create body that sets every writable field.
func full(email string) map[string]any {
	return map[string]any{
		"firstName": "John", "lastName": "Doe", "email": email, "phone": "+1234567890",
		"dateOfBirth": "1990-05-15",
		"address": map[string]any{"line1": "123 Main St", "line2": "Apt 4", "city": "Springfield",
			"state": "IL", "postalCode": "62701", "country": "US"},
		"tags": []any{"VIP", "newsletter"}, "notes": "Prefers email", "preferredLocationId": "loc_1",
		"marketingConsent": true, "companyId": "comp_1",
	}
}

func TestCreateEveryField(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	body := full("john@example.com")
	cu := c.create(body)
	for k, v := range body {
		if !reflect.DeepEqual(cu[k], v) {
			t.Errorf("%s = %#v, want %#v", k, cu[k], v)
		}
	}
	// Read-only fields in a create are ignored.
	cu = c.create(emutest.With(emutest.With(emutest.With(person("ro@example.com"), "loyaltyPoints", 999), "id", "cust_mine"),
		"createdAt", "2001-01-01T00:00:00Z"))
	if cu["loyaltyPoints"] != float64(0) || cu["id"] == "cust_mine" || strings.HasPrefix(cu["createdAt"].(string), "2001") {
		t.Errorf("read-only fields taken from a create: %v", cu)
	}
}

// TestValidation sends one bad field at a time: each is a 400
// validation_error naming the field, and nothing is stored.
func TestValidation(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(full("kept@example.com"))["id"].(string)
	kept := c.get(id)
	base := person("bad@example.com")
	without := func(k string) map[string]any {
		m := emutest.With(base, "x", nil)
		delete(m, "x")
		delete(m, k)
		return m
	}
	for _, tc := range []struct {
		name   string
		method string // "" = POST /customers; PATCH goes to the customer above
		body   any
		field  string
	}{
		{"firstName missing", "", without("firstName"), "firstName"},
		{"firstName empty", "", emutest.With(base, "firstName", ""), "firstName"},
		{"firstName null", "", emutest.With(base, "firstName", nil), "firstName"},
		{"firstName number", "", emutest.With(base, "firstName", 5), "firstName"},
		{"lastName missing", "", without("lastName"), "lastName"},
		{"lastName empty", "", emutest.With(base, "lastName", ""), "lastName"},
		{"lastName object", "", emutest.With(base, "lastName", map[string]any{}), "lastName"},
		{"email missing", "", without("email"), "email"},
		{"email empty", "", emutest.With(base, "email", ""), "email"},
		{"email null", "", emutest.With(base, "email", nil), "email"},
		{"email array", "", emutest.With(base, "email", []any{"a@b.co"}), "email"},
		{"email without @", "", emutest.With(base, "email", "nope"), "email"},
		{"email without tld", "", emutest.With(base, "email", "a@localhost"), "email"},
		{"email one-letter tld", "", emutest.With(base, "email", "a@example.c"), "email"},
		{"email numeric tld", "", emutest.With(base, "email", "a@example.123"), "email"},
		{"email without local", "", emutest.With(base, "email", "@example.com"), "email"},
		{"email with space", "", emutest.With(base, "email", "a b@example.com"), "email"},
		{"email two @", "", emutest.With(base, "email", "a@b@example.com"), "email"},
		{"email empty label", "", emutest.With(base, "email", "a@example..com"), "email"},
		{"email trailing dot", "", emutest.With(base, "email", "a@example.com."), "email"},
		{"email hyphen label", "", emutest.With(base, "email", "a@-example.com"), "email"},
		{"email display name", "", emutest.With(base, "email", "Ann <a@example.com>"), "email"},
		{"dateOfBirth Feb 30", "", emutest.With(base, "dateOfBirth", "1990-02-30"), "dateOfBirth"},
		{"dateOfBirth Feb 29 non-leap", "", emutest.With(base, "dateOfBirth", "2001-02-29"), "dateOfBirth"},
		{"dateOfBirth month 13", "", emutest.With(base, "dateOfBirth", "1990-13-01"), "dateOfBirth"},
		{"dateOfBirth short", "", emutest.With(base, "dateOfBirth", "1990-5-15"), "dateOfBirth"},
		{"dateOfBirth compact", "", emutest.With(base, "dateOfBirth", "19900515"), "dateOfBirth"},
		{"dateOfBirth with time", "", emutest.With(base, "dateOfBirth", "1990-05-15T00:00:00Z"), "dateOfBirth"},
		{"dateOfBirth empty", "", emutest.With(base, "dateOfBirth", ""), "dateOfBirth"},
		{"dateOfBirth number", "", emutest.With(base, "dateOfBirth", 19900515), "dateOfBirth"},
		{"marketingConsent string", "", emutest.With(base, "marketingConsent", "true"), "marketingConsent"},
		{"marketingConsent number", "", emutest.With(base, "marketingConsent", 1), "marketingConsent"},
		{"tags string", "", emutest.With(base, "tags", "vip"), "tags"},
		{"tags object", "", emutest.With(base, "tags", map[string]any{"a": "b"}), "tags"},
		{"tags number element", "", emutest.With(base, "tags", []any{"a", 1}), "tags"},
		{"tags null element", "", emutest.With(base, "tags", []any{"a", nil}), "tags"},
		{"address string", "", emutest.With(base, "address", "123 Main St"), "address"},
		{"address array", "", emutest.With(base, "address", []any{"a"}), "address"},
		{"address part number", "", emutest.With(base, "address", map[string]any{"postalCode": 62701}), "address.postalCode"},
		{"address part bool", "", emutest.With(base, "address", map[string]any{"line1": true}), "address.line1"},
		{"phone number", "", emutest.With(base, "phone", 1234567), "phone"},
		{"notes array", "", emutest.With(base, "notes", []any{}), "notes"},
		{"preferredLocationId object", "", emutest.With(base, "preferredLocationId", map[string]any{}), "preferredLocationId"},
		{"companyId bool", "", emutest.With(base, "companyId", false), "companyId"},
		// The first bad field in the documented order, whatever the body's order.
		{"first bad field", "", `{"companyId": 1, "email": "x", "firstName": ""}`, "firstName"},
		{"first bad field after names", "", `{"tags": 1, "dateOfBirth": "x", "firstName": "A", "lastName": "B", "email": "a@b.co"}`, "dateOfBirth"},
		// PATCH: "" and null are refused for the required fields too.
		{"patch firstName empty", "PATCH", map[string]any{"firstName": ""}, "firstName"},
		{"patch firstName null", "PATCH", map[string]any{"firstName": nil}, "firstName"},
		{"patch lastName empty", "PATCH", map[string]any{"lastName": ""}, "lastName"},
		{"patch email null", "PATCH", map[string]any{"email": nil}, "email"},
		{"patch email empty", "PATCH", map[string]any{"email": ""}, "email"},
		{"patch email bad", "PATCH", map[string]any{"email": "kept@example"}, "email"},
		{"patch dateOfBirth", "PATCH", map[string]any{"dateOfBirth": "2023-04-31"}, "dateOfBirth"},
		{"patch marketingConsent", "PATCH", map[string]any{"marketingConsent": "false"}, "marketingConsent"},
		{"patch tags", "PATCH", map[string]any{"tags": []any{[]any{}}}, "tags"},
		{"patch address part", "PATCH", map[string]any{"address": map[string]any{"city": 1}}, "address.city"},
		{"patch address", "PATCH", map[string]any{"address": true}, "address"},
		{"patch valid then bad", "PATCH", map[string]any{"phone": "+1", "dateOfBirth": "x"}, "dateOfBirth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, path := "POST", "/customers"
			if tc.method == "PATCH" {
				method, path = "PATCH", "/customers/"+id
			}
			a := c.do(method, path, tc.body)
			if a.Status != 400 || a.code() != "validation_error" || a.field() != tc.field {
				t.Errorf("%v, want 400 validation_error on %s", a, tc.field)
			}
		})
	}
	if n := s.Stats().Customers; n != 1 {
		t.Errorf("%d customers after refused creates, want 1", n)
	}
	if got := c.get(id); !reflect.DeepEqual(got, kept) {
		t.Errorf("refused PATCHes changed the customer:\n got %v\nwant %v", got, kept)
	}
}

// TestNotJSON sends bodies that are not one JSON object: each is a 400
// validation_error, never a 5xx.
func TestNotJSON(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("kept@example.com"))["id"].(string)
	for _, body := range []string{"", " ", "{", "}", "[]", "null", "true", "1", `"x"`, "\xff\xfe",
		`{"firstName":"A"}{"b":2}`, `{"firstName":"A",}`, `{firstName: "A"}`} {
		for _, req := range []struct{ method, path string }{{"POST", "/customers"}, {"PATCH", "/customers/" + id}} {
			a := c.do(req.method, req.path, body)
			if a.Status != 400 || a.code() != "validation_error" {
				t.Errorf("%s %q: %v", req.method, body, a)
			}
		}
	}
}

// TestValidValues are values at the edges that must be accepted.
func TestValidValues(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	for i, body := range []map[string]any{
		emutest.With(person("o'brien+tag@mail.example.co.uk"), "dateOfBirth", "2000-02-29"),
		person("user@例え.テスト"),
		person("a@xn--p1ai.xn--p1ai"),
		emutest.With(person("b@example.com"), "marketingConsent", false),
		emutest.With(person("c@example.com"), "tags", []any{}),
		emutest.With(person("d@example.com"), "tags", nil),
		emutest.With(person("e@example.com"), "address", map[string]any{"city": "Berlin", "unknown": 1}),
		emutest.With(person("f@example.com"), "website", "ignored: unknown fields are"),
		emutest.With(person("g@example.com"), "notes", ""),
	} {
		cu := c.create(body)
		for k, v := range body {
			switch k {
			case "tags":
				if v == nil {
					v = []any{}
				}
			case "address":
				v = map[string]any{"line1": nil, "line2": nil, "city": "Berlin", "state": nil, "postalCode": nil, "country": nil}
			case "website":
				if _, ok := cu[k]; ok {
					t.Errorf("%d: unknown field answered: %v", i, cu)
				}
				continue
			}
			if !reflect.DeepEqual(cu[k], v) {
				t.Errorf("%d: %s = %#v, want %#v", i, k, cu[k], v)
			}
		}
	}
}

// TestEmailExists covers the 409 decisions: emails are unique
// case-insensitively (Unicode simple folding, as strings.EqualFold), on
// create and on a PATCH to another customer's email; a PATCH resending
// the customer's own email is not a conflict; a deleted customer's email
// is free again.
func TestEmailExists(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	ann := c.create(full("ann@example.com"))["id"].(string)
	bob := c.create(person("bob@example.com"))["id"].(string)
	kate := c.create(person("kate@example.com"))["id"].(string)
	bobBefore := c.get(bob)

	conflict := func(a *answer) bool {
		return a.Status == 409 && a.code() == "email_exists" && a.field() == "email"
	}
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		body     any
		conflict bool
	}{
		{"create same", "POST", "/customers", person("ann@example.com"), true},
		{"create other case", "POST", "/customers", person("ANN@Example.COM"), true},
		{"create Kelvin sign", "POST", "/customers", person("\u212Aate@example.com"), true},
		{"patch to another's", "PATCH", "/customers/" + bob, map[string]any{"email": "ann@example.com", "firstName": "Changed"}, true},
		{"patch to another's other case", "PATCH", "/customers/" + bob, map[string]any{"email": "Ann@EXAMPLE.com"}, true},
		{"patch own email", "PATCH", "/customers/" + ann, map[string]any{"email": "ann@example.com"}, false},
		{"patch own email other case", "PATCH", "/customers/" + kate, map[string]any{"email": "Kate@Example.com"}, false},
		{"create a similar but different email", "POST", "/customers", person("ann@example.co"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.do(tc.method, tc.path, tc.body)
			if conflict(a) != tc.conflict || (!tc.conflict && a.Status >= 300) {
				t.Errorf("%v (want conflict %v)", a, tc.conflict)
			}
		})
	}
	if got := c.get(bob); !reflect.DeepEqual(got, bobBefore) {
		t.Errorf("a PATCH refused for its email changed the customer:\n got %v\nwant %v", got, bobBefore)
	}
	if got := c.get(kate)["email"]; got != "Kate@Example.com" {
		t.Errorf("own email in another case: stored %v", got)
	}
	// Deleted, the email can be used again, on create and on PATCH.
	c.ok(200, "DELETE", "/customers/"+ann, nil)
	again := c.create(person("ANN@example.com"))["id"].(string)
	c.ok(200, "DELETE", "/customers/"+again, nil)
	if got := c.patch(bob, map[string]any{"email": "ann@example.com"}); got["email"] != "ann@example.com" {
		t.Errorf("PATCH to a deleted customer's email: %v", got)
	}
}

// TestMergePatch applies PATCH bodies to a customer with every field set
// and checks the whole customer after each, as answered and as read back.
func TestMergePatch(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	addr := func(edit map[string]any) map[string]any {
		a := map[string]any{"line1": "123 Main St", "line2": "Apt 4", "city": "Springfield",
			"state": "IL", "postalCode": "62701", "country": "US"}
		for k, v := range edit {
			a[k] = v
		}
		return a
	}
	for i, tc := range []struct {
		name string
		body any
		want map[string]any // the fields that change; the others must not
	}{
		{"empty body", map[string]any{}, nil},
		{"one field", map[string]any{"phone": "+1987654321"}, map[string]any{"phone": "+1987654321"}},
		{"null clears phone", map[string]any{"phone": nil}, map[string]any{"phone": nil}},
		{"null clears every optional field", map[string]any{"phone": nil, "dateOfBirth": nil, "notes": nil,
			"preferredLocationId": nil, "marketingConsent": nil, "companyId": nil},
			map[string]any{"phone": nil, "dateOfBirth": nil, "notes": nil, "preferredLocationId": nil,
				"marketingConsent": nil, "companyId": nil}},
		{"empty string is a value", map[string]any{"notes": ""}, map[string]any{"notes": ""}},
		{"names and email", map[string]any{"firstName": "Jane", "lastName": "Roe", "email": "jane%d@example.com"},
			map[string]any{"firstName": "Jane", "lastName": "Roe", "email": "jane%d@example.com"}},
		{"address merges one part", map[string]any{"address": map[string]any{"line1": "456 Oak Avenue"}},
			map[string]any{"address": addr(map[string]any{"line1": "456 Oak Avenue"})}},
		{"address null clears one part", map[string]any{"address": map[string]any{"line2": nil}},
			map[string]any{"address": addr(map[string]any{"line2": nil})}},
		{"address parts set and cleared at once", map[string]any{"address": map[string]any{"city": "Chicago", "state": nil}},
			map[string]any{"address": addr(map[string]any{"city": "Chicago", "state": nil})}},
		{"address empty object changes nothing", map[string]any{"address": map[string]any{}}, nil},
		{"address null clears it", map[string]any{"address": nil}, map[string]any{"address": nil}},
		{"address every part null", map[string]any{"address": map[string]any{"line1": nil, "line2": nil,
			"city": nil, "state": nil, "postalCode": nil, "country": nil}}, map[string]any{"address": nil}},
		{"tags replace", map[string]any{"tags": []any{"new-tag"}}, map[string]any{"tags": []any{"new-tag"}}},
		{"tags [] clears", map[string]any{"tags": []any{}}, map[string]any{"tags": []any{}}},
		{"tags null clears", map[string]any{"tags": nil}, map[string]any{"tags": []any{}}},
		{"marketingConsent false", map[string]any{"marketingConsent": false}, map[string]any{"marketingConsent": false}},
		{"read-only fields ignored", map[string]any{"loyaltyPoints": 500, "id": "cust_other",
			"createdAt": "2000-01-01T00:00:00Z", "updatedAt": "2000-01-01T00:00:00Z"}, nil},
		{"unknown field ignored", map[string]any{"website": "https://example.com"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email := fmt.Sprintf("merge%d@example.com", i)
			orig := c.create(full(email))
			id := orig["id"].(string)
			body := tc.body
			if m, ok := body.(map[string]any); ok && m["email"] != nil {
				body = emutest.With(m, "email", fmt.Sprintf(m["email"].(string), i))
			}
			got := c.patch(id, body)
			want := emutest.With(orig, "updatedAt", got["updatedAt"])
			for k, v := range tc.want {
				if k == "email" {
					v = fmt.Sprintf(v.(string), i)
				}
				want[k] = v
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("answered\n got %v\nwant %v", got, want)
			}
			if back := c.get(id); !reflect.DeepEqual(back, want) {
				t.Errorf("read back\n got %v\nwant %v", back, want)
			}
			if !parseStamp(t, got["updatedAt"]).After(parseStamp(t, orig["updatedAt"])) {
				t.Errorf("updatedAt %v did not move from %v", got["updatedAt"], orig["updatedAt"])
			}
		})
	}
}

// TestAddressOnCustomerWithout merges address parts into a customer that
// has no address: the parts sent are set, the others null.
func TestAddressOnCustomerWithout(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("plain@example.com"))["id"].(string)
	got := c.patch(id, map[string]any{"address": map[string]any{"city": "Berlin", "line1": nil}})
	want := map[string]any{"line1": nil, "line2": nil, "city": "Berlin", "state": nil, "postalCode": nil, "country": nil}
	if !reflect.DeepEqual(got["address"], want) {
		t.Errorf("address %v, want %v", got["address"], want)
	}
	if got := c.patch(id, map[string]any{"address": map[string]any{"line1": nil}}); got["address"] == nil {
		t.Error("clearing a part that was null cleared the whole address")
	}
}

// TestUpdatedAtMoves checks that every PATCH moves updatedAt, even one that
// changes nothing and comes within the same millisecond, and that
// createdAt and loyaltyPoints never change.
func TestUpdatedAtMoves(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	cu := c.create(person("time@example.com"))
	id, created := cu["id"].(string), cu["createdAt"]
	last := parseStamp(t, cu["updatedAt"])
	for i := range 20 {
		got := c.patch(id, map[string]any{"loyaltyPoints": 10 * i})
		if now := parseStamp(t, got["updatedAt"]); !now.After(last) {
			t.Fatalf("PATCH %d: updatedAt %v is not after %v", i, now, last)
		} else {
			last = now
		}
		if got["createdAt"] != created || got["loyaltyPoints"] != float64(0) {
			t.Fatalf("PATCH %d changed a read-only field: %v", i, got)
		}
	}
}

// TestNotFound sends ids of every shape to each endpoint with an id: all
// are 404 not_found, a deleted customer's included.
func TestNotFound(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("here@example.com"))["id"].(string)
	gone := c.create(person("gone@example.com"))["id"].(string)
	c.ok(200, "DELETE", "/customers/"+gone, nil)
	for _, bad := range []string{gone, "cust_doesnotexist", strings.ToUpper(id), id + "x", "nope", "123",
		"%20", url.PathEscape("cust_a/b"), url.PathEscape("' OR 1=1 --"), strings.Repeat("x", 2000)} {
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			var body any
			if m == "PATCH" {
				body = map[string]any{"notes": "x"}
			}
			a := c.do(m, "/customers/"+bad, body)
			if a.Status != 404 || a.code() != "not_found" {
				t.Errorf("%s %.40s: %v", m, bad, a)
			}
		}
	}
	if got := c.get(id)["notes"]; got != nil {
		t.Errorf("a PATCH to another id changed a customer: notes %v", got)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("bye@example.com"))["id"].(string)
	a := c.ok(200, "DELETE", "/customers/"+id, nil)
	if d := a.data(); d["id"] != id || d["deleted"] != true {
		t.Errorf("delete answer %v", a)
	}
	if a := c.do("GET", "/customers/"+id, nil); a.Status != 404 {
		t.Errorf("deleted customer read: %v", a)
	}
	if a := c.do("DELETE", "/customers/"+id, nil); a.Status != 404 || a.code() != "not_found" {
		t.Errorf("second delete: %v", a)
	}
	if n := s.Stats().Customers; n != 0 {
		t.Errorf("%d customers after delete", n)
	}
}
