package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantErr is one problem Load must report, at an exact place.
type wantErr struct {
	line, col int
	msg       string // a part of the message
}

func TestLoadErrors(t *testing.T) {
	const head = "api: tamio\nkey: customer_id\nfields:\n  name: full_name\n"
	cases := []struct {
		name, yaml string
		want       []wantErr
	}{
		{"unknown field", "api: tamio\nkey: customer_id\nfields:\n  emial: lower(email)\n  name: full_name\n",
			[]wantErr{{4, 3, `field "emial": not a tamio field (did you mean "email"?)`}}},
		{"unknown field far from any", head + "  fax: x\n",
			[]wantErr{{5, 3, `field "fax": not a tamio field`}}},
		{"syntax error", head + "  email: lower(email\n",
			[]wantErr{{5, 20, `field "email": the expression ends too early`}}},
		{"syntax error in single quotes", head + "  email: 'lower(email))'\n",
			[]wantErr{{5, 23, `field "email": unexpected ")"`}}},
		{"syntax error after unicode", head + "  company: 'concat(\"Café\", ))'\n",
			[]wantErr{{5, 29, `unexpected ")"`}}},
		{"syntax error in a block", head + "  company: |\n    trim(\n      x) +\n    y)\n",
			[]wantErr{{8, 6, `field "company": unexpected ")"`}}},
		{"unknown function", head + "  email: lowr(email)\n",
			[]wantErr{{5, 10, `field "email": unknown function lowr (did you mean "lower"?)`}}},
		{"unknown function in a pipe", head + "  email: email | trimm()\n",
			[]wantErr{{5, 18, `unknown function trimm (did you mean "trim"?)`}}},
		{"too many arguments", head + "  email: 'lower(email, 1)'\n",
			[]wantErr{{5, 11, `lower takes 1 argument, got 2`}}},
		{"too few arguments", head + "  email: 'replace(email, \"@\")'\n",
			[]wantErr{{5, 11, `replace needs 3 arguments, got 2`}}},
		{"wrong type in a variadic call", head + "  company: 'concat(1, x)'\n",
			[]wantErr{{5, 13, `argument 1 of concat must be text, not a whole number`}}},
		{"wrong type beside an optional argument", head + "  phone: 'phone(49, \"DE\")'\n",
			[]wantErr{{5, 11, `argument 1 of phone must be text, not a whole number`}}},
		{"optional arguments", head + "  phone: 'phone()'\n",
			[]wantErr{{5, 11, `phone needs 1 or 2 arguments, got 0`}}},
		{"wrong argument type", head + "  email: \"lower(1)\"\n",
			[]wantErr{{5, 11, `argument 1 of lower must be text, not a whole number`}}},
		{"text where a number goes", head + "  company: 'split(x, \",\", \"1\")'\n",
			[]wantErr{{5, 13, `argument 3 of split must be a whole number, not text`}}},
		{"mapped twice", head + "  name: email\n",
			[]wantErr{{5, 3, `field "name" is mapped twice (first on line 4)`}}},
		{"unknown section", "api: tamio\nkey: customer_id\nfeilds:\n  name: full_name\n",
			[]wantErr{{3, 1, `unknown section "feilds" (did you mean "fields"?)`}, {1, 1, "fields is missing"}}},
		{"api mismatch", "api: hubspot\nkey: customer_id\nfields:\n  name: full_name\n",
			[]wantErr{{1, 6, `api is "hubspot", but this sink is tamio`}}},
		{"api missing", "key: customer_id\nfields:\n  name: full_name\n",
			[]wantErr{{1, 1, "api is missing; add api: tamio"}}},
		{"key missing", "api: tamio\nfields:\n  name: full_name\n",
			[]wantErr{{1, 1, "key is missing"}}},
		{"key blank", "api: tamio\nkey: ''\nfields:\n  name: full_name\n",
			[]wantErr{{2, 6, "key must name a source column"}}},
		{"required on update unmapped", "api: tamio\nkey: customer_id\nfields:\n  email: email\n",
			[]wantErr{{3, 1, `field "name" is not mapped, but tamio requires it on every update`}}},
		{"lookup file missing", "api: tamio\nkey: customer_id\nlookups:\n  teammates: {file: nope.csv, key: email, value: id}\nfields:\n  name: full_name\n",
			[]wantErr{{4, 21, `lookup "teammates": file`}}},
		{"lookup key column missing", "api: tamio\nkey: customer_id\nlookups:\n  teammates: {file: teammates.csv, key: mail, value: id}\nfields:\n  name: full_name\n",
			[]wantErr{{4, 41, `teammates.csv has no column "mail" (did you mean "email"?)`}}},
		{"lookup value column missing", "api: tamio\nkey: customer_id\nlookups:\n  teammates:\n    file: teammates.csv\n    key: email\n    value: uuid\nfields:\n  name: full_name\n",
			[]wantErr{{7, 12, `has no column "uuid"`}}},
		{"lookup without columns", "api: tamio\nkey: customer_id\nlookups:\n  teammates: {file: teammates.csv}\nfields:\n  name: full_name\n",
			[]wantErr{{4, 3, `lookup "teammates": needs key and value`}}},
		{"lookup unknown setting", "api: tamio\nkey: customer_id\nlookups:\n  teammates: {file: teammates.csv, key: email, value: id, ignorecase: true}\nfields:\n  name: full_name\n",
			[]wantErr{{4, 59, `unknown setting "ignorecase" (did you mean "ignore_case"?)`}}},
		{"unknown lookup table", "api: tamio\nkey: customer_id\nlookups:\n  teammates: {file: teammates.csv, key: email, value: id}\nfields:\n  name: full_name\n  teammate_id: lookup(\"teamates\", owner)\n",
			[]wantErr{{7, 23, `no lookup table "teamates" (did you mean "teammates"?)`}}},
		{"lookup table not constant", head + "  teammate_id: lookup(owner, owner)\n",
			[]wantErr{{5, 23, "the table of lookup must be a quoted name"}}},
		{"bad regex", head + "  company: regex(x, \"[a-\")\n",
			[]wantErr{{5, 21, `invalid regular expression: missing closing ]: "[a-"`}}},
		{"regex group out of range", head + "  company: regex(x, \"(a)\", 2)\n",
			[]wantErr{{5, 28, "the pattern has 1 groups; there is no group 2"}}},
		{"bad date layout", head + "  company: date(x, \"dd/mm/yyyy\", \"YYYY-MM-DD\")\n",
			[]wantErr{{5, 20, `date layout "dd/mm/yyyy" has minutes (mm) but no hour`}}},
		{"date layout without fields", head + "  company: date(x, \"DD/MM/YYYY\", \"qqq\")\n",
			[]wantErr{{5, 34, `date layout "qqq" has no date or time fields`}}},
		{"bad phone region", head + "  phone: phone(x, \"ZZ\")\n",
			[]wantErr{{5, 19, `"ZZ" is not a region`}}},
		{"bad options", "api: tamio\nkey: customer_id\noptions:\n  phone_region: XX\n  phone_validaton: strict\nfields:\n  name: full_name\n",
			[]wantErr{{4, 17, `phone_region: "XX" is not a region`}, {5, 3, `unknown option "phone_validaton" (did you mean "phone_validation"?)`}}},
		{"bad phone_validation", "api: tamio\nkey: customer_id\noptions:\n  phone_validation: full\nfields:\n  name: full_name\n",
			[]wantErr{{4, 21, "phone_validation must be plan"}}},
		{"disabled builtin", head + "  company: now()\n",
			[]wantErr{{5, 12, "now is not available in mappings"}}},
		{"col with a variable", head + "  company: col(x)\n",
			[]wantErr{{5, 12, `col takes one quoted column name`}}},
		{"reserved column", head + "  company: _row\n",
			[]wantErr{{5, 12, `column "_row" is one crmsync adds to its reject files`}}},
		{"reserved column by col", head + "  company: 'trim(col(\"_code\"))'\n",
			[]wantErr{{5, 18, `column "_code" is one crmsync adds to its reject files`}}},
		{"env", head + "  company: $env\n",
			[]wantErr{{5, 12, "unknown name $env"}}},
		{"constant fails at load", head + "  country: country(\"Atlantis\")\n",
			[]wantErr{{5, 12, `"Atlantis" is not a country name`}}},
		{"constant list", head + "  company: '[1, 2]'\n",
			[]wantErr{{5, 12, "the expression gives a list, not text"}}},
		{"constant map", head + "  company: \"{'a': 1}\"\n",
			[]wantErr{{5, 12, "the expression gives a map, not text"}}},
		{"empty expression", head + "  company:\n",
			[]wantErr{{5, 11, `field "company" has no expression`}}},
		{"null expression", head + "  company: ~\n",
			[]wantErr{{5, 12, `field "company" has no expression`}}},
		{"list instead of expression", head + "  company: [a, b]\n",
			[]wantErr{{5, 12, `expected an expression`}}},
		{"bad const", head + "  company: {const: [a]}\n",
			[]wantErr{{5, 12, `expected an expression or {const: value}`}}},
		{"negative truncate", head + "  company: 'truncate(x, -1)'\n",
			[]wantErr{{5, 25, "truncate needs a length of 0 or more, not -1"}}},
		{"yaml syntax", "key: [\n", []wantErr{{1, 0, "did not find expected node content"}}},
		{"empty file", "", []wantErr{{0, 0, "the file is empty"}}},
		{"not a map", "- a\n- b\n", []wantErr{{1, 1, "expected a map with api, key and fields"}}},
		{"two documents", "api: tamio\n---\napi: tamio\n", []wantErr{{2, 1, "one YAML document"}}},
		{"duplicate section", "api: tamio\napi: tamio\nkey: id\nfields:\n  name: n\n", []wantErr{{2, 1, "api is given twice (first on line 1)"}}},
		{"several at once", head + "  emial: x\n  phone: lowr(x)\n  company: 'concat(x'\n",
			[]wantErr{{5, 3, `"emial"`}, {6, 10, "unknown function lowr"}, {7, 20, "ends too early"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeMapping(t, c.yaml)
			_, err := Load(path, tamioSchema())
			if err == nil {
				t.Fatal("Load succeeded")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T %v is not an Errors", err, err)
			}
			if len(es) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(c.want), err)
			}
			for i, w := range c.want {
				e := es[i]
				if e.File != path || e.Line != w.line || e.Column != w.col || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("error %d:\n got %s:%d:%d: %s\nwant %s:%d:%d: …%s…", i, e.File, e.Line, e.Column, e.Msg, path, w.line, w.col, w.msg)
				}
				prefix := path + ":"
				if !strings.HasPrefix(e.Error(), prefix) {
					t.Errorf("error %q does not start with %q", e.Error(), prefix)
				}
			}
		})
	}
}

func TestLoadErrorsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("api: tamio\nkey: id\nfields:\n  name: n\n")
	for i := range 100 {
		b.WriteString("  nope" + strings.Repeat("x", i) + ": x\n")
	}
	_, err := Load(writeMapping(t, b.String()), tamioSchema())
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	if len(es) != maxErrors+1 || !strings.Contains(es[maxErrors].Msg, "and 75 more problems") {
		t.Fatalf("got %d errors, last %q", len(es), es[len(es)-1].Msg)
	}
}

func TestLoadFileErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), tamioSchema()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(samplePath, nil); err == nil {
		t.Error("nil schema accepted")
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxMappingFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, tamioSchema()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
}

func TestLoadSample(t *testing.T) {
	m := loadSample(t)
	if m.API() != "tamio" || m.KeyColumn() != "customer_id" || m.Path() != samplePath {
		t.Errorf("API %q key %q path %q", m.API(), m.KeyColumn(), m.Path())
	}
	wantCols := []string{"customer_id", "email", "full_name", "Company Name", "country_name", "lang", "tz", "phone_raw", "owner_email"}
	if got := m.Columns(); strings.Join(got, "|") != strings.Join(wantCols, "|") {
		t.Errorf("Columns = %q, want %q", got, wantCols)
	}
	mapped := m.Mapped()
	for i, f := range tamioSchema().Fields {
		if !mapped[i] {
			t.Errorf("field %s not mapped", f.Name)
		}
	}
	s := tamioSchema()
	if got := m.Expression(s.Index("email")); got != "lower(trim(email))" {
		t.Errorf("Expression(email) = %q", got)
	}
	if got := m.Expression(s.Index("priority")); got != `"normal"` {
		t.Errorf("Expression(priority) = %q", got)
	}
	if m.Expression(-1) != "" || m.Expression(99) != "" {
		t.Error("Expression out of range is not empty")
	}
	if w := m.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
	// The accessors hand out copies.
	m.Columns()[0] = "x"
	m.Mapped()[0] = false
	if m.Columns()[0] != "customer_id" || !m.Mapped()[0] {
		t.Error("accessors expose the mapping's own slices")
	}
	// Each field takes the cheapest evaluator that can run it.
	kinds := map[string]fieldKind{}
	for _, f := range m.fields {
		kinds[f.name] = f.kind
	}
	for name, want := range map[string]fieldKind{"email": fkDirect, "timezone_offset": fkColumn, "priority": fkConst,
		"category": fkConst, "phone": fkDirect, "teammate_id": fkDirect, "company": fkDirect} {
		if kinds[name] != want {
			t.Errorf("field %s runs as %d, want %d", name, kinds[name], want)
		}
	}
}

