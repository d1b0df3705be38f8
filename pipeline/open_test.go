package pipeline

import (
	"strings"
	"testing"
)

var openSchema = Schema{
	API:    "crm",
	Fields: []Field{{Name: "name", Kind: KindString}, {Name: "phone", Kind: KindString}},
	Open:   []OpenField{{Prefix: "template.", Kind: KindString, Clear: ClearNull, MaxLen: 50, Doc: "a custom field"}},
}

// Extend adds the named fields of an open family after the schema's own,
// in the order named, once each, with the family's rules, and leaves the
// schema it extends as it was; names already listed add nothing.
func TestExtendAddsOpenFieldsToACopy(t *testing.T) {
	s := openSchema
	ext, err := s.Extend([]string{"phone", "template.seats", "template.tier", "template.seats"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range ext.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "name,phone,template.seats,template.tier" {
		t.Fatalf("fields %s", got)
	}
	f := ext.Fields[2]
	if f.Kind != KindString || f.Clear != ClearNull || f.MaxLen != 50 || f.Doc != "a custom field" || f.Group() != "template" || f.Leaf() != "seats" {
		t.Errorf("open field %+v", f)
	}
	if len(s.Fields) != 2 || len(openSchema.Fields) != 2 || ext.API != "crm" || len(ext.Open) != 1 {
		t.Errorf("the schema extended changed: %d fields; the copy: %+v", len(s.Fields), ext)
	}
	// Two extensions of one schema never write into the fields they
	// share, however much room its slice has.
	roomy := openSchema
	roomy.Fields = append(make([]Field, 0, 10), openSchema.Fields...)
	a, _ := roomy.Extend([]string{"template.a"})
	b, _ := roomy.Extend([]string{"template.b"})
	if a.Fields[2].Name != "template.a" || b.Fields[2].Name != "template.b" || len(roomy.Fields) != 2 {
		t.Errorf("two extensions of one schema share their fields: %s %s", a.Fields[2].Name, b.Fields[2].Name)
	}
	if same, err := s.Extend([]string{"name"}); err != nil || same != &s {
		t.Errorf("nothing to add: %p %v, want the schema itself", same, err)
	}
}

// A name outside every family, an empty key and a nested one are no
// fields of the schema.
func TestExtendRefusesNamesOutsideTheFamilies(t *testing.T) {
	s := openSchema
	for _, n := range []string{"fax", "template.", "template.a.b", "templatex", "Template.a"} {
		if ext, err := s.Extend([]string{n}); err == nil || !strings.Contains(err.Error(), "has no field") {
			t.Errorf("Extend(%q): %v %v", n, ext, err)
		}
		if s.OpenFor(n) != nil {
			t.Errorf("OpenFor(%q) is a family", n)
		}
	}
	if (&Schema{}).OpenFor("template.a") != nil {
		t.Error("a schema without families has one")
	}
}
