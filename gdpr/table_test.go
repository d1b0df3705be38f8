package gdpr_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/gdpr"
	"crmsync/gdpr/layout"
	csvsource "crmsync/sources/csv"
)

// testLayout is a table of every kind of column, with a nested object and
// a related record.
var testLayout = &layout.Layout{
	Columns: []layout.Column{
		{Name: "id", Path: []string{"id"}},
		{Name: "email", Path: []string{"email"}},
		{Name: "name", Path: []string{"name"}},
		{Name: "offset", Path: []string{"offset"}},
		{Name: "created_at", Kind: layout.Int64, Path: []string{"created_at"}},
		{Name: "has_notes", Kind: layout.Bool, Path: []string{"has_notes"}},
		{Name: "tags", Path: []string{"tags"}},
		{Name: "address_city", Path: []string{"address", "city"}},
		{Name: "address_is_company", Kind: layout.Bool, Path: []string{"address", "is_company"}},
		{Name: "owner_name", Related: "owner", Path: []string{"name"}},
	},
	Related: []string{"owner"},
}

// testCustomers are customer objects of testLayout's CRM: full, sparse,
// and with what a spreadsheet would run.
var testCustomers = []string{
	`{"id":"6f1c9a52-5b7e-4d3a-9c1e-2a4b6c8d0e1f","email":"Jana.Novak@example.cz","name":"Jana","offset":"+01:00",
	  "created_at":1717171717,"has_notes":false,"tags":["vip"],"address":{"city":"Praha","is_company":true},"loyalty_tier":"gold"}`,
	`{"id":"c2","email":"x@example.com","name":"Émile \"the\" <b>","created_at":5,"has_notes":true,"address":null}`,
	`{"id":"c3","name":"=HYPERLINK(\"http://x.example/\")"}`,
}

// TestExportTableWriters writes the same rows in each format and reads them
// back with a reader that is not ours.
func TestExportTableWriters(t *testing.T) {
	cols := testLayout.Table()
	var rows []layout.Row
	for i, in := range testCustomers {
		related := map[string]json.RawMessage{"owner": json.RawMessage(`{"name":"Ana García"}`)}
		if i > 0 {
			related = nil
		}
		r, err := testLayout.Flatten(json.RawMessage(in), related)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	for _, format := range gdpr.Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := gdpr.NewTableWriter(format, &buf, cols)
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
			got := readTable(t, format, cols, buf.Bytes())
			if len(got) != len(rows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
			}
			for i := range rows {
				for j, c := range cols {
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
	if _, err := gdpr.NewTableWriter("xlsx", &bytes.Buffer{}, cols); err == nil {
		t.Error("an unknown format was accepted")
	}
}

// readTable reads a table written by a TableWriter with the standard
// readers of each format.
func readTable(t *testing.T, format string, cols []layout.Column, data []byte) []layout.Row {
	t.Helper()
	var out []layout.Row
	switch format {
	case "jsonl":
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if len(m) != len(cols) {
				t.Errorf("a line has %d keys, want %d", len(m), len(cols))
			}
			row := make(layout.Row, len(cols))
			for i, c := range cols {
				switch v := m[c.Name].(type) {
				case nil:
					row[i] = layout.Value{Null: true}
				case string:
					row[i] = layout.Value{Str: v}
				case bool:
					row[i] = layout.Value{Bool: v}
				case json.Number:
					n, err := v.Int64()
					if err != nil {
						t.Fatal(err)
					}
					row[i] = layout.Value{Int: n}
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
		for i, c := range cols {
			if recs[0][i] != c.Name {
				t.Fatalf("header %d is %q, want %q", i, recs[0][i], c.Name)
			}
		}
		for _, rec := range recs[1:] {
			row := make(layout.Row, len(rec))
			for i, c := range cols {
				row[i] = textValue(t, c.Kind, rec[i])
			}
			out = append(out, row)
		}
	case "parquet":
		out = readParquet(t, cols, data)
	}
	return out
}

func textValue(t *testing.T, k layout.Kind, s string) layout.Value {
	t.Helper()
	if s == "" {
		return layout.Value{Null: true}
	}
	switch k {
	case layout.Int64:
		var v layout.Value
		if err := json.Unmarshal([]byte(s), &v.Int); err != nil {
			t.Fatal(err)
		}
		return v
	case layout.Bool:
		return layout.Value{Bool: s == "true"}
	}
	return layout.Value{Str: s}
}

func readParquet(t *testing.T, cols []layout.Column, data []byte) []layout.Row {
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
	for i, f := range gdpr.ParquetSchema(cols).Fields() {
		if g := s.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || !g.Nullable {
			t.Errorf("column %d is %s %s (nullable %v), want %s %s", i, g.Name, g.Type, g.Nullable, f.Name, f.Type)
		}
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var out []layout.Row
	for rr.Next() {
		rec := rr.Record()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make(layout.Row, rec.NumCols())
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

func cell(a arrow.Array, i int) layout.Value {
	if a.IsNull(i) {
		return layout.Value{Null: true}
	}
	switch a := a.(type) {
	case *array.String:
		return layout.Value{Str: a.Value(i)}
	case *array.Int64:
		return layout.Value{Int: a.Value(i)}
	case *array.Boolean:
		return layout.Value{Bool: a.Value(i)}
	}
	panic("unexpected column type " + a.DataType().String())
}
