package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ReferenceTable is a table of the target's own data that a mapping may
// look values up in, such as a CRM's teammates by email: the connector
// reads it from the API, so that the user need not keep a copy in step
// with the CRM by hand.
type ReferenceTable struct {
	// Name is "<api>:<table>", as a mapping names it in lookup().
	Name string
	// Columns names the columns of each row, in order; a listing (crmsync
	// teammates) shows them all.
	Columns []string
	// Key and Value are the indexes in Columns of the column a lookup
	// matches and of the one it returns.
	Key, Value int
	// IgnoreCase makes keys match whatever their case: set when the
	// target itself compares them so (emails).
	IgnoreCase bool
	// Rows hold len(Columns) values each.
	Rows [][]string
}

// ReferenceReader is implemented by a Sink whose API offers reference
// tables. It is optional: a sink without it offers none.
//
// ReadReferences calls it once per table a mapping uses, at the start of
// a run, before the sink's Prepare and before the first row is mapped,
// so that every row of a run maps through the same tables. Keys match
// after trimming both sides and, when the table says IgnoreCase, after
// folding case; a key the table lacks is a lookup miss, handled as with
// a mapping's own tables (a reject, or the lookup's default).
type ReferenceReader interface {
	// ReferenceTables names the tables the sink offers, "<api>:<table>".
	// It makes no call.
	ReferenceTables() []string
	// ReadReference reads the whole table from the API. Its errors are
	// fatal to the run.
	ReadReference(ctx context.Context, name string) (*ReferenceTable, error)
}

// ReadReferences reads the named tables from sink. A sink that offers no
// reference tables, or not one of the names, is an error listing the
// tables it offers; so is a table whose shape is broken. Every error is
// Fatal: rows mapped without their table would all be rejected.
func ReadReferences(ctx context.Context, sink Sink, names []string) (map[string]*ReferenceTable, error) {
	if len(names) == 0 {
		return nil, nil
	}
	api := sink.Schema().API
	rr, ok := sink.(ReferenceReader)
	if !ok {
		return nil, Fatalf("lookup table %s: %s offers no tables to look values up in", Quote(names[0]), api)
	}
	offered := rr.ReferenceTables()
	out := make(map[string]*ReferenceTable, len(names))
	for _, name := range names {
		if !slices.Contains(offered, name) {
			return nil, Fatalf("lookup table %s: %s offers no such table (its tables: %s)", Quote(name), api, QuoteList(offered))
		}
		t, err := rr.ReadReference(ctx, name)
		if err != nil {
			if ClassOf(err) != ClassFatal {
				err = Fatal(err)
			}
			return nil, fmt.Errorf("reading lookup table %s from %s: %w", Quote(name), api, err)
		}
		if err := t.check(name); err != nil {
			return nil, Fatalf("reading lookup table %s from %s: %w", Quote(name), api, err)
		}
		out[name] = t
	}
	return out, nil
}

// check guards the mapping against a connector's mistake, which would
// otherwise index out of range.
func (t *ReferenceTable) check(name string) error {
	if t == nil {
		return errors.New("the connector returned no table")
	}
	if t.Name != name {
		return fmt.Errorf("the connector returned table %s instead", Quote(t.Name))
	}
	n := len(t.Columns)
	if t.Key < 0 || t.Key >= n || t.Value < 0 || t.Value >= n {
		return fmt.Errorf("key column %d or value column %d is not among its %d columns", t.Key, t.Value, n)
	}
	for i, r := range t.Rows {
		if len(r) != n {
			return fmt.Errorf("row %d has %d values, the table %d columns", i+1, len(r), n)
		}
	}
	return nil
}
