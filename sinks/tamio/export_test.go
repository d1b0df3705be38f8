package tamio_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/gdpr/layout"
)

var updateExport = flag.Bool("update-export", false, "rewrite testdata/export from the current layout")

// fullCustomer is a customer object as tamio documents it, with both
// addresses and a key the documentation does not list.
const fullCustomer = `{
  "id": "6f1c9a52-5b7e-4d3a-9c1e-2a4b6c8d0e1f", "object": "customer",
  "email": "Jana.Novak@example.cz", "name": "Jana", "last_name": "Novák",
  "country": "cz", "locale": "cs", "timezone_offset": "+01:00",
  "category": "lead", "priority": "high", "lead_status": "contacted",
  "phone": "+420221234567", "stripe_customer_id": null,
  "teammate_id": "7D6A3F0E-2C4B-4E8A-9F1D-1A2B3C4D5E01", "affiliate_partner_id": null,
  "has_notes": false, "created_at": 1717171717,
  "billing_address": {"id": "a1", "object": "address", "name": "Jana", "last_name": "Novák",
    "email": "billing@example.cz", "address": "Vodičkova 1", "city": "Praha", "postcode": "110 00",
    "state": "", "country": "cz", "locale": "cs", "phone": "+420221234568", "company": "Novák s.r.o.",
    "message": "", "shipping_address": false, "is_company": true, "vat": "CZ12345678",
    "verified_vat": false, "representative": "Jan Novák"},
  "shipping_address": null,
  "direct_debits": [],
  "client_id": null,
  "loyalty_tier": "gold"
}`

// exportInputs are customer objects, with their teammate as the export's
// related record, whose table testdata/export holds as the export wrote
// it before tamio's layout moved out of package gdpr: the documented
// object, the plural address forms, odd values, text a spreadsheet would
// run, and HTML characters, which only other_fields escapes.
var exportInputs = []struct{ raw, teammate string }{
	{fullCustomer, `{"id":"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01","email":"ana.garcia@example.com","name":"Ana García <&>"}`},
	{`{"id":"c1","billing_addresses":[{"city":"Lyon","is_company":"true"}],"shipping_addresses":[]}`, ""},
	{`{"id":"c2","billing_addresses":[{"city":"Lyon"},{"city":"Nice"}],"shipping_address":{"object":"address","shipping_address":true,"city":"Metz","verified_vat":true}}`, ""},
	{"{\"id\":42,\"name\":\"A\\\"\\u00e9\\n\",\"last_name\":\"\xff\",\"phone\":4930123,\"created_at\":1.7e9}", ""},
	{`{"id":"c3","email":"x@example.com","name":"Émile \"the\" <b>","created_at":5,"has_notes":true,"billing_address":null,"extra":"<&>","nested":{"b":[1,2],"a":null}}`,
		`{"id":"t2","email":"","name":""}`},
	{`{"id":"c4","object":"customer","email":"=cmd@example.com","direct_debits":[{"id":"dd1"}],"teammate_id":null,"client_id":"+1"}`, ""},
}

func exportLayout(t *testing.T) *layout.Layout {
	t.Helper()
	c, err := crm.Lookup("tamio")
	if err != nil {
		t.Fatal(err)
	}
	if c.Export == nil {
		t.Fatal("tamio registers no export layout")
	}
	return c.ExportLayout()
}

// TestExportTableUnchanged writes exportInputs in each format through
// tamio's registered layout and compares the bytes with testdata/export,
// written by the export before the layout was tamio's own: the columns,
// their order and kinds, the teammate's columns, the addresses in either
// form, and other_fields.
func TestExportTableUnchanged(t *testing.T) {
	l := exportLayout(t)
	for _, format := range gdpr.Formats {
		var buf bytes.Buffer
		w, err := gdpr.NewTableWriter(format, &buf, l.Table())
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range exportInputs {
			var related map[string]json.RawMessage
			if in.teammate != "" {
				related = map[string]json.RawMessage{"teammate": json.RawMessage(in.teammate)}
			}
			row, err := l.Flatten(json.RawMessage(in.raw), related)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "export", "customers."+format)
		if *updateExport {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("customers.%s differs from %s:\n%s", format, path, firstDiff(buf.String(), string(want)))
		}
	}
}

// firstDiff shows the first line where got and want part.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, gl, wl)
		}
	}
	return "(the same lines: binary)"
}

// TestExportFlatten reads the documented customer object into tamio's
// columns, field by field.
func TestExportFlatten(t *testing.T) {
	l := exportLayout(t)
	row, err := l.Flatten(json.RawMessage(fullCustomer), map[string]json.RawMessage{
		"teammate": json.RawMessage(`{"id":"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01","email":"ana.garcia@example.com","name":"Ana García"}`)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]layout.Value{}
	for i, c := range l.Table() {
		got[c.Name] = row[i]
	}
	want := map[string]layout.Value{
		"id":                             {Str: "6f1c9a52-5b7e-4d3a-9c1e-2a4b6c8d0e1f"},
		"last_name":                      {Str: "Novák"},
		"lead_status":                    {Str: "contacted"},
		"stripe_customer_id":             {Null: true},
		"has_notes":                      {Bool: false},
		"created_at":                     {Int: 1717171717},
		"direct_debits":                  {Str: "[]"},
		"teammate_email":                 {Str: "ana.garcia@example.com"},
		"teammate_name":                  {Str: "Ana García"},
		"billing_address_city":           {Str: "Praha"},
		"billing_address_postcode":       {Str: "110 00"},
		"billing_address_is_company":     {Bool: true},
		"billing_address_state":          {Str: ""},
		"billing_address_vat":            {Str: "CZ12345678"},
		"billing_address_representative": {Str: "Jan Novák"},
		"shipping_address_city":          {Null: true},
		"shipping_address_is_company":    {Null: true},
		layout.OtherFields:               {Str: `{"loyalty_tier":"gold"}`},
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	if n := len(l.Table()); n != 55 {
		t.Errorf("%d columns, want tamio's 55", n)
	}
}

// TestExportFlattenPluralAddresses checks the billing_addresses[] form some
// pages of the API documentation show: the first is flattened, and a
// second is kept in other_fields rather than dropped.
func TestExportFlattenPluralAddresses(t *testing.T) {
	l := exportLayout(t)
	cell := func(raw, column string) layout.Value {
		t.Helper()
		row, err := l.Flatten(json.RawMessage(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range l.Table() {
			if c.Name == column {
				return row[i]
			}
		}
		t.Fatalf("no column %s", column)
		return layout.Value{}
	}
	one := `{"id":"c1","billing_addresses":[{"city":"Lyon","is_company":"true"}],"shipping_addresses":[]}`
	if cell(one, "billing_address_city").Str != "Lyon" || !cell(one, "billing_address_is_company").Bool || !cell(one, layout.OtherFields).Null {
		t.Errorf("one plural address is not read as the address")
	}
	if !cell(one, "teammate_email").Null || !cell(one, "email").Null {
		t.Errorf("absent keys should be null")
	}
	two := `{"id":"c2","billing_addresses":[{"city":"Lyon"},{"city":"Nice"}]}`
	if cell(two, "billing_address_city").Str != "Lyon" || !strings.Contains(cell(two, layout.OtherFields).Str, "Nice") {
		t.Errorf("two plural addresses: the first is not read, or the second is lost")
	}
}
