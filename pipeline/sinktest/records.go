package sinktest

import (
	"fmt"
	"strings"
	"time"

	"crmsync/pipeline"
)

// Hints are what the suite cannot learn from a connector's schema: data,
// never code, that a connector's test gives [RunConnector].
type Hints struct {
	// Values lists, by schema field name, values the target accepts for
	// the field, used in turn (record n takes Values[n % len]). A field
	// of a kind the suite cannot make up (KindUUID: an id of something the
	// account must hold, such as a teammate) is left unmapped unless it is
	// named here. A value given here overrides the suite's own.
	Values map[string][]string
	// Refused names, by schema field name, a value that passes the
	// schema's validation but that the target refuses (an id the account
	// does not hold). A record carrying it must be rejected alone, with a
	// code of the API's that the reject reference explains.
	Refused map[string]string
	// RateFromConfig says the API's answers tell no rate limit, so a sink
	// paces at the rate it is configured with (crm.Config.Rate, a user's
	// --rate) or its documented one. The suite then runs the sandbox at a
	// generous limit and tells the sink that limit, as a user whose plan
	// allows more than the documented rate would.
	RateFromConfig bool
}

// gen makes the records of one connector's schema: valid, canonical (as
// the engine hands them to a sink), with unique match values.
type gen struct {
	schema *pipeline.Schema
	hints  Hints
	match  int
	// fillable marks the fields the suite can give values; the others are
	// never mapped.
	fillable []bool
}

func newGen(s *pipeline.Schema, h Hints) (*gen, error) {
	g := &gen{schema: s, hints: h, match: s.Index(s.MatchField), fillable: make([]bool, len(s.Fields))}
	if g.match < 0 {
		return nil, fmt.Errorf("the schema's match field %q is not one of its fields", s.MatchField)
	}
	for name, vs := range h.Values {
		f := s.Index(name)
		if f < 0 {
			return nil, fmt.Errorf("hints give values for %q, which is not a field of the schema", name)
		}
		if len(vs) == 0 {
			return nil, fmt.Errorf("hints give no values for %q", name)
		}
	}
	for name := range h.Refused {
		if s.Index(name) < 0 {
			return nil, fmt.Errorf("hints refuse a value of %q, which is not a field of the schema", name)
		}
	}
	for f := range s.Fields {
		_, ok := g.value(f, 0, 0)
		g.fillable[f] = ok
	}
	if !g.fillable[g.match] {
		return nil, fmt.Errorf("the suite cannot make up values of the match field %q (kind %v); give them in Hints.Values", s.MatchField, s.Fields[g.match].Kind)
	}
	return g, nil
}

// mapped returns the plan's Mapped of a mapping that fills every field
// the suite can fill.
func (g *gen) mapped() []bool { return append([]bool(nil), g.fillable...) }

// record returns record n: a value for every fillable field, version 0.
func (g *gen) record(n int) []string {
	out := make([]string, len(g.schema.Fields))
	for f := range out {
		out[f], _ = g.value(f, n, 0)
	}
	return out
}

// records returns records from, from+1, …, from+n-1.
func (g *gen) records(from, n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = g.record(from + i)
	}
	return out
}

// with returns a copy of v whose field f holds version ver of record n's
// value, which differs from version 0.
func (g *gen) with(v []string, f, n, ver int) []string {
	out := append([]string(nil), v...)
	out[f], _ = g.value(f, n, ver)
	return out
}

// changeable reports whether field f has a second valid value: a field an
// update can change.
func (g *gen) changeable(f int) bool {
	if !g.fillable[f] {
		return false
	}
	a, _ := g.value(f, 0, 0)
	b, _ := g.value(f, 0, 1)
	return a != b
}

// updatable lists the fields an update of the suite changes and whose
// survival it checks: fillable, changeable, not the match field, not sent
// on every update regardless (RequiredOnUpdate) and not create-only.
func (g *gen) updatable() []int {
	var out []int
	for f := range g.schema.Fields {
		fl := &g.schema.Fields[f]
		if f != g.match && g.changeable(f) && !fl.RequiredOnUpdate && !fl.CreateOnly {
			out = append(out, f)
		}
	}
	return out
}

