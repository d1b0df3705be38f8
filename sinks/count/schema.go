package count

import "crmsync/pipeline"

// The fields a mapping may fill, named as COUNT's partner API names them
// (nested parts with a dot).
//
// customer (the name) and email are required on create and on every
// update, so every update sends them, and neither can be cleared.
// mainPhone and website are cleared with null (COUNT takes "" too and
// reads both back as null). status cannot be cleared: COUNT has no
// customer without one.
//
// billingAddress and shippingAddress are replaced whole by an update: a
// change to any part sends the whole address, parts the mapping leaves
// alone carried over from what COUNT holds, and an address left with no
// part at all is removed (sent as null). An address the mapping does not
// touch is never sent. The parts can be cleared one by one (null), which
// is how a mapping empties a part, or with every part the whole address.
//
// contact.* is the customer's primary contact person, sent as
// contacts: [{name, email, phone, primary: true}] when the customer is
// created; COUNT's update endpoint ignores contacts, so they are
// CreateOnly.
//
// COUNT documents no format for phones, countries, states or zip codes,
// so they are free text here as they are there.
var schema = pipeline.Schema{
	API:        "count",
	MatchField: "email",
	MatchFold:  true,
	Groups: []pipeline.Group{
		{Name: groupBilling, Rule: pipeline.GroupReplace},
		{Name: groupShipping, Rule: pipeline.GroupReplace},
		{Name: groupContact, Rule: pipeline.GroupReplace},
	},
	Fields: []pipeline.Field{
		{Name: "customer", Kind: pipeline.KindString, RequiredOnCreate: true, RequiredOnUpdate: true, MaxLen: 255,
			Doc: "the customer's or business's name; required on create and sent on every update; cannot be cleared"},
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true, RequiredOnUpdate: true, MaxLen: 255,
			Doc: "unique within the team, matched case-insensitively; sent on every update; a change is checked with find-by-email first; cannot be cleared"},
		{Name: "mainPhone", Kind: pipeline.KindString, MaxLen: 50, Clear: pipeline.ClearNull, Doc: "international format recommended; null or empty clears it"},
		{Name: "website", Kind: pipeline.KindString, MaxLen: 255, Clear: pipeline.ClearNull, Doc: "with its protocol (https://…); null or empty clears it"},
		{Name: "status", Kind: pipeline.KindEnum, Enum: []string{"active", "inactive"}, Doc: "active or inactive; COUNT makes a new customer active when unmapped or empty"},
		{Name: "billingAddress.street", Kind: pipeline.KindString, Clear: pipeline.ClearNull, Doc: "the billing address is replaced whole: a change to any part sends every part; all parts empty removes it"},
		{Name: "billingAddress.city", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "billingAddress.state", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "billingAddress.zipCode", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "billingAddress.country", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "shippingAddress.street", Kind: pipeline.KindString, Clear: pipeline.ClearNull, Doc: "the shipping address is replaced whole, as the billing address is"},
		{Name: "shippingAddress.city", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "shippingAddress.state", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "shippingAddress.zipCode", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "shippingAddress.country", Kind: pipeline.KindString, Clear: pipeline.ClearNull},
		{Name: "contact.name", Kind: pipeline.KindString, CreateOnly: true, RequiredInGroup: true, MaxLen: 255,
			Doc: "the primary contact person, set when the customer is created (a contact needs a name); COUNT's update ignores contacts"},
		{Name: "contact.email", Kind: pipeline.KindEmail, CreateOnly: true, MaxLen: 255, Doc: "create only"},
		{Name: "contact.phone", Kind: pipeline.KindString, CreateOnly: true, MaxLen: 50, Doc: "create only"},
	},
}

// The nested objects of a customer.
const (
	groupBilling  = "billingAddress"
	groupShipping = "shippingAddress"
	groupContact  = "contact"
)

// Field positions in schema.Fields.
const (
	fieldCustomer = iota
	fieldEmail
	fieldMainPhone
	fieldWebsite
	fieldStatus
	fieldBilling  // the first of billingAddress's five parts
	fieldShipping = fieldBilling + numAddressParts
	fieldContact  = fieldShipping + numAddressParts
	numFields     = fieldContact + 3

	numAddressParts = 5
)

// Schema returns COUNT's schema. Callers must not modify it.
func Schema() *pipeline.Schema { return &schema }
