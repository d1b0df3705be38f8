package gdpr_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/gdpr"
	csvsource "crmsync/sources/csv"
)

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

func TestExportFlatten(t *testing.T) {
	c, err := gdpr.DecodeCustomer(json.RawMessage(fullCustomer))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "6f1c9a52-5b7e-4d3a-9c1e-2a4b6c8d0e1f" || c.Email != "Jana.Novak@example.cz" {
		t.Errorf("decoded id %q email %q", c.ID, c.Email)
	}
	tm := &gdpr.Teammate{ID: "7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01", Email: "ana.garcia@example.com", Name: "Ana García"}
	row, err := c.Flatten(tm)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(row)
	want := map[string]gdpr.Value{
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
		gdpr.OtherFieldsColumn:           {Str: `{"loyalty_tier":"gold"}`},
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	if len(row) != len(gdpr.Columns) {
		t.Errorf("%d values for %d columns", len(row), len(gdpr.Columns))
	}
}

func byName(row gdpr.Row) map[string]gdpr.Value {
	m := map[string]gdpr.Value{}
	for i, c := range gdpr.Columns {
		m[c.Name] = row[i]
	}
	return m
}

// TestExportFlattenPluralAddresses checks the billing_addresses[] form some
// pages of the API documentation show: the first is flattened, and a
// second is kept in other_fields rather than dropped.
func TestExportFlattenPluralAddresses(t *testing.T) {
	one := `{"id":"c1","billing_addresses":[{"city":"Lyon","is_company":"true"}],"shipping_addresses":[]}`
	c, err := gdpr.DecodeCustomer(json.RawMessage(one))
	if err != nil {
		t.Fatal(err)
	}
	row, err := c.Flatten(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(row)
	if got["billing_address_city"].Str != "Lyon" || !got["billing_address_is_company"].Bool || !got[gdpr.OtherFieldsColumn].Null {
		t.Errorf("one plural address: %+v", got)
	}
	if !got["teammate_email"].Null || !got["email"].Null {
		t.Errorf("absent keys should be null: teammate_email %+v email %+v", got["teammate_email"], got["email"])
	}

	two := `{"id":"c2","billing_addresses":[{"city":"Lyon"},{"city":"Nice"}]}`
	c, _ = gdpr.DecodeCustomer(json.RawMessage(two))
	row, err = c.Flatten(nil)
	if err != nil {
		t.Fatal(err)
	}
	got = byName(row)
	if got["billing_address_city"].Str != "Lyon" || !strings.Contains(got[gdpr.OtherFieldsColumn].Str, "Nice") {
		t.Errorf("two plural addresses: city %+v other %+v", got["billing_address_city"], got[gdpr.OtherFieldsColumn])
	}
}

func TestExportFlattenRefusesWrongTypes(t *testing.T) {
	for _, in := range []string{`{"id":"c1","created_at":"yesterday"}`, `{"id":"c1","has_notes":"perhaps"}`} {
		c, err := gdpr.DecodeCustomer(json.RawMessage(in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Flatten(nil); err == nil || strings.Contains(err.Error(), "yesterday") || strings.Contains(err.Error(), "perhaps") {
			t.Errorf("%s: error %v; want one naming the column, not the value", in, err)
		}
	}
	for _, in := range []string{`[]`, `{"name":"no id"}`, `nope`} {
		if _, err := gdpr.DecodeCustomer(json.RawMessage(in)); err == nil {
			t.Errorf("DecodeCustomer(%s): no error", in)
		}
	}
}

// TestExportTableWriters writes the same rows in each format and reads them
// back with a reader that is not ours.
func TestExportTableWriters(t *testing.T) {
	var rows []gdpr.Row
	for _, in := range []string{fullCustomer, `{"id":"c2","email":"x@example.com","name":"Émile \"the\" <b>","created_at":5,"has_notes":true,"billing_address":null}`} {
		c, err := gdpr.DecodeCustomer(json.RawMessage(in))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Flatten(nil)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	for _, format := range gdpr.Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := gdpr.NewTableWriter(format, &buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := readTable(t, format, buf.Bytes())
			if len(got) != len(rows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
			}
			for i := range rows {
				for j, c := range gdpr.Columns {
					want := rows[i][j]
					if format == "csv" {
						// CSV has no null: it reads as "". A cell a
						// spreadsheet would run is escaped.
						if g, w := got[i][j].Text(c.Kind), csvsource.EscapeFormula(want.Text(c.Kind)); g != w {
							t.Errorf("row %d %s: %q, want %q", i, c.Name, g, w)
						}
						continue
					}
					if got[i][j] != want {
						t.Errorf("row %d %s: %+v, want %+v", i, c.Name, got[i][j], want)
					}
				}
			}
		})
	}
	if _, err := gdpr.NewTableWriter("xlsx", &bytes.Buffer{}); err == nil {
		t.Error("an unknown format was accepted")
	}
}

// readTable reads a table written by a TableWriter with the standard
// readers of each format.
func readTable(t *testing.T, format string, data []byte) []gdpr.Row {
	t.Helper()
	var out []gdpr.Row
	switch format {
	case "jsonl":
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if len(m) != len(gdpr.Columns) {
				t.Errorf("a line has %d keys, want %d", len(m), len(gdpr.Columns))
			}
			row := make(gdpr.Row, len(gdpr.Columns))
			for i, c := range gdpr.Columns {
				switch v := m[c.Name].(type) {
				case nil:
					row[i] = gdpr.Value{Null: true}
				case string:
					row[i] = gdpr.Value{Str: v}
				case bool:
					row[i] = gdpr.Value{Bool: v}
				case json.Number:
					n, err := v.Int64()
					if err != nil {
						t.Fatal(err)
					}
					row[i] = gdpr.Value{Int: n}
				default:
					t.Fatalf("%s: unexpected %T", c.Name, v)
				}
			}
			out = append(out, row)
		}
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range gdpr.Columns {
			if recs[0][i] != c.Name {
				t.Fatalf("header %d is %q, want %q", i, recs[0][i], c.Name)
			}
		}
		for _, rec := range recs[1:] {
			row := make(gdpr.Row, len(rec))
			for i, c := range gdpr.Columns {
				row[i] = textValue(t, c.Kind, rec[i])
			}
			out = append(out, row)
		}
	case "parquet":
		out = readParquet(t, data)
	}
	return out
}

func textValue(t *testing.T, k gdpr.Kind, s string) gdpr.Value {
	t.Helper()
	if s == "" {
		return gdpr.Value{Null: true}
	}
	switch k {
	case gdpr.Int64:
		var v gdpr.Value
		if err := json.Unmarshal([]byte(s), &v.Int); err != nil {
			t.Fatal(err)
		}
		return v
	case gdpr.Bool:
		return gdpr.Value{Bool: s == "true"}
	}
	return gdpr.Value{Str: s}
}

func readParquet(t *testing.T, data []byte) []gdpr.Row {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range gdpr.ParquetSchema().Fields() {
		if g := s.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || !g.Nullable {
			t.Errorf("column %d is %s %s (nullable %v), want %s %s", i, g.Name, g.Type, g.Nullable, f.Name, f.Type)
		}
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []gdpr.Row
	for rr.Next() {
		rec := rr.Record()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make(gdpr.Row, rec.NumCols())
			for c := range int(rec.NumCols()) {
				row[c] = cell(rec.Column(c), r)
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return out
}

func cell(a arrow.Array, i int) gdpr.Value {
	if a.IsNull(i) {
		return gdpr.Value{Null: true}
	}
	switch a := a.(type) {
	case *array.String:
		return gdpr.Value{Str: a.Value(i)}
	case *array.Int64:
		return gdpr.Value{Int: a.Value(i)}
	case *array.Boolean:
		return gdpr.Value{Bool: a.Value(i)}
	}
	panic("unexpected column type " + a.DataType().String())
}

// TestExportFlattenOddValues checks what JSON allows and the fast path
// of string reading must not get wrong: escapes, invalid UTF-8 (read as
// U+FFFD, as encoding/json does), a numeric id, and numbers where the
// documentation says string.
func TestExportFlattenOddValues(t *testing.T) {
	in := "{\"id\":42,\"name\":\"A\\\"\\u00e9\\n\",\"last_name\":\"\xff\",\"phone\":4930123,\"created_at\":1.7e9}"
	c, err := gdpr.DecodeCustomer(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	row, err := c.Flatten(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(row)
	want := map[string]gdpr.Value{
		"id":         {Str: "42"},
		"name":       {Str: "A\"é\n"},
		"last_name":  {Str: "\uFFFD"},
		"phone":      {Str: "4930123"},
		"created_at": {Int: 1700000000},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %+v, want %+v", name, got[name], w)
		}
	}
}
