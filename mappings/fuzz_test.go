package mappings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
