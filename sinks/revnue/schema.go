package revnue

import "crmsync/pipeline"

// TemplatePrefix starts the name of every custom template field a
// mapping fills: template.<key>, the key as the account's template names
// it (template.contract_value).
const TemplatePrefix = "template."

// The fields a mapping may fill, named as Revnue's API names them
// (contact_person's parts with a dot), and the open family of the
// account's custom template fields.
//
// A PUT replaces the whole customer, so the schema says UpdateReplaces:
// every update sends every field, those the mapping leaves alone with
// what Revnue holds (see package rowsink). name, company and the two
// signed flags cannot be cleared (Revnue requires the first two and reads
// the flags as false when absent); every other field is cleared with null.
//
// company, category and country are integers on write. Revnue reads a
// category back as {id, name} and a country as its English short name;
// the connector reads them as the id and the ISO 3166-1 numeric code, so
// that a record and what Revnue holds compare equal.
var schema = pipeline.Schema{
	API:            "revnue",
	MatchField:     "name",
	MatchFold:      true,
	UpdateReplaces: true,
	Groups:         []pipeline.Group{{Name: groupContact, Rule: pipeline.GroupReplace}},
	Open: []pipeline.OpenField{{Prefix: TemplatePrefix, Kind: pipeline.KindString, Clear: pipeline.ClearNull,
		Doc: "a custom field of the account's template, by its key: money (0.00 to 999999999999999.00, two decimals), number (an integer within ±999999999999999), date (YYYY-MM-DD) or text (50 characters), as the template says; checked before it is sent, and the run stops at the start when the template has no such key"}},
	Fields: []pipeline.Field{
		{Name: "company", Kind: pipeline.KindInt,
			Doc: "the company id; unmapped or empty, a new customer gets the connector's company (REVNUE_COMPANY, default 1) and an update keeps the customer's; cannot be cleared"},
		{Name: "name", Kind: pipeline.KindString, RequiredOnCreate: true, MaxLen: 50,
			Doc: "the customer (a company); unique in the account, matched without regard to case; cannot be cleared"},
		{Name: "category", Kind: pipeline.KindInt, Clear: pipeline.ClearNull,
			Doc: `a category id; lookup("revnue:categories", name) gives it by the category's name`},
		{Name: "contact_person.name", Kind: pipeline.KindString, Clear: pipeline.ClearNull, RequiredInGroup: true, MaxLen: 50,
			Doc: "the contact person; name and email are each required when the other is given"},
		{Name: "contact_person.email", Kind: pipeline.KindString, Clear: pipeline.ClearNull, RequiredInGroup: true, MaxLen: 254,
			Doc: "Revnue checks its length only"},
		{Name: "contact_person.type", Kind: pipeline.KindEnum, Clear: pipeline.ClearNull, Enum: contactTypes},
		{Name: "address_line_1", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 50},
		{Name: "address_line_2", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 50},
		{Name: "city", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 50},
		{Name: "state_province", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 50},
		{Name: "zip_postal_code", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 20},
		{Name: "country", Kind: pipeline.KindInt, Clear: pipeline.ClearNull,
			Doc: "ISO 3166-1 numeric (276); country_numeric(x) converts names and alpha-2/alpha-3 codes; Revnue answers the English name, read back as the code"},
		{Name: "phone", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 20},
		{Name: "mobile", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 20},
		{Name: "fax", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 20},
		{Name: "website", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 50},
		{Name: "general_description", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 1000},
		{Name: "nda_signed", Kind: pipeline.KindBool, Doc: "true or false; Revnue has no other value, so it cannot be cleared"},
		{Name: "nda_signed_date", Kind: pipeline.KindDate, Clear: pipeline.ClearNull, Doc: "YYYY-MM-DD"},
		{Name: "msa_signed", Kind: pipeline.KindBool, Doc: "true or false; cannot be cleared"},
		{Name: "msa_signed_date", Kind: pipeline.KindDate, Clear: pipeline.ClearNull, Doc: "YYYY-MM-DD"},
		{Name: "supplementary_description", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 1000},
		{Name: "additional_description", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 1000},
	},
}

// groupContact is the nested contact person.
const groupContact = "contact_person"

// contactTypes are the values contact_person.type takes.
var contactTypes = []string{"account_management", "billing", "executive", "sales", "support", "technical"}

// Field positions in schema.Fields (and in every schema extended from it,
// which adds template fields after these).
const (
	fieldCompany = iota
	fieldName
	fieldCategory
	_ // contact_person.name
	_ // contact_person.email
	_ // contact_person.type
	_ // address_line_1
	_ // address_line_2
	_ // city
	_ // state_province
	_ // zip_postal_code
	fieldCountry
	numBaseFields = 23
)

// Schema returns Revnue's schema as registered, without template fields.
// Callers must not modify it.
func Schema() *pipeline.Schema { return &schema }
