package pipeline

import "strings"

// rowMapper turns source rows into valid, normalised records: the
// mapping, the validation of the fields it fills, and the canonical form
// the target stores. A run and a verification pass share it, so that a
// verification compares the CRM with exactly what a sync sent.
type rowMapper struct {
	schema *Schema
	mapper Mapper
	mapped []bool
	// mappedIdx lists the fields the mapping fills, the only ones a
	// record's per-row checks look at.
	mappedIdx []int
}

func newRowMapper(s *Schema, m Mapper, mapped []bool) rowMapper {
	rm := rowMapper{schema: s, mapper: m, mapped: mapped, mappedIdx: []int{}}
	for f, ok := range mapped {
		if ok {
			rm.mappedIdx = append(rm.mappedIdx, f)
		}
	}
	return rm
}

// mapRow maps row into rec, whose values go in values (one per schema
// field, all empty), validates the record and, when it is valid,
// normalises it. It returns the mapping's or validation's reject; a
// rejected record holds what the mapping made of the row, unnormalised.
func (m *rowMapper) mapRow(row *Row, rec *Record, values []string, seen passed) *Reject {
	rec.Values = values[:0]
	rej := m.mapper.Apply(row, rec)
	if len(rec.Values) != len(values) {
		// A mapper that left the length alone (or cut it): the fields
		// it did not fill hold no value.
		rec.Values = values
	}
	if rej == nil {
		rec.Row = row
		rej = m.schema.validate(rec, m.mapped, m.mappedIdx, seen)
	}
	if rej == nil {
		m.normalize(rec)
	}
	return rej
}

// normalize puts a valid record's values in the form the target stores
// them, so that they compare equal to what the state and the CRM hold.
func (m *rowMapper) normalize(rec *Record) {
	// An unmapped field holds no value: only the mapped ones are looked at.
	for _, f := range m.mappedIdx {
		old := rec.Values[f]
		v := m.canonical(f, trimSpaceFast(old))
		// Written only when it changes: a string stored while the
		// collector runs costs a write barrier.
		if v != old {
			rec.Values[f] = v
		}
	}
}

// canonical is a valid value of field f in the form the target stores it:
// lower case where the target folds it, the canonical text of its kind,
// and an explicit null on a field that can be cleared as "" (what the CRM
// and the state hold for a cleared field).
func (m *rowMapper) canonical(f int, v string) string {
	field := &m.schema.Fields[f]
	switch {
	case v == "":
		return v
	case v == Null:
		if field.CanClear() {
			return ""
		}
		return v
	case field.Lower:
		return strings.ToLower(v)
	case field.Kind >= KindBool:
		if c, ok := Canonical(field.Kind, v); ok {
			return c
		}
	}
	return v
}

func trimSpaceFast(v string) string {
	if n := len(v); n == 0 || (v[0] > ' ' && v[0] < 0x80 && v[n-1] > ' ' && v[n-1] < 0x80) {
		return v
	}
	return strings.TrimSpace(v)
}
