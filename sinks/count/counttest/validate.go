package counttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field limits, in characters, as COUNT documents them; an address part's
// is the emulator's (COUNT documents none).
const (
	maxName    = 255
	maxEmail   = 255
	maxPhone   = 50
	maxWebsite = 255
	maxPart    = 255
)

// member is one field of a request body: absent (set false), an explicit
// null, or a value. Keeping the three apart is what makes an update
// partial: absent leaves a field alone, null clears it.
type member[T any] struct {
	set, null bool
	v         T
}

// input is a checked create or update body. A create is an input applied
// to a blank customer, so both endpoints read each field the same way.
type input struct {
	customer, email    member[string]
	mainPhone, website member[string] // "" was read as null
	status             member[string]
	billing, shipping  member[*address]
	contacts           []contact // create only
}

// reader collects the field errors of one body, so that a 400 lists every
// field at fault, in the order COUNT documents the fields.
type reader struct {
	o    map[string]json.RawMessage
	errs []fieldError
}

func (r *reader) fail(field, format string, args ...any) {
	r.errs = append(r.errs, fieldError{Field: field, Message: field + " " + fmt.Sprintf(format, args...)})
}

// readInput decodes and checks a create (create set) or update body.
// customer and email are required on both. Fields it does not know, the
// read-only ones (id, createdAt, updatedAt) included, are ignored; so are
// contacts in an update, whatever they hold, since the update endpoint
// does not change them.
func readInput(body []byte, create bool) (*input, *apiError) {
	o, aerr := decodeObject(body)
	if aerr != nil {
		return nil, aerr
	}
	r := &reader{o: o}
	in := &input{}
	in.customer = r.required("customer", o["customer"], maxName)
	in.email = r.required("email", o["email"], maxEmail)
	if in.email.set && !in.email.null && !r.failed("email") && !validEmail(in.email.v) {
		r.fail("email", "must be an email address of the form local@domain.tld")
	}
	in.mainPhone = r.optional("mainPhone", o["mainPhone"], maxPhone)
	in.website = r.optional("website", o["website"], maxWebsite)
	in.status = r.status(o["status"])
	in.billing = r.address("billingAddress", o["billingAddress"])
	in.shipping = r.address("shippingAddress", o["shippingAddress"])
	if create {
		in.contacts = r.contacts(o["contacts"])
	}
	if len(r.errs) > 0 {
		return nil, invalidFields(r.errs)
	}
	return in, nil
}

