package revnuetest

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// readTemplate reads template: null, or {id, fields: [{id, value}]}. id
// must be the template's; fields may be absent or null (no values). An
// error in fields, whichever item it is in, is answered under
// "template.fields", naming the field's id and key.
func (s *Server) readTemplate(fe fieldErrors, raw json.RawMessage) *templateValues {
	if isNull(raw) {
		return nil
	}
	o, ok := dict(fe, "template", raw)
	if !ok {
		return nil
	}
	tv := &templateValues{}
	bad := false
	switch rawID, ok := o["id"]; {
	case !ok:
		fe.add("template.id", msgRequired)
		bad = true
	case isNull(rawID):
		fe.add("template.id", msgNotNull)
		bad = true
	default:
		id, ok := pk(fe, "template.id", rawID, func(id int64) bool { return id == s.opts.Template.ID })
		if !ok {
			bad = true
		} else {
			tv.ID = *id
		}
	}
	rawFields, ok := o["fields"]
	if !ok || isNull(rawFields) {
		if bad {
			return nil
		}
		return tv
	}
	var items []json.RawMessage
	if rawFields[0] != '[' || json.Unmarshal(rawFields, &items) != nil {
		fe.addf("template.fields", "Expected a list of items but got type \"%s\".", pyType(rawFields))
		return nil
	}
	for i, item := range items {
		var it map[string]json.RawMessage
		if item[0] != '{' || json.Unmarshal(item, &it) != nil {
			fe.addf("template.fields", "Item %d: Invalid data. Expected a dictionary, but got %s.", i, pyType(item))
			bad = true
			continue
		}
		rawID, ok := it["id"]
		if !ok || isNull(rawID) {
			fe.addf("template.fields", "Item %d: id is required.", i)
			bad = true
			continue
		}
		f, ok := s.templateField(rawID)
		if !ok {
			fe.addf("template.fields", "Item %d: field %s does not exist in template %d.", i, rawID, s.opts.Template.ID)
			bad = true
			continue
		}
		if tv.has(f.ID) {
			fe.addf("template.fields", "Field %d (%s): given more than once.", f.ID, f.Key)
			bad = true
			continue
		}
		fv := fieldValue{ID: f.ID}
		if rawValue, ok := it["value"]; ok && !isNull(rawValue) {
			v, msg := checkValue(f.Type, rawValue)
			if msg != "" {
				fe.addf("template.fields", "Field %d (%s): %s", f.ID, f.Key, msg)
				bad = true
				continue
			}
			fv.Value = &v
		}
		tv.Fields = append(tv.Fields, fv)
	}
	if bad {
		return nil
	}
	return tv
}

// templateField returns the field of the template a raw id names.
func (s *Server) templateField(raw json.RawMessage) (TemplateField, bool) {
	if !integerToken.Match(raw) {
		return TemplateField{}, false
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return TemplateField{}, false
	}
	for _, f := range s.opts.Template.Fields {
		if f.ID == id {
			return f, true
		}
	}
	return TemplateField{}, false
}

func (tv *templateValues) has(id int64) bool {
	for _, f := range tv.Fields {
		if f.ID == id {
			return true
		}
	}
	return false
}

// decimalText matches a decimal written plainly: no sign but minus, no
// exponent, digits on both sides of a point.
var decimalText = regexp.MustCompile(`^(-?)([0-9]+)(?:\.([0-9]+))?$`)

// checkValue checks a template value of a type and returns its canonical
// text, or the message of what is wrong with it. Money and numbers may be
// JSON numbers or strings holding one, as DRF's DecimalField and
// IntegerField take; dates and texts are strings.
func checkValue(typ string, raw json.RawMessage) (string, string) {
	var str string
	isString := raw[0] == '"' && json.Unmarshal(raw, &str) == nil
	switch typ {
	case TypeMoney, TypeNumber:
		t := string(raw)
		if isString {
			t = str
		} else if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			t = ""
		}
		m := decimalText.FindStringSubmatch(t)
		if typ == TypeMoney {
			if m == nil {
				return "", msgNumber
			}
			return money(m[1] == "-", m[2], m[3])
		}
		if m == nil || m[3] != "" {
			return "", msgInteger
		}
		return number(m[1] == "-", m[2])
	case TypeDate:
		if !isString || !validDate(str) {
			return "", msgDate
		}
		return str, ""
	default: // TypeText
		if !isString {
			return "", msgString
		}
		if utf8.RuneCountInString(str) > maxText {
			return "", tooLong(maxText)
		}
		return str, ""
	}
}

// money checks a decimal from 0.00 to 999999999999999.00 with at most two
// places (counted as written: 1.500 has three) and writes it with two.
func money(neg bool, whole, frac string) (string, string) {
	if len(frac) > 2 {
		return "", msgPlaces
	}
	whole = strings.TrimLeft(whole, "0")
	if neg && (whole != "" || strings.Trim(frac, "0") != "") {
		return "", msgMoneyMin
	}
	// Past 999999999999999.00: more whole digits, or that many nines and
	// any cent.
	if len(whole) > maxDigits || (whole == strings.Repeat("9", maxDigits) && strings.Trim(frac, "0") != "") {
		return "", msgMoneyMax
	}
	if whole == "" {
		whole = "0"
	}
	return whole + "." + frac + strings.Repeat("0", 2-len(frac)), ""
}

// number checks an integer from -999999999999999 to 999999999999999.
func number(neg bool, digits string) (string, string) {
	digits = strings.TrimLeft(digits, "0")
	switch {
	case len(digits) > maxDigits && neg:
		return "", msgNumMin
	case len(digits) > maxDigits:
		return "", msgNumMax
	case digits == "":
		return "0", ""
	case neg:
		return "-" + digits, ""
	}
	return digits, ""
}
