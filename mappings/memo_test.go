package mappings

import (
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"crmsync/internal/fixtures"
	"crmsync/pipeline"
)

func loadShipped(t testing.TB) *Program {
	t.Helper()
	m, err := Load(filepath.Join("..", "samples", "customers.tamio.yaml"), tamioSchema())
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Bind(fixtures.Columns, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMemoAgrees maps a generated export, bad rows included, with one
// program (whose runners remember results) and, row by row, with fresh
// programs that have remembered nothing: every record and reject must be
// the same.
func TestMemoAgrees(t *testing.T) {
	p := loadShipped(t)
	var rows []pipeline.Row
	err := fixtures.Generate(fixtures.Options{Rows: 6000, Seed: 9, BadShare: 0.1}, func(c fixtures.Customer) error {
		rows = append(rows, pipeline.Row{Num: int64(len(rows) + 1), Values: c.Values})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One runner for the whole export, as a mapping worker has; a new one
	// for every row, which has remembered nothing.
	memo := p.pool.New().(*runner)
	mapRow := func(r *runner, row *pipeline.Row) ([]string, *pipeline.Reject) {
		r.values = row.Values
		vals := make([]string, len(p.m.schema.Fields))
		for _, f := range p.m.fields {
			v, rej := p.field(f, row, &r)
			if rej != nil {
				return nil, rej
			}
			vals[f.field] = v
		}
		return vals, nil
	}
	for i := range rows {
		got, gotRej := mapRow(memo, &rows[i])
		want, wantRej := mapRow(p.pool.New().(*runner), &rows[i])
		if (gotRej == nil) != (wantRej == nil) || gotRej != nil && *gotRej != *wantRej {
			t.Fatalf("row %d: reject %v, without memo %v", i+1, gotRej, wantRej)
		}
		for f := range want {
			if got[f] != want[f] {
				t.Fatalf("row %d field %d: %q, without memo %q", i+1, f, got[f], want[f])
			}
		}
	}
	// The runner gave up remembering emails and phones, and kept the
	// countries.
	for _, name := range []string{"email", "phone"} {
		if fm := memo.memos[tamioSchema().Index(name)]; !fm.off {
			t.Errorf("%s: still remembered after %d rows, %d found", name, fm.tries, fm.hits)
		}
	}
	if fm := memo.memos[tamioSchema().Index("country")]; fm.off || fm.hits == 0 {
		t.Errorf("country: off %v, %d of %d found", fm.off, fm.hits, fm.tries)
	}
}

// TestMemoCopies checks that what is remembered shares no memory with
// the row: Parquet rows are strings over one batch buffer, which a
// remembered key or result (a substring, as first_word gives) would keep
// alive, and which is written again for a later batch.
func TestMemoCopies(t *testing.T) {
	p := loadShipped(t)
	buf := []byte("C1|a@example.com|Ana María López|Germany|+49 30 12345678|ana.garcia@example.com|gold|de|+01:00|")
	values := make([]string, 0, len(fixtures.Columns))
	for start, i := 0, 0; i < len(buf); i++ {
		if buf[i] == '|' {
			values = append(values, unsafe.String(&buf[start], i-start))
			start = i + 1
		}
	}
	values = append(values, "")
	r := p.pool.New().(*runner)
	row := &pipeline.Row{Num: 1, Values: values}
	r.values = row.Values
	for _, f := range p.m.fields {
		if _, rej := p.field(f, row, &r); rej != nil {
			t.Fatal(rej)
		}
	}
	lo := uintptr(unsafe.Pointer(&buf[0]))
	hi := lo + uintptr(len(buf))
	inBuf := func(s string) bool {
		if s == "" {
			return false
		}
		at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return at >= lo && at < hi
	}
	remembered := 0
	for f, fm := range r.memos {
		for k, v := range fm.vals {
			remembered++
			if inBuf(k) || inBuf(v) {
				t.Errorf("field %d remembers %q → %q inside the row's buffer", f, k, v)
			}
		}
	}
	if remembered == 0 {
		t.Fatal("nothing remembered")
	}
}

// TestApplyReusedRecord maps rows into one record, as a caller reusing
// its records does: a rejected row leaves the fields from the failing one
// on empty, never a value of the row before.
func TestApplyReusedRecord(t *testing.T) {
	p := bindSample(t)
	var rec pipeline.Record
	if rej := p.Apply(sampleRow(), &rec); rej != nil {
		t.Fatal(rej)
	}
	schema := tamioSchema()
	phone, teammate, email := schema.Index("phone"), schema.Index("teammate_id"), schema.Index("email")
	if rec.Values[phone] == "" || rec.Values[teammate] == "" {
		t.Fatalf("the sample row maps no phone or teammate: %q", rec.Values)
	}
	bad := sampleRow()
	bad.Values[slices.Index(sampleColumns, "phone_raw")] = "not a phone"
	rej := p.Apply(bad, &rec)
	if rej == nil || rej.Field != "phone" {
		t.Fatalf("a bad phone: reject %v", rej)
	}
	if rec.Values[phone] != "" || rec.Values[teammate] != "" {
		t.Errorf("after a reject at phone, phone %q and teammate %q are left from the row before", rec.Values[phone], rec.Values[teammate])
	}
	if rec.Values[email] == "" {
		t.Error("the email, mapped before the failing field, was cleared")
	}
	short := &pipeline.Row{Num: 3, Values: []string{"C-2"}}
	if rej := p.Apply(short, &rec); rej == nil {
		t.Fatal("a short row was mapped")
	}
	for f, v := range rec.Values {
		if v != "" {
			t.Errorf("after a short row, field %d holds %q", f, v)
		}
	}
}

// Only expressions that cost more than a memo lookup are memoised: in the
// shipped mapping, country, phone, the teammate lookup and the lower-cased
// email; not the words of the name, the default language or the tier
// comparisons, which only scan and pick.
func TestMemoOnlyForCostlyExpressions(t *testing.T) {
	p := loadShipped(t)
	want := map[string]bool{"email": true, "country": true, "phone": true, "teammate_id": true,
		"name": false, "last_name": false, "locale": false, "priority": false}
	for _, f := range p.m.fields {
		w, ok := want[f.name]
		if !ok {
			continue
		}
		if f.kind != fkDirect {
			t.Errorf("%s: compiled as kind %d, not for the direct evaluator", f.name, f.kind)
			continue
		}
		if f.memo != w {
			t.Errorf("%s: memo = %v, want %v", f.name, f.memo, w)
		}
	}
}
