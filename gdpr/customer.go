package gdpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Kind is the type of a table column.
type Kind int

// The kinds of column. Every column is nullable: null is what the CRM
// answered (or a key it left out), which a typed format keeps apart from
// "".
const (
	String Kind = iota
	Int64
	Bool
)

// Column is one column of the combined table.
type Column struct {
	Name string
	Kind Kind
	// path is where the value lives in the customer object: one key, or
	// an address key and a key of the address. Empty for the columns
	// filled from elsewhere (the teammate, the other fields).
	path []string
}

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

// Row is a table row, one value per column of Columns.
type Row []Value

// Teammate is an entry of the CRM's teammate list.
type Teammate struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// customerKeys are the documented keys of tamio's customer object, in
// its order, with their kinds. "object" is left out: it is always
// "customer".
var customerKeys = []struct {
	key  string
	kind Kind
}{
	{"id", String}, {"email", String}, {"name", String}, {"last_name", String},
	{"country", String}, {"locale", String}, {"timezone_offset", String},
	{"category", String}, {"priority", String}, {"lead_status", String},
	{"phone", String}, {"stripe_customer_id", String}, {"teammate_id", String},
	{"affiliate_partner_id", String}, {"has_notes", Bool}, {"created_at", Int64},
	{"direct_debits", String}, {"client_id", String},
}

// addressKeys are the documented keys of the address object, less
// "object" (always "address") and "shipping_address" (which the column's
// prefix already says).
var addressKeys = []struct {
	key  string
	kind Kind
}{
	{"id", String}, {"name", String}, {"last_name", String}, {"email", String},
	{"address", String}, {"city", String}, {"postcode", String}, {"state", String},
	{"country", String}, {"locale", String}, {"phone", String}, {"company", String},
	{"message", String}, {"is_company", Bool}, {"vat", String}, {"verified_vat", Bool},
	{"representative", String},
}

// OtherFieldsColumn holds, as a JSON object, the keys of a customer that
// no other column takes, so that the table loses nothing the CRM sent
// (the per-subject JSON file has them in place).
const OtherFieldsColumn = "other_fields"

// Columns are the combined table's columns: the customer's keys, the
// assigned teammate's email and name, the billing and the shipping
// address flattened as billing_address_city and so on, and
// OtherFieldsColumn. Objects and arrays (direct_debits) are JSON text.
var Columns = func() []Column {
	var cols []Column
	for _, k := range customerKeys {
		cols = append(cols, Column{Name: k.key, Kind: k.kind, path: []string{k.key}})
	}
	cols = append(cols, Column{Name: "teammate_email", Kind: String}, Column{Name: "teammate_name", Kind: String})
	for _, a := range []string{"billing_address", "shipping_address"} {
		for _, k := range addressKeys {
			cols = append(cols, Column{Name: a + "_" + k.key, Kind: k.kind, path: []string{a, k.key}})
		}
	}
	return append(cols, Column{Name: OtherFieldsColumn, Kind: String})
}()

// columnKeys are the keys of the customer object that columns hold (or,
// for "object", need not).
var columnKeys = func() map[string]bool {
	m := map[string]bool{"object": true, "billing_address": true, "shipping_address": true}
	for _, k := range customerKeys {
		m[k.key] = true
	}
	return m
}()

// Customer is a customer object as the CRM sent it, with what the table
// needs picked out.
type Customer struct {
	Raw        json.RawMessage
	ID         string
	Email      string
	TeammateID string
	keys       map[string]json.RawMessage
	addrs      map[string]map[string]json.RawMessage // billing_address, shipping_address
	// pluralTaken lists the plural address keys (billing_addresses) whose
	// one address at most went to the columns: they are not other fields.
	pluralTaken []string
}

// DecodeCustomer reads a customer object. It needs an id; every other
// key may be absent or null.
func DecodeCustomer(raw json.RawMessage) (*Customer, error) {
	c := &Customer{Raw: raw}
	if err := json.Unmarshal(raw, &c.keys); err != nil || c.keys == nil {
		return nil, errors.New("the CRM answered a customer that is not a JSON object")
	}
	c.ID = plainString(c.keys["id"])
	if raw := bytes.TrimSpace(c.keys["id"]); c.ID == "" && len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		c.ID = string(raw) // a numeric id, as other CRMs' builds use
	}
	if c.ID == "" {
		return nil, errors.New("the CRM answered a customer without an id")
	}
	c.Email = plainString(c.keys["email"])
	c.TeammateID = plainString(c.keys["teammate_id"])
	c.addrs = make(map[string]map[string]json.RawMessage, 2)
	for _, kind := range []string{"billing_address", "shipping_address"} {
		c.addrs[kind] = c.address(kind)
	}
	return c, nil
}

// plainString returns a JSON string's text, or "" for anything else.
func plainString(v json.RawMessage) string {
	if s, ok := unquote(v); ok {
		return s
	}
	return ""
}

// unquote reads a JSON string. Most strings hold no escapes and are
// valid UTF-8, and are then their bytes between the quotes: the input was
// checked as a whole when the customer was decoded, so they need no
// second pass.
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

// address returns the customer's address of a kind: the documented
// object, or the first of the plural array some pages of the API
// documentation show instead (a client must accept both).
func (c *Customer) address(kind string) map[string]json.RawMessage {
	if v, ok := c.keys[kind]; ok && len(v) > 0 && v[0] == '{' {
		var a map[string]json.RawMessage
		if json.Unmarshal(v, &a) == nil {
			return a
		}
	}
	v, ok := c.keys[kind+"es"]
	if !ok {
		return nil
	}
	var list []map[string]json.RawMessage
	if json.Unmarshal(v, &list) != nil {
		return nil
	}
	if len(list) <= 1 {
		c.pluralTaken = append(c.pluralTaken, kind+"es")
	}
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// Flatten turns the customer into a row of Columns; tm is the assigned
// teammate, or nil. A value of a type its column cannot hold is an error
// naming the column, not the value.
func (c *Customer) Flatten(tm *Teammate) (Row, error) {
	row := make(Row, len(Columns))
	for i, col := range Columns {
		var raw json.RawMessage
		switch {
		case col.Name == "teammate_email" || col.Name == "teammate_name":
			row[i] = Value{Null: true}
			if tm != nil {
				row[i] = Value{Str: tm.Email}
				if col.Name == "teammate_name" {
					row[i] = Value{Str: tm.Name}
				}
			}
			continue
		case col.Name == OtherFieldsColumn:
			continue
		case len(col.path) == 1:
			raw = c.keys[col.path[0]]
		default:
			raw = c.addrs[col.path[0]][col.path[1]]
		}
		v, err := convert(raw, col.Kind)
		if err != nil {
			return nil, fmt.Errorf("customer %s, %s: %w", c.ID, col.Name, err)
		}
		row[i] = v
	}
	var other map[string]json.RawMessage
	for k, v := range c.keys {
		if !columnKeys[k] && !slices.Contains(c.pluralTaken, k) {
			if other == nil {
				other = map[string]json.RawMessage{}
			}
			other[k] = v
		}
	}
	last := len(Columns) - 1
	row[last] = Value{Null: true}
	if len(other) > 0 {
		b, err := json.Marshal(other) // keys sorted: the same customer gives the same text
		if err != nil {
			return nil, fmt.Errorf("customer %s, %s: %w", c.ID, OtherFieldsColumn, err)
		}
		row[last] = Value{Str: string(b)}
	}
	return row, nil
}

// convert reads one JSON value into a cell of kind k. Strings take any
// scalar as its JSON text and objects and arrays as compact JSON, so an
// API that answers a number where the documentation says string loses
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
