package mappings

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"crmsync/pipeline"

	"github.com/zeebo/xxh3"
)

// A lookup table whose name holds a colon, "<api>:<table>", is a
// reference table: the target's connector reads it from the API at the
// start of a run (pipeline.ReferenceReader), and the mapping declares
// nothing for it under lookups.
func isReference(name string) bool { return strings.Contains(name, ":") }

// checkReference checks the name of a reference table at Load and notes
// it in m.refs. Which tables a target offers is known only once its
// connector runs: a name it does not offer fails the run's start.
func checkReference(m *Mapping, name string) error {
	api, table, _ := strings.Cut(name, ":")
	if api == "" || table == "" || strings.TrimSpace(name) != name {
		return fmt.Errorf(`lookup table %s: a table read from the target is named api:table, as in lookup("%s:teammates", owner_email)`, quote(name), m.schema.API)
	}
	if api != m.schema.API {
		return fmt.Errorf("lookup table %s is read from %s, but this mapping writes to %s", quote(name), api, m.schema.API)
	}
	if !slices.Contains(m.refs, name) {
		m.refs = append(m.refs, name)
		slices.Sort(m.refs)
	}
	return nil
}

// References names the reference tables the mapping looks values up in
// ("acme:teammates"), sorted; the caller reads them from the target
// with pipeline.ReadReferences and hands them to WithReferences before
// it binds the mapping to a source.
func (m *Mapping) References() []string { return slices.Clone(m.refs) }

// WithReferences returns a copy of m that looks values up in tables, the
// reference tables read from the target (see References); m is left as
// it was. Keys are trimmed and, for a table that says IgnoreCase, folded
// to lower case, as with a lookups table; blank keys are skipped. A key
// listed twice with different values is an error, which quotes the
// values but not the key: keys are often emails.
//
// The copy's fingerprint covers each table's keys and values, so a
// change in the target (a teammate's new email or id) makes the next run
// map every row again, as an edited lookup file does, rather than take
// rows for unchanged from their source and keep stale values.
func (m *Mapping) WithReferences(tables map[string]*pipeline.ReferenceTable) (*Mapping, error) {
	c := *m
	c.lookups = maps.Clone(m.lookups)
	fp := xxh3.New()
	fp.Write(binary.LittleEndian.AppendUint64(nil, m.fingerprint))
	for _, name := range m.refs {
		rt := tables[name]
		if rt == nil {
			return nil, fmt.Errorf("%s: lookup table %s was not read from %s", m.path, quote(name), m.schema.API)
		}
		t, err := referenceLookup(rt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.path, err)
		}
		c.lookups[name] = t
		keys := slices.Sorted(maps.Keys(t.values))
		b := binary.AppendUvarint(nil, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		fp.Write(b)
		for _, k := range keys {
			v := t.values[k]
			b = binary.AppendUvarint(b[:0], uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
			fp.Write(b)
		}
	}
	c.fingerprint = fp.Sum64()
	return &c, nil
}

// referenceLookup builds the lookup table of a reference table.
func referenceLookup(rt *pipeline.ReferenceTable) (*lookupTable, error) {
	t := &lookupTable{name: rt.Name, ignoreCase: rt.IgnoreCase, values: make(map[string]string, len(rt.Rows))}
	first := make(map[string]int, len(rt.Rows))
	for i, r := range rt.Rows {
		key := t.normKey(r[rt.Key])
		if key == "" {
			continue
		}
		val := strings.TrimSpace(r[rt.Value])
		if prev, dup := t.values[key]; dup {
			if prev != val {
				return nil, fmt.Errorf("lookup table %s holds one %s twice, for %s (row %d) and %s (row %d); it must name one %s",
					quote(rt.Name), rt.Columns[rt.Key], quote(prev), first[key], quote(val), i+1, rt.Columns[rt.Value])
			}
			continue
		}
		t.values[key] = val
		first[key] = i + 1
	}
	return t, nil
}