// clearable lists the fields an update can clear that the suite fills.
func (g *gen) clearable() []int {
	var out []int
	for f := range g.schema.Fields {
		fl := &g.schema.Fields[f]
		// A part required with its group's others cannot be cleared alone.
		if f != g.match && g.fillable[f] && fl.CanClear() && !fl.RequiredOnUpdate && !fl.CreateOnly && !fl.RequiredInGroup {
			out = append(out, f)
		}
	}
	return out
}

// groupParts lists the parts of each group an update can change
// (fillable, changeable, not create-only), by group name, in schema
// order.
func (g *gen) groupParts() map[string][]int {
	out := map[string][]int{}
	for f := range g.schema.Fields {
		fl := &g.schema.Fields[f]
		if grp := fl.Group(); grp != "" && g.changeable(f) && f != g.match && !fl.CreateOnly {
			out[grp] = append(out[grp], f)
		}
	}
	return out
}

// matchCased returns record n's match value with its first letter in
// upper case, for the case tests.
func (g *gen) matchCased(n int) string {
	v, _ := g.value(g.match, n, 0)
	return strings.ToUpper(v[:1]) + v[1:]
}

var (
	countries = []string{"de", "fr", "nl", "es", "it"}
	locales   = []string{"en", "de", "fr", "pt-BR", "es"}
	offsets   = []string{"+01:00", "-05:00", "+00:00", "+05:30", "+09:00"}
	baseDate  = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
)

// value returns version ver of field f's value for record n, in the
// canonical text the engine hands a sink, and false when the suite can
// make up no value of that field. Values are short (well under any
// MaxLen a CRM sets), distinct across n for the match field, and
// distinct across ver for every field that has two valid values.
func (g *gen) value(f, n, ver int) (string, bool) {
	fl := &g.schema.Fields[f]
	if vs, ok := g.hints.Values[fl.Name]; ok {
		return vs[(n+ver)%len(vs)], true
	}
	leaf := fl.Leaf()
	var v string
	switch fl.Kind {
	case pipeline.KindString:
		v = fmt.Sprintf("%s %d", leaf, n)
		if ver > 0 {
			v = fmt.Sprintf("%s %d v%d", leaf, n, ver)
		}
	case pipeline.KindEmail:
		v = fmt.Sprintf("%s.%d@example.com", strings.ToLower(leaf), n)
		if ver > 0 {
			v = fmt.Sprintf("%s.%d.v%d@example.com", strings.ToLower(leaf), n, ver)
		}
	case pipeline.KindCountry:
		v = countries[(n+ver)%len(countries)]
		if !fl.Lower {
			v = strings.ToUpper(v)
		}
	case pipeline.KindLocale:
		v = locales[(n+ver)%len(locales)]
	case pipeline.KindOffset:
		v = offsets[(n+ver)%len(offsets)]
	case pipeline.KindPhone:
		v = fmt.Sprintf("+49%d%07d", 30+ver, n)
	case pipeline.KindEnum:
		if len(fl.Enum) == 0 {
			return "", false
		}
		v = fl.Enum[ver%len(fl.Enum)]
	case pipeline.KindBool:
		v = fmt.Sprint((n+ver)%2 == 0)
	case pipeline.KindInt:
		v = fmt.Sprint(n + 1 + 1000*ver)
	case pipeline.KindDecimal:
		v = fmt.Sprintf("%d.5", n+1000*ver)
	case pipeline.KindDate:
		v = baseDate.AddDate(ver, 0, n).Format(time.DateOnly)
	case pipeline.KindList:
		items := []string{"a", fmt.Sprintf("tag-%d", n), "z"}
		if ver > 0 {
			items = []string{fmt.Sprintf("tag-%d-v%d", n, ver), "b"}
		}
		v = pipeline.FormatList(items)
	default:
		// KindUUID and kinds to come: an id or a value the account must
		// know, which only a hint can give.
		return "", false
	}
	if fl.Lower {
		v = strings.ToLower(v)
	}
	if fl.MaxLen > 0 && len([]rune(v)) > fl.MaxLen {
		v = string([]rune(v)[:fl.MaxLen])
	}
	return v, true
}
