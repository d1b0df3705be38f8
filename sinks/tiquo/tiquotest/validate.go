package tiquotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// member is one field of a request body: absent (set false), an explicit
// null, or a value. Keeping the three apart is what makes PATCH a merge
// patch: absent leaves a field alone, null clears it.
type member[T any] struct {
	set, null bool
	v         T
}

// patch is a validated POST or PATCH body. A create is a patch applied to
// a blank customer, so both endpoints share one reading of each field.
type patch struct {
	firstName, lastName, email                                member[string]
	phone, dateOfBirth, notes, preferredLocationID, companyID member[string]
	address                                                   member[[6]member[string]] // parts in addressParts order
	tags                                                      member[[]string]
	marketingConsent                                          member[bool]
}

// readBody decodes a request body into a patch. It checks the fields in
// the order the API reference lists them, so that the field an error
// names does not depend on the order of the body's keys. Fields it does
// not know, the read-only ones (id, loyaltyPoints, createdAt, updatedAt)
// included, are ignored. With create set, firstName, lastName and email
// are required.
func readBody(body []byte, create bool) (*patch, *apiError) {
	o, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	p := &patch{}
	for _, f := range []struct {
		name string
		dst  *member[string]
	}{{"firstName", &p.firstName}, {"lastName", &p.lastName}, {"email", &p.email}} {
		if *f.dst, err = stringMember(o, f.name); err != nil {
			return nil, err
		}
		m := *f.dst
		switch {
		case create && (!m.set || m.null || m.v == ""):
			return nil, invalid(f.name, "is required")
		case m.null:
			return nil, invalid(f.name, "is required and cannot be cleared")
		case m.set && m.v == "":
			return nil, invalid(f.name, "must not be empty")
		}
		if f.name == "email" && m.set && !validEmail(m.v) {
			return nil, invalid("email", "is not an email address of the form local@domain.tld")
		}
	}
	if p.phone, err = stringMember(o, "phone"); err != nil {
		return nil, err
	}
	if p.dateOfBirth, err = stringMember(o, "dateOfBirth"); err != nil {
		return nil, err
	}
	if d := p.dateOfBirth; d.set && !d.null && !validDate(d.v) {
		return nil, invalid("dateOfBirth", "is not a date of the form YYYY-MM-DD")
	}
	if p.address, err = addressMember(o); err != nil {
		return nil, err
	}
	if p.tags, err = tagsMember(o); err != nil {
		return nil, err
	}
	if p.notes, err = stringMember(o, "notes"); err != nil {
		return nil, err
	}
	if p.preferredLocationID, err = stringMember(o, "preferredLocationId"); err != nil {
		return nil, err
	}
	if p.marketingConsent, err = boolMember(o, "marketingConsent"); err != nil {
		return nil, err
	}
	if p.companyID, err = stringMember(o, "companyId"); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeObject reads a body that must be one JSON object.
func decodeObject(body []byte) (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("", "the request body is empty; send a JSON object")
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(body, &o); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, invalid("", "the request body must be a JSON object")
		}
		return nil, invalid("", "the request body is not valid JSON: %v", err)
	}
	if o == nil { // the body was null
		return nil, invalid("", "the request body must be a JSON object")
	}
	return o, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func stringMember(o map[string]json.RawMessage, name string) (member[string], *apiError) {
	raw, ok := o[name]
	if !ok {
		return member[string]{}, nil
	}
	if isNull(raw) {
		return member[string]{set: true, null: true}, nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return member[string]{}, invalid(name, "must be a string")
	}
	return member[string]{set: true, v: s}, nil
}

func boolMember(o map[string]json.RawMessage, name string) (member[bool], *apiError) {
	raw, ok := o[name]
	switch {
	case !ok:
		return member[bool]{}, nil
	case isNull(raw):
		return member[bool]{set: true, null: true}, nil
	case string(raw) == "true":
		return member[bool]{set: true, v: true}, nil
	case string(raw) == "false":
		return member[bool]{set: true}, nil
	}
	return member[bool]{}, invalid(name, "must be true or false")
}

// tagsMember reads tags: an array of strings, null standing for [].
func tagsMember(o map[string]json.RawMessage) (member[[]string], *apiError) {
	raw, ok := o["tags"]
	if !ok {
		return member[[]string]{}, nil
	}
	if isNull(raw) {
		return member[[]string]{set: true, null: true, v: []string{}}, nil
	}
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return member[[]string]{}, invalid("tags", "must be an array of strings")
	}
	tags := make([]string, len(elems))
	for i, e := range elems {
		if e[0] != '"' || json.Unmarshal(e, &tags[i]) != nil {
			return member[[]string]{}, invalid("tags", "element %d is not a string", i)
		}
	}
	return member[[]string]{set: true, v: tags}, nil
}

// addressMember reads address: an object whose six parts are each a
// string, null or absent. An error in a part names it as "address.city".
func addressMember(o map[string]json.RawMessage) (member[[6]member[string]], *apiError) {
	var m member[[6]member[string]]
	raw, ok := o["address"]
	if !ok {
		return m, nil
	}
	m.set = true
	if isNull(raw) {
		m.null = true
		return m, nil
	}
	var parts map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &parts) != nil {
		return m, invalid("address", "must be an object with line1, line2, city, state, postalCode and country")
	}
	for i, ap := range addressParts {
		part, err := stringMember(parts, ap.name)
		if err != nil {
			return m, invalid("address."+ap.name, "must be a string")
		}
		m.v[i] = part
	}
	return m, nil
}

// validDate accepts a real calendar date written YYYY-MM-DD.
func validDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Year() >= 1
}

// maxEmail is RFC 5321's limit on a path, which bounds an address.
const maxEmail = 254

// validEmail accepts local@domain.tld: a local part without spaces,
// quotes or the characters that delimit addresses, and a domain of at
// least two dot-separated labels of letters, digits and inner hyphens
// whose last label, the top-level domain, is two or more letters (or an
// "xn--" IDN label). Letters may be any script's.
func validEmail(s string) bool {
	if len(s) > maxEmail || !utf8.ValidString(s) {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return false
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"(),:;<>[\]`, r) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.HasPrefix(strings.ToLower(tld), "xn--") {
		return len(tld) > 4
	}
	if utf8.RuneCountInString(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
