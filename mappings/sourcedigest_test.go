package mappings

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"crmsync/pipeline"
)

// TestSourceDigest checks what a source digest depends on: the columns
// the mapping reads, and the mapping itself; and that MapField and Key
// answer as Apply does.
func TestSourceDigest(t *testing.T) {
	p := bindSample(t)
	row := sampleRow()
	d := p.SourceDigest(row)
	if d == 0 {
		t.Fatal("a mappable row has source digest 0")
	}
	if again := p.SourceDigest(sampleRow()); again != d {
		t.Errorf("the same row: %x, then %x", d, again)
	}

	notes := slices.Index(sampleColumns, "notes")
	read := slices.Index(sampleColumns, "country_name")
	if slices.Contains(p.m.cols, "notes") {
		t.Fatal("the sample mapping reads notes; the test needs a column it does not read")
	}
	other := sampleRow()
	other.Values[notes] = "likes coffee"
	if got := p.SourceDigest(other); got != d {
		t.Errorf("a change in a column the mapping does not read changed the digest")
	}
	other.Values[read] = "France"
	if got := p.SourceDigest(other); got == d {
		t.Errorf("a change in a column the mapping reads left the digest as it was")
	}
	// Values are delimited: moving a character from one to the next is a
	// change.
	a, b := sampleRow(), sampleRow()
	a.Values[read], a.Values[read+1] = "Germany", "de"
	b.Values[read], b.Values[read+1] = "German", "yde"
	if p.SourceDigest(a) == p.SourceDigest(b) {
		t.Error("two rows that differ only in where one value ends share a digest")
	}
	if got := p.SourceDigest(&pipeline.Row{Values: []string{"x"}}); got != 0 {
		t.Errorf("a row too short to map: digest %x, want 0", got)
	}

	// Another mapping file (the same fields, a comment more) is another
	// mapping as far as the digest knows.
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFile := func(name string, content []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	entries, err := os.ReadDir(filepath.Dir(samplePath))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".csv" {
			content, err := os.ReadFile(filepath.Join(filepath.Dir(samplePath), e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			copyFile(e.Name(), content)
		}
	}
	m2, err := Load(copyFile("m.yaml", append(data, "\n# edited\n"...)), tamioSchema())
	if err != nil {
		t.Fatal(err)
	}
	p2, err := m2.Bind(sampleColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p2.SourceDigest(sampleRow()) == d {
		t.Error("an edited mapping file gives the same digests")
	}

	var rec pipeline.Record
	if rej := p.Apply(sampleRow(), &rec); rej != nil {
		t.Fatalf("Apply: %v", rej)
	}
	if k := p.Key(sampleRow()); k != rec.Key {
		t.Errorf("Key = %q, Apply set %q", k, rec.Key)
	}
	for f, mapped := range p.m.mapped {
		v, ok := p.MapField(sampleRow(), f)
		if ok != mapped || v != rec.Values[f] {
			t.Errorf("MapField(%s) = %q, %v; Apply gave %q", tamioSchema().Fields[f].Name, v, ok, rec.Values[f])
		}
	}
}
