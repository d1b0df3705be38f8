package pipeline

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
)

var kindNames = [...]string{"string", "email", "country", "locale", "offset", "phone", "enum", "uuid", "bool"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Field describes one field of a target's customer record.
type Field struct {
	Name string
	Kind Kind
	// RequiredOnCreate fields must hold a value when a record is created.
	RequiredOnCreate bool
	// RequiredOnUpdate fields must be sent on every update (tamio's name).
	RequiredOnUpdate bool
	// MaxLen is the longest value accepted, in characters; 0 for no limit.
	MaxLen int
	// Enum lists the accepted values of a KindEnum field.
	Enum []string
	// Clearable fields may be sent empty to clear them (tamio's
	// teammate_id: null unassigns); others reject an empty value on update.
	Clearable bool
	// Lower fields are stored in lower case by the target (tamio's
	// country); records carry them so, so that they compare equal to what
	// the CRM and the state hold.
	Lower bool
	// Doc is a line for `crmsync check` and the docs.
	Doc string
}

// Schema is what a sink declares about its target: the fields a mapping
// may fill and how each is validated.
type Schema struct {
	// API names the target ("tamio"); a mapping file must name the same.
	API    string
	Fields []Field
	// MatchField is the field by which existing records are found in the
	// CRM when the state does not know them (tamio: email).
	MatchField string
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
	// Values holds one value per schema field; "" means no value. Which
	// fields a mapping fills is the same for every record (see
	// mappings.Mapping.Mapped); an unmapped field is always "".
	Values []string
}
