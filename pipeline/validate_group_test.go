package pipeline

import (
	"strings"
	"testing"
)

// groupSchema has a top-level required field and two nested objects, the
// first with parts required within it, the second with none.
func groupSchema() *Schema {
	return &Schema{API: "test", Fields: []Field{
		{Name: "email", Kind: KindEmail, RequiredOnCreate: true},
		{Name: "bill.name", RequiredInGroup: true},
		{Name: "bill.note"},
		{Name: "bill.city", RequiredInGroup: true},
		{Name: "ship.city"},
		{Name: "ship.note"},
		{Name: "top", RequiredInGroup: true}, // outside a group: no meaning
	}}
}

func TestValidateCreateRequiredInGroup(t *testing.T) {
	s := groupSchema()
	cases := []struct {
		name      string
		set       map[string]string
		wantField string // "" for no reject
		filled    string // the part the message names as filled
	}{
		{"no part of the object", map[string]string{"email": "a@b.co"}, "", ""},
		{"whole object", map[string]string{"email": "a@b.co", "bill.name": "A", "bill.city": "B"}, "", ""},
		{"required parts only", map[string]string{"email": "a@b.co", "bill.name": "A", "bill.city": "B", "bill.note": ""}, "", ""},
		{"optional part alone", map[string]string{"email": "a@b.co", "bill.note": "n"}, "bill.name", "bill.note"},
		{"first required part missing", map[string]string{"email": "a@b.co", "bill.city": "B"}, "bill.name", "bill.city"},
		{"last required part missing", map[string]string{"email": "a@b.co", "bill.name": "A"}, "bill.city", "bill.name"},
		{"null is no value", map[string]string{"email": "a@b.co", "bill.name": "A", "bill.city": Null}, "bill.city", "bill.name"},
		{"another object's parts do not count", map[string]string{"email": "a@b.co", "ship.city": "C", "ship.note": "n"}, "", ""},
		{"top-level required comes first", map[string]string{"bill.name": "A"}, "email", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &Record{Values: make([]string, len(s.Fields))}
			for f, v := range c.set {
				rec.Values[s.Index(f)] = v
			}
			r := s.ValidateCreate(rec)
			if c.wantField == "" {
				if r != nil {
					t.Fatalf("got %v, want no reject", r)
				}
				return
			}
			if r == nil || r.Code != CodeRequired || r.Field != c.wantField || r.Stage != StageValidate {
				t.Fatalf("got %v, want a required reject of %s", r, c.wantField)
			}
			if c.filled == "" {
				return
			}
			for _, w := range []string{"fills " + c.filled, "no " + c.wantField, "test requires in bill", "leave every bill field empty"} {
				if !strings.Contains(r.Message, w) {
					t.Errorf("message %q lacks %q", r.Message, w)
				}
			}
		})
	}
}

// A record shorter than the schema (fields appended since it was made)
// holds no value in the missing fields.
func TestValidateCreateRequiredInGroupShortRecord(t *testing.T) {
	s := groupSchema()
	if r := s.ValidateCreate(&Record{Values: []string{"a@b.co", "A"}}); r == nil || r.Field != "bill.city" {
		t.Fatalf("got %v, want bill.city required", r)
	}
	if r := s.ValidateCreate(&Record{Values: []string{"a@b.co"}}); r != nil {
		t.Fatalf("got %v, want no reject", r)
	}
}

// Validate, which runs before a row is known to be a create, and an
// update leave a partly filled object alone: only creating one needs
// its required parts.
func TestValidateAcceptsPartialGroup(t *testing.T) {
	s := groupSchema()
	rec := &Record{Values: make([]string, len(s.Fields))}
	rec.Values[s.Index("bill.note")] = "n"
	if r := s.Validate(rec, []bool{true, true, true, true, true, true, true}); r != nil {
		t.Fatalf("got %v, want no reject", r)
	}
}
