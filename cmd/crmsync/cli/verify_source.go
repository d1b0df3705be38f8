package cli

import (
	"context"
	"fmt"

	"crmsync/mappings"
	"crmsync/sources/crmsource"
)

// reopen opens src again from its start, for the verification that ends
// a sync. A CRM is walked again through the reader and endpoint src holds,
// which stay src's to close: opening its remote a second time would start
// a second sandbox on the file of the first. A file is opened anew by f.
func (f *sourceFlags) reopen(ctx context.Context, src *openedSource, m *mappings.Mapping) (*openedSource, error) {
	cs, ok := src.Source.(*crmSource)
	if !ok {
		return f.open(0, m)
	}
	again, err := crmsource.Open(ctx, cs.reader, crmsource.Options{Columns: m.Columns()})
	if err != nil {
		return nil, fmt.Errorf("--source %s: %w", cs.name, err)
	}
	return &openedSource{Source: again, format: src.format, nested: src.nested, header: src.header}, nil
}
