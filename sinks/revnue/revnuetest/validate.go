package revnuetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"crmsync/sinks/revnue/internal/isocountry"
)

// The messages of field errors, as Django REST framework words them.
const (
	msgRequired = "This field is required."
	msgNotNull  = "This field may not be null."
	msgBlank    = "This field may not be blank."
	msgString   = "Not a valid string."
	msgBool     = "Must be a valid boolean."
	msgDate     = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
	msgInteger  = "A valid integer is required."
	msgNumber   = "A valid number is required."
	msgPlaces   = "Ensure that there are no more than 2 decimal places."
	msgMoneyMin = "Ensure this value is greater than or equal to 0.00."
	msgMoneyMax = "Ensure this value is less than or equal to 999999999999999.00."
	msgNumMin   = "Ensure this value is greater than or equal to -999999999999999."
	msgNumMax   = "Ensure this value is less than or equal to 999999999999999."
)

// Limits of the write shape that are not a text field's.
const (
	maxName         = 50
	maxContactName  = 50
	maxContactEmail = 254
	maxText         = 50 // a text template value
	maxDigits       = 15 // before the decimal point, of money and numbers
)

// contactTypes are the values contact_person.type may take.
var contactTypes = []string{"account_management", "billing", "executive", "sales", "support", "technical"}

// readRecord decodes a POST or PUT body into the record it stores. Every
// field is checked, and every error found is answered at once, by dotted
// path, as Django REST framework does; only the uniqueness of the name,
// which needs the database, is left to the write. An empty body is an
// empty object (every required field missing). Fields the write shape
// does not have, id among them, are ignored.
func (s *Server) readRecord(body []byte) (*record, *apiError) {
	o, aerr := decodeObject(body)
	if aerr != nil {
		return nil, aerr
	}
	fe := fieldErrors{}
	r := &record{}
	switch raw, ok := o["company"]; {
	case !ok:
		fe.add("company", msgRequired)
	case isNull(raw):
		fe.add("company", msgNotNull)
	default:
		if id, ok := pk(fe, "company", raw, s.hasCompany); ok {
			r.Company = *id
		}
	}
	if raw, ok := o["name"]; !ok {
		fe.add("name", msgRequired)
	} else if isNull(raw) {
		fe.add("name", msgNotNull)
	} else if name, ok := text(fe, "name", raw, math.MaxInt); ok {
		// Trimmed as DRF's CharField trims, before the length is counted.
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			fe.add("name", msgBlank)
		case utf8.RuneCountInString(name) > maxName:
			fe.add("name", tooLong(maxName))
		default:
			r.Name = name
		}
	}
	if raw, ok := o["category"]; ok {
		r.Category, _ = pk(fe, "category", raw, s.hasCategory)
	}
	if raw, ok := o["contact_person"]; ok {
		r.ContactPerson = readContact(fe, raw)
	}
	for _, f := range textFields {
		if raw, ok := o[f.name]; ok && !isNull(raw) {
			if v, ok := text(fe, f.name, raw, f.max); ok {
				*f.get(r) = &v
			}
		}
	}
	if raw, ok := o["country"]; ok {
		if id, ok := pk(fe, "country", raw, hasCountry); ok && id != nil {
			c := int(*id)
			r.Country = &c
		}
	}
	r.NDASigned = readBool(fe, o, "nda_signed")
	r.MSASigned = readBool(fe, o, "msa_signed")
	r.NDADate = readDate(fe, o, "nda_signed_date")
	r.MSADate = readDate(fe, o, "msa_signed_date")
	if raw, ok := o["template"]; ok {
		r.Template = s.readTemplate(fe, raw)
	}
	if len(fe) > 0 {
		return nil, invalid(fe)
	}
	return r, nil
}

func (s *Server) hasCompany(id int64) bool { return slices.Contains(s.opts.Companies, id) }

func (s *Server) hasCategory(id int64) bool {
	_, ok := s.categories[id]
	return ok
}

func hasCountry(id int64) bool {
	_, ok := isocountry.Names[int(id)]
	return ok
}

// decodeObject reads a body that must be one JSON object, or empty.
func decodeObject(body []byte) (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		return nil, &apiError{status: 400, detail: "JSON parse error - " + err.Error(), fields: fieldErrors{}}
	}
	var o map[string]json.RawMessage
	if body = bytes.TrimSpace(body); body[0] != '{' || json.Unmarshal(body, &o) != nil {
		return nil, invalidField("non_field_errors", "Invalid data. Expected a dictionary, but got %s.", pyType(body))
	}
	return o, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// pyType names the type of a JSON value as Python does, for DRF's
