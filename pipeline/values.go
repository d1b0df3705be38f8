package pipeline

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Null is the value of a field a mapping explicitly set to null (its
// null() function): "clear this field", as opposed to "" ("no value").
// It is a NUL byte, which no text field of a CRM holds. After validation
// the engine turns it into "" on fields that can be cleared, so that it
// compares equal to what the CRM and the state hold for a cleared field.
const Null = "\x00"

// IsEmpty reports whether v is no value or an explicit null.
func IsEmpty(v string) bool { return v == "" || v == Null }

// Canonical returns v in the canonical text form of kind, or ok false when
// v is not a value of that kind. Values of kinds without a canonical form
// beyond their check come back unchanged. Records carry canonical values,
// so that the state, digests and diffs compare text with text: "007" and
// "7" are one int, "12.50" and "12.5" one decimal.
func Canonical(kind Kind, v string) (string, bool) {
	switch kind {
	case KindInt:
		return canonicalInt(v)
	case KindDecimal:
		return canonicalDecimal(v)
	case KindDate:
		if _, err := time.Parse(time.DateOnly, v); err != nil || len(v) != 10 {
			return "", false
		}
		return v, true
	case KindBool:
		// Strict: turning "yes", "Y" or "TRUE" into a bool is the
		// mapping's decision, never a guess here.
		return v, v == "true" || v == "false"
	case KindList:
		l, err := ParseList(v)
		if err != nil {
			return "", false
		}
		return FormatList(l), true
	}
	return v, true
}

func canonicalInt(v string) (string, bool) {
	s := strings.TrimPrefix(v, "+")
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0", true
	}
	if len(s) > 18 {
		// Beyond int64 a JSON number loses digits in most decoders.
		return "", false
	}
	if neg {
		return "-" + s, true
	}
	return s, true
}

func canonicalDecimal(v string) (string, bool) {
	if v == "" || strings.ContainsAny(v, "eE_xXpP") || strings.EqualFold(strings.TrimLeft(v, "+-"), "inf") || strings.Contains(strings.ToLower(v), "nan") {
		return "", false
	}
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		return "", false
	}
	// The digits after the point a value needs, at most the 38 of a
	// SQL/Parquet decimal.
	s := r.FloatString(38)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	if c, _ := new(big.Rat).SetString(s); c == nil || c.Cmp(r) != 0 {
		return "", false
	}
	return s, true
}

// FormatList renders a list in its canonical text form, a JSON array of
// strings. An empty list is "[]", a value distinct from "" (no value).
// Bytes that are not UTF-8 become U+FFFD, as JSON has them, so that the
// text is its own canonical form (Canonical gives it back unchanged).
func FormatList(items []string) string {
	if items == nil {
		items = []string{}
	}
	for i, it := range items {
		if !utf8.ValidString(it) {
			valid := make([]string, len(items))
			copy(valid, items)
			for j := i; j < len(valid); j++ {
				valid[j] = strings.ToValidUTF8(valid[j], "\uFFFD")
			}
			items = valid
			break
		}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

// ParseList reads a list's canonical text form.
func ParseList(v string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(v), &l); err != nil {
		return nil, fmt.Errorf("not a JSON array of strings: %w", err)
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

// JSONValue is what a sink sends for a field's value: v converted to the
// JSON type of the field's kind, and an empty value or Null to the
// field's clear form (nil for ClearNull, "" for ClearEmpty, [] for a list
// cleared by null). ok is false when the field cannot be cleared and v is
// empty: such a value is not sent.
func (f *Field) JSONValue(v string) (out any, ok bool) {
	if IsEmpty(v) {
		switch {
		case f.Clear == ClearNever:
			return nil, false
		case f.Kind == KindList:
			return []string{}, true
		case f.Clear == ClearEmpty:
			return "", true
		}
		return nil, true
	}
	switch f.Kind {
	case KindInt, KindDecimal:
		return json.Number(v), true
	case KindBool:
		return v == "true", true
	case KindList:
		l, err := ParseList(v)
		if err != nil {
			return v, true
		}
		return l, true
	}
	return v, true
}

// TextValue converts a value an API answered (decoded by encoding/json,
// with or without UseNumber) to the canonical text a record carries for
// the field: null to "", numbers, bools and lists to their canonical
// text. A value of another JSON type than the kind expects is rendered as
// JSON, which never equals a valid record value, so that the engine sends
// the record's.
func (f *Field) TextValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if f.Lower {
			return strings.ToLower(x)
		}
		if c, ok := Canonical(f.Kind, x); ok && f.Kind != KindList {
			return c
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if c, ok := Canonical(f.Kind, string(x)); ok {
			return c
		}
		return string(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if c, ok := Canonical(f.Kind, s); ok {
			return c
		}
		return s
	case []any:
		if f.Kind == KindList {
			items := make([]string, 0, len(x))
			for _, it := range x {
				s, ok := it.(string)
				if !ok {
					b, _ := json.Marshal(x)
					return string(b)
				}
				items = append(items, s)
			}
			return FormatList(items)
		}
	case []string:
		if f.Kind == KindList {
			return FormatList(x)
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// DisplayValue renders a value for reports and diffs: Null as "null".
func DisplayValue(v string) string {
	if v == Null {
		return "null"
	}
	return v
}

// Body builds the JSON object a sink sends for a record: the fields marked
// in send (nil sends every field with a value), nested objects built from
// dotted names. A field that cannot be cleared is left out when empty.
func (s *Schema) Body(values []string, send []bool) map[string]any {
	body := make(map[string]any, len(values))
	for i := range s.Fields {
		if send != nil && (i >= len(send) || !send[i]) {
			continue
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		if send == nil && IsEmpty(v) {
			continue
		}
		f := &s.Fields[i]
		out, ok := f.JSONValue(v)
		if !ok {
			continue
		}
		setPath(body, f.Name, out)
	}
	return body
}

// setPath sets obj's value at a dotted path, making the objects on the way.
func setPath(obj map[string]any, path string, v any) {
	for {
		dot := strings.IndexByte(path, '.')
		if dot < 0 {
			obj[path] = v
			return
		}
		next, ok := obj[path[:dot]].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[path[:dot]] = next
		}
		obj, path = next, path[dot+1:]
	}
}

// Values reads a decoded JSON object an API answered into one canonical
// text value per schema field, following dotted names into nested
// objects; a missing or null value is "".
func (s *Schema) Values(obj map[string]any) []string {
	out := make([]string, len(s.Fields))
	for i := range s.Fields {
		out[i] = s.Fields[i].TextValue(getPath(obj, s.Fields[i].Name))
	}
	return out
}

func getPath(obj map[string]any, path string) any {
	for {
		dot := strings.IndexByte(path, '.')
		if dot < 0 {
			return obj[path]
		}
		next, ok := obj[path[:dot]].(map[string]any)
		if !ok {
			return nil
		}
		obj, path = next, path[dot+1:]
	}
}
