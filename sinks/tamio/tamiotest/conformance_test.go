package tamiotest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tamio/tamiotest"
)

// The key order of the customer and address objects in seed 000, the
// documented answer of POST /customers/update/{uuid}.
var (
	seedCustomerKeys = []string{"id", "object", "email", "name", "last_name", "country", "locale",
		"timezone_offset", "category", "priority", "lead_status", "phone", "stripe_customer_id",
		"teammate_id", "affiliate_partner_id", "has_notes", "created_at", "billing_address",
		"shipping_address", "direct_debits", "client_id"}
	seedAddressKeys = []string{"id", "object", "name", "last_name", "email", "address", "city",
		"postcode", "state", "country", "locale", "phone", "company", "message", "shipping_address",
		"is_company", "vat", "verified_vat", "representative"}
)

// keysInOrder returns the keys of the JSON object at path in raw, in the
// order they were written.
func keysInOrder(t *testing.T, raw []byte, path ...string) []string {
	t.Helper()
	for _, p := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		raw = m[p]
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%v is not an object: %s", path, raw)
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

// TestSeedUpdate sends the request of seed 000 and checks the answer has
// the documented shape, key for key and in order.
func TestSeedUpdate(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := newClient(t, s)
	created := c.create(map[string]any{
		"name": "John", "last_name": "Doe", "email": "john.doe@example.com", "country": "DE",
		"phone": "+49123456789",
		"billing_information": map[string]any{
			"name": "John", "last_name": "Doe", "country": "de", "address": "Hauptstraße 1",
			"city": "Berlin", "postcode": "10115", "vat": "DE123456789", "is_company": true,
		},
		"same_shipping_address": true,
	})
	id := created["id"].(string)

	// Exactly what the seed's fetch sends: POST, bearer, JSON.
	req, err := http.NewRequest("POST", s.URL+"/customers/update/"+id,
		strings.NewReader(`{"name":"John","timezone_offset":"+02:00","priority":"high"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	raw := buf.Bytes()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	if got := keysInOrder(t, raw); !slices.Equal(got, []string{"status", "customer"}) {
		t.Errorf("answer keys %v", got)
	}
	if got := keysInOrder(t, raw, "customer"); !slices.Equal(got, seedCustomerKeys) {
		t.Errorf("customer keys\n got %v\nwant %v", got, seedCustomerKeys)
	}
	for _, a := range []string{"billing_address", "shipping_address"} {
		if got := keysInOrder(t, raw, "customer", a); !slices.Equal(got, seedAddressKeys) {
			t.Errorf("%s keys\n got %v\nwant %v", a, got, seedAddressKeys)
		}
	}

	var body struct {
		Status   int
		Customer map[string]any
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	cu := body.Customer
	want := map[string]any{
		"id": id, "object": "customer", "email": "john.doe@example.com", "name": "John",
		"last_name": "Doe", "country": "de", "locale": "en", "timezone_offset": "+02:00",
		"category": "customer", "priority": "high", "lead_status": nil, "phone": "+49123456789",
		"stripe_customer_id": nil, "teammate_id": nil, "affiliate_partner_id": nil,
		"has_notes": false, "client_id": nil, "created_at": created["created_at"],
	}
	for k, v := range want {
		if cu[k] != v {
			t.Errorf("customer.%s = %#v, want %#v", k, cu[k], v)
		}
	}
	if dd, ok := cu["direct_debits"].([]any); !ok || len(dd) != 0 {
		t.Errorf("direct_debits = %#v, want []", cu["direct_debits"])
	}
	if ca, ok := cu["created_at"].(float64); !ok || ca < 1.7e9 {
		t.Errorf("created_at = %v, want unix seconds", cu["created_at"])
	}
	b, sh := cu["billing_address"].(map[string]any), cu["shipping_address"].(map[string]any)
	if b["object"] != "address" || b["city"] != "Berlin" || b["shipping_address"] != false ||
		b["is_company"] != true || b["vat"] != "DE123456789" || b["verified_vat"] != false || b["message"] != "" {
		t.Errorf("billing_address = %v", b)
	}
	if sh["city"] != "Berlin" || sh["shipping_address"] != true || sh["id"] == b["id"] || sh["id"] == "" {
		t.Errorf("shipping_address = %v (billing id %v)", sh, b["id"])
	}
}

// TestErrors checks every documented error code, with its status, field and
// bulk index, against a server that has two customers and four keys.
func TestErrors(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "tamio.db")
	// The limited key must name a customer, whose UUID exists only once
	// it is created: create, close, and reopen with the key.
	first := start(t, tamiotest.Options{DBPath: db})
	fc := newClient(t, first)
	c1 := fc.create(person("one@example.com"))["id"].(string)
	c2 := fc.create(person("two@example.com"))["id"].(string)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	all := []string{"view", "edit", "create", "remove"}
	s := start(t, tamiotest.Options{DBPath: db, Keys: []tamiotest.Key{
		{Token: "full-key", Name: "full", Permissions: all},
		{Token: "view-key", Name: "viewer", Permissions: []string{"view"}},
		{Token: "none-key", Name: "nothing"},
		{Token: "limited-key", Name: "limited", Permissions: all, Customers: []string{strings.ToUpper(c1)}},
	}})
	c := newClient(t, s)
	before := c.ok("GET", "/customers/retrieve/"+c1, nil).customer()

	unknown := "0f8fad5b-d9cb-469f-a165-70867728950e"
	teammate := tamiotest.DefaultTeammates()[0].ID
	withField := func(k string, v any) map[string]any {
		m := person("new@example.com")
		m[k] = v
		return m
	}
	bulk := func(n int, edit func(i int, m map[string]any)) map[string]any {
		cs := make([]any, n)
		for i := range cs {
			m := person(fmt.Sprintf("bulk%d@example.com", i))
			if edit != nil {
				edit(i, m)
			}
			cs[i] = m
		}
		return map[string]any{"customers": cs}
	}
	uuids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		}
		return out
	}
	billing := map[string]any{"name": "A", "country": "de", "address": "Street 1"}

	for _, tc := range []struct {
		name         string
		key          string // "" = full-key; "-" = no header
		method, path string
		body         any
		status, code int
		field        string
		index        int // -1: no index
	}{
		{"no token", "-", "GET", "/customers/list?page=1&per_page=1", nil, 401, 1000, "", -1},
		{"bad token", "wrong", "GET", "/customers/list?page=1&per_page=1", nil, 401, 1000, "", -1},
		{"bad token on write", "wrong", "POST", "/customers/create", person("x@example.com"), 401, 1000, "", -1},

		{"view key creates", "view-key", "POST", "/customers/create", person("x@example.com"), 403, 1003, "", -1},
		{"view key updates", "view-key", "POST", "/customers/update/" + c1, map[string]any{"name": "X"}, 403, 1003, "", -1},
		{"view key deletes", "view-key", "DELETE", "/customers/" + c1, nil, 403, 1003, "", -1},
		{"view key bulk creates", "view-key", "POST", "/customers/bulk/create", bulk(1, nil), 403, 1003, "", -1},
		{"view key bulk deletes", "view-key", "POST", "/customers/bulk/delete", map[string]any{"customers": []string{c1}}, 403, 1003, "", -1},
		{"view key assigns", "view-key", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []string{c1}, "teammate_id": nil}, 403, 1003, "", -1},
		{"view key adds to list", "view-key", "POST", "/customers/add-to-list/" + c1, map[string]any{"mailing_list": unknown}, 403, 1003, "", -1},
		{"no-permission key lists", "none-key", "GET", "/customers/list?page=1&per_page=1", nil, 403, 1003, "", -1},
		{"no-permission key retrieves", "none-key", "GET", "/customers/retrieve/" + c1, nil, 403, 1003, "", -1},
		{"no-permission key lists teammates", "none-key", "GET", "/teammates/list", nil, 403, 1003, "", -1},

		{"name missing", "", "POST", "/customers/create", map[string]any{"email": "x@example.com", "country": "de"}, 400, 1001, "name", -1},
		{"name blank", "", "POST", "/customers/create", withField("name", "   "), 400, 1001, "name", -1},
		{"name too long", "", "POST", "/customers/create", withField("name", strings.Repeat("é", 256)), 400, 1001, "name", -1},
		{"name not a string", "", "POST", "/customers/create", withField("name", 5), 400, 1001, "name", -1},
		{"name with a newline", "", "POST", "/customers/create", withField("name", "a\nb"), 400, 1001, "name", -1},
		{"email missing", "", "POST", "/customers/create", map[string]any{"name": "A", "country": "de"}, 400, 1001, "email", -1},
		{"email invalid", "", "POST", "/customers/create", withField("email", "not-an-email"), 400, 1001, "email", -1},
		{"email with display name", "", "POST", "/customers/create", withField("email", "Jo <jo@example.com>"), 400, 1001, "email", -1},
		{"email without dot", "", "POST", "/customers/create", withField("email", "jo@localhost"), 400, 1001, "email", -1},
		{"email with spaces", "", "POST", "/customers/create", withField("email", " jo@example.com"), 400, 1001, "email", -1},
		{"email too long", "", "POST", "/customers/create", withField("email", strings.Repeat("a", 64)+"@"+strings.Repeat("b", 190)+".com"), 400, 1001, "email", -1},
		{"country missing", "", "POST", "/customers/create", map[string]any{"name": "A", "email": "x@example.com"}, 400, 1001, "country", -1},
		{"country unknown", "", "POST", "/customers/create", withField("country", "xx"), 400, 1001, "country", -1},
		{"country alpha-3", "", "POST", "/customers/create", withField("country", "deu"), 400, 1001, "country", -1},
		{"locale", "", "POST", "/customers/create", withField("locale", "english"), 400, 1001, "locale", -1},
		{"offset hours", "", "POST", "/customers/create", withField("timezone_offset", "+15:00"), 400, 1001, "timezone_offset", -1},
		{"offset past 14:00", "", "POST", "/customers/create", withField("timezone_offset", "+14:30"), 400, 1001, "timezone_offset", -1},
		{"offset minutes", "", "POST", "/customers/create", withField("timezone_offset", "+02:10"), 400, 1001, "timezone_offset", -1},
		{"offset without colon", "", "POST", "/customers/create", withField("timezone_offset", "+0200"), 400, 1001, "timezone_offset", -1},
		{"priority", "", "POST", "/customers/create", withField("priority", "urgent"), 400, 1001, "priority", -1},
		{"category", "", "POST", "/customers/create", withField("category", "vip"), 400, 1001, "category", -1},
		{"lead status of a customer", "", "POST", "/customers/create", withField("lead_status", "contacted"), 400, 1001, "lead_status", -1},
		{"lead status unknown", "", "POST", "/customers/create", map[string]any{"name": "A", "email": "x@example.com", "country": "de", "category": "lead", "lead_status": "hot"}, 400, 1001, "lead_status", -1},
		{"phone too short", "", "POST", "/customers/create", withField("phone", "+12345"), 400, 1001, "phone", -1},
		{"phone with spaces", "", "POST", "/customers/create", withField("phone", "+49 123 4567"), 400, 1001, "phone", -1},
		{"phone without plus", "", "POST", "/customers/create", withField("phone", "00491234567"), 400, 1001, "phone", -1},
		{"teammate not a UUID", "", "POST", "/customers/create", withField("teammate_id", "ana"), 400, 1001, "teammate_id", -1},
		{"billing not an object", "", "POST", "/customers/create", withField("billing_information", "x"), 400, 1001, "billing_information", -1},
		{"billing without city", "", "POST", "/customers/create", withField("billing_information", billing), 400, 1001, "billing_information.city", -1},
		{"shipping country", "", "POST", "/customers/create", withField("shipping_information", map[string]any{"name": "A", "country": "zz", "address": "S", "city": "C"}), 400, 1001, "shipping_information.country", -1},
		{"same shipping without billing", "", "POST", "/customers/create", withField("same_shipping_address", true), 400, 1001, "same_shipping_address", -1},
		{"same shipping not a bool", "", "POST", "/customers/create", withField("same_shipping_address", "yes"), 400, 1001, "same_shipping_address", -1},
		{"body not JSON", "", "POST", "/customers/create", "hello", 400, 1001, "", -1},
		{"body truncated", "", "POST", "/customers/create", `{"name": "A", "email":`, 400, 1001, "", -1},
		{"body an array", "", "POST", "/customers/create", `[{"name": "A"}]`, 400, 1001, "", -1},
		{"body null", "", "POST", "/customers/create", `null`, 400, 1001, "", -1},
		{"body empty", "", "POST", "/customers/create", ``, 400, 1001, "", -1},
		{"body with trailing garbage", "", "POST", "/customers/create", `{"name":"A"} x`, 400, 1001, "", -1},
		{"form body", "", "POST", "/customers/create", nil, 415, 1001, "", -1},
		{"update without name", "", "POST", "/customers/update/" + c1, map[string]any{"last_name": "X"}, 400, 1001, "name", -1},
		{"update name null", "", "POST", "/customers/update/" + c1, map[string]any{"name": nil}, 400, 1001, "name", -1},
		{"update email null", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "email": nil}, 400, 1001, "email", -1},
		{"update country empty", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "country": ""}, 400, 1001, "country", -1},
		{"update teammate empty", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "teammate_id": ""}, 400, 1001, "teammate_id", -1},
		{"update lead status of a customer", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "lead_status": "contacted"}, 400, 1001, "lead_status", -1},
		{"update priority wrong type", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "priority": 3}, 400, 1001, "priority", -1},
		{"bulk customers not an array", "", "POST", "/customers/bulk/create", map[string]any{"customers": "x"}, 400, 1001, "customers", -1},
		{"bulk customers missing", "", "POST", "/customers/bulk/create", map[string]any{}, 400, 1001, "customers", -1},
		{"bulk empty", "", "POST", "/customers/bulk/create", map[string]any{"customers": []any{}}, 400, 1001, "customers", -1},
		{"bulk of 1001", "", "POST", "/customers/bulk/create", bulk(1001, nil), 400, 1001, "customers", -1},
		{"bulk bad email at 17", "", "POST", "/customers/bulk/create", bulk(40, func(i int, m map[string]any) {
			if i == 17 || i == 30 {
				m["email"] = "broken"
			}
		}), 400, 1001, "email", 17},
		{"bulk element not an object", "", "POST", "/customers/bulk/create", map[string]any{"customers": []any{person("a@example.com"), 7}}, 400, 1001, "customers", 1},
		{"bulk unknown teammate at 2", "", "POST", "/customers/bulk/create", bulk(3, func(i int, m map[string]any) {
			if i == 2 {
				m["teammate_id"] = unknown
			}
		}), 400, 1002, "teammate_id", 2},
		{"bulk delete of 51", "", "POST", "/customers/bulk/delete", map[string]any{"customers": uuids(51)}, 400, 1001, "customers", -1},
		{"bulk remove of 51", "", "POST", "/customers/bulk/remove", map[string]any{"customers": uuids(51)}, 400, 1001, "customers", -1},
		{"assign of 51", "", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": uuids(51), "teammate_id": teammate}, 400, 1001, "customers", -1},
		{"add to list of 51", "", "POST", "/customers/bulk/add-to-list", map[string]any{"customers": uuids(51), "mailing_list": unknown}, 400, 1001, "customers", -1},
		{"assign without teammate_id", "", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []string{c1}}, 400, 1001, "teammate_id", -1},
		{"assign bad UUID at 1", "", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []string{c1, "nope"}, "teammate_id": teammate}, 400, 1001, "customers", 1},
		{"assign number at 0", "", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []any{1}, "teammate_id": teammate}, 400, 1001, "customers", 0},
		{"add to list without list", "", "POST", "/customers/bulk/add-to-list", map[string]any{"customers": []string{c1}}, 400, 1001, "mailing_list", -1},
		{"add to list bad list", "", "POST", "/customers/add-to-list/" + c1, map[string]any{"mailing_list": "news"}, 400, 1001, "mailing_list", -1},
		{"list without page", "", "GET", "/customers/list?per_page=10", nil, 400, 1001, "page", -1},
		{"list page 0", "", "GET", "/customers/list?page=0&per_page=10", nil, 400, 1001, "page", -1},
		{"list without per_page", "", "GET", "/customers/list?page=1", nil, 400, 1001, "per_page", -1},
		{"list per_page 101", "", "GET", "/customers/list?page=1&per_page=101", nil, 400, 1001, "per_page", -1},
		{"list sort_by", "", "GET", "/customers/list?page=1&per_page=10&sort_by=phone", nil, 400, 1001, "sort_by", -1},
		{"list order", "", "GET", "/customers/list?page=1&per_page=10&order=up", nil, 400, 1001, "order", -1},
		{"list from", "", "GET", "/customers/list?page=1&per_page=10&from=yesterday", nil, 400, 1001, "from", -1},
		{"list countries", "", "GET", "/customers/list?page=1&per_page=10&countries[]=de&countries[]=zz", nil, 400, 1001, "countries", -1},
		{"list include_leads", "", "GET", "/customers/list?page=1&per_page=10&include_leads=maybe", nil, 400, 1001, "include_leads", -1},
		{"list teammate not a UUID", "", "GET", "/customers/list?page=1&per_page=10&teammate_id=ana", nil, 400, 1001, "teammate_id", -1},

		{"retrieve unknown", "", "GET", "/customers/retrieve/" + unknown, nil, 400, 1002, "", -1},
		{"retrieve malformed", "", "GET", "/customers/retrieve/not-a-uuid", nil, 400, 1002, "", -1},
		{"update unknown", "", "POST", "/customers/update/" + unknown, map[string]any{"name": "A"}, 400, 1002, "", -1},
		{"delete unknown", "", "DELETE", "/customers/" + unknown, nil, 400, 1002, "", -1},
		{"create unknown teammate", "", "POST", "/customers/create", withField("teammate_id", unknown), 400, 1002, "teammate_id", -1},
		{"update unknown teammate", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "teammate_id": unknown}, 400, 1002, "teammate_id", -1},
		{"assign unknown customer at 1", "", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []string{c1, unknown}, "teammate_id": teammate}, 400, 1002, "", 1},
		{"assign unknown teammate", "", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []string{c1}, "teammate_id": unknown}, 400, 1002, "teammate_id", -1},
		{"add unknown customer to list", "", "POST", "/customers/add-to-list/" + unknown, map[string]any{"mailing_list": unknown}, 400, 1002, "", -1},
		{"bulk add unknown customer to list", "", "POST", "/customers/bulk/add-to-list", map[string]any{"customers": []string{c1, unknown}, "mailing_list": unknown}, 400, 1002, "", 1},
		{"remove unknown customer from list", "", "POST", "/customers/remove-from-list/" + unknown, map[string]any{"mailing_list": unknown}, 400, 1002, "", -1},
		{"list unknown teammate", "", "GET", "/customers/list?page=1&per_page=10&teammate_id=" + unknown, nil, 400, 1002, "teammate_id", -1},
		{"limited key retrieves another", "limited-key", "GET", "/customers/retrieve/" + c2, nil, 400, 1002, "", -1},
		{"limited key updates another", "limited-key", "POST", "/customers/update/" + c2, map[string]any{"name": "A"}, 400, 1002, "", -1},
		{"limited key deletes another", "limited-key", "DELETE", "/customers/" + c2, nil, 400, 1002, "", -1},
		{"limited key assigns another", "limited-key", "POST", "/customers/bulk/assign-to-teammate", map[string]any{"customers": []string{c1, c2}, "teammate_id": nil}, 400, 1002, "", 1},

		{"create existing email", "", "POST", "/customers/create", person("ONE@Example.com"), 400, 10142, "email", -1},
		{"update to a taken email", "", "POST", "/customers/update/" + c1, map[string]any{"name": "A", "email": "Two@EXAMPLE.com"}, 400, 10082, "email", -1},

		{"body too large", "", "POST", "/customers/bulk/create", `{"customers": [` + strings.Repeat(" ", 9<<20) + `]}`, 413, 1001, "", -1},
		{"no such endpoint", "", "GET", "/customers/nothing/here", nil, 404, 1002, "", -1},
		{"wrong method", "", "GET", "/customers/create", nil, 405, 1001, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := c.withKey("full-key")
			switch tc.key {
			case "":
			case "-":
				cl = c.withKey("")
			default:
				cl = c.withKey(tc.key)
			}
			var a *answer
			if tc.name == "form body" {
				a = formPost(t, cl, "/customers/create")
			} else {
				a = cl.do(tc.method, tc.path, tc.body)
			}
			if a.Status != tc.status || a.code() != tc.code {
				t.Fatalf("got %v, want %d with error_code %d", a, tc.status, tc.code)
			}
			if msg, _ := a.Body["error"].(string); msg == "" {
				t.Errorf("no error text: %v", a)
			}
			if f, _ := a.Body["field"].(string); f != tc.field {
				t.Errorf("field = %q, want %q: %v", f, tc.field, a)
			}
			idx, has := a.Body["index"].(float64)
			if tc.index < 0 && has || tc.index >= 0 && (!has || int(idx) != tc.index) {
				t.Errorf("index = %v, want %d: %v", a.Body["index"], tc.index, a)
			}
			// DELETE /customers/{uuid} takes any last segment, as the
			// real routing would.
			if tc.status == 405 && !strings.Contains(a.Header.Get("Allow"), "POST") {
				t.Errorf("Allow = %q", a.Header.Get("Allow"))
			}
		})
	}

	// None of the failed writes changed anything.
	after := c.ok("GET", "/customers/retrieve/"+c1, nil).customer()
	for k, v := range before {
		if fmt.Sprint(after[k]) != fmt.Sprint(v) {
			t.Errorf("after the failed requests, %s = %v, was %v", k, after[k], v)
		}
	}
	if got := len(c.allCustomers("")); got != 2 {
		t.Errorf("%d customers after the failed requests, want 2", got)
	}
	waitIdle(t, s)
	if st := s.Stats(); st.JobsRun != 0 || st.Customers != 2 {
		t.Errorf("stats after failed requests: %d jobs run, %d customers", st.JobsRun, st.Customers)
	}
}

func formPost(t *testing.T, c *client, path string) *answer {
	req, err := http.NewRequest("POST", c.Base+path, strings.NewReader("name=A&email=a%40example.com&country=de"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := &answer{&emutest.Answer{Status: resp.StatusCode, Header: resp.Header}}
	if err := json.NewDecoder(resp.Body).Decode(&a.Body); err != nil {
		t.Fatal(err)
	}
	return a
}
