package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"crmsync/mappings"
	"crmsync/pipeline"
)

// readReferences reads from sink the reference tables m looks values up
// in (lookup("api:table", …)) and returns m with them; m itself when it
// reads none. The log holds the tables' names and sizes only: their rows
// are people's emails and names.
func readReferences(ctx context.Context, log *slog.Logger, m *mappings.Mapping, sink pipeline.Sink) (*mappings.Mapping, map[string]*pipeline.ReferenceTable, error) {
	names := m.References()
	if len(names) == 0 {
		return m, nil, nil
	}
	tables, err := pipeline.ReadReferences(ctx, sink, names)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		log.Info("lookup table read from the target", "table", n, "rows", len(tables[n].Rows))
	}
	rm, err := m.WithReferences(tables)
	if err != nil {
		return nil, nil, pipeline.Fatal(err)
	}
	return rm, tables, nil
}

// bindReferences gives a sync's mapping its reference tables, read from
// the sink once before the first row is mapped, and binds it to the
// source again. The first bind, before the target was resolved, reported
// the columns the source lacks without calling the target.
func bindReferences(ctx context.Context, log *slog.Logger, m *mappings.Mapping, prog *mappings.Program, sink pipeline.Sink, src *openedSource) (*mappings.Mapping, *mappings.Program, error) {
	if len(m.References()) == 0 {
		return m, prog, nil
	}
	rm, _, err := readReferences(ctx, log, m, sink)
	if err != nil {
		return nil, nil, err
	}
	p, err := src.bind(rm)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: err}
	}
	return rm, p, nil
}

// referencesFor gives the mapping of check or preview its reference
// tables, read from --target when one is given. Without a target, a
// command that maps rows (mapRows) cannot go on, and one that does not
// says on report where each table comes from.
func (t *targetFlags) referencesFor(ctx context.Context, log *slog.Logger, m *mappings.Mapping, report io.Writer, mapRows bool) (*mappings.Mapping, error) {
	names := m.References()
	if len(names) == 0 {
		return m, nil
	}
	if t.target == "" {
		if mapRows {
			return nil, usageError("%s looks values up in %s, which is read from the target at the start of a run: give --target to read it and map rows",
				m.Path(), pipeline.QuoteList(names))
		}
		for _, n := range names {
			fmt.Fprintf(report, "lookup table %s: read from the target at the start of each run (give --target to read it now)\n", n)
		}
		return m, nil
	}
	ep, err := t.resolve(log, m.API())
	if err != nil {
		return nil, err
	}
	defer ep.Close()
	sink, err := newSink(ep, log)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	rm, tables, err := readReferences(ctx, log, m, sink)
	if err != nil {
		return nil, err
	}
	if report != nil {
		for _, n := range names {
			fmt.Fprintf(report, "lookup table %s: %d rows read from %s\n", n, len(tables[n].Rows), ep.describe())
		}
	}
	return rm, nil
}

// checkReferencesHelp and previewReferencesHelp end the help of check and
// preview, which read a target only for a mapping's reference tables.
// exampleReference names a reference table in help texts: tables are
// named by their API and the connector's name for them.
const exampleReference = "<api>:teammates"

const (
	checkReferencesHelp = `

The lookup tables a mapping reads from the target (lookup("api:table", …),
such as ` + exampleReference + `) are read once at the start of a sync. Without
--target, check names them and tries no rows (exit 2 with --source); with
--target (and its key, as for a sync) it reads them and says how many rows
each holds. Nothing is written.`
	previewReferencesHelp = `

A mapping that reads lookup tables from the target (lookup("api:table", …),
such as ` + exampleReference + `) needs --target (and its key, as for a sync): the
tables are read from it, and nothing is written.`
)
