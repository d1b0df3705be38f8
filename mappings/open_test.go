package mappings

import (
	"strings"
	"testing"

	"crmsync/pipeline"
)

// openSchema is a target whose accounts define fields of their own under
// "template." (Revnue's custom template fields).
func openSchema() *pipeline.Schema {
	return &pipeline.Schema{
		API:        "open",
		MatchField: "name",
		Fields:     []pipeline.Field{{Name: "name", RequiredOnCreate: true}, {Name: "phone", Clear: pipeline.ClearNull}},
		Open:       []pipeline.OpenField{{Prefix: "template.", Kind: pipeline.KindString, Clear: pipeline.ClearNull}},
	}
}

// A mapping fills fields of an open family by name: Load extends a copy
// of the schema with them, in the file's order, Mapped and Expression
// follow the extended schema, and a row fills them.
func TestOpenFieldsExtendTheSchema(t *testing.T) {
	base := openSchema()
	m, err := Load(writeMapping(t, `api: open
key: customer_id
fields:
  template.seats: full_name
  name: email
  template.contract_value: '"1200.50"'
`), base)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Schema()
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "name,phone,template.seats,template.contract_value" {
		t.Fatalf("the mapping's schema has %s", got)
	}
	if len(base.Fields) != 2 {
		t.Errorf("Load changed the schema it was given: %d fields", len(base.Fields))
	}
	if got := m.Mapped(); len(got) != 4 || !got[0] || got[1] || !got[2] || !got[3] {
		t.Errorf("Mapped %v", got)
	}
	if m.Expression(2) != "full_name" {
		t.Errorf("template.seats maps %q", m.Expression(2))
	}
	p, err := m.Bind(sampleColumns, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := applySample(t, p)
	if len(rec.Values) != 4 || rec.Values[2] != "Ana María López" || rec.Values[3] != "1200.50" {
		t.Errorf("values %q", rec.Values)
	}
}

// Without open fields the schema is the one given; a name outside the
// families is an unknown field whose message names the families.
func TestOpenFieldsOnlyUnderTheirPrefix(t *testing.T) {
	base := openSchema()
	m, err := Load(writeMapping(t, "api: open\nkey: customer_id\nfields:\n  name: email\n"), base)
	if err != nil || m.Schema() != base {
		t.Fatalf("Load: %v; schema %p, want the one given %p", err, m.Schema(), base)
	}
	_, err = Load(writeMapping(t, "api: open\nkey: customer_id\nfields:\n  name: email\n  templates.seats: email\n  template.a.b: email\n"), base)
	if err == nil || !strings.Contains(err.Error(), `field "templates.seats": not a open field`) ||
		!strings.Contains(err.Error(), `field "template.a.b": not a open field`) ||
		!strings.Contains(err.Error(), "template.<key> for each key the account defines") {
		t.Errorf("Load: %v", err)
	}
	if _, err := Load(writeMapping(t, "api: tamio\nkey: customer_id\nfields:\n  email: email\n  template.seats: email\n"), tamioSchema()); err == nil {
		t.Error("a schema without open families took template.seats")
	}
}
