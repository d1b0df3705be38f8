package revnuetest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// rule is a write body and what the API must answer it: ok, or a 400
// whose errors hold want (a message prefix) under field.
type rule struct {
	name  string
	body  map[string]any
	field string // "" = accepted
	want  string
}

func contact(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func tmpl(fields ...any) map[string]any {
	return map[string]any{"id": 1, "fields": fields}
}

func field(id, value any) map[string]any { return map[string]any{"id": id, "value": value} }

// writeRules are the field rules of the write shape, each next to the
// value just inside it, so that a rule off by one fails one way or the
// other.
func writeRules() []rule {
	base := minimal("Rule Test")
	set := func(k string, v any) map[string]any { return emutest.With(base, k, v) }
	long := func(n int) string { return strings.Repeat("x", n) }
	rules := []rule{
		{"company missing", emutest.Without(base, "company"), "company", "This field is required."},
		{"company null", set("company", nil), "company", "This field may not be null."},
		{"company as string", set("company", "1"), "company", "Incorrect type. Expected pk value, received str."},
		{"company fraction", set("company", 1.5), "company", "Incorrect type. Expected pk value, received float."},
		{"company unknown", set("company", 2), "company", `Invalid pk "2" - object does not exist.`},
		{"name missing", emutest.Without(base, "name"), "name", "This field is required."},
		{"name null", set("name", nil), "name", "This field may not be null."},
		{"name empty", set("name", ""), "name", "This field may not be blank."},
		{"name white space", set("name", " \t "), "name", "This field may not be blank."},
		{"name not a string", set("name", 5), "name", "Not a valid string."},
		{"name 50 characters", set("name", strings.Repeat("ä", 50)), "", ""},
		{"name 51 characters", set("name", strings.Repeat("ä", 51)), "name", "Ensure this field has no more than 50 characters."},
		{"name 50 after trimming", set("name", "  "+long(50)+"  "), "", ""},
		{"category", set("category", 2), "", ""},
		{"category null", set("category", nil), "", ""},
		{"category unknown", set("category", 99), "category", `Invalid pk "99" - object does not exist.`},
		{"category in the read shape", set("category", map[string]any{"id": 1, "name": "Default"}), "category",
			"Incorrect type. Expected pk value, received dict."},
		{"contact person null", set("contact_person", nil), "", ""},
		{"contact person not an object", set("contact_person", "Ann"), "contact_person",
			"Invalid data. Expected a dictionary, but got str."},
		{"contact name without email", set("contact_person", contact("name", "Ann")), "contact_person.email", "This field is required."},
		{"contact email without name", set("contact_person", contact("email", "ann@example.com")), "contact_person.name", "This field is required."},
		{"contact empty name with email", set("contact_person", contact("name", "", "email", "ann@example.com")), "contact_person.name", "This field is required."},
		{"contact null email with name", set("contact_person", contact("name", "Ann", "email", nil)), "contact_person.email", "This field is required."},
		{"contact name and email", set("contact_person", contact("name", "Ann", "email", "ann@example.com")), "", ""},
		{"contact type alone", set("contact_person", contact("type", "billing")), "", ""},
		{"contact name 50", set("contact_person", contact("name", long(50), "email", "a@example.com")), "", ""},
		{"contact name 51", set("contact_person", contact("name", long(51), "email", "a@example.com")), "contact_person.name",
			"Ensure this field has no more than 50 characters."},
		{"contact email 254", set("contact_person", contact("name", "Ann", "email", long(242)+"@example.com")), "", ""},
		{"contact email 255", set("contact_person", contact("name", "Ann", "email", long(243)+"@example.com")), "contact_person.email",
			"Ensure this field has no more than 254 characters."},
		{"contact type unknown", set("contact_person", contact("name", "Ann", "email", "a@example.com", "type", "ceo")),
			"contact_person.type", `"ceo" is not a valid choice.`},
		{"contact type in capitals", set("contact_person", contact("type", "Billing")), "contact_person.type", `"Billing" is not a valid choice.`},
		{"country", set("country", 276), "", ""},
		{"country null", set("country", nil), "", ""},
		{"country unknown", set("country", 999), "country", `Invalid pk "999" - object does not exist.`},
		{"country zero", set("country", 0), "country", `Invalid pk "0" - object does not exist.`},
		{"country as alpha-2", set("country", "DE"), "country", "Incorrect type. Expected pk value, received str."},
		{"country as its name", set("country", "Germany"), "country", "Incorrect type. Expected pk value, received str."},
		{"country numeric string", set("country", "276"), "country", "Incorrect type. Expected pk value, received str."},
		{"nda signed", set("nda_signed", true), "", ""},
		{"nda signed text", set("nda_signed", "true"), "nda_signed", "Must be a valid boolean."},
		{"msa signed number", set("msa_signed", 1), "msa_signed", "Must be a valid boolean."},
		{"msa signed null", set("msa_signed", nil), "msa_signed", "This field may not be null."},
		{"nda date", set("nda_signed_date", "2024-02-29"), "", ""},
		{"nda date null", set("nda_signed_date", nil), "", ""},
		{"nda date not a day", set("nda_signed_date", "2023-02-29"), "nda_signed_date", "Date has wrong format."},
		{"nda date unpadded", set("nda_signed_date", "2024-2-3"), "nda_signed_date", "Date has wrong format."},
		{"msa date European", set("msa_signed_date", "15.01.2024"), "msa_signed_date", "Date has wrong format."},
		{"msa date with time", set("msa_signed_date", "2024-01-15T00:00:00Z"), "msa_signed_date", "Date has wrong format."},
		{"msa date number", set("msa_signed_date", 20240115), "msa_signed_date", "Date has wrong format."},
		{"template", set("template", tmpl(field(1, "1.00"))), "", ""},
		{"template null", set("template", nil), "", ""},
		{"template without fields", set("template", map[string]any{"id": 1}), "", ""},
		{"template not an object", set("template", 1), "template", "Invalid data. Expected a dictionary, but got int."},
		{"template without id", set("template", map[string]any{"fields": []any{}}), "template.id", "This field is required."},
		{"template unknown", set("template", map[string]any{"id": 2, "fields": []any{}}), "template.id", `Invalid pk "2" - object does not exist.`},
		{"template fields in the read shape", set("template", map[string]any{"id": 1, "fields": map[string]any{"seats": 3}}),
			"template.fields", `Expected a list of items but got type "dict".`},
		{"template field unknown", set("template", tmpl(field(9, "x"))), "template.fields", "Item 0: field 9 does not exist in template 1."},
		{"template field by key", set("template", tmpl(field("seats", 3))), "template.fields", `Item 0: field "seats" does not exist`},
		{"template field twice", set("template", tmpl(field(2, 1), field(2, 2))), "template.fields", "Field 2 (seats): given more than once."},
		{"template field without id", set("template", tmpl(map[string]any{"value": 1})), "template.fields", "Item 0: id is required."},
		{"template item not an object", set("template", tmpl(4)), "template.fields", "Item 0: Invalid data. Expected a dictionary, but got int."},
	}
	for _, f := range []struct {
		name string
		max  int
	}{
		{"address_line_1", 50}, {"address_line_2", 50}, {"city", 50}, {"state_province", 50},
		{"zip_postal_code", 20}, {"phone", 20}, {"mobile", 20}, {"fax", 20}, {"website", 50},
		{"general_description", 1000}, {"supplementary_description", 1000}, {"additional_description", 1000},
	} {
		rules = append(rules,
			rule{f.name + " at its limit", set(f.name, strings.Repeat("é", f.max)), "", ""},
			rule{f.name + " over its limit", set(f.name, strings.Repeat("é", f.max+1)), f.name,
				fmt.Sprintf("Ensure this field has no more than %d characters.", f.max)},
			rule{f.name + " empty", set(f.name, ""), "", ""},
			rule{f.name + " null", set(f.name, nil), "", ""},
			rule{f.name + " not a string", set(f.name, 12), f.name, "Not a valid string."},
		)
	}
	return rules
}

// TestWriteRules sends every rule as a create and as a PUT: both check
// the body the same way, and a refused write changes nothing.
func TestWriteRules(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	target := c.create(minimal("PUT target"))
	id := idOf(target)
	created := 0
	for i, r := range writeRules() {
		body := r.body
		if name, ok := body["name"].(string); ok && name == "Rule Test" {
			// A name of its own per accepted create, so that uniqueness
			// does not get in the way.
			body = emutest.With(body, "name", fmt.Sprintf("Rule Test %d", i))
		}
		// An accepted body is PUT to the customer it created, a refused
		// one to the target.
		put := id
		for _, method := range []string{"POST", "PUT"} {
			path := "/customer/"
			if method == "PUT" {
				path = fmt.Sprintf("/customer/%d", put)
			}
			a := c.do(method, path, body)
			if r.field == "" {
				if a.Status != 200 && a.Status != 201 {
					t.Errorf("%s %s: %v, want it accepted", method, r.name, a)
				} else if method == "POST" {
					created++
					put = idOf(a.Body)
				}
				continue
			}
			if a.Status != 400 || a.Body["detail"] != "Invalid input." || !strings.HasPrefix(a.fieldError(r.field), r.want) {
				t.Errorf("%s %s: %v, want 400 with errors.%s %q", method, r.name, a, r.field, r.want)
			}
			if len(a.errors()) != 1 {
				t.Errorf("%s %s: errors on other fields too: %s", method, r.name, a.Raw)
			}
		}
	}
	if st := s.Stats(); st.Customers != int64(created)+1 {
		t.Errorf("%d customers stored, want %d: a refused create was stored", st.Customers, created+1)
	}
}

// TestWriteRulesEveryErrorAtOnce checks that a body with many mistakes is
// answered with all of them, as Django REST framework does, so that a
// user fixes a row in one go.
func TestWriteRulesEveryErrorAtOnce(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	a := newClient(t, s).do("POST", "/customer/", map[string]any{
		"category":       "1",
		"contact_person": contact("name", "Ann", "type", "boss"),
		"fax":            strings.Repeat("9", 21),
		"country":        1000,
		"template":       tmpl(field(1, -1), field(3, "tomorrow")),
	})
	want := []string{"company", "name", "category", "contact_person.email", "contact_person.type", "fax", "country", "template.fields"}
	for _, f := range want {
		if a.fieldError(f) == "" {
			t.Errorf("no error for %s: %s", f, a.Raw)
		}
	}
	if n := len(a.errors()); n != len(want) {
		t.Errorf("%d fields in errors, want %d: %s", n, len(want), a.Raw)
	}
	if l, _ := a.errors()["template.fields"].([]any); len(l) != 2 {
		t.Errorf("template.fields: %v, want both bad values", l)
	}
}

// TestBodies checks bodies that are not a customer object.
func TestBodies(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	id := idOf(c.create(minimal("Existing")))
	for _, path := range []string{"/customer/", fmt.Sprintf("/customer/%d", id)} {
		method := map[bool]string{true: "POST", false: "PUT"}[path == "/customer/"]
		a := c.do(method, path, `{"company": 1, "name": `)
		if d, _ := a.Body["detail"].(string); a.Status != 400 || !strings.HasPrefix(d, "JSON parse error - ") || len(a.errors()) != 0 {
			t.Errorf("%s broken JSON: %v", method, a)
		}
		a = c.do(method, path, `[{"company": 1, "name": "x"}]`)
		if a.Status != 400 || a.fieldError("non_field_errors") != "Invalid data. Expected a dictionary, but got list." {
			t.Errorf("%s array: %v", method, a)
		}
		a = c.do(method, path, `null`)
		if a.Status != 400 || a.fieldError("non_field_errors") != "Invalid data. Expected a dictionary, but got NoneType." {
			t.Errorf("%s null: %v", method, a)
		}
		// An empty body is an empty object: the required fields are missing.
		a = c.do(method, path, ``)
		if a.Status != 400 || a.fieldError("company") != "This field is required." || a.fieldError("name") != "This field is required." {
			t.Errorf("%s empty body: %v", method, a)
		}
	}
	// A body that is not JSON by its Content-Type, or too large.
	for _, tc := range []struct {
		ctype  string
		body   string
		status int
	}{
		{"text/plain", `{"company": 1, "name": "Typed"}`, 415},
		{"application/json; charset=utf-8", `{"company": 1, "name": "Typed"}`, 201},
		{"application/json", `{"company": 1, "name": "` + strings.Repeat("x", 1<<20) + `"}`, 413},
	} {
		req, err := http.NewRequest("POST", c.Base+"/customer/", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", tc.ctype)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || (tc.status != 201 && body["detail"] == nil) {
			t.Errorf("%s, %d bytes: %d %v %v", tc.ctype, len(tc.body), resp.StatusCode, body, err)
		}
	}
	// Fields the write shape lacks, id included, are ignored.
	got := c.create(emutest.With(emutest.With(minimal("Extra"), "id", 999), "colour", "blue"))
	if idOf(got) == 999 || got["colour"] != nil {
		t.Errorf("unknown fields were taken: %v", got)
	}
}
