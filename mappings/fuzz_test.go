package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"crmsync/pipeline"
)

// FuzzCompile loads arbitrary mapping files: Load may refuse them, but
// must never panic, and what it accepts must bind and apply.
func FuzzCompile(f *testing.F) {
	sample, err := os.ReadFile(samplePath)
	if err != nil {
		f.Fatal(err)
	}
	tm, err := os.ReadFile("testdata/teammates.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("api: tamio\nkey: id\nfields:\n  name: 'a ? b : c'\n"))
	f.Add([]byte("api: tamio\nkey: id\nfields:\n  name: |\n    let x = trim(n); x + col(\"y z\")\n"))
	f.Add([]byte("api: tamio\nkey: id\nfields:\n  name: 'regex(n, \"(\", 1)'\n  email: &a x\n  company: *a\n"))
	f.Add([]byte("api: tamio\nkey: id\nfields:\n  name: {const: [x]}\n  country: country(\"de\")\n"))
	f.Add([]byte("api: tamio\nkey: id\nfields:\n  name: 'map(1..3, # + 1)'\n"))
	f.Add([]byte("api: tamio\nkey: id\nfields:\n  name: 'filter(splitAfter(n, \",\"), # != \"\") | join(\"-\")'\n"))
	f.Add([]byte("api: tamio\nkey: id\nlookups:\n  t: {values: {a: b}}\nfields:\n  name: 'lookup(\"t\", n ?? \"a\", date_iso(x))'\n"))
	f.Add([]byte("api: tamio\nkey: id\noptions: {phone_region: FR}\nfields:\n  name: phone(p, country(c))\n  email: '$env'\n"))
	f.Add([]byte("api: tamio\nkey: [\n"))
	f.Add([]byte("{{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "teammates.csv"), tm, 0o644); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path, tamioSchema())
		if err != nil {
			if !strings.HasPrefix(err.Error(), path) {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		p, err := m.Bind(m.Columns(), nil)
		if err != nil {
			t.Fatalf("binding to its own columns: %v", err)
		}
		values := make([]string, len(m.Columns()))
		for i := range values {
			values[i] = "x"
		}
		var rec pipeline.Record
		p.Apply(&pipeline.Row{Values: values}, &rec)
		if len(rec.Values) != len(tamioSchema().Fields) {
			t.Fatalf("%d values", len(rec.Values))
		}
	})
}

// FuzzApply maps arbitrary row values with the sample mapping: any value
// may be rejected, none may panic, and a mapped row is well formed.
func FuzzApply(f *testing.F) {
	p := bindSample(f)
	vm := func() *Program {
		vmOnly = true
		defer func() { vmOnly = false }()
		return bindSample(f)
	}()
	f.Add("C-1", "Ana María López", " Ana@Example.COM ", "Germany", "030 1234567", "bob@acme.example")
	f.Add("", "", "", "", "", "")
	f.Add("k", "\xff\xfe", "@@", "276", "+49 (0)30 12345-67", "ANA@ACME.EXAMPLE")
	f.Add("k", " ", "a@b", "Côte d’Ivoire", "0049 30 1234567 ext. 9", "x")
	f.Add("k", strings.Repeat("n ", 500), "x", "usa", "+1 (202) 555-0123", "")
	f.Add("k", "李 小龍", "李@例え.jp", "日本", "０３-１２３４-５６７８", "")
	f.Fuzz(func(t *testing.T, key, name, email, country, phone, owner string) {
		row := sampleRow()
		row.Values[0], row.Values[1], row.Values[2], row.Values[4], row.Values[7], row.Values[8] = key, name, email, country, phone, owner
		var rec, recVM pipeline.Record
		r := p.Apply(row, &rec)
		rVM := vm.Apply(row, &recVM)
		if (r == nil) != (rVM == nil) || (r != nil && (r.Code != rVM.Code || r.Field != rVM.Field)) {
			t.Fatalf("evaluators disagree: %v / %v", r, rVM)
		}
		if r != nil {
			if r.Stage != pipeline.StageMap || r.Code == "" || r.Message == "" {
				t.Fatalf("incomplete reject %+v", r)
			}
			return
		}
		if strings.Join(rec.Values, "\x00") != strings.Join(recVM.Values, "\x00") {
			t.Fatalf("evaluators disagree: %q / %q", rec.Values, recVM.Values)
		}
		if rec.Key == "" || rec.Key != strings.TrimSpace(key) {
			t.Fatalf("key %q from %q", rec.Key, key)
		}
		if ph := rec.Values[8]; ph != "" && (ph[0] != '+' || len(ph) < 4) {
			t.Fatalf("phone %q from %q", ph, phone)
		}
		if c := rec.Values[3]; c != "" && !pipeline.IsCountryCode(c) {
			t.Fatalf("country %q from %q", c, country)
		}
	})
}

// FuzzExpression compiles one arbitrary expression, with the lookup tables
// and options of exprMapping, and maps a row of arbitrary values with it
// on both evaluators. Load and Bind may refuse the expression, naming a
// place in the file; neither may panic, and an expression they accept
// maps every row the same way on the direct evaluator and the VM.
func FuzzExpression(f *testing.F) {
	tm, err := os.ReadFile("testdata/teammates.csv")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct{ expr, a, b string }{
		{"a", " x ", ""},
		{`lower(trim(a)) + "@" + b`, " Ana ", "example.com"},
		{`a != "" ? title(a) : default(b, "n/a")`, "", "y"},
		{`phone(a, country(b))`, "030 1234567", "Deutschland"},
		{`date(a, "DD/MM/YYYY", "YYYY-MM-DD")`, "31/01/2024", ""},
		{`date_iso(a)`, "01/02/2024", ""},
		{`lookup("teammates", a, "none")`, "ANA.GARCIA@EXAMPLE.COM", ""},
		{`lookup("categories", a)`, "Lead", ""},
		{`regex(a, "([0-9]+)-([0-9]+)", 2)`, "12-34", ""},
		{`regex_replace(a, "\\s+", " ")`, "a \t b", ""},
		{`split(a, ",", -1) + join("-", b, c)`, "x,y", " z "},
		{`truncate(a, 3) + digits(b)`, "abcdef", "+49 (30) 12"},
		{`email(a) ?? "x"`, "Ana <ana@X.COM>", ""},
		{`let x = trim(a); x == "" ? nil : upper(x)`, " a ", ""},
		{`len(a) > 3 ? a[0:3] : a`, "abcdef", ""},
		{`map(split(a, ""), # + "")`, "abc", ""},
		{`int(a) + 1`, "41", ""},
		{`a matches "^[a-z]+$"`, "abc", ""},
		{`col("a") + col("d")`, "x", ""},
		{`country_alpha3(a) + country_name(b)`, "de", "KOR"},
		{`coalesce(a, b, "z")`, " ", ""},
		{`replace(a, "", "x")`, "abc", ""},
		{`1..3`, "", ""},
		{`{"a": 1}`, "", ""},
		{`a +`, "", ""},
		{`unknown(a)`, "", ""},
		{`now()`, "", ""},
		{`phone(a, "ZZ")`, "1", ""},
		{`date(a, "mm", "YYYY")`, "1", ""},
		{`date(a, "DD/MM/YYYY")`, "31/01/2024", ""},
		{`len(split(a, ";")) > 1 ? split(a, ";", 1) : b`, "x;y", "z"},
		{`join(",", a, b) + string(len(list(a, b)))`, "x", ""},
		{`split(a, b)`, "x;y", ";"},
		{`concat(a, null())`, "x", ""},
		{`a == "" ? null() : a`, "", ""},
		{`a == b`, "x", "x"},
		{`concat(1, a)`, "x", ""},
	} {
		f.Add(seed.expr, seed.a, seed.b)
	}
	f.Fuzz(func(t *testing.T, expr, a, b string) {
		if !utf8.ValidString(expr) {
			return // YAML would hold it as !!binary: not an expression any more
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "teammates.csv"), tm, 0o644); err != nil {
			t.Fatal(err)
		}
		doc, err := yaml.Marshal(map[string]any{
			"api": "t", "key": "id",
			"options": map[string]any{"phone_region": "DE"},
			"lookups": map[string]any{
				"teammates":  map[string]any{"file": "teammates.csv", "key": "email", "value": "id", "ignore_case": true},
				"categories": map[string]any{"values": map[string]string{"Customer": "customer", "Lead": "lead"}},
			},
			"fields": map[string]any{"out": expr},
		})
		if err != nil {
			t.Fatal(err)
		}
		// What the file says, which yaml.v3 does not always write as it
		// was given: "\n0" comes back as "0".
		var back struct{ Fields map[string]string }
		if err := yaml.Unmarshal(doc, &back); err != nil {
			t.Fatal(err)
		}
		want := back.Fields["out"]
		path := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(doc), "\n") + 1
		checkErr := func(op string, err error) {
			t.Helper()
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("%s: %T %v, want Errors", op, err, err)
			}
			for _, e := range es {
				if e.File != path || e.Msg == "" || e.Line < 0 || e.Line > lines || e.Column < 0 {
					t.Fatalf("%s: error %q out of the file's %d lines:\n%s", op, e, lines, doc)
				}
			}
		}
		compile := func(onlyVM bool) (*Program, bool) {
			vmOnly = onlyVM
			defer func() { vmOnly = false }()
			m, err := Load(path, exprSchema)
			if err != nil {
				checkErr("Load", err)
				return nil, false
			}
			if got := m.Expression(0); got != want {
				t.Fatalf("field out: expression %q as read from the file, want %q:\n%s", got, want, doc)
			}
			p, err := m.Bind(exprColumns, nil)
			if err != nil {
				checkErr("Bind", err)
				return nil, false
			}
			return p, true
		}
		p, ok := compile(false)
		pVM, okVM := compile(true)
		if ok != okVM {
			t.Fatalf("compiled %v for the direct evaluator, %v for the VM", ok, okVM)
		}
		if !ok {
			return
		}
		row := &pipeline.Row{Num: 1, Values: []string{"k", a, b, a + b, ""}}
		var rec, recVM pipeline.Record
		r, rVM := p.Apply(row, &rec), pVM.Apply(row, &recVM)
		if (r == nil) != (rVM == nil) || (r != nil && (r.Code != rVM.Code || r.Field != rVM.Field)) {
			t.Fatalf("evaluators disagree: %+v / %+v", r, rVM)
		}
		if r != nil {
			if r.Stage != pipeline.StageMap || r.Code == "" || r.Message == "" || r.Field != "out" {
				t.Fatalf("incomplete reject %+v", r)
			}
			return
		}
		if rec.Values[0] != recVM.Values[0] {
			t.Fatalf("evaluators disagree: %q / %q", rec.Values[0], recVM.Values[0])
		}
	})
}

