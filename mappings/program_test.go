package mappings

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
)

func TestBindErrors(t *testing.T) {
	m := loadSample(t)
	cases := []struct {
		name    string
		columns []string
		nested  []string
		want    []wantErr
	}{
		{"missing column", without(sampleColumns, "email"), nil,
			[]wantErr{{16, 21, `column "email" is not in the source`}}},
		{"typo in the header", renamed(sampleColumns, "full_name", "fullname"), nil,
			[]wantErr{{17, 20, `column "full_name" is not in the source (did you mean "fullname"?)`}}},
		{"case differs", renamed(sampleColumns, "Company Name", "company name"), nil,
			[]wantErr{{19, 17, `column "Company Name" is not in the source (did you mean "company name"?)`}}},
		{"missing key", without(sampleColumns, "customer_id"), nil,
			[]wantErr{{3, 6, `key column "customer_id" is not in the source`}}},
		{"nested", sampleColumns, []string{"phone_raw", "notes"},
			[]wantErr{{23, 16, `column "phone_raw" is nested (list/struct); crmsync reads only flat columns`}}},
		{"twice in the header", append(append([]string(nil), sampleColumns...), "tz"), nil,
			[]wantErr{{22, 20, `column "tz" appears 2 times in the source header`}}},
		{"several", without(without(sampleColumns, "lang"), "owner_email"), nil,
			[]wantErr{{21, 19, `"lang"`}, {24, 36, `"owner_email"`}}},
		{"empty header", nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Bind(c.columns, c.nested)
			if err == nil {
				t.Fatal("Bind succeeded")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("%T %v", err, err)
			}
			if c.want == nil { // every column missing
				if len(es) != len(m.Columns()) {
					t.Fatalf("got %d errors, want %d", len(es), len(m.Columns()))
				}
				return
			}
			if len(es) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(c.want), err)
			}
			for i, w := range c.want {
				e := es[i]
				if e.File != samplePath || e.Line != w.line || e.Column != w.col || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("got %v\nwant %s:%d:%d: …%s…", e, samplePath, w.line, w.col, w.msg)
				}
			}
		})
	}
	// Unused columns, nested or not, are no concern.
	if _, err := m.Bind(append([]string{"extra"}, sampleColumns...), []string{"extra", "notes"}); err != nil {
		t.Errorf("extra columns: %v", err)
	}
}

func without(cols []string, drop string) []string {
	var out []string
	for _, c := range cols {
		if c != drop {
			out = append(out, c)
		}
	}
	return out
}

func renamed(cols []string, from, to string) []string {
	out := append([]string(nil), cols...)
	for i, c := range out {
		if c == from {
			out[i] = to
		}
	}
	return out
}

func TestApplySample(t *testing.T) {
	p := bindSample(t)
	row := sampleRow()
	rec := applySample(t, p)
	want := []string{"ana.lopez@example.com", "Ana", "María López", "de", "en", "+02:00", "normal", "customer",
		"+49301234567", "0b7e3c55-1d2a-4c3b-8e9f-7a6b5c4d3e21", "ACME GmbH"}
	if strings.Join(rec.Values, "|") != strings.Join(want, "|") {
		t.Errorf("Values\n got %q\nwant %q", rec.Values, want)
	}
	if rec.Key != "C-1001" {
		t.Errorf("Key = %q", rec.Key)
	}
	if rec.Row == nil || rec.Row.Num != row.Num {
		t.Errorf("Row = %v", rec.Row)
	}
	// The sample maps to a valid tamio record.
	s := tamioSchema()
	if r := s.Validate(&rec, p.Mapping().Mapped()); r != nil {
		t.Errorf("Validate: %v", r)
	}
	if r := s.ValidateCreate(&rec); r != nil {
		t.Errorf("ValidateCreate: %v", r)
	}
}

