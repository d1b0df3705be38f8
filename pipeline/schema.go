package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is the type of a target field, which decides how it is validated.
type Kind int

const (
	KindString  Kind = iota // free text, checked for length only
	KindEmail               // an address of the form local@domain
	KindCountry             // ISO 3166-1 alpha-2, any case
	KindLocale              // a language tag such as "en" or "pt-BR"
	KindOffset              // a UTC offset "±HH:MM"
	KindPhone               // E.164: "+" and 7 to 15 digits
	KindEnum                // one of Field.Enum
	KindUUID                // an RFC 4122 UUID
	KindBool                // "true" or "false"
	KindInt                 // a whole number: "-12", canonically without "+" or leading zeros
	KindDecimal             // a decimal number: "12.5", canonically without exponent or trailing zeros
	KindDate                // a calendar date "YYYY-MM-DD"
	KindList                // a list of strings, compared and sent whole; canonically a JSON array
)

var kindNames = [...]string{"string", "email", "country", "locale", "offset", "phone", "enum", "uuid", "bool", "int", "decimal", "date", "list"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ClearRule says how a target clears a field on update.
type ClearRule int

const (
	// ClearNever: the API cannot clear the field. An empty value is "no
	// value to send", and an explicit Null is rejected.
	ClearNever ClearRule = iota
	// ClearEmpty: the field is cleared by sending "".
	ClearEmpty
	// ClearNull: the field is cleared by sending JSON null; a list field
	// is cleared by sending [].
	ClearNull
)

// Field describes one field of a target's customer record.
//
// A field of a nested object is named with a dot, "address.city"; its
// group ("address") says, through Schema.Groups, whether an update sends
// only the changed parts of the object or the whole object.
type Field struct {
	Name string
	Kind Kind
	// RequiredOnCreate fields must hold a value when a record is created.
	RequiredOnCreate bool
	// RequiredOnUpdate fields must be sent on every update (an API that
	// refuses an update without them).
	RequiredOnUpdate bool
	// CreateOnly fields are sent when a customer is created and never on
	// update: the API has no way to change them afterwards. A changed
	// value of an existing customer is left as the CRM holds it.
	CreateOnly bool
	// RequiredInGroup parts of a nested object must hold a value when a
	// customer is created with the object: ValidateCreate rejects a record
	// that fills another part of the field's group but not this one. A
	// record that fills no part of the group creates no object and passes.
	// It has no meaning for a field outside a group.
	RequiredInGroup bool
	// MaxLen is the longest value accepted, in characters; 0 for no limit.
	MaxLen int
	// Enum lists the accepted values of a KindEnum field.
	Enum []string
	// Clear says how the API clears the field. On a field that can be
	// cleared, an empty value or Null on update clears it (and counts for
	// the blanking guard); on a field that cannot, an empty value is never
	// sent.
	Clear ClearRule
	// Lower fields are stored in lower case by the target (a country
	// code); records carry them so, so that they compare equal to what
	// the CRM and the state hold.
	Lower bool
	// Doc is a line for `crmsync check` and the docs.
	Doc string
}

// CanClear reports whether an update can clear the field.
func (f *Field) CanClear() bool { return f.Clear != ClearNever }

// Group returns the name of the nested object the field belongs to
// ("address" for "address.city"), or "".
func (f *Field) Group() string {
	if i := strings.LastIndexByte(f.Name, '.'); i > 0 {
		return f.Name[:i]
	}
	return ""
}

// Leaf returns the field's name inside its group ("city" for
// "address.city"), or its name.
func (f *Field) Leaf() string {
	return f.Name[strings.LastIndexByte(f.Name, '.')+1:]
}

// GroupRule says what an update of a nested object sends.
type GroupRule int

const (
	// GroupMerge: the API merges the sent parts into the stored object, so
	// an update sends only the parts that changed.
	GroupMerge GroupRule = iota
	// GroupReplace: the API replaces the stored object with the one sent,
	// so an update that changes any part sends every mapped part.
	GroupReplace
)

// Group describes a nested object of a target's record.
type Group struct {
	Name string
	Rule GroupRule
}

// Schema is what a sink declares about its target: the fields a mapping
// may fill and how each is validated.
type Schema struct {
	// API names the target; a mapping file must name the same.
	API    string
	Fields []Field
	// Groups lists the nested objects the dotted fields belong to, with
	// their update rule. A group not listed merges.
	Groups []Group
	// MatchField is the field by which existing records are found in the
	// CRM when the state does not know them (an email, a phone, an
	// external id).
	MatchField string
	// MatchFold says the target compares match values without regard to
	// case (emails), so two rows whose match values differ only in case
	// name one customer.
	MatchFold bool
	// UpdateReplaces says an update replaces the whole record (an HTTP PUT
	// of the whole object): the sink reads the record and sends every
	// field, those the mapping leaves alone with the values the CRM holds.
	// The engine still tells it which fields changed.
	UpdateReplaces bool
	// Open lists the families of fields the schema does not name one by
	// one because each account defines its own (custom template fields):
	// a mapping may fill any field whose name starts with a
	// family's prefix. See Extend.
	Open []OpenField
}

// OpenField is a family of fields an account defines: every name Prefix
// followed by a key without a dot ("template.contract_value"). Which keys
// exist is known only to the account, so the schema a connector registers
// lists none; mappings.Load adds those a mapping names to a copy of it
// (Extend), the run hands that copy to the connector, and the connector
// checks at Prepare that the account has each of them (a fatal error
// otherwise). Each such field is a Field with the family's Kind, Clear,
// MaxLen and Doc.
type OpenField struct {
	// Prefix ends in a dot: "template.".
	Prefix string
	Kind   Kind
	Clear  ClearRule
	MaxLen int
	Doc    string
}

// OpenFor returns the family the field name belongs to, or nil. A name is
// in a family when it is the prefix followed by a key that is not empty
// and holds no dot.
func (s *Schema) OpenFor(name string) *OpenField {
	for i := range s.Open {
		o := &s.Open[i]
		key, ok := strings.CutPrefix(name, o.Prefix)
		if ok && key != "" && !strings.Contains(key, ".") {
			return o
		}
	}
	return nil
}

// Extend returns a copy of s with the named fields of its open families
// added after its own fields, in the order given; a name s lists already,
// or given twice, is added once. It returns s itself when there is
// nothing to add, and an error naming the first name that is neither a
// field of s nor in one of its families. s is not modified.
func (s *Schema) Extend(names []string) (*Schema, error) {
	var add []Field
	for _, n := range names {
		if s.Index(n) >= 0 || slices.ContainsFunc(add, func(f Field) bool { return f.Name == n }) {
			continue
		}
		o := s.OpenFor(n)
		if o == nil {
			return nil, fmt.Errorf("%s has no field %s", s.apiName(), Quote(n))
		}
		add = append(add, Field{Name: n, Kind: o.Kind, Clear: o.Clear, MaxLen: o.MaxLen, Doc: o.Doc})
	}
	if len(add) == 0 {
		return s, nil
	}
	ext := *s
	ext.Fields = append(slices.Clip(slices.Clone(s.Fields)), add...)
	return &ext, nil
}

// GroupRule returns the update rule of the named group.
func (s *Schema) GroupRule(name string) GroupRule {
	for _, g := range s.Groups {
		if g.Name == name {
			return g.Rule
		}
	}
	return GroupMerge
}

// Index returns the position of the named field in Fields, or -1.
func (s *Schema) Index(name string) int {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return i
		}
	}
	return -1
}

// Record is a row after mapping: the values of the target's fields,
// indexed like Schema.Fields, and the key that identifies the row across
// runs.
type Record struct {
	// Row is the source row the record was mapped from, kept for rejects.
	Row *Row
	// Key is the value of the mapping's key column.
	Key string
	// Values holds one value per schema field, in the canonical text form
	// of its kind (see Canonical); "" means no value and Null an explicit
	// null, which clears the field. Which fields a mapping fills is the
	// same for every record (see mappings.Mapping.Mapped); an unmapped
	// field is always "".
	Values []string
}
