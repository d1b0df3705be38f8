package tamio

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"crmsync/pipeline"
)

var _ pipeline.ReferenceReader = (*Sink)(nil)

// TeammatesTable is the reference table of the account's teammates: a
// mapping's lookup("tamio:teammates", owner_email) gives the id of the
// teammate with that email. tamio compares emails ignoring case, and so
// does the lookup.
const TeammatesTable = "tamio:teammates"

// ReferenceTables implements pipeline.ReferenceReader.
func (s *Sink) ReferenceTables() []string { return []string{TeammatesTable} }

// ReadReference implements pipeline.ReferenceReader: TeammatesTable is
// read from teammates/list, its rows sorted by email whatever its case, with the columns
// email, name and id.
func (s *Sink) ReadReference(ctx context.Context, name string) (*pipeline.ReferenceTable, error) {
	if name != TeammatesTable {
		return nil, pipeline.Fatalf("tamio: no reference table %s (its tables: %s)", pipeline.Quote(name), pipeline.QuoteList(s.ReferenceTables()))
	}
	tms, err := s.client.Teammates(ctx)
	if err != nil {
		return nil, asFatal(fmt.Errorf("tamio: reading the teammates: %w", err))
	}
	slices.SortFunc(tms, func(a, b Teammate) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)), cmp.Compare(a.ID, b.ID))
	})
	t := &pipeline.ReferenceTable{Name: TeammatesTable, Columns: []string{"email", "name", "id"},
		Key: 0, Value: 2, IgnoreCase: true, Rows: make([][]string, len(tms))}
	for i, tm := range tms {
		t.Rows[i] = []string{tm.Email, tm.Name, tm.ID}
	}
	return t, nil
}