// failed reports whether field already has an error.
func (r *reader) failed(field string) bool {
	for _, e := range r.errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// decodeObject reads a body that must be one JSON object.
func decodeObject(body []byte) (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("The request body is empty; send a JSON object")
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(body, &o); err != nil {
		if !json.Valid(body) {
			return nil, invalid("The request body is not valid JSON")
		}
		return nil, invalid("The request body must be a JSON object")
	}
	if o == nil { // the body was null
		return nil, invalid("The request body must be a JSON object")
	}
	return o, nil
}

// text reads raw as a string member; ok is false (with the error noted)
// for anything but a string or null.
func (r *reader) text(field string, raw json.RawMessage) (m member[string], ok bool) {
	switch {
	case raw == nil:
		return m, true
	case string(raw) == "null":
		return member[string]{set: true, null: true}, true
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		r.fail(field, "must be a string")
		return m, false
	}
	return member[string]{set: true, v: s}, true
}

// required reads a string that must be given, not blank, and at most max
// characters long.
func (r *reader) required(field string, raw json.RawMessage, max int) member[string] {
	m, ok := r.text(field, raw)
	switch {
	case !ok:
	case !m.set || m.null:
		r.fail(field, "is required")
	case strings.TrimSpace(m.v) == "":
		r.fail(field, "must not be empty")
	case utf8.RuneCountInString(m.v) > max:
		r.fail(field, "must be at most %d characters", max)
	}
	return m
}

// optional reads a nullable string of at most max characters; "" reads
// as null, the clear COUNT documents for website and mainPhone.
func (r *reader) optional(field string, raw json.RawMessage, max int) member[string] {
	m, ok := r.text(field, raw)
	switch {
	case !ok:
	case m.set && !m.null && m.v == "":
		m.null = true
	case m.set && utf8.RuneCountInString(m.v) > max:
		r.fail(field, "must be at most %d characters", max)
	}
	return m
}

func (r *reader) status(raw json.RawMessage) member[string] {
	if raw == nil {
		return member[string]{}
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil || (s != statusActive && s != statusInactive) {
		r.fail("status", "must be %q or %q", statusActive, statusInactive)
		return member[string]{}
	}
	return member[string]{set: true, v: s}
}

// address reads a whole address: null removes it; an object replaces it,
// each part a string or null, a part not sent being null. Unknown parts
// are ignored.
func (r *reader) address(field string, raw json.RawMessage) member[*address] {
	switch {
	case raw == nil:
		return member[*address]{}
	case string(raw) == "null":
		return member[*address]{set: true, null: true}
	}
	var parts map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &parts) != nil {
		r.fail(field, "must be an object with street, city, state, zipCode and country, or null")
		return member[*address]{}
	}
	a := &address{}
	for _, p := range addressParts {
		name := field + "." + p.name
		m, ok := r.text(name, parts[p.name])
		switch {
		case !ok:
		case m.set && !m.null && utf8.RuneCountInString(m.v) > maxPart:
			r.fail(name, "must be at most %d characters", maxPart)
		case m.set && !m.null:
			v := m.v
			*p.get(a) = &v
		}
	}
	return member[*address]{set: true, v: a}
}

// contacts reads the contacts of a create: absent or null is [].
func (r *reader) contacts(raw json.RawMessage) []contact {
	out := []contact{}
	if raw == nil || string(raw) == "null" {
		return out
	}
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		r.fail("contacts", "must be an array of contacts")
		return out
	}
	for i, e := range elems {
		field := fmt.Sprintf("contacts[%d]", i)
		var o map[string]json.RawMessage
		if e[0] != '{' || json.Unmarshal(e, &o) != nil {
			r.fail(field, "must be an object with name, email, phone and primary")
			continue
		}
		name := r.required(field+".name", o["name"], maxName)
		c := contact{Name: name.v}
		email := r.optional(field+".email", o["email"], maxEmail)
		if email.set && !email.null {
			if !validEmail(email.v) {
				r.fail(field+".email", "must be an email address of the form local@domain.tld")
			}
			c.Email = &email.v
		}
		if phone := r.optional(field+".phone", o["phone"], maxPhone); phone.set && !phone.null {
			c.Phone = &phone.v
		}
		switch p := string(o["primary"]); p {
		case "", "null", "false":
		case "true":
			c.Primary = true
		default:
			r.fail(field+".primary", "must be true or false")
		}
		out = append(out, c)
	}
	return out
}

// validEmail accepts local@domain.tld: one @; a local part without white
// space, control characters, quotes or the characters that delimit
// addresses; a domain of two or more dot-separated labels of letters (any
// script), digits and inner hyphens, the last of at least two letters.
func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !utf8.ValidString(s) {
		return false
	}
	if strings.IndexFunc(local, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"(),:;<>@[\]`, r)
	}) >= 0 {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") ||
			strings.IndexFunc(l, func(r rune) bool { return r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
			return false
		}
	}
	tld := labels[len(labels)-1]
	return utf8.RuneCountInString(tld) >= 2 && strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsLetter(r) }) < 0
}

// The values of status.
const (
	statusActive   = "active"
	statusInactive = "inactive"
)

// apply writes the input onto c, a customer the caller owns: a field not
// sent stays; website and mainPhone sent as null or "" become null; an
// address sent replaces the whole address, null removing it. Contacts are
// not touched: a create sets them itself.
func (in *input) apply(c *customer) {
	if in.customer.set {
		c.Customer = in.customer.v
	}
	if in.email.set {
		c.Email = in.email.v
	}
	setOptional(in.mainPhone, &c.MainPhone)
	setOptional(in.website, &c.Website)
	if in.status.set {
		c.Status = in.status.v
	}
	// An address member holds nil when sent as null.
	if in.billing.set {
		c.BillingAddress = in.billing.v
	}
	if in.shipping.set {
		c.ShippingAddress = in.shipping.v
	}
}

func setOptional(m member[string], dst **string) {
	switch {
	case !m.set:
	case m.null:
		*dst = nil
	default:
		v := m.v
		*dst = &v
	}
}
