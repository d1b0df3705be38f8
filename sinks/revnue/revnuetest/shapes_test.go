package revnuetest_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// TestReadShape writes a customer in the write shape and checks the read
// shape exactly: keys in order, category as {id, name}, country as its
// English short name, the template's values as a {key: value} map with
// money as a string.
func TestReadShape(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	body := map[string]any{
		"company": 1, "name": "Shape Co", "category": 2,
		"contact_person": contact("name", "Ann Lee", "email", "ann@shape.example", "type", "executive"),
		"address_line_1": "1 Main St", "address_line_2": "", "city": "Seoul", "state_province": "Seoul",
		"zip_postal_code": "04524", "country": 410, "phone": "+82 2 1234", "mobile": "+82 10 1234", "fax": "+82 2 9",
		"website": "https://shape.example", "general_description": "General", "nda_signed": true,
		"nda_signed_date": "2024-03-01", "msa_signed": false, "msa_signed_date": "2024-04-30",
		"supplementary_description": "Supplementary", "additional_description": "Additional",
		"template": tmpl(field(4, "Gold"), field(1, 999999999999999.0), field(2, "-5"), field(3, "2030-12-31")),
	}
	id := idOf(c.create(body))
	raw := c.ok(200, "GET", fmt.Sprintf("/customer/%d/", id), nil).Raw
	want := fmt.Sprintf(`{"id":%d,"company":1,"name":"Shape Co","category":{"id":2,"name":"Partner"},`+
		`"contact_person":{"name":"Ann Lee","email":"ann@shape.example","type":"executive"},`+
		`"address_line_1":"1 Main St","address_line_2":"","city":"Seoul","state_province":"Seoul","zip_postal_code":"04524",`+
		`"country":"Korea, Republic of","phone":"+82 2 1234","mobile":"+82 10 1234","fax":"+82 2 9",`+
		`"website":"https://shape.example","general_description":"General","nda_signed":true,"nda_signed_date":"2024-03-01",`+
		`"msa_signed":false,"msa_signed_date":"2024-04-30","supplementary_description":"Supplementary",`+
		`"additional_description":"Additional","template":{"id":1,"fields":{"contract_value":"999999999999999.00",`+
		`"seats":-5,"renewal_date":"2030-12-31","account_tier":"Gold"}}}`, id)
	if got := strings.TrimSpace(string(raw)); got != want {
		t.Errorf("read shape\n got %s\nwant %s", got, want)
	}
	for code, name := range map[int]string{276: "Germany", 826: "United Kingdom", 840: "United States", 4: "Afghanistan", 716: "Zimbabwe"} {
		if got := c.put(id, emutest.With(minimal("Shape Co"), "country", code))["country"]; got != name {
			t.Errorf("country %d reads %v, want %q", code, got, name)
		}
	}
}

// TestReadShapeRefusedOnWrite sends a customer back as it was read: the
// fields whose shapes differ are refused, each on its own path, and the
// customer is unchanged. A client must convert the read shape back.
func TestReadShapeRefusedOnWrite(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	read := c.create(s.FullCustomer("Round Trip", 0))
	a := c.do("PUT", fmt.Sprintf("/customer/%d", idOf(read)), read)
	if a.Status != 400 {
		t.Fatalf("the read shape PUT back: %v", a)
	}
	want := map[string]string{
		"category":        "Incorrect type. Expected pk value, received dict.",
		"country":         "Incorrect type. Expected pk value, received str.",
		"template.fields": `Expected a list of items but got type "dict".`,
	}
	got := map[string]string{}
	for f := range a.errors() {
		got[f] = a.fieldError(f)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors %v\nwant %v", got, want)
	}
	if after := c.get(idOf(read)); !reflect.DeepEqual(after, read) {
		t.Errorf("a refused PUT changed the customer")
	}
}

// TestCategories checks the category list, its paging and that a
// customer's category reads with its name.
func TestCategories(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{Companies: []int64{1, 5},
		Categories: []revnuetest.Category{{ID: 9, Name: "Wholesale"}, {ID: 3, Name: "Retail"}, {ID: 4, Name: "Online"}}})
	c := newClient(t, s)
	a := c.ok(200, "GET", "/category/?company=5", nil)
	if got := strings.TrimSpace(string(a.Raw)); got != `{"count":3,"next":null,"previous":null,"results":[`+
		`{"id":3,"name":"Retail"},{"id":4,"name":"Online"},{"id":9,"name":"Wholesale"}]}` {
		t.Errorf("categories: %s", got)
	}
	a = c.ok(200, "GET", "/category?company=1&page_size=2&page=2", nil)
	if a.Body["count"] != float64(3) || len(a.results()) != 1 || a.results()[0]["id"] != float64(9) ||
		a.Body["next"] != nil || !strings.HasSuffix(a.Body["previous"].(string), "/api/v2/category?company=1&page_size=2") {
		t.Errorf("second page of categories: %v", a)
	}
	for q, field := range map[string]string{"": "company", "?company=2": "company", "?company=x": "company"} {
		if a := c.do("GET", "/category/"+q, nil); a.Status != 400 || a.fieldError(field) == "" {
			t.Errorf("categories%s: %v", q, a)
		}
	}
	got := c.create(emutest.With(minimal("Categorised"), "category", 4))["category"]
	if !reflect.DeepEqual(got, map[string]any{"id": float64(4), "name": "Online"}) {
		t.Errorf("category read back %v", got)
	}
	if a := c.do("POST", "/customer/", emutest.With(minimal("Default category"), "category", 1)); a.fieldError("category") == "" {
		t.Errorf("a category the account lacks: %v", a)
	}
}
