package mappings

import (
	"os"
	"path/filepath"
	"testing"

	"crmsync/pipeline"
)

// tamioSchema mirrors the customer fields of the tamio sink.
func tamioSchema() *pipeline.Schema {
	return &pipeline.Schema{
		API: "tamio",
		Fields: []pipeline.Field{
			{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true, MaxLen: 254},
			{Name: "name", RequiredOnCreate: true, RequiredOnUpdate: true, MaxLen: 255},
			{Name: "last_name", MaxLen: 255},
			{Name: "country", Kind: pipeline.KindCountry, RequiredOnCreate: true},
			{Name: "locale", Kind: pipeline.KindLocale},
			{Name: "timezone_offset", Kind: pipeline.KindOffset},
			{Name: "priority", Kind: pipeline.KindEnum, Enum: []string{"low", "normal", "medium", "high"}},
			{Name: "category", Kind: pipeline.KindEnum, Enum: []string{"customer", "lead"}},
			{Name: "phone", Kind: pipeline.KindPhone},
			{Name: "teammate_id", Kind: pipeline.KindUUID, Clear: pipeline.ClearEmpty},
			{Name: "company", MaxLen: 255},
		},
		MatchField: "email",
	}
}

// sampleColumns is the header of the export the sample mapping is for.
var sampleColumns = []string{"customer_id", "full_name", "email", "Company Name", "country_name",
	"lang", "tz", "phone_raw", "owner_email", "notes"}

func sampleRow() *pipeline.Row {
	return &pipeline.Row{Num: 1, Line: 2, Values: []string{
		" C-1001 ", "Ana María López", " Ana.Lopez@Example.COM ", " ACME GmbH ", "Germany",
		"", "+02:00", "030 1234567", "BOB@acme.example", "likes tea"}}
}

const samplePath = "testdata/customers.tamio.yaml"

func loadSample(t testing.TB) *Mapping {
	t.Helper()
	m, err := Load(samplePath, tamioSchema())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

func bindSample(t testing.TB) *Program {
	t.Helper()
	p, err := loadSample(t).Bind(sampleColumns, nil)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return p
}

// writeMapping writes a mapping file into a fresh directory, with the
// sample's teammates table beside it, and returns its path.
func writeMapping(t testing.TB, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	tm, err := os.ReadFile("testdata/teammates.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "teammates.csv"), tm, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func bindYAML(t testing.TB, yaml string) *Program {
	t.Helper()
	m, err := Load(writeMapping(t, yaml), tamioSchema())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	p, err := m.Bind(sampleColumns, nil)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	return p
}

func applySample(t testing.TB, p *Program) pipeline.Record {
	t.Helper()
	var rec pipeline.Record
	if r := p.Apply(sampleRow(), &rec); r != nil {
		t.Fatalf("Apply: %v", r)
	}
	return rec
}
