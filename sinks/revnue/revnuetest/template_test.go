package revnuetest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// TestTemplateValues writes one value of each type at and past its
// bounds: accepted ones read back in their canonical form under the
// field's key, refused ones are a 400 on template.fields naming the field.
func TestTemplateValues(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	for _, tc := range []struct {
		name  string
		field int
		value any
		read  any    // the value read back when accepted
		err   string // the message after "Field N (key): " when refused
	}{
		{"money zero", 1, 0, "0.00", ""},
		{"money number", 1, 1234.5, "1234.50", ""},
		{"money string", 1, "1234.56", "1234.56", ""},
		{"money leading zeros", 1, "007.5", "7.50", ""},
		{"money whole", 1, 12, "12.00", ""},
		{"money maximum", 1, "999999999999999.00", "999999999999999.00", ""},
		{"money maximum as a number", 1, 999999999999999, "999999999999999.00", ""},
		{"money past the maximum by a cent", 1, "999999999999999.01", nil, "Ensure this value is less than or equal to 999999999999999.00."},
		{"money 16 digits", 1, "1000000000000000", nil, "Ensure this value is less than or equal to 999999999999999.00."},
		{"money negative", 1, -0.01, nil, "Ensure this value is greater than or equal to 0.00."},
		{"money negative zero", 1, "-0.00", "0.00", ""},
		{"money three places", 1, 1.005, nil, "Ensure that there are no more than 2 decimal places."},
		{"money three places written", 1, "1.500", nil, "Ensure that there are no more than 2 decimal places."},
		{"money exponent", 1, json.RawMessage("1e3"), nil, "A valid number is required."},
		{"money text", 1, "ten", nil, "A valid number is required."},
		{"money boolean", 1, true, nil, "A valid number is required."},
		{"money empty", 1, "", nil, "A valid number is required."},
		{"money null", 1, nil, nil, ""},
		{"number", 2, 42, float64(42), ""},
		{"number string", 2, "-17", float64(-17), ""},
		{"number minimum", 2, -999999999999999, float64(-999999999999999), ""},
		{"number maximum", 2, 999999999999999, float64(999999999999999), ""},
		{"number past the maximum", 2, 1000000000000000, nil, "Ensure this value is less than or equal to 999999999999999."},
		{"number past the minimum", 2, -1000000000000000, nil, "Ensure this value is greater than or equal to -999999999999999."},
		{"number fraction", 2, 1.5, nil, "A valid integer is required."},
		{"number exponent", 2, json.RawMessage("1E2"), nil, "A valid integer is required."},
		{"number text", 2, "many", nil, "A valid integer is required."},
		{"date", 3, "2031-02-28", "2031-02-28", ""},
		{"date not a day", 3, "2031-02-29", nil, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."},
		{"date unpadded", 3, "2031-2-28", nil, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."},
		{"date as number", 3, 20310228, nil, "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."},
		{"text", 4, "Gold", "Gold", ""},
		{"text empty", 4, "", "", ""},
		{"text 50 characters", 4, strings.Repeat("ü", 50), strings.Repeat("ü", 50), ""},
		{"text 51 characters", 4, strings.Repeat("ü", 51), nil, "Ensure this field has no more than 50 characters."},
		{"text number", 4, 5, nil, "Not a valid string."},
	} {
		key := []string{"", "contract_value", "seats", "renewal_date", "account_tier"}[tc.field]
		a := c.do("POST", "/customer/", emutest.With(minimal("Template "+tc.name), "template", tmpl(field(tc.field, tc.value))))
		if tc.err != "" {
			want := "Field " + string(rune('0'+tc.field)) + " (" + key + "): " + tc.err
			if a.Status != 400 || a.fieldError("template.fields") != want || len(a.errors()) != 1 {
				t.Errorf("%s: %v, want 400 template.fields %q", tc.name, a, want)
			}
			continue
		}
		if a.Status != 201 {
			t.Errorf("%s: %v, want 201", tc.name, a)
			continue
		}
		got := c.get(idOf(a.Body))["template"].(map[string]any)["fields"].(map[string]any)
		if got[key] != tc.read {
			t.Errorf("%s: %s read back %#v, want %#v", tc.name, key, got[key], tc.read)
		}
		if len(got) != 4 {
			t.Errorf("%s: fields %v, want every key of the template", tc.name, got)
		}
	}
}

// TestTemplateConfigured runs a server with a template of its own: the
// template list answers it, writes use its ids and types, reads its keys.
func TestTemplateConfigured(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{Template: &revnuetest.Template{ID: 7, Name: "Sales", Fields: []revnuetest.TemplateField{
		{ID: 70, Key: "budget", Type: revnuetest.TypeMoney},
		{ID: 71, Key: "kickoff", Type: revnuetest.TypeDate},
	}}})
	c := newClient(t, s)
	list := c.ok(200, "GET", "/custom-field-template/?company=1", nil)
	want := `{"count":1,"next":null,"previous":null,"results":[{"id":7,"name":"Sales","fields":[` +
		`{"id":70,"key":"budget","type":"money"},{"id":71,"key":"kickoff","type":"date"}]}]}`
	if strings.TrimSpace(string(list.Raw)) != want {
		t.Errorf("template list\n got %s\nwant %s", list.Raw, want)
	}
	got := c.create(emutest.With(minimal("Configured"), "template", map[string]any{"id": 7, "fields": []any{field(71, "2030-01-31")}}))
	if tpl := got["template"].(map[string]any); tpl["id"] != float64(7) || len(tpl["fields"].(map[string]any)) != 2 ||
		tpl["fields"].(map[string]any)["kickoff"] != "2030-01-31" || tpl["fields"].(map[string]any)["budget"] != nil {
		t.Errorf("template read back %v", tpl)
	}
	if a := c.do("POST", "/customer/", emutest.With(minimal("Default ids"), "template", tmpl(field(1, 1)))); a.fieldError("template.id") == "" {
		t.Errorf("the default template's id on a configured server: %v", a)
	}
}
