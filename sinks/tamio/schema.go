package tamio

import (
	"encoding/json"
	"fmt"
	"strconv"

	"crmsync/pipeline"
)

// The fields a mapping may fill, as tamio's create and update endpoints
// take them. Lengths follow the emulator's documented limits. The
// addresses come last, so that the positions below stay those of the
// fields before them.
var schema = pipeline.Schema{
	API:        "tamio",
	MatchField: "email",
	MatchFold:  true,
	Fields: append([]pipeline.Field{
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
	}, append(addressFields(billingGroup, "billing address"), addressFields(shippingGroup, "shipping address")...)...),
	// tamio takes an address whole, on create only: a create sends every
	// part the row fills, and no update sends any (the fields are
	// CreateOnly).
	Groups: []pipeline.Group{{Name: billingGroup, Rule: pipeline.GroupReplace}, {Name: shippingGroup, Rule: pipeline.GroupReplace}},
}

// The address objects of a create body.
const (
	billingGroup  = "billing_information"
	shippingGroup = "shipping_information"
)

// addressPart is a part of an address object a create body takes.
type addressPart struct {
	name     string
	kind     pipeline.Kind
	maxLen   int
	required bool // tamio refuses the object without it
}

// addressParts are the parts of billing_information and
// shipping_information, in the order of their fields.
var addressParts = [numAddressParts]addressPart{
	{"name", pipeline.KindString, 255, true},
	{"country", pipeline.KindCountry, 0, true},
	{"address", pipeline.KindString, 255, true},
	{"city", pipeline.KindString, 255, true},
	{"last_name", pipeline.KindString, 255, false},
	{"company", pipeline.KindString, 255, false},
	{"postcode", pipeline.KindString, 32, false},
	{"state", pipeline.KindString, 255, false},
	{"email", pipeline.KindEmail, 254, false},
	{"phone", pipeline.KindPhone, 32, false},
	{"vat", pipeline.KindString, 32, false},
	{"locale", pipeline.KindLocale, 35, false},
	{"is_company", pipeline.KindBool, 0, false},
	{"representative", pipeline.KindString, 255, false},
}

const numAddressParts = 14

// addressFields returns the fields of one address object.
func addressFields(group, what string) []pipeline.Field {
	out := make([]pipeline.Field, len(addressParts))
	for i, p := range addressParts {
		doc := what + ", set when the customer is created; tamio cannot change it later"
		if p.required {
			doc += "; needed when any part of the " + what + " is filled"
		}
		out[i] = pipeline.Field{Name: group + "." + p.name, Kind: p.kind, MaxLen: p.maxLen, CreateOnly: true,
			RequiredInGroup: p.required, Lower: p.kind == pipeline.KindCountry, Doc: doc}
	}
	return out
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
	// fieldBilling and fieldShipping are the first parts of the two
	// addresses, in addressParts' order.
	fieldBilling
	fieldShipping = fieldBilling + numAddressParts
	numFields     = fieldShipping + numAddressParts
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
	switch {
	case field >= fieldShipping && field < numFields:
		return c.Shipping().part(field - fieldShipping)
	case field >= fieldBilling:
		return c.Billing().part(field - fieldBilling)
	}
	return ""
}

// Address is an address object of a customer: what tamio made of the
// billing_information or shipping_information the customer was created
// with. It decodes from an object or from a list of them, whose first
// entry it takes.
type Address struct {
	Name           string `json:"name"`
	LastName       string `json:"last_name"`
	Company        string `json:"company"`
	Address        string `json:"address"`
	City           string `json:"city"`
	Postcode       string `json:"postcode"`
	State          string `json:"state"`
	Country        string `json:"country"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	VAT            string `json:"vat"`
	Locale         string `json:"locale"`
	IsCompany      *bool  `json:"is_company"`
	Representative string `json:"representative"`
}

// UnmarshalJSON decodes an address object, or the first of a list of
// them (an empty list is an address without any part).
func (a *Address) UnmarshalJSON(b []byte) error {
	type addressObject Address
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			var list []addressObject
			if err := json.Unmarshal(b, &list); err != nil {
				return err
			}
			*a = Address{}
			if len(list) > 0 {
				*a = Address(list[0])
			}
			return nil
		}
		break
	}
	return json.Unmarshal(b, (*addressObject)(a))
}

// Billing returns the customer's billing address, or nil.
func (c *Customer) Billing() *Address {
	if c.BillingAddress != nil {
		return c.BillingAddress
	}
	return c.BillingAddresses
}

// Shipping returns the customer's shipping address, or nil.
func (c *Customer) Shipping() *Address {
	if c.ShippingAddress != nil {
		return c.ShippingAddress
	}
	return c.ShippingAddresses
}

// part returns the value of the address part at index i of addressParts,
// as a record carries it; "" for every part of a nil address.
func (a *Address) part(i int) string {
	if a == nil {
		return ""
	}
	switch i {
	case 0:
		return a.Name
	case 1:
		return a.Country
	case 2:
		return a.Address
	case 3:
		return a.City
	case 4:
		return a.LastName
	case 5:
		return a.Company
	case 6:
		return a.Postcode
	case 7:
		return a.State
	case 8:
		return a.Email
	case 9:
		return a.Phone
	case 10:
		return a.VAT
	case 11:
		return a.Locale
	case 12:
		if a.IsCompany == nil {
			return ""
		}
		return strconv.FormatBool(*a.IsCompany)
	case 13:
		return a.Representative
	}
	panic(fmt.Sprintf("tamio: address part %d of %d", i, numAddressParts))
}

// answeredAddresses pairs each address object of a create body with the
// keys a customer object answers it under: an object, or on some pages
// of tamio's docs a list.
var answeredAddresses = [...]struct{ group, one, many string }{
	{billingGroup, "billing_address", "billing_addresses"},
	{shippingGroup, "shipping_address", "shipping_addresses"},
}

// customerValues reads a customer object, decoded into obj, into one
// value per schema field. The addresses are read from the keys tamio
// answers them under (billing_address, or the first entry of a list) into
// the fields named as a create sends them (billing_information.city).
// It sets those names in obj.
func customerValues(obj map[string]any) []string {
	for _, a := range answeredAddresses {
		var addr any
		for _, key := range []string{a.one, a.many} {
			switch v := obj[key].(type) {
			case map[string]any:
				addr = v
			case []any:
				if len(v) > 0 {
					addr = v[0]
				}
			}
			if addr != nil {
				break
			}
		}
		if addr != nil {
			obj[a.group] = addr
		}
	}
	return schema.Values(obj)
}