// messages.
func pyType(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "str"
	case '{':
		return "dict"
	case '[':
		return "list"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "float"
	}
	return "int"
}

// integerToken matches a JSON number without fraction or exponent.
var integerToken = regexp.MustCompile(`^-?[0-9]+$`)

// pk reads an id that must name something exists accepts; null is nil,
// for the optional ids (the required ones refuse null before). ok is
// false when an error was recorded.
func pk(fe fieldErrors, field string, raw json.RawMessage, exists func(int64) bool) (id *int64, ok bool) {
	if isNull(raw) {
		return nil, true
	}
	if !integerToken.Match(raw) {
		fe.addf(field, "Incorrect type. Expected pk value, received %s.", pyType(raw))
		return nil, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || !exists(n) {
		fe.addf(field, "Invalid pk \"%s\" - object does not exist.", raw)
		return nil, false
	}
	return &n, true
}

// text reads a string of at most max characters (code points, as Python
// counts them).
func text(fe fieldErrors, field string, raw json.RawMessage, max int) (string, bool) {
	var v string
	if raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
		fe.add(field, msgString)
		return "", false
	}
	if utf8.RuneCountInString(v) > max {
		fe.add(field, tooLong(max))
		return "", false
	}
	return v, true
}

func tooLong(max int) string {
	return fmt.Sprintf("Ensure this field has no more than %d characters.", max)
}

// readBool reads nda_signed or msa_signed: false when absent, as the
// model's default; null is refused, since the field cannot hold it.
func readBool(fe fieldErrors, o map[string]json.RawMessage, field string) bool {
	raw, ok := o[field]
	switch {
	case !ok:
		return false
	case isNull(raw):
		fe.add(field, msgNotNull)
	case string(raw) == "true":
		return true
	case string(raw) != "false":
		fe.add(field, msgBool)
	}
	return false
}

// readDate reads an optional yyyy-MM-dd date.
func readDate(fe fieldErrors, o map[string]json.RawMessage, field string) *string {
	raw, ok := o[field]
	if !ok || isNull(raw) {
		return nil
	}
	var v string
	if raw[0] != '"' || json.Unmarshal(raw, &v) != nil || !validDate(v) {
		fe.add(field, msgDate)
		return nil
	}
	return &v
}

// validDate accepts a real calendar date written yyyy-MM-dd.
func validDate(s string) bool {
	if len(s) != len(time.DateOnly) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// dict reads a nested object, recording DRF's error for anything else.
func dict(fe fieldErrors, field string, raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var o map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
		fe.addf(field, "Invalid data. Expected a dictionary, but got %s.", pyType(raw))
		return nil, false
	}
	return o, true
}

// readContact reads contact_person: null, or an object whose name and
// email are each required when the other is given (not null, not empty)
// and whose type is one of contactTypes. A contact person with nothing
// set is stored as null.
func readContact(fe fieldErrors, raw json.RawMessage) *contact {
	if isNull(raw) {
		return nil
	}
	o, ok := dict(fe, "contact_person", raw)
	if !ok {
		return nil
	}
	c := &contact{}
	bad := false
	part := func(name string, max int) *string {
		raw, ok := o[name]
		if !ok || isNull(raw) {
			return nil
		}
		v, ok := text(fe, "contact_person."+name, raw, max)
		if !ok {
			bad = true
			return nil
		}
		return &v
	}
	c.Name = part("name", maxContactName)
	c.Email = part("email", maxContactEmail)
	if raw, ok := o["type"]; ok && !isNull(raw) {
		var v string
		if raw[0] != '"' || json.Unmarshal(raw, &v) != nil {
			v = string(raw)
		}
		if slices.Contains(contactTypes, v) {
			c.Type = &v
		} else {
			fe.addf("contact_person.type", "\"%s\" is not a valid choice.", v)
			bad = true
		}
	}
	given := func(p *string) bool { return p != nil && *p != "" }
	if given(c.Name) && !given(c.Email) && fe["contact_person.email"] == nil {
		fe.add("contact_person.email", msgRequired)
		bad = true
	}
	if given(c.Email) && !given(c.Name) && fe["contact_person.name"] == nil {
		fe.add("contact_person.name", msgRequired)
		bad = true
	}
	if bad || (c.Name == nil && c.Email == nil && c.Type == nil) {
		return nil
	}
	return c
}