// FuzzKinds compiles one arbitrary expression onto a field of each kind of
// kindSchema (list, bool, int, decimal, date; clearable or not) and maps a
// row of arbitrary values with it on both evaluators, which must agree;
// a value a list function gave is a list's canonical text.
func FuzzKinds(f *testing.F) {
	for _, seed := range []struct {
		field      uint8
		expr, a, b string
	}{
		{3, `split(a, ";")`, " vip; gold ;;", ""},
		{3, `list(a, b)`, "x", " "},
		{3, `a == "-" ? null() : split(a, b)`, "-", ","},
		{3, `map(split(a, ";"), upper(#))`, "x;y", ""},
		{3, `filter(split(a, ""), # != b)`, "abc", "b"},
		{3, `a`, `["x","y"]`, ""},
		{4, `a == "Y"`, "Y", ""},
		{4, `lower(a) in ["y", "yes"] or b != ""`, "N", ""},
		{5, `int(a) * 2`, "21", ""},
		{6, `float(a) / float(b)`, "1", "3"},
		{7, `date(a, "DD/MM/YYYY")`, "31/01/2024", ""},
		{7, `date_iso(a)`, "2024-01-31 10:00", ""},
		{2, `a == "Y" ? null() : phone(b, "DE")`, "N", "030 1234567"},
		{1, `default(a, null())`, " ", ""},
		{1, `a + null()`, "x", ""},
		{0, `null()`, "", ""},
	} {
		f.Add(seed.field, seed.expr, seed.a, seed.b)
	}
	f.Fuzz(func(t *testing.T, field uint8, expr, a, b string) {
		if !utf8.ValidString(expr) {
			return
		}
		target := &kindSchema.Fields[int(field)%len(kindSchema.Fields)]
		doc, err := yaml.Marshal(map[string]any{"api": "w", "key": "id", "fields": map[string]any{target.Name: expr}})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "m.yaml")
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		compile := func(onlyVM bool) *Program {
			vmOnly = onlyVM
			defer func() { vmOnly = false }()
			m, err := Load(path, kindSchema)
			if err != nil {
				var es Errors
				if !errors.As(err, &es) || len(es) == 0 {
					t.Fatalf("Load: %T %v, want Errors", err, err)
				}
				return nil
			}
			p, err := m.Bind(exprColumns, nil)
			if err != nil {
				return nil
			}
			return p
		}
		p, pVM := compile(false), compile(true)
		if (p == nil) != (pVM == nil) {
			t.Fatalf("compiled %v for the direct evaluator, %v for the VM", p != nil, pVM != nil)
		}
		if p == nil {
			return
		}
		fi := kindSchema.Index(target.Name)
		row := &pipeline.Row{Num: 1, Values: []string{"k", a, b, a + b, ""}}
		var rec, recVM pipeline.Record
		r, rVM := p.Apply(row, &rec), pVM.Apply(row, &recVM)
		if (r == nil) != (rVM == nil) || (r != nil && (r.Code != rVM.Code || r.Field != rVM.Field)) {
			t.Fatalf("evaluators disagree: %+v / %+v", r, rVM)
		}
		if r != nil {
			if r.Stage != pipeline.StageMap || r.Code == "" || r.Message == "" || r.Field != target.Name {
				t.Fatalf("incomplete reject %+v", r)
			}
			return
		}
		v := rec.Values[fi]
		if v != recVM.Values[fi] {
			t.Fatalf("evaluators disagree: %q / %q", v, recVM.Values[fi])
		}
		if v == pipeline.Null && !target.CanClear() {
			t.Fatalf("null on %s, which cannot be cleared", target.Name)
		}
		if strings.IndexByte(v, 0) >= 0 && v != pipeline.Null && strings.Contains(expr, "null") {
			t.Fatalf("null() inside text: %q", v)
		}
		fp := pVM.m.fields[0]
		if fp.kind == fkFinish {
			fp = fp.inner
		}
		if fp.kind == fkVM && fp.prog.Node().Type().Kind() == reflect.Slice && v != "" {
			// The expression gives a list whatever the row: its value is
			// a list's canonical text.
			if c, ok := pipeline.Canonical(pipeline.KindList, v); !ok || c != v || c == "[]" {
				t.Fatalf("list field holds %q, not canonical list text", v)
			}
		}
	})
}
