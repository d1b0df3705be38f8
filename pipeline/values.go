package pipeline

import (
	"encoding/json"
	"fmt"
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
		if isPlainList(v) {
			if v == "[]" {
				return "", true
			}
			return v, true
		}
		l, err := ParseList(v)
		if err != nil {
			return "", false
		}
		if len(l) == 0 {
			// A list without items is no value, as an API's [] for a
			// cleared or never filled list is (see TextValue).
			return "", true
		}
		return FormatList(l), true
	}
	return v, true
}

func canonicalInt(v string) (string, bool) {
	s, neg := v, false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s, neg = s[1:], s[0] == '-'
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
	if !isDecimalText(v) {
		return "", false
	}
	// Read as text, in one pass: big.Rat took time quadratic in the
	// length of a value, seconds for one long cell.
	in := v
	neg := v[0] == '-'
	if v[0] == '+' || v[0] == '-' {
		v = v[1:]
	}
	whole, frac, point := strings.Cut(v, ".")
	w, f := strings.TrimLeft(whole, "0"), strings.TrimRight(frac, "0")
	if len(f) > 38 {
		// The digits after the point a value needs, at most the 38 of
		// a SQL/Parquet decimal.
		return "", false
	}
	if w == "" {
		w = "0"
	}
	if w == "0" && f == "" {
		return "0", true
	}
	if in[0] != '+' && w == whole && f == frac && point == (f != "") {
		// Nothing to drop or add: in is canonical already.
		return in, true
	}
	var b strings.Builder
	b.Grow(len(w) + len(f) + 2)
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(w)
	if f != "" {
		b.WriteByte('.')
		b.WriteString(f)
	}
	return b.String(), true
}

// isPlainList reports whether v is a list's canonical text that needs no
// decoding: ["a","b"] (or []) without spaces, whose items hold no quote,
// backslash, control character, <, > or &, and no U+2028 or U+2029 (the
// characters json.Marshal escapes), in valid UTF-8. Nearly every list
// (tags, segments) is one, and this costs a scan where decoding and
// encoding JSON cost a microsecond a value.
func isPlainList(v string) bool {
	n := len(v)
	if n < 2 || v[0] != '[' || v[n-1] != ']' {
		return false
	}
	if n == 2 {
		return true
	}
	if n < 4 || v[1] != '"' || v[n-2] != '"' {
		return false
	}
	inner := v[2 : n-2]
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case c == '"':
			// Only as a separator: ","
			if i+2 >= len(inner) || inner[i+1] != ',' || inner[i+2] != '"' {
				return false
			}
			i += 2
		case c < 0x20 || c == '\\' || c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(inner) && inner[i+1] == 0x80 && (inner[i+2] == 0xA8 || inner[i+2] == 0xA9):
			return false
		}
	}
	return utf8.ValidString(inner)
}

// isDecimalText reports whether v is written as a decimal number: an
// optional sign, digits, and a point with digits before or after it or
// both. big.Rat reads much more (fractions "1/2", exponents, "0b", "0o"
// and "0x" prefixes, underscores), none of which an API takes for a
// decimal.
func isDecimalText(v string) bool {
	if v != "" && (v[0] == '+' || v[0] == '-') {
		v = v[1:]
	}
	digits, point := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return false
		}
	}
	return digits > 0
}

// FormatList renders a list in its canonical text form, a JSON array of
// strings. An empty list is "[]", which Canonical takes as "" (no value).
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

// ParseList reads a list's text: a JSON array of strings ("null" is not
// one).
func ParseList(v string) ([]string, error) {
	if isPlainList(v) {
		if v == "[]" {
			return []string{}, nil
		}
		return strings.Split(v[2:len(v)-2], `","`), nil
	}
	if t := strings.TrimLeft(v, " \t\r\n"); t == "" || t[0] != '[' {
		return nil, fmt.Errorf("not a JSON array of strings: it does not start with [")
	}
	// Pointers tell a null item, which is not text, from "".
	var items []*string
	if err := json.Unmarshal([]byte(v), &items); err != nil {
		return nil, fmt.Errorf("not a JSON array of strings: %w", err)
	}
	l := make([]string, len(items))
	for i, it := range items {
		if it == nil {
			return nil, fmt.Errorf("not a JSON array of strings: item %d is null", i+1)
		}
		l[i] = *it
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
		// Canonical, a number is valid JSON ("007" is not); text that is
		// no number goes as text, for the API to refuse with its own
		// words rather than fail the encoding of a whole body.
		if c, ok := Canonical(f.Kind, v); ok {
			return json.Number(c), true
		}
		return v, true
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
// the field: null and an empty list to "", numbers, bools and lists to
// their canonical text. A value of another JSON type than the kind expects is rendered as
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
			c, _ := Canonical(KindList, FormatList(items))
			return c
		}
	case []string:
		if f.Kind == KindList {
			c, _ := Canonical(KindList, FormatList(x))
			return c
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
