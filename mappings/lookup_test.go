package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// lookupMapping loads a mapping whose lookup reads the given CSV.
func lookupMapping(t *testing.T, table, csv string) (*Mapping, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.yaml")
	src := "api: t\nkey: id\nlookups:\n  t: " + table + "\nfields:\n  out: lookup(\"t\", a)\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(path, exprSchema)
}

func lookupOne(t *testing.T, m *Mapping, key string) (string, *pipeline.Reject) {
	t.Helper()
	p, err := m.Bind(exprColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rec pipeline.Record
	r := p.Apply(&pipeline.Row{Values: []string{"k", key, "", "", ""}}, &rec)
	return rec.Values[0], r
}

func TestLookupFiles(t *testing.T) {
	cases := []struct {
		name, table, csv string
		key, want        string
		err              string
	}{
		{"plain", "{file: t.csv, key: k, value: v}", "k,v\nx,1\ny,2\n", "y", "2", ""},
		{"trimmed", "{file: t.csv, key: k, value: v}", "k,v\n x , 1 \n", " x", "1", ""},
		{"bom and crlf", "{file: t.csv, key: k, value: v}", "\uFEFFk,v\r\nx,1\r\n", "x", "1", ""},
		{"semicolons", "{file: t.csv, key: k, value: v, delimiter: ';'}", "k;v\nx;1,5\n", "x", "1,5", ""},
		{"quoted", "{file: t.csv, key: k, value: v}", "k,v\n\"a, b\",\"say \"\"hi\"\"\"\n", "a, b", `say "hi"`, ""},
		{"ignore case", "{file: t.csv, key: k, value: v, ignore_case: true}", "k,v\nÉmile@X.org,1\n", "émile@x.ORG", "1", ""},
		{"case matters", "{file: t.csv, key: k, value: v}", "k,v\nX,1\n", "x", "", "lookup_miss"},
		{"same key, same value", "{file: t.csv, key: k, value: v}", "k,v\nx,1\nx,1\n", "x", "1", ""},
		{"blank keys skipped", "{file: t.csv, key: k, value: v}", "k,v\n,1\nx,2\n", "x", "2", ""},
		{"header only", "{file: t.csv, key: k, value: v}", "k,v\n", "x", "", "lookup_miss"},
		{"same key, other value", "{file: t.csv, key: k, value: v}", "k,v\nx,1\ny,2\nx,3\n", "", "", "t.csv:4: key \"x\" is also on line 2"},
		{"folded keys collide", "{file: t.csv, key: k, value: v, ignore_case: true}", "k,v\nX,1\nx,2\n", "", "", "is also on line 2"},
		{"ragged", "{file: t.csv, key: k, value: v}", "k,v\nx,1,extra\n", "", "", "wrong number of fields"},
		{"bad quotes", "{file: t.csv, key: k, value: v}", "k,v\n\"x,1\n", "", "", "t.csv"},
		{"empty file", "{file: t.csv, key: k, value: v}", "", "", "", "is empty"},
		{"bad delimiter", "{file: t.csv, key: k, value: v, delimiter: ';;'}", "k;v\n", "", "", "delimiter must be one character"},
		{"bad ignore_case", "{file: t.csv, key: k, value: v, ignore_case: maybe}", "k,v\n", "", "", "ignore_case must be true or false"},
		{"file and values", "{file: t.csv, values: {a: b}}", "k,v\n", "", "", "either file or values"},
		{"values with key", "{values: {a: b}, key: k}", "", "", "", "go with file"},
		{"values", "{values: {Customer: customer, 'Lead ': lead}}", "", "Lead", "lead", ""},
		{"values not a map", "{values: [a, b]}", "", "", "", "values must be a map"},
		{"values clash", "{values: {a: x, A: y}, ignore_case: true}", "", "", "", `key "A" is given twice`},
		{"not a map", "teammates.csv", "", "", "", "expected file, key and value"},
		{"nothing", "{ignore_case: true}", "", "", "", "needs file (a CSV file) or values"},
		{"setting twice", "{file: t.csv, file: t.csv, key: k, value: v}", "k,v\n", "", "", "file is given twice"},
		{"list as file", "{file: [a], key: k, value: v}", "k,v\n", "", "", "expected a name here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := lookupMapping(t, c.table, c.csv)
			if c.err != "" && !strings.HasPrefix(c.err, "lookup_") {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want …%s…", err, c.err)
				}
				var e *Error
				if !errors.As(err, &e) || e.Line == 0 {
					t.Errorf("error %v has no position", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, r := lookupOne(t, m, c.key)
			if c.err != "" {
				if r == nil || r.Code != c.err {
					t.Fatalf("got %q %v, want %s", got, r, c.err)
				}
				return
			}
			if r != nil || got != c.want {
				t.Fatalf("got %q %v, want %q", got, r, c.want)
			}
		})
	}
}

func TestLookupDuplicateTable(t *testing.T) {
	_, err := Load(writeMapping(t, "api: tamio\nkey: id\nlookups:\n  t: {values: {a: b}}\n  t: {values: {a: c}}\nfields:\n  name: lookup(\"t\", n)\n"), tamioSchema())
	if err == nil || !strings.Contains(err.Error(), `:5:3: lookup "t" is defined twice`) {
		t.Fatalf("got %v", err)
	}
}
