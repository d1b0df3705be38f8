package revnue

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"crmsync/pipeline"
)

// The types of a custom template field, as the template list names them.
const (
	typeMoney  = "money"
	typeNumber = "number"
	typeDate   = "date"
	typeText   = "text"
)

// Bounds of the template values (shared/api/revnue.md).
const (
	maxText      = 50
	maxMoneyText = "999999999999999.00"
	maxNumber    = 999999999999999
)

var maxMoney, _ = new(big.Rat).SetString(maxMoneyText)

// Template is a custom field template of the account, as its list
// answers it.
type Template struct {
	ID     int64           `json:"id"`
	Name   string          `json:"name"`
	Fields []TemplateField `json:"fields"`
}

// TemplateField is one field of a template: what a write names it by
// (ID), what a read keys it by (Key), and its type.
type TemplateField struct {
	ID   int64  `json:"id"`
	Key  string `json:"key"`
	Type string `json:"type"`
}

// field returns the template's field of the key, or nil.
func (t *Template) field(key string) *TemplateField {
	for i := range t.Fields {
		if t.Fields[i].Key == key {
			return &t.Fields[i]
		}
	}
	return nil
}

func (t *Template) keys() []string {
	keys := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		keys[i] = f.Key
	}
	return keys
}

// templates are the account's templates, read once in Prepare: the first
// is the one a customer without template values is given; the others
// serve the customers that hold values of theirs.
type templates []Template

// byID returns the template with the id, or nil.
func (ts templates) byID(id int64) *Template {
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i]
		}
	}
	return nil
}

// readTemplates reads every template of the account, page by page, the
// paging guarded.
func (c *Client) readTemplates(ctx context.Context) (templates, error) {
	var out templates
	err := c.walkList(ctx, templatesRoute, func(items []json.RawMessage) error {
		for _, raw := range items {
			var t Template
			if err := json.Unmarshal(raw, &t); err != nil || t.ID == 0 {
				return pipeline.Fatalf("revnue answered a custom field template that is not one")
			}
			out = append(out, t)
		}
		return nil
	}, func(i int, items []json.RawMessage) string { return string(items[i]) })
	return out, err
}

// valueError is a template value the connector refuses to send (the row
// is rejected with CodeTemplateValue), or a value it cannot carry over
// (CodeCarryOver). It is permanent: the row's.
type valueError struct {
	code, field, msg string
}

func (e *valueError) Error() string { return e.field + ": " + e.msg }

func templateValueError(field, format string, args ...any) error {
	return pipeline.Permanent(&valueError{code: CodeTemplateValue, field: field, msg: fmt.Sprintf(format, args...)})
}

// requiredError is a part of the contact person Revnue requires beside
// another part the write gives.
func requiredError(field, beside string) error {
	return pipeline.Permanent(&valueError{code: pipeline.CodeRequired, field: field,
		msg: fmt.Sprintf("is empty while %s is given, and Revnue requires each when the other is given: fill it, or clear both", beside)})
}

func carryOverError(field, format string, args ...any) error {
	return pipeline.Permanent(&valueError{code: CodeCarryOver, field: field, msg: fmt.Sprintf(format, args...)})
}

// templateValue checks v, a record's value of the template field tf
// (named field in the schema), against the field's type and bounds, and
// returns what a write sends for it: money as a string with two decimals
// (a float64 cannot hold 17 digits), a number as a JSON integer, a date
// or a text as a string. The messages quote no value: they are personal
// data as often as not.
func templateValue(field string, tf *TemplateField, v string) (any, error) {
	switch tf.Type {
	case typeMoney:
		m, ok := money(v)
		if !ok {
			return nil, templateValueError(field, "is a money field: give a number from 0.00 to %s with at most two decimals", maxMoneyText)
		}
		return m, nil
	case typeNumber:
		c, ok := pipeline.Canonical(pipeline.KindInt, strings.TrimSpace(v))
		if !ok {
			return nil, templateValueError(field, "is a number field: give a whole number from -%d to %d", maxNumber, maxNumber)
		}
		if n, err := strconv.ParseInt(c, 10, 64); err != nil || n > maxNumber || n < -maxNumber {
			return nil, templateValueError(field, "is a number field: give a whole number from -%d to %d", maxNumber, maxNumber)
		}
		return json.Number(c), nil
	case typeDate:
		c, ok := pipeline.Canonical(pipeline.KindDate, strings.TrimSpace(v))
		if !ok {
			return nil, templateValueError(field, "is a date field: give a calendar date written YYYY-MM-DD")
		}
		return c, nil
	case typeText:
		if n := utf8.RuneCountInString(v); n > maxText {
			return nil, templateValueError(field, "is a text field of at most %d characters; this value has %d: shorten it, or truncate(…, %d) in the mapping", maxText, n, maxText)
		}
		return v, nil
	}
	return nil, carryOverError(field, "has type %q in the account's template, which crmsync does not know how to send", tf.Type)
}

// money returns v as Revnue holds a money value, with exactly two
// decimals ("1200.5" → "1200.50"), or ok false when v is no decimal from
// 0 to maxMoney with at most two decimals.
func money(v string) (string, bool) {
	c, ok := pipeline.Canonical(pipeline.KindDecimal, strings.TrimSpace(v))
	if !ok || strings.HasPrefix(c, "-") {
		return "", false
	}
	whole, frac, _ := strings.Cut(c, ".")
	if len(frac) > 2 {
		return "", false
	}
	r, ok := new(big.Rat).SetString(c)
	if !ok || r.Cmp(maxMoney) > 0 {
		return "", false
	}
	return whole + "." + frac + strings.Repeat("0", 2-len(frac)), true
}

// held is the text Revnue answers for the value v written to a template
// field of type typ (see rowsink.Holder): money with two decimals, a
// number without leading zeros; v itself otherwise, and for a value that
// is not of the type (which is rejected before it is sent).
func held(typ, v string) string {
	switch typ {
	case typeMoney:
		if m, ok := money(v); ok {
			return m
		}
	case typeNumber:
		if c, ok := pipeline.Canonical(pipeline.KindInt, strings.TrimSpace(v)); ok {
			return c
		}
	case typeDate:
		return strings.TrimSpace(v)
	}
	return v
}

// unknownTemplateFields is the fatal error of a mapping that fills
// template fields the account's template lacks.
func unknownTemplateFields(missing []string, t *Template) error {
	if t == nil {
		return pipeline.Fatalf("revnue: the mapping fills %s, but the account has no custom field template", pipeline.QuoteList(missing))
	}
	known := t.keys()
	slices.Sort(known)
	for i, k := range known {
		known[i] = TemplatePrefix + k
	}
	return pipeline.Fatalf("revnue: the mapping fills %s, which the account's template %d (%s) does not have; its fields are %s",
		pipeline.QuoteList(missing), t.ID, pipeline.Quote(t.Name), pipeline.QuoteList(known))
}
