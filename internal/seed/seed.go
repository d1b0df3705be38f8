// Package seed makes fake customers for any connector's schema, to fill a
// sandbox before a rehearsal, a migration or a benchmark.
//
// The customers are deterministic (the same schema, seed and index give
// the same record), valid (every record passes the schema's Validate and
// ValidateCreate) and in the canonical text a mapped record carries, so
// that what a reader gives back compares equal to what was generated.
// They look like people and businesses of several countries, with the
// accents, apostrophes, commas and quotes real data holds, so that a
// rehearsal meets the escaping a real account needs.
//
// Nothing here knows an API: a field's value follows from its kind and
// the words of its name (city, zip, phone, notes). Values only an account
// knows (the id of a teammate or of a category) come from the caller, for
// a sandbox from its [AccountValuer].
package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"crmsync/pipeline"
)

// Version changes whenever the records of a schema and seed change, so
// that an account seeded and kept (a benchmark's cached file) is seeded
// anew rather than compared with other records.
const Version = 2

// AccountValuer is implemented by a running sandbox (a crm.Sandbox) whose
// account holds records that some fields must name: its teammates, its
// companies, its categories. SeedValues lists, by schema field name,
// values the account accepts for them.
type AccountValuer interface {
	SeedValues() map[string][]string
}

// ValuesOf returns the account values of a sandbox, or nil when it has
// none to give.
func ValuesOf(sandbox any) map[string][]string {
	if v, ok := sandbox.(AccountValuer); ok {
		return v.SeedValues()
	}
	return nil
}

// Records returns customers 0 to n-1 of the schema for seed: values
// indexed like schema.Fields, in canonical text. A field of a kind no
// value can be made up for (a UUID, which names something the account
// holds) is left empty; use New with values to fill it.
func Records(schema *pipeline.Schema, n int, seed int64) [][]string {
	g := New(schema, seed, nil)
	out := make([][]string, n)
	for i := range out {
		out[i] = g.Record(i)
	}
	return out
}

// Generator makes the customers of one schema and seed. Its methods may
// be called from several goroutines at once.
type Generator struct {
	schema *pipeline.Schema
	seed   int64
	values map[string][]string
	match  int
	fields []fieldPlan
	groups []groupPlan
	// complete records leave no field empty that they can fill.
	complete bool
}

// fieldPlan is how a field's values are made.
type fieldPlan struct {
	make func(r *rand.Rand, p *person, i int) string
	// optional fields are left empty in some records.
	optional bool
	group    int // index in groups, -1 outside one
}

// groupPlan is a nested object: filled whole, or in some records left
// out whole.
type groupPlan struct {
	parts []int
	// fillable is false when a part the object needs has no value to be
	// made: then no record fills the object.
	fillable bool
}

// Shares of records that leave an optional field, or a nested object, empty.
const (
	emptyField = 0.15
	emptyGroup = 0.25
)

// New returns the generator of schema's customers for seed. values lists,
// by field name, values the account accepts for a field (what
// AccountValuer gives); they replace the made-up values of that field.
// The schema may be one extended with open fields (pipeline.Schema.Extend):
// they get values of their kind.
func New(schema *pipeline.Schema, seed int64, values map[string][]string) *Generator {
	g := &Generator{schema: schema, seed: seed, values: values, match: schema.Index(schema.MatchField)}
	groupIndex := map[string]int{}
	g.fields = make([]fieldPlan, len(schema.Fields))
	for i := range schema.Fields {
		f := &schema.Fields[i]
		p := fieldPlan{group: -1, make: g.maker(i)}
		// A field the API cannot clear is one it fills itself when a
		// create leaves it out (a default status, a flag read as false):
		// an empty value would not read back as empty.
		p.optional = i != g.match && !f.RequiredOnCreate && !f.RequiredOnUpdate && f.CanClear()
		if grp := f.Group(); grp != "" {
			k, ok := groupIndex[grp]
			if !ok {
				k = len(g.groups)
				groupIndex[grp] = k
				g.groups = append(g.groups, groupPlan{fillable: true})
			}
			g.groups[k].parts = append(g.groups[k].parts, i)
			if p.make == nil && f.RequiredInGroup {
				g.groups[k].fillable = false
			}
			p.group, p.optional = k, false
		}
		g.fields[i] = p
	}
	return g
}

// Complete returns a generator of the same customers with every field
// they can hold filled, every nested object whole: for a rehearsal that
// must exercise every field a mapping reads.
func (g *Generator) Complete() *Generator {
	c := *g
	c.complete = true
	return &c
}

// Filled marks the fields some record fills: the Mapped of a plan that
// writes the records.
func (g *Generator) Filled() []bool {
	out := make([]bool, len(g.fields))
	for i, p := range g.fields {
		out[i] = p.make != nil && (p.group < 0 || g.groups[p.group].fillable)
	}
	return out
}

