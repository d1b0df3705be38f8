package mappings

import (
	"os"
	"slices"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// docExample returns the mapping of doc.go that starts with the given
// comment line, as a file would hold it.
// ownersExample is doc.go's example of a mapping that reads a reference
// table, written there for a made-up API, here for the test schema's.
func ownersExample(t *testing.T) string {
	t.Helper()
	return strings.ReplaceAll(docExample(t, "# owners.acme.yaml"), "acme", "tamio")
}

func docExample(t *testing.T, first string) string {
	t.Helper()
	data, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		text, ok := strings.CutPrefix(line, "//\t")
		switch {
		case !in && ok && text == first:
			in = true
		case in && !ok:
			return b.String()
		}
		if in {
			b.WriteString(text + "\n")
		}
	}
	t.Fatalf("doc.go holds no example starting %q", first)
	return ""
}

// teammatesTable is tamio:teammates as the tamio sink reads it.
func teammatesTable(rows ...[]string) map[string]*pipeline.ReferenceTable {
	return map[string]*pipeline.ReferenceTable{"tamio:teammates": {
		Name: "tamio:teammates", Columns: []string{"email", "name", "id"}, Key: 0, Value: 2, IgnoreCase: true, Rows: rows}}
}

var (
	ana = []string{"ana.garcia@example.com", "Ana García", "id-ana"}
	ben = []string{"Ben.Okafor@example.com", "Ben Okafor", "id-ben"}
)

var ownersColumns = []string{"customer_id", "email", "full_name", "country", "owner_email"}

func ownerRow(owner string) *pipeline.Row {
	return &pipeline.Row{Num: 1, Values: []string{"C-1", "x@example.com", "Xe Li", "DE", owner}}
}