func TestWarnings(t *testing.T) {
	m, err := Load(writeMapping(t, "api: tamio\nkey: id\nfields:\n  name: n\n"), tamioSchema())
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(m.Warnings(), "\n")
	for _, f := range []string{`"email"`, `"country"`} {
		if !strings.Contains(w, f) {
			t.Errorf("no warning about %s in %q", f, w)
		}
	}
}

func TestYAMLForms(t *testing.T) {
	p := bindYAML(t, `# every way to write a field
api: tamio
key: "customer_id"
fields:
  name: &n first_word(full_name)
  last_name: >-
    rest_words(
      full_name)
  company: |
    let c = trim(col("Company Name"));
    c == "" ? "n/a" : c
  priority: {const: high}
  category: '"lead"'
  locale: "'en'"
  timezone_offset: '"+01:00"'
  country: *n
`)
	var rec = applySample(t, p)
	want := map[string]string{"name": "Ana", "last_name": "María López", "company": "ACME GmbH",
		"priority": "high", "category": "lead", "locale": "en", "timezone_offset": "+01:00", "country": "Ana"}
	s := tamioSchema()
	for f, v := range want {
		if got := rec.Values[s.Index(f)]; got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}

func TestNumberAndBoolConstants(t *testing.T) {
	p := bindYAML(t, "api: tamio\nkey: customer_id\nfields:\n  name: 42\n  company: true\n  last_name: 1.50\n"+
		"  locale: {const: 007}\n  timezone_offset: 2024-01-31\n  email: 1e3\n  phone: '1 + 2'\n")
	rec := applySample(t, p)
	s := tamioSchema()
	for f, v := range map[string]string{"name": "42", "company": "true", "last_name": "1.50", "locale": "007",
		"timezone_offset": "2024-01-31", "email": "1e3", "phone": "3"} {
		if got := rec.Values[s.Index(f)]; got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}