// Record returns customer i.
func (g *Generator) Record(i int) []string {
	r := rand.New(rand.NewPCG(uint64(g.seed), uint64(i)))
	p := newPerson(r, i)
	out := make([]string, len(g.fields))
	skipGroup := make([]bool, len(g.groups))
	for k, grp := range g.groups {
		skipGroup[k] = !grp.fillable || r.Float64() < emptyGroup && !g.complete
	}
	for f, fp := range g.fields {
		if fp.make == nil {
			continue
		}
		if fp.group >= 0 && skipGroup[fp.group] {
			continue
		}
		// Drawn whether or not the field is left empty, so that one
		// field's choice does not shift the next field's values.
		empty := r.Float64() < emptyField
		if fp.optional && empty && !g.complete {
			continue
		}
		out[f] = g.fit(f, fp.make(r, p, i))
	}
	return out
}

// fit cuts a value to the field's MaxLen and folds it as the field says.
// A match value keeps its end, which makes it unique.
func (g *Generator) fit(f int, v string) string {
	fl := &g.schema.Fields[f]
	if fl.Lower {
		v = strings.ToLower(v)
	}
	if fl.MaxLen > 0 && utf8.RuneCountInString(v) > fl.MaxLen {
		rs := []rune(v)
		if f == g.match {
			rs = rs[len(rs)-fl.MaxLen:]
		} else {
			rs = rs[:fl.MaxLen]
		}
		v = strings.TrimSpace(string(rs))
	}
	return v
}

// maker returns what makes field i's values, or nil when none can be
// made up.
func (g *Generator) maker(i int) func(*rand.Rand, *person, int) string {
	f := &g.schema.Fields[i]
	if vs := g.values[f.Name]; len(vs) > 0 {
		return func(r *rand.Rand, _ *person, _ int) string { return vs[r.IntN(len(vs))] }
	}
	words := nameWords(f.Leaf())
	has := func(ws ...string) bool {
		for _, w := range ws {
			if words[w] {
				return true
			}
		}
		return false
	}
	match := i == g.match
	switch f.Kind {
	case pipeline.KindEmail:
		return func(_ *rand.Rand, p *person, i int) string { return p.email(f.Leaf(), i) }
	case pipeline.KindPhone:
		return func(r *rand.Rand, p *person, _ int) string { return p.e164(r) }
	case pipeline.KindCountry:
		return func(_ *rand.Rand, p *person, _ int) string { return p.country.alpha2 }
	case pipeline.KindLocale:
		return func(_ *rand.Rand, p *person, _ int) string { return p.country.locale }
	case pipeline.KindOffset:
		return func(_ *rand.Rand, p *person, _ int) string { return p.country.offset }
	case pipeline.KindEnum:
		if len(f.Enum) == 0 {
			return nil
		}
		return func(r *rand.Rand, _ *person, _ int) string { return f.Enum[r.IntN(len(f.Enum))] }
	case pipeline.KindUUID:
		// An id of something the account holds: only the account's
		// values (above) will do.
		return nil
	case pipeline.KindBool:
		return func(r *rand.Rand, _ *person, _ int) string { return fmt.Sprint(r.IntN(2) == 0) }
	case pipeline.KindInt:
		if has("country") {
			return func(_ *rand.Rand, p *person, _ int) string { return p.country.numeric }
		}
		if match {
			return func(_ *rand.Rand, _ *person, i int) string { return fmt.Sprint(100000 + i) }
		}
		return func(r *rand.Rand, _ *person, _ int) string { return fmt.Sprint(1 + r.IntN(5000)) }
	case pipeline.KindDecimal:
		return func(r *rand.Rand, _ *person, _ int) string {
			v, _ := pipeline.Canonical(pipeline.KindDecimal, fmt.Sprintf("%d.%02d", r.IntN(100000), r.IntN(100)))
			return v
		}
	case pipeline.KindDate:
		from, years := 2012, 15
		if has("birth", "dob", "born") {
			from, years = 1945, 60
		}
		return func(r *rand.Rand, _ *person, _ int) string {
			return fmt.Sprintf("%04d-%02d-%02d", from+r.IntN(years), 1+r.IntN(12), 1+r.IntN(28))
		}
	case pipeline.KindList:
		return func(r *rand.Rand, _ *person, _ int) string {
			n := 1 + r.IntN(3)
			items := make([]string, 0, n)
			for _, k := range r.Perm(len(tags))[:n] {
				items = append(items, tags[k])
			}
			return pipeline.FormatList(items)
		}
	case pipeline.KindString:
		return g.textMaker(f, has, match)
	}
	return nil
}

