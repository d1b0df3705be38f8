package tamiotest

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Maximum lengths, in characters (bytes for email, whose RFC 5321 limit is
// counted in octets).
const (
	maxName     = 255 // name, last_name, company and the address texts
	maxEmail    = 254
	maxPostcode = 32
	maxVAT      = 32
	maxFilter   = 255
)

var (
	localeRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$`)
	offsetRE = regexp.MustCompile(`^[+-](0[0-9]|1[0-4]):(00|15|30|45)$`)
	phoneRE  = regexp.MustCompile(`^\+[0-9]{7,15}$`)
)

var (
	categories   = []string{"customer", "lead"}
	priorities   = []string{"low", "normal", "medium", "high"}
	leadStatuses = []string{"qualified", "unqualified", "contacted", "followup", "new_lead", "attempt_to_contact"}
)

// parseUUID accepts the canonical 36-character form in any case and
// returns it in lower case. uuid.Parse alone also takes braces, urn:uuid:
// and bare hex, which an API would not.
func parseUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

func validEmail(s string) bool {
	if s == "" || len(s) > maxEmail {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, "[") &&
		!strings.HasSuffix(domain, ".")
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// object is a JSON object whose members are decoded one by one, so that
// an absent member, a null and a value stay apart and a wrong type names
// its field.
type object map[string]json.RawMessage

type presence int

const (
	absent presence = iota
	null
	present
)

func decodeObject(body []byte) (object, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "the request body is empty; a JSON object is required")
	}
	var o object
	if err := json.Unmarshal(body, &o); err != nil {
		var te *json.UnmarshalTypeError
		if asTypeError(err, &te) {
			return nil, invalid("", "the request body must be a JSON object")
		}
		return nil, invalid("", "the request body is not valid JSON: %v", err)
	}
	if o == nil { // the body was null
		return nil, invalid("", "the request body must be a JSON object")
	}
	return o, nil
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func (o object) member(field string) (json.RawMessage, presence) {
	raw, ok := o[field]
	if !ok {
		return nil, absent
	}
	if string(raw) == "null" {
		return nil, null
	}
	return raw, present
}

// str decodes a string member.
func (o object) str(field string) (string, presence, *apiError) {
	raw, p := o.member(field)
	if p != present {
		return "", p, nil
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", p, invalid(field, "must be a string")
	}
	// Most strings hold no escapes: take them as they are.
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), p, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", p, invalid(field, "must be a string")
	}
	return s, p, nil
}

func (o object) boolean(field string) (bool, presence, *apiError) {
	raw, p := o.member(field)
	if p != present {
		return false, p, nil
	}
	switch string(raw) {
	case "true":
		return true, p, nil
	case "false":
		return false, p, nil
	}
	return false, p, invalid(field, "must be true or false")
}

func (o object) array(field string) ([]json.RawMessage, presence, *apiError) {
	raw, p := o.member(field)
	if p != present {
		return nil, p, nil
	}
	var a []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &a) != nil {
		return nil, p, invalid(field, "must be an array")
	}
	return a, p, nil
}

func (o object) object(field string) (object, presence, *apiError) {
	raw, p := o.member(field)
	if p != present {
		return nil, p, nil
	}
	var v object
	if raw[0] != '{' || json.Unmarshal(raw, &v) != nil {
		return nil, p, invalid(field, "must be an object")
	}
	return v, p, nil
}

// text checks a free-text value.
func text(field, v string, maxLen int, required bool) *apiError {
	if required && strings.TrimSpace(v) == "" {
		return invalid(field, "is required")
	}
	if utf8.RuneCountInString(v) > maxLen {
		return invalid(field, "is longer than %d characters", maxLen)
	}
	if hasControl(v) {
		return invalid(field, "holds control characters")
	}
	return nil
}

// The checkers below validate a non-empty value of one kind and return it
// as stored.

func checkEmail(field, v string) (string, *apiError) {
	if !validEmail(v) {
		return "", invalid(field, "%q is not a valid email address", v)
	}
	return v, nil
}

func checkCountry(field, v string) (string, *apiError) {
	c := strings.ToLower(v)
	if _, ok := countrySet[c]; !ok {
		return "", invalid(field, "%q is not an ISO 3166-1 alpha-2 country code", v)
	}
	return c, nil
}

func checkLocale(field, v string) (string, *apiError) {
	if !localeRE.MatchString(v) {
		return "", invalid(field, "%q is not a language tag such as en, de or pt-BR", v)
	}
	return v, nil
}

func checkOffset(field, v string) (string, *apiError) {
	if !offsetRE.MatchString(v) || v[1:3] == "14" && v[4:] != "00" {
		return "", invalid(field, "%q is not a UTC offset such as +02:00 (at most 14:00, minutes 00, 15, 30 or 45)", v)
	}
	return v, nil
}

func checkPhone(field, v string) (string, *apiError) {
	if !phoneRE.MatchString(v) {
		return "", invalid(field, "%q is not an E.164 number: + and 7 to 15 digits", v)
	}
	return v, nil
}

func checkEnum(set []string) func(field, v string) (string, *apiError) {
	return func(field, v string) (string, *apiError) {
		if !oneOf(v, set) {
			return "", invalid(field, "%q is not one of %s", v, strings.Join(set, ", "))
		}
		return v, nil
	}
}

var (
	checkCategory   = checkEnum(categories)
	checkPriority   = checkEnum(priorities)
	checkLeadStatus = checkEnum(leadStatuses)
)

// newCustomer is a validated create body. It is also what a bulk job
// stores, hence the JSON tags.
type newCustomer struct {
	Email          string   `json:"email"`
	Name           string   `json:"name"`
	LastName       string   `json:"last_name,omitempty"`
	Country        string   `json:"country"`
	Locale         string   `json:"locale"`
	TimezoneOffset string   `json:"timezone_offset"`
	Category       string   `json:"category"`
	Priority       string   `json:"priority"`
	LeadStatus     string   `json:"lead_status,omitempty"`
	Phone          string   `json:"phone,omitempty"`
	TeammateID     string   `json:"teammate_id,omitempty"`
	Company        string   `json:"company,omitempty"`
	Billing        *address `json:"billing,omitempty"`
	Shipping       *address `json:"shipping,omitempty"`
}

// validator holds what validation needs to know of the account.
type validator struct {
	teammates map[string]Teammate
}

// teammate checks a teammate_id value.
func (v *validator) teammate(field, s string) (string, *apiError) {
	id, ok := parseUUID(s)
	if !ok {
		return "", invalid(field, "%q is not a UUID", s)
	}
	if _, ok := v.teammates[id]; !ok {
		return "", notFound(field, "teammate %s not found", id)
	}
	return id, nil
}

// optional reads an optional string member, null or "" meaning unset, and
// checks a set value with check.
func optional(o object, field string, dst *string, check func(string, string) (string, *apiError)) *apiError {
	s, p, err := o.str(field)
	if err != nil || p != present || s == "" {
		return err
	}
	if check != nil {
		if s, err = check(field, s); err != nil {
			return err
		}
	}
	*dst = s
	return nil
}

func required(o object, field string, dst *string, check func(string, string) (string, *apiError)) *apiError {
	s, p, err := o.str(field)
	if err != nil {
		return err
	}
	if p != present || strings.TrimSpace(s) == "" {
		return invalid(field, "is required")
	}
	if check != nil {
		if s, err = check(field, s); err != nil {
			return err
		}
	}
	*dst = s
	return nil
}

func checkText(maxLen int) func(field, v string) (string, *apiError) {
	return func(field, v string) (string, *apiError) {
		return v, text(field, v, maxLen, false)
	}
}

// parseCreate validates a create body, alone or as an element of a bulk
// body.
func (v *validator) parseCreate(o object) (*newCustomer, *apiError) {
	c := &newCustomer{Locale: "en", TimezoneOffset: "+00:00", Category: "customer", Priority: "normal"}
	steps := []*apiError{
		required(o, "name", &c.Name, checkText(maxName)),
		required(o, "email", &c.Email, checkEmail),
		required(o, "country", &c.Country, checkCountry),
		optional(o, "last_name", &c.LastName, checkText(maxName)),
		optional(o, "company", &c.Company, checkText(maxName)),
		optional(o, "phone", &c.Phone, checkPhone),
		optional(o, "locale", &c.Locale, checkLocale),
		optional(o, "timezone_offset", &c.TimezoneOffset, checkOffset),
		optional(o, "priority", &c.Priority, checkPriority),
		optional(o, "category", &c.Category, checkCategory),
		optional(o, "lead_status", &c.LeadStatus, checkLeadStatus),
		optional(o, "teammate_id", &c.TeammateID, v.teammate),
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	switch {
	case c.Category == "customer" && c.LeadStatus != "":
		return nil, invalid("lead_status", "only leads have a lead status")
	case c.Category == "lead" && c.LeadStatus == "":
		c.LeadStatus = "new_lead"
	}

	same, _, err := o.boolean("same_shipping_address")
	if err != nil {
		return nil, err
	}
	for _, a := range []struct {
		field    string
		dst      **address
		shipping bool
	}{{"billing_information", &c.Billing, false}, {"shipping_information", &c.Shipping, true}} {
		ao, p, err := o.object(a.field)
		if err != nil {
			return nil, err
		}
		if p != present {
			continue
		}
		addr, err := parseAddress(ao, c.Company)
		if err != nil {
			return nil, err.nested(a.field)
		}
		addr.ShippingAddress = a.shipping
		*a.dst = addr
	}
	if same {
		switch {
		case c.Billing == nil:
			return nil, invalid("same_shipping_address", "needs billing_information")
		case c.Shipping != nil:
			return nil, invalid("same_shipping_address", "cannot be true when shipping_information is sent")
		}
		s := *c.Billing
		s.ShippingAddress = true
		c.Shipping = &s
	}
	return c, nil
}

func parseAddress(o object, company string) (*address, *apiError) {
	a := &address{Object: "address", Company: company}
	steps := []*apiError{
		required(o, "name", &a.Name, checkText(maxName)),
		required(o, "country", &a.Country, checkCountry),
		required(o, "address", &a.Address, checkText(maxName)),
		required(o, "city", &a.City, checkText(maxName)),
		optional(o, "last_name", &a.LastName, checkText(maxName)),
		optional(o, "company", &a.Company, checkText(maxName)),
		optional(o, "postcode", &a.Postcode, checkText(maxPostcode)),
		optional(o, "state", &a.State, checkText(maxName)),
		optional(o, "email", &a.Email, checkEmail),
		optional(o, "phone", &a.Phone, checkPhone),
		optional(o, "vat", &a.VAT, checkText(maxVAT)),
		optional(o, "locale", &a.Locale, checkLocale),
		optional(o, "representative", &a.Representative, checkText(maxName)),
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	isCompany, _, err := o.boolean("is_company")
	if err != nil {
		return nil, err
	}
	a.IsCompany = isCompany
	return a, nil
}

// change is one field of an update body.
type change struct {
	set  bool
	null bool
	v    string
}

// update is a validated update body; apply makes it a new customer.
type update struct {
	name                                                         string
	email, lastName, country, locale, offset, priority, category change
	phone, teammate, leadStatus                                  change
}

func (v *validator) parseUpdate(o object) (*update, *apiError) {
	u := &update{}
	if err := required(o, "name", &u.name, checkText(maxName)); err != nil {
		return nil, err
	}
	fields := []struct {
		field     string
		dst       *change
		check     func(string, string) (string, *apiError)
		clearable bool // null and "" clear it
		nullable  bool // null clears it
	}{
		{"last_name", &u.lastName, checkText(maxName), true, true},
		{"email", &u.email, checkEmail, false, false},
		{"country", &u.country, checkCountry, false, false},
		{"locale", &u.locale, checkLocale, false, false},
		{"timezone_offset", &u.offset, checkOffset, false, false},
		{"priority", &u.priority, checkPriority, false, false},
		{"category", &u.category, checkCategory, false, false},
		{"phone", &u.phone, checkPhone, true, true},
		{"teammate_id", &u.teammate, v.teammate, false, true},
		{"lead_status", &u.leadStatus, checkLeadStatus, false, true},
	}
	for _, f := range fields {
		s, p, err := o.str(f.field)
		switch {
		case err != nil:
			return nil, err
		case p == absent:
			continue
		case p == null && !f.nullable:
			return nil, invalid(f.field, "cannot be null")
		case p == null || s == "" && f.clearable:
			*f.dst = change{set: true, null: true}
			continue
		case s == "":
			return nil, invalid(f.field, "cannot be empty")
		}
		s, err = f.check(f.field, s)
		if err != nil {
			return nil, err
		}
		*f.dst = change{set: true, v: s}
	}
	return u, nil
}

// apply returns the customer c becomes; the rules that depend on the
// stored customer (lead_status against category) are checked here.
func (u *update) apply(c *customer) (*customer, *apiError) {
	n := *c
	n.Name = u.name
	str := func(ch change, dst *string) {
		if ch.set {
			*dst = ch.v // "" when cleared
		}
	}
	ptr := func(ch change, dst **string) {
		if ch.set {
			*dst = strPtr(ch.v)
		}
	}
	str(u.email, &n.Email)
	str(u.lastName, &n.LastName)
	str(u.country, &n.Country)
	str(u.locale, &n.Locale)
	str(u.offset, &n.TimezoneOffset)
	str(u.priority, &n.Priority)
	str(u.category, &n.Category)
	str(u.phone, &n.Phone)
	ptr(u.teammate, &n.TeammateID)
	if u.leadStatus.set && !u.leadStatus.null && n.Category != "lead" {
		return nil, invalid("lead_status", "only leads have a lead status")
	}
	ptr(u.leadStatus, &n.LeadStatus)
	switch {
	case n.Category != "lead":
		n.LeadStatus = nil
	case n.LeadStatus == nil:
		n.LeadStatus = strPtr("new_lead")
	}
	return &n, nil
}
