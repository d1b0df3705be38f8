package tamio

import "crmsync/pipeline"

// The fields a mapping may fill, as tamio's create and update endpoints
// take them. Lengths follow the emulator's documented limits.
var schema = pipeline.Schema{
	API:        "tamio",
	MatchField: "email",
	MatchFold:  true,
	Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true, MaxLen: 254, Doc: "unique per account, matched case-insensitively"},
		{Name: "name", Kind: pipeline.KindString, RequiredOnCreate: true, RequiredOnUpdate: true, MaxLen: 255, Doc: "first name; sent on every update"},
		{Name: "last_name", Kind: pipeline.KindString, MaxLen: 255, Clear: pipeline.ClearEmpty},
		{Name: "country", Kind: pipeline.KindCountry, RequiredOnCreate: true, Lower: true, Doc: "ISO 3166-1 alpha-2; sent in lower case"},
		{Name: "locale", Kind: pipeline.KindLocale, MaxLen: 35},
		{Name: "timezone_offset", Kind: pipeline.KindOffset, Doc: "±HH:MM"},
		{Name: "priority", Kind: pipeline.KindEnum, Enum: []string{"low", "normal", "medium", "high"}},
		{Name: "category", Kind: pipeline.KindEnum, Enum: []string{"customer", "lead"}},
		{Name: "phone", Kind: pipeline.KindPhone, MaxLen: 32, Clear: pipeline.ClearEmpty, Doc: "E.164"},
		{Name: "teammate_id", Kind: pipeline.KindUUID, Clear: pipeline.ClearNull, Doc: "set on create; changed through bulk/assign-to-teammate; empty unassigns"},
	},
}

// Field positions in schema.Fields, fixed at compile time.
const (
	fieldEmail = iota
	fieldName
	fieldLastName
	fieldCountry
	fieldLocale
	fieldTimezoneOffset
	fieldPriority
	fieldCategory
	fieldPhone
	fieldTeammateID
)

// Schema returns tamio's schema. Callers must not modify it.
func Schema() *pipeline.Schema { return &schema }

// crmValue returns the value a customer holds for a schema field, in the
// form a mapped record would carry it.
func crmValue(c *Customer, field int) string {
	switch field {
	case fieldEmail:
		return c.Email
	case fieldName:
		return c.Name
	case fieldLastName:
		return c.LastName
	case fieldCountry:
		return c.Country
	case fieldLocale:
		return c.Locale
	case fieldTimezoneOffset:
		return c.TimezoneOffset
	case fieldPriority:
		return c.Priority
	case fieldCategory:
		return c.Category
	case fieldPhone:
		return c.Phone
	case fieldTeammateID:
		return c.TeammateID
	}
	return ""
}
