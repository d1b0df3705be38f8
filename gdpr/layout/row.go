package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Value is one cell.
type Value struct {
	Null bool
	Str  string
	Int  int64
	Bool bool
}

// Text renders the value for CSV: "" for null, true or false, digits.
func (v Value) Text(k Kind) string {
	switch {
	case v.Null:
		return ""
	case k == Int64:
		return strconv.FormatInt(v.Int, 10)
	case k == Bool:
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// Row is a table row, one value per column of Table.
type Row []Value

// ErrNotObject is returned by Flatten for a customer that is not a JSON
// object.
var ErrNotObject = errors.New("the CRM answered a customer that is not a JSON object")

// Flatten turns a customer object, as the CRM answered it, and its
// related records (by the names of Related; absent or null for none) into
// a row of Table. A value of a type its column cannot hold is an error
// naming the column, never the value. The layout must have passed Check.
func (l *Layout) Flatten(raw json.RawMessage, related map[string]json.RawMessage) (Row, error) {
	l.once.Do(l.compile)
	if l.err != nil {
		return nil, l.err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, ErrNotObject
	}
	if l.Normalize != nil {
		l.Normalize(obj)
	}
	cells := make([]json.RawMessage, len(l.table))
	other := pick(l.root, obj, cells)
	for name, root := range l.related {
		if rel := object(related[name]); rel != nil {
			pick(root, rel, cells)
		}
	}
	row := make(Row, len(l.table))
	last := len(row) - 1
	for i, c := range l.table[:last] {
		v, err := convert(cells[i], c.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		row[i] = v
	}
	row[last] = Value{Null: true}
	if len(other) > 0 {
		// Keys sorted: the same customer gives the same text.
		b, err := json.Marshal(other)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", OtherFields, err)
		}
		row[last] = Value{Str: string(b)}
	}
	return row, nil
}

// pick puts the values obj holds for n's columns into cells, and returns
// what no column took and no path ignores: the values themselves, and the
// keys left over inside an object whose other keys columns took.
func pick(n *node, obj map[string]json.RawMessage, cells []json.RawMessage) map[string]any {
	var other map[string]any
	leave := func(k string, v any) {
		if other == nil {
			other = map[string]any{}
		}
		other[k] = v
	}
	for k, v := range obj {
		c := n.children[k]
		switch {
		case c == nil:
			leave(k, v)
		case c.col >= 0:
			cells[c.col] = v
		case c.ignore:
		default:
			if sub := object(v); sub != nil {
				if rest := pick(c, sub, cells); len(rest) > 0 {
					leave(k, rest)
				}
			} else if !isNull(v) {
				// A scalar or a list where the columns expect an
				// object: no column can show it.
				leave(k, v)
			}
		}
	}
	return other
}

// object decodes a JSON object, or returns nil for anything else.
func object(v json.RawMessage) map[string]json.RawMessage {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return nil
	}
	return m
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// convert reads one JSON value into a cell of kind k. Strings take any
// scalar as its JSON text and objects and arrays as compact JSON, so an
// API that answers a number where its documentation says string loses
// nothing.
func convert(raw json.RawMessage, k Kind) (Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Value{Null: true}, nil
	}
	s, isString := unquote(raw)
	if raw[0] == '"' && !isString {
		return Value{}, errors.New("not valid JSON")
	}
	switch k {
	case Int64:
		text := string(raw)
		if isString {
			text = s
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			// 1.7e9 is an integer too, as JSON encoders may write it.
			f, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || f != float64(int64(f)) {
				return Value{}, errors.New("not an integer")
			}
			n = int64(f)
		}
		return Value{Int: n}, nil
	case Bool:
		text := string(raw)
		if isString {
			text = s
		}
		b, err := strconv.ParseBool(text)
		if err != nil {
			return Value{}, errors.New("not a boolean")
		}
		return Value{Bool: b}, nil
	}
	if isString {
		return Value{Str: s}, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return Value{}, errors.New("not valid JSON")
	}
	return Value{Str: buf.String()}, nil
}

// unquote reads a JSON string. Most strings hold no escapes and are
// valid UTF-8, and are then their bytes between the quotes: the input was
// checked as a whole when the object was decoded, so they need no second
// pass.
func unquote(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}
