package revnuetest

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"crmsync/internal/emulator"
)

// DefaultToken is the OAuth bearer token a server accepts when
// [Options.Tokens] is empty. `crmsync sandbox --api revnue` prints it; it
// is not a secret.
const DefaultToken = "rv_test_revnue_sandbox"

// DefaultRateLimit is the requests a minute an account may make when
// [Options.RateLimit] is 0: Revnue's documented limit.
const DefaultRateLimit = 100

// Token is an OAuth bearer token the server accepts. Every token belongs
// to the one account the server emulates, and they share its rate limit.
type Token struct {
	// Token is the bearer token.
	Token string
	// Name labels the token in logs and stats, where the token never
	// appears; "" becomes "keyN".
	Name string
}

// Category is a customer category of the account.
type Category struct {
	ID   int64
	Name string
}

// The types of a custom template field, as a [TemplateField] names them.
const (
	TypeMoney  = "money"  // a decimal from 0.00 to 999999999999999.00, two places at most
	TypeNumber = "number" // an integer from -999999999999999 to 999999999999999
	TypeDate   = "date"   // a calendar date, yyyy-MM-dd
	TypeText   = "text"   // at most 50 characters
)

var fieldTypes = []string{TypeMoney, TypeNumber, TypeDate, TypeText}

// TemplateField is a field of the custom field template.
type TemplateField struct {
	// ID is what a write names the field by (template.fields[].id).
	ID int64
	// Key names the field in the read shape (template.fields is a
	// {key: value} map) and in the template list.
	Key string
	// Type is TypeMoney, TypeNumber, TypeDate or TypeText.
	Type string
}

// Template is the account's custom field template.
type Template struct {
	ID     int64
	Name   string
	Fields []TemplateField
}

// Faults describes the faults a server injects; the zero value injects
// none. See the package documentation for how they are drawn.
type Faults = emulator.Faults

// DefaultCategories are the categories of a server whose options set
// none.
func DefaultCategories() []Category {
	return []Category{{1, "Default"}, {2, "Partner"}, {3, "Reseller"}}
}

// DefaultTemplate is the template of a server whose options set none:
// one field of each type.
func DefaultTemplate() Template {
	return Template{ID: 1, Name: "Default", Fields: []TemplateField{
		{1, "contract_value", TypeMoney},
		{2, "seats", TypeNumber},
		{3, "renewal_date", TypeDate},
		{4, "account_tier", TypeText},
	}}
}

// Options configure a [Server]; the zero value gives an in-memory server
// on a free port of 127.0.0.1 with [DefaultToken], [DefaultRateLimit],
// company 1, [DefaultCategories] and [DefaultTemplate]. NewServer copies
// what it is given: changing the options afterwards changes nothing.
type Options struct {
	// Addr is the listen address; "" means "127.0.0.1:0".
	Addr string
	// DBPath is the SQLite file that keeps the data across restarts; ""
	// keeps it in memory, gone at Close.
	DBPath string
	// Tokens are the accepted bearer tokens; empty means DefaultToken.
	Tokens []Token
	// RateLimit is the requests a minute the account may make, all
	// tokens together, in a sliding minute; 0 means DefaultRateLimit.
	RateLimit int
	// Companies are the ids of the account's companies; empty means [1].
	Companies []int64
	// Categories are the account's categories; empty means
	// DefaultCategories. They are shared by every company.
	Categories []Category
	// Template is the custom field template; nil means
	// DefaultTemplate. It is shared by every company.
	Template *Template
	// Faults are the faults to inject from the start; see
	// Server.SetFaults.
	Faults Faults
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills in the defaults and checks everything NewServer would
// otherwise trip over later, so that a bad configuration fails at start.
// An error names the setting at fault (an [emulator.SettingError]).
func (o Options) withDefaults() (Options, error) {
	o.Tokens = slices.Clone(o.Tokens)
	if len(o.Tokens) == 0 {
		o.Tokens = []Token{{Token: DefaultToken, Name: "default"}}
	}
	checked, err := emulator.CheckKeysAt("tokens", kitKeys(o.Tokens), nil)
	if err != nil {
		return o, err
	}
	for i := range o.Tokens {
		o.Tokens[i].Name = checked[i].Name
	}
	switch {
	case o.RateLimit < 0:
		return o, emulator.At("rate_limit", -1, fmt.Errorf("rate limit %d is negative", o.RateLimit))
	case o.RateLimit == 0:
		o.RateLimit = DefaultRateLimit
	}
	o.Companies = slices.Clone(o.Companies)
	if len(o.Companies) == 0 {
		o.Companies = []int64{1}
	}
	for i, c := range o.Companies {
		if c < 1 {
			return o, emulator.At("companies", i, fmt.Errorf("company id %d is not positive", c))
		}
		if slices.Contains(o.Companies[:i], c) {
			return o, emulator.At("companies", i, fmt.Errorf("company %d is listed twice", c))
		}
	}
	o.Categories = slices.Clone(o.Categories)
	if len(o.Categories) == 0 {
		o.Categories = DefaultCategories()
	}
	for i, c := range o.Categories {
		switch {
		case c.ID < 1:
			return o, emulator.At("categories", i, fmt.Errorf("category id %d is not positive", c.ID))
		case strings.TrimSpace(c.Name) == "":
			return o, emulator.At("categories", i, fmt.Errorf("category %d has no name", c.ID))
		case slices.ContainsFunc(o.Categories[:i], func(d Category) bool { return d.ID == c.ID }):
			return o, emulator.At("categories", i, fmt.Errorf("category %d is listed twice", c.ID))
		}
	}
	if o.Template == nil {
		t := DefaultTemplate()
		o.Template = &t
	} else {
		t := *o.Template
		t.Fields = slices.Clone(t.Fields)
		if err := t.check(); err != nil {
			return o, emulator.At("template", -1, err)
		}
		o.Template = &t
	}
	if err := o.Faults.Validate(); err != nil {
		return o, emulator.At("faults", -1, err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// check refuses a template a customer could not be given values of.
func (t *Template) check() error {
	switch {
	case t.ID == 0:
		return errors.New("the template has no id")
	case t.ID < 0:
		return fmt.Errorf("template id %d is not positive", t.ID)
	}
	if t.Name == "" {
		t.Name = "Default"
	}
	for i, f := range t.Fields {
		switch {
		case f.ID < 1:
			return fmt.Errorf("field %d: id %d is not positive", i, f.ID)
		case f.Key == "":
			return fmt.Errorf("field %d (id %d): empty key", i, f.ID)
		case !slices.Contains(fieldTypes, f.Type):
			return fmt.Errorf("field %d (id %d): type %q is not one of %s", i, f.ID, f.Type, strings.Join(fieldTypes, ", "))
		}
		for _, g := range t.Fields[:i] {
			if g.ID == f.ID {
				return fmt.Errorf("field %d: id %d is used twice", i, f.ID)
			}
			if g.Key == f.Key {
				return fmt.Errorf("field %d: key %q is used twice", i, f.Key)
			}
		}
	}
	return nil
}

func kitKeys(tokens []Token) []emulator.Key {
	out := make([]emulator.Key, len(tokens))
	for i, t := range tokens {
		out[i] = emulator.Key{Token: t.Token, Name: t.Name}
	}
	return out
}