// TestReferenceDocExample loads the example of doc.go's "Tables read from
// the target", gives it the table, and maps owners through it: matched
// ignoring case and spaces, a blank owner gives no teammate, an unknown
// one is a lookup_miss of the field and column, as with a lookups table.
func TestReferenceDocExample(t *testing.T) {
	path := writeMapping(t, ownersExample(t))
	m, err := Load(path, tamioSchema())
	if err != nil {
		t.Fatalf("the example in doc.go: %v", err)
	}
	if got := m.References(); !slices.Equal(got, []string{"tamio:teammates"}) {
		t.Fatalf("References = %q", got)
	}
	rm, err := m.WithReferences(teammatesTable(ana, ben))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rm.Bind(ownersColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm := tamioSchema().Index("teammate_id")
	for owner, want := range map[string]string{" ANA.Garcia@example.com ": "id-ana", "ben.okafor@EXAMPLE.com": "id-ben", "  ": ""} {
		var rec pipeline.Record
		if rej := p.Apply(ownerRow(owner), &rec); rej != nil || rec.Values[tm] != want {
			t.Errorf("owner %q: teammate %q, %v; want %q", owner, rec.Values[tm], rej, want)
		}
	}
	var rec pipeline.Record
	rej := p.Apply(ownerRow("zoe@example.com"), &rec)
	if rej == nil || rej.Code != CodeLookupMiss || rej.Field != "teammate_id" || rej.Column != "owner_email" ||
		!strings.Contains(rej.Message, `"tamio:teammates"`) {
		t.Errorf("an unknown owner: %+v, want a lookup_miss of teammate_id from owner_email", rej)
	}

	// The mapping given to WithReferences is left as it was.
	up, err := m.Bind(ownersColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rej := up.Apply(ownerRow(ana[0]), &rec); rej == nil || !strings.Contains(rej.Message, "was not read from the target") {
		t.Errorf("the mapping without its table: %v", rej)
	}
}

// TestReferenceDefaultAndConstant checks a lookup with a default, and one
// whose key is a constant, which Load must not compute (the table is not
// there yet).
func TestReferenceDefaultAndConstant(t *testing.T) {
	m, err := Load(writeMapping(t, `api: tamio
key: customer_id
fields:
  name: full_name
  teammate_id: lookup("tamio:teammates", owner_email, "id-none")
  last_name: lookup("tamio:teammates", "BEN.okafor@example.com")
`), tamioSchema())
	if err != nil {
		t.Fatal(err)
	}
	rm, err := m.WithReferences(teammatesTable(ana, ben))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rm.Bind(ownersColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rec pipeline.Record
	if rej := p.Apply(ownerRow("zoe@example.com"), &rec); rej != nil {
		t.Fatal(rej)
	}
	s := tamioSchema()
	if got := rec.Values[s.Index("teammate_id")]; got != "id-none" {
		t.Errorf("a miss with a default: %q", got)
	}
	if got := rec.Values[s.Index("last_name")]; got != "id-ben" {
		t.Errorf("a constant key: %q", got)
	}
}

// TestReferenceDigest checks that the source digest covers the table's
// content: a teammate's new id (or email) changes every row's digest, so
// that an incremental run maps the rows again rather than keep stale ids;
// the same content read in another order does not.
func TestReferenceDigest(t *testing.T) {
	m, err := Load(writeMapping(t, ownersExample(t)), tamioSchema())
	if err != nil {
		t.Fatal(err)
	}
	digest := func(tables map[string]*pipeline.ReferenceTable) uint64 {
		t.Helper()
		rm, err := m.WithReferences(tables)
		if err != nil {
			t.Fatal(err)
		}
		p, err := rm.Bind(ownersColumns, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p.SourceDigest(ownerRow(ana[0]))
	}
	d := digest(teammatesTable(ana, ben))
	if again := digest(teammatesTable(ben, ana)); again != d {
		t.Error("the same table in another order gives other digests")
	}
	if other := digest(teammatesTable(ana, []string{ben[0], ben[1], "id-ben-2"})); other == d {
		t.Error("a teammate's new id leaves the digests as they were")
	}
	if other := digest(teammatesTable(ana, []string{"ben@example.com", ben[1], ben[2]})); other == d {
		t.Error("a teammate's new email leaves the digests as they were")
	}
	p, err := m.Bind(ownersColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceDigest(ownerRow(ana[0])) == d {
		t.Error("the mapping without its table has the digests of the mapping with it")
	}
}

// TestReferenceErrors checks what Load and WithReferences refuse.
func TestReferenceErrors(t *testing.T) {
	load := func(fields string) error {
		_, err := Load(writeMapping(t, "api: tamio\nkey: customer_id\nfields:\n  name: full_name\n"+fields), tamioSchema())
		return err
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"another api", `  teammate_id: lookup("revnue:categories", owner_email)`, `"revnue:categories" is read from revnue, but this mapping writes to tamio`},
		{"no table", `  teammate_id: lookup("tamio:", owner_email)`, `lookup("tamio:teammates", owner_email)`},
		{"no api", `  teammate_id: lookup(":teammates", owner_email)`, "named api:table"},
		{"declared", "lookups:\n  tamio:teammates: {values: {a: b}}\n", `a name with ":" is a table read from the target`},
	} {
		if err := load(c.yaml + "\n"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want …%s…", c.name, err, c.want)
		}
	}

	m, err := Load(writeMapping(t, ownersExample(t)), tamioSchema())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WithReferences(nil); err == nil || !strings.Contains(err.Error(), `"tamio:teammates" was not read`) {
		t.Errorf("no table: %v", err)
	}
	_, err = m.WithReferences(teammatesTable(ana, ben, []string{"ANA.garcia@example.com", "Ana G.", "id-other"}))
	if err == nil || !strings.Contains(err.Error(), `"id-ana" (row 1) and "id-other" (row 3)`) {
		t.Errorf("one email, two ids: %v", err)
	}
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "ana.garcia") {
		t.Errorf("the message quotes the email: %v", err)
	}
	if _, err := m.WithReferences(teammatesTable(ana, ana, []string{"", "Nobody", "id-x"})); err != nil {
		t.Errorf("a repeated row and a blank key: %v", err)
	}
}