func TestApplyReusesValues(t *testing.T) {
	p := bindSample(t)
	backing := make([]string, 3, 64)
	backing[0] = "stale"
	rec := pipeline.Record{Values: backing, Key: "old"}
	if r := p.Apply(sampleRow(), &rec); r != nil {
		t.Fatal(r)
	}
	if &rec.Values[0] != &backing[:1][0] || len(rec.Values) != len(tamioSchema().Fields) {
		t.Error("Values was not reused")
	}
	// Unmapped fields are emptied, not left from the last row.
	p2 := bindYAML(t, "api: tamio\nkey: customer_id\nfields:\n  name: full_name\n")
	if r := p2.Apply(sampleRow(), &rec); r != nil {
		t.Fatal(r)
	}
	for i, v := range rec.Values {
		if i != 1 && v != "" {
			t.Errorf("field %d kept %q", i, v)
		}
	}
}

func TestApplyRejects(t *testing.T) {
	p := bindSample(t)
	cases := []struct {
		name   string
		edit   func(v []string) []string
		code   string
		column string
		field  string
		msg    string
	}{
		{"empty key", func(v []string) []string { v[0] = "  "; return v }, "missing_key", "customer_id", "", `key column "customer_id" is empty`},
		{"short row", func(v []string) []string { return v[:5] }, "field_count", "", "", "the row has 5 values"},
		{"unknown country", func(v []string) []string { v[4] = "Atlantis"; return v }, "unknown_country", "country_name", "country", `"Atlantis"`},
		{"bad phone", func(v []string) []string { v[7] = "12"; return v }, "bad_phone", "phone_raw", "phone", `"12"`},
		{"lookup miss", func(v []string) []string { v[8] = "eve@acme.example"; return v }, "lookup_miss", "owner_email", "teammate_id", `"eve@acme.example" is not in lookup table "teammates"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := sampleRow()
			row.Values = c.edit(row.Values)
			var rec pipeline.Record
			r := p.Apply(row, &rec)
			if r == nil {
				t.Fatal("not rejected")
			}
			if r.Stage != pipeline.StageMap || r.Code != c.code || r.Column != c.column || r.Field != c.field || !strings.Contains(r.Message, c.msg) {
				t.Errorf("got %+v\nwant code %s column %q field %q message …%s…", r, c.code, c.column, c.field, c.msg)
			}
			if rec.Row != row {
				t.Error("rec.Row not set on a reject")
			}
		})
	}
	if r := p.Apply(nil, &pipeline.Record{}); r == nil || r.Code != "field_count" {
		t.Errorf("nil row: %v", r)
	}
}

// TestRejectColumn checks that a reject names the column the bad value
// came from when the expression reads several.
func TestRejectColumn(t *testing.T) {
	p := bindYAML(t, "api: tamio\nkey: customer_id\noptions: {phone_region: DE}\nfields:\n  name: full_name\n"+
		"  phone: phone(coalesce(phone_raw, notes))\n  country: country(country_name + lang)\n"+
		"  last_name: 'lang == \"\" ? tz : string(int(lang))'\n")
	for _, c := range []struct {
		phone, notes, lang, wantCode, wantCol, wantField string
	}{
		{"", "not a number", "", "bad_phone", "notes", "phone"},
		{" 12 ", "030 1234567", "", "bad_phone", "phone_raw", "phone"},
		{"", "", "12", "unknown_country", "", "country"},
		{"", "", "", "", "", ""},
	} {
		row := sampleRow()
		row.Values[7], row.Values[9], row.Values[5] = c.phone, c.notes, c.lang
		var rec pipeline.Record
		r := p.Apply(row, &rec)
		if c.wantCode == "" {
			if r != nil {
				t.Errorf("%+v: %v", c, r)
			}
			continue
		}
		if r == nil || r.Code != c.wantCode || r.Column != c.wantCol || r.Field != c.wantField {
			t.Errorf("%+v: got %+v", c, r)
		}
	}
	// A runtime error of an expression with two columns names neither.
	row := sampleRow()
	row.Values[5] = "not a number"
	var rec pipeline.Record
	if r := p.Apply(row, &rec); r == nil || r.Code != "expression" || r.Field != "last_name" || r.Column != "" ||
		!strings.Contains(r.Message, "the expression for last_name failed") {
		t.Errorf("runtime error: %+v", r)
	}
}

func TestApplyConcurrent(t *testing.T) {
	p := bindSample(t)
	want := applySample(t, p).Values
	const goroutines, rows = 8, 300
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec pipeline.Record
			for i := range rows {
				row := sampleRow()
				switch i % 3 {
				case 0:
					row.Values[0] = fmt.Sprintf("C-%d-%d", g, i)
				case 1:
					row.Values[7] = "12" // bad_phone
				case 2:
					row.Values[2] = fmt.Sprintf("U%d@X.example", i)
				}
				r := p.Apply(row, &rec)
				switch {
				case i%3 == 1 && (r == nil || r.Code != "bad_phone"):
					errs <- fmt.Sprintf("row %d: want bad_phone, got %v", i, r)
					return
				case i%3 != 1 && r != nil:
					errs <- fmt.Sprintf("row %d: %v", i, r)
					return
				case i%3 == 0 && (rec.Key != row.Values[0] || strings.Join(rec.Values, "|") != strings.Join(want, "|")):
					errs <- fmt.Sprintf("row %d: %q %q", i, rec.Key, rec.Values)
					return
				case i%3 == 2 && rec.Values[0] != fmt.Sprintf("u%d@x.example", i):
					errs <- fmt.Sprintf("row %d: email %q", i, rec.Values[0])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestApplyVMConcurrent runs VM expressions, whose VM state is pooled,
// from many goroutines at once.
func TestApplyVMConcurrent(t *testing.T) {
	p := bindYAML(t, "api: tamio\nkey: customer_id\nfields:\n  name: 'full_name != \"\" ? first_word(full_name) : \"?\"'\n"+
		"  company: 'len(col(\"Company Name\")) > 3 ? upper(trim(col(\"Company Name\"))) : \"\"'\n")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec pipeline.Record
			for i := range 200 {
				row := sampleRow()
				name := fmt.Sprintf("N%d-%d Rest", g, i)
				row.Values[1] = name
				if r := p.Apply(row, &rec); r != nil {
					t.Error(r)
					return
				}
				if rec.Values[1] != fmt.Sprintf("N%d-%d", g, i) || rec.Values[10] != "ACME GMBH" {
					t.Errorf("got %q", rec.Values)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestEvaluatorChoice checks which evaluator each kind of expression gets:
// the direct one whenever it can, since the VM costs several times more.
func TestEvaluatorChoice(t *testing.T) {
	for e, want := range map[string]fieldKind{
		`a`:                              fkColumn,
		`col("a")`:                       fkColumn,
		`"x"`:                            fkConst,
		`country("de")`:                  fkConst,
		`lower(trim(a))`:                 fkDirect,
		`split(a, ",", -1)`:              fkDirect,
		`a + " " + b`:                    fkDirect,
		`a != "" ? a : b`:                fkDirect,
		`a == "" and b == "" ? "" : "x"`: fkDirect,
		`if a == "x" { "y" } else { b }`: fkDirect,
		`len(a) > 2 ? a : b`:             fkVM,
		`a ?? b`:                         fkVM,
		`int(a) + 1`:                     fkVM,
		`a matches "^x" ? a : b`:         fkVM,
		`a == "x" ? nil : a`:             fkVM,
		`let x = trim(a); x`:             fkVM,
		`lookup("categories", a, b)`:     fkDirect,
		`phone(a, country(b))`:           fkDirect,
		`regex(a, "(x)", 1)`:             fkDirect,
		`truncate(a, 3)`:                 fkDirect,
	} {
		p, err := exprMapping(t, e)
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		if got := p.m.fields[0].kind; got != want {
			t.Errorf("%s runs as %d, want %d", e, got, want)
		}
	}
}
