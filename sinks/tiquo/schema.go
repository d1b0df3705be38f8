package tiquo

import "crmsync/pipeline"

// The fields a mapping may fill, named as tiquo's API names them (nested
// address parts with a dot). firstName, lastName and email are required
// on create and cannot be cleared (tiquo refuses "" and null for them);
// every other field is cleared with null, tags with [] (Field.JSONValue).
// tiquo documents no format for phone, country or the ids, so they are
// free text here as they are there.
var schema = pipeline.Schema{
	API:        "tiquo",
	MatchField: "email",
	MatchFold:  true,
	Groups:     []pipeline.Group{{Name: "address", Rule: pipeline.GroupMerge}},
	Fields: []pipeline.Field{
		{Name: "firstName", Kind: pipeline.KindString, RequiredOnCreate: true, Doc: "required on create; cannot be cleared"},
		{Name: "lastName", Kind: pipeline.KindString, RequiredOnCreate: true, Doc: "required on create; cannot be cleared"},
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true, MaxLen: 254, Doc: "unique per account, matched case-insensitively; cannot be cleared"},
		{Name: "phone", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "dateOfBirth", Kind: pipeline.KindDate, Clear: pipeline.ClearNull, Doc: "YYYY-MM-DD"},
		{Name: "address.line1", Kind: pipeline.KindString, Clear: pipeline.ClearNull, Doc: "address parts merge: an update sends only the parts that changed"},
		{Name: "address.line2", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "address.city", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "address.state", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "address.postalCode", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "address.country", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull, Doc: "replaced whole on update; an empty list clears it"},
		{Name: "notes", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "preferredLocationId", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "marketingConsent", Kind: pipeline.KindBool, Clear: pipeline.ClearNull, Doc: "true or false"},
		{Name: "companyId", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
	},
}

// Field positions in schema.Fields.
const (
	fieldFirstName = iota
	fieldLastName
	fieldEmail
)

// Schema returns tiquo's schema. Callers must not modify it.
func Schema() *pipeline.Schema { return &schema }