// textMaker makes the values of a free-text field, by the words of its
// name.
func (g *Generator) textMaker(f *pipeline.Field, has func(...string) bool, match bool) func(*rand.Rand, *person, int) string {
	var mk func(r *rand.Rand, p *person) string
	switch {
	case has("email", "mail"):
		return func(_ *rand.Rand, p *person, i int) string { return p.email(f.Leaf(), i) }
	case has("zip", "postal", "postcode", "post"):
		mk = func(r *rand.Rand, p *person) string { return p.country.postcode(r) }
	case has("id", "ref", "reference", "number", "code"):
		mk = func(r *rand.Rand, _ *person) string { return fmt.Sprintf("ref-%06d", r.IntN(1e6)) }
	case has("first", "given", "forename"):
		mk = func(_ *rand.Rand, p *person) string { return p.first }
	case has("last", "surname", "family"):
		mk = func(_ *rand.Rand, p *person) string { return p.last }
	case has("company", "organisation", "organization", "business", "account"):
		mk = func(_ *rand.Rand, p *person) string { return p.company }
	case has("customer", "contact", "representative", "person"):
		mk = func(_ *rand.Rand, p *person) string { return p.first + " " + p.last }
	case has("name"):
		// A name beside a last name is the first name; alone, the whole.
		if g.hasSibling(f, "last") {
			mk = func(_ *rand.Rand, p *person) string { return p.first }
		} else if match {
			mk = func(_ *rand.Rand, p *person) string { return p.company }
		} else {
			mk = func(_ *rand.Rand, p *person) string { return p.first + " " + p.last }
		}
	case has("phone", "mobile", "fax", "tel", "telephone", "cell"):
		mk = func(r *rand.Rand, p *person) string { return p.phone(r) }
	case has("website", "url", "web", "homepage", "site"):
		mk = func(_ *rand.Rand, p *person) string { return "https://www." + p.slug + ".example.com/" }
	case has("line2", "2") && has("line", "address", "street"):
		mk = func(r *rand.Rand, _ *person) string { return line2s[r.IntN(len(line2s))] }
	case has("street", "line1", "line", "address"):
		mk = func(r *rand.Rand, p *person) string {
			return fmt.Sprintf(p.country.street, 1+r.IntN(180), p.country.streets[r.IntN(len(p.country.streets))])
		}
	case has("city", "town"):
		mk = func(r *rand.Rand, p *person) string { return p.country.cities[r.IntN(len(p.country.cities))] }
	case has("state", "province", "region", "county"):
		mk = func(_ *rand.Rand, p *person) string { return p.country.region }
	case has("country"):
		mk = func(_ *rand.Rand, p *person) string { return p.country.alpha2 }
	case has("vat", "tax"):
		mk = func(r *rand.Rand, p *person) string { return fmt.Sprintf("%s%09d", p.country.alpha2, r.IntN(1e9)) }
	case has("note", "notes", "description", "comment", "comments", "remark", "remarks", "bio", "about"):
		mk = func(r *rand.Rand, _ *person) string { return notes[r.IntN(len(notes))] }
	default:
		mk = func(r *rand.Rand, _ *person) string { return words[r.IntN(len(words))] }
	}
	if !match {
		return func(r *rand.Rand, p *person, _ int) string { return mk(r, p) }
	}
	// A match value is unique, whatever its case (MatchFold): a number
	// no other record ends in.
	return func(r *rand.Rand, p *person, i int) string { return fmt.Sprintf("%s %d", mk(r, p), i+1) }
}

// hasSibling reports whether f's group (or the top level) has a field
// whose name holds the word.
func (g *Generator) hasSibling(f *pipeline.Field, word string) bool {
	for i := range g.schema.Fields {
		o := &g.schema.Fields[i]
		if o.Group() == f.Group() && o.Name != f.Name && nameWords(o.Leaf())[word] {
			return true
		}
	}
	return false
}

// nameWords splits a field's name into lower-case words at underscores,
// hyphens, case changes and between letters and digits:
// "address_line_1" and "addressLine1" are {address, line, 1}, and
// "postalCode" {postal, code}; the whole name in lower case is one more.
func nameWords(name string) map[string]bool {
	out := map[string]bool{strings.ToLower(name): true}
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out[strings.ToLower(string(cur))] = true
			cur = cur[:0]
		}
	}
	prev := rune(0)
	for _, c := range name {
		switch {
		case c == '_' || c == '-' || c == ' ':
			flush()
		case unicode.IsUpper(c) && !unicode.IsUpper(prev):
			flush()
			cur = append(cur, c)
		case unicode.IsDigit(c) != unicode.IsDigit(prev) && prev != 0 && prev != '_' && prev != '-':
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
		prev = c
	}
	flush()
	// "line1" as written in one piece, too.
	for w := range out {
		if w == "line" && (out["1"] || out["2"]) {
			if out["1"] {
				out["line1"] = true
			} else {
				out["line2"] = true
			}
		}
	}
	return out
}
