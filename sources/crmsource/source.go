package crmsource

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"

	"crmsync/mappings"
	"crmsync/pipeline"
)

var (
	_ pipeline.Source       = (*Source)(nil)
	_ pipeline.Progresser   = (*Source)(nil)
	_ pipeline.RowEstimator = (*Source)(nil)
)

// IDColumn names the column that holds each customer's id in the source
// CRM, unless the reader's schema has a field of that name (see
// [KeyColumn]).
const IDColumn = "id"

// altIDColumn is the id column's name when the schema takes IDColumn.
const altIDColumn = "crm_id"

// PagesBuffered is the most pages of the walk held between the reader and
// Next: enough that the next page's call overlaps the mapping of the
// current one, few enough that memory stays that of a handful of pages.
const PagesBuffered = 2

const defaultBatchSize = 1024

// Options control how a CRM is read.
type Options struct {
	// Columns are the columns to produce, in order, among [AllColumns];
	// nil or empty produces them all.
	Columns []string
	// BatchSize is the most rows Next returns at once; 0 means 1024.
	BatchSize int
}

// KeyColumn returns the name of the id column of a source reading schema:
// [IDColumn], or when a field of the schema is named so, the first of
// "crm_id", "crm_id_2", "crm_id_3", … that no field is named.
func KeyColumn(schema *pipeline.Schema) string {
	if schema.Index(IDColumn) < 0 {
		return IDColumn
	}
	name := altIDColumn
	for n := 2; schema.Index(name) >= 0; n++ {
		name = fmt.Sprintf("%s_%d", altIDColumn, n)
	}
	return name
}

// AllColumns returns every column a source reading schema can produce:
// the id column, then the schema's field names in schema order.
func AllColumns(schema *pipeline.Schema) []string {
	out := make([]string, 0, 1+len(schema.Fields))
	out = append(out, KeyColumn(schema))
	for i := range schema.Fields {
		out = append(out, schema.Fields[i].Name)
	}
	return out
}

// Source streams a CRM account's customers as rows. See the package
// documentation.
type Source struct {
	cols []string
	key  string
	api  string
	// nfields is how many values the schema makes each customer carry.
	nfields int
	field   []int // per column, the schema field it reads; -1 for the id
	batch   int

	pages  <-chan []pipeline.Customer
	cancel context.CancelFunc
	done   chan struct{} // closed when the walk's goroutine has ended
	// walkErr is the walk's error, written before pages is closed.
	walkErr error

	announcer pipeline.TotalAnnouncer // nil when the reader announces nothing
	read      atomic.Int64            // customers handed out by Next

	cur    []pipeline.Customer // the rest of the page being handed out
	num    int64
	eof    bool
	closed bool
}

// Open starts reading every customer r's Walk lists and waits for the
// first page, failing as the walk does (a refused key, an unreachable
// base URL). ctx governs the whole walk, not only Open: when it ends, the
// walk stops and Next fails. The Source must be closed.
func Open(ctx context.Context, r pipeline.Reader, opts Options) (*Source, error) {
	schema := r.Schema()
	s := &Source{key: KeyColumn(schema), api: schema.API, nfields: len(schema.Fields), batch: opts.BatchSize}
	if s.batch <= 0 {
		s.batch = defaultBatchSize
	}
	if err := s.pick(schema, opts.Columns); err != nil {
		return nil, err
	}
	s.announcer, _ = r.(pipeline.TotalAnnouncer)

	wctx, cancel := context.WithCancel(ctx)
	pages := make(chan []pipeline.Customer, PagesBuffered)
	s.pages, s.cancel, s.done = pages, cancel, make(chan struct{})
	api := s.api
	go func() {
		defer close(s.done)
		err := r.Walk(wctx, func(page []pipeline.Customer) error {
			if len(page) == 0 {
				return nil
			}
			select {
			case pages <- page:
				return nil
			case <-wctx.Done():
				return wctx.Err()
			}
		})
		if err != nil {
			s.walkErr = pipeline.Fatal(fmt.Errorf("reading the %s account: %w", api, err))
		}
		close(pages)
	}()

	// The first page, or the walk's end, proves the reader can list.
	select {
	case page, ok := <-pages:
		if !ok {
			if s.walkErr != nil {
				s.Close()
				return nil, s.walkErr
			}
			s.eof = true
		}
		s.cur = page
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	return s, nil
}

// pick compiles the columns asked for into schema field indexes.
func (s *Source) pick(schema *pipeline.Schema, want []string) error {
	all := AllColumns(schema)
	if len(want) == 0 {
		want = all
	}
	var unknown []string
	seen := make(map[string]bool, len(want))
	for _, c := range want {
		if seen[c] {
			return pipeline.Fatalf("column %s is asked for twice", pipeline.Quote(c))
		}
		seen[c] = true
		switch {
		case c == s.key:
			s.field = append(s.field, -1)
		case schema.Index(c) >= 0:
			s.field = append(s.field, schema.Index(c))
		default:
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		hint := ""
		if len(unknown) == 1 {
			if near := mappings.Suggest(unknown[0], all); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", pipeline.Quote(near))
			}
		}
		noun := "no column"
		if len(unknown) > 1 {
			noun = "no columns"
		}
		return pipeline.Fatalf("a %s source has %s %s%s; its columns are %s",
			schema.API, noun, pipeline.QuoteList(unknown), hint, strings.Join(all, ", "))
	}
	s.cols = slices.Clone(want)
	return nil
}

// Columns implements pipeline.Source.
func (s *Source) Columns() []string { return s.cols }

// KeyColumn returns the name of the column holding the source CRM's ids
// (see the package function KeyColumn), whether or not Options.Columns
// produces it.
func (s *Source) KeyColumn() string { return s.key }

// Next implements pipeline.Source. It waits for a page only when it has
// no row to hand out; the rows of pages already fetched fill the rest of
// the batch.
func (s *Source) Next(ctx context.Context) ([]pipeline.Row, error) {
	if s.closed {
		return nil, pipeline.Fatalf("crm source: Next after Close")
	}
	if len(s.cur) == 0 && !s.eof {
		select {
		case page, ok := <-s.pages:
			if !ok {
				return nil, s.end()
			}
			s.cur = page
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if len(s.cur) == 0 {
		return nil, s.end()
	}
	var rows []pipeline.Row
	for len(rows) < s.batch {
		if len(s.cur) == 0 {
			if !s.more() {
				break
			}
			continue
		}
		n := min(len(s.cur), s.batch-len(rows))
		var err error
		// cur is left as it was: a Next after the error fails again.
		if rows, err = s.appendRows(rows, s.cur[:n]); err != nil {
			return nil, err
		}
		// Drop the handed-out customers, so that their values can go once
		// the caller lets go of the rows.
		clear(s.cur[:n])
		s.cur = s.cur[n:]
	}
	s.read.Add(int64(len(rows)))
	return rows, nil
}

// more takes the next page when one is waiting, and reports whether it
// did.
func (s *Source) more() bool {
	select {
	case page, ok := <-s.pages:
		if !ok {
			s.eof = true
			return false
		}
		s.cur = page
		return true
	default:
		return false
	}
}

// end is what Next returns once the pages are over: the walk's error, or
// io.EOF.
func (s *Source) end() error {
	s.eof = true
	<-s.done
	if s.walkErr != nil {
		return s.walkErr
	}
	return io.EOF
}

// appendRows appends a row per customer, their values sharing one
// allocation. A customer without an id, or whose values do not match the
// schema, is a reader's bug, fatal: its row would carry no key, or blanks
// that a migration would send as clearing the target's fields.
func (s *Source) appendRows(rows []pipeline.Row, cs []pipeline.Customer) ([]pipeline.Row, error) {
	vals := make([]string, len(cs)*len(s.cols))
	for i := range cs {
		c := &cs[i]
		if c.ID == "" {
			return nil, pipeline.Fatalf("reading the %s account: the customer of row %d has no id", s.api, s.num+1)
		}
		if len(c.Values) != s.nfields {
			return nil, pipeline.Fatalf("reading the %s account: customer %s has %d values for the schema's %d fields", s.api, c.ID, len(c.Values), s.nfields)
		}
		v := vals[i*len(s.cols) : (i+1)*len(s.cols) : (i+1)*len(s.cols)]
		for j, f := range s.field {
			if f < 0 {
				v[j] = c.ID
			} else {
				v[j] = c.Values[f]
			}
		}
		s.num++
		rows = append(rows, pipeline.Row{Num: s.num, Values: v})
	}
	return rows, nil
}

// Progress implements pipeline.Progresser: customers read against the
// total the reader announced (0 when it announces none). Customers
// created during the walk can take the count past the total announced;
// the total then follows the count.
func (s *Source) Progress() (done, total int64) {
	done = s.read.Load()
	if s.announcer != nil {
		total = s.announcer.AnnouncedTotal()
	}
	if total > 0 && done > total {
		total = done
	}
	return done, total
}

// EstimatedRows implements pipeline.RowEstimator: the total the reader
// announced, 0 when it announces none.
func (s *Source) EstimatedRows() int64 {
	if s.announcer == nil {
		return 0
	}
	return s.announcer.AnnouncedTotal()
}

// Close implements pipeline.Source: it stops the walk and waits for its
// goroutine. The walk's error is Next's to return, not Close's.
func (s *Source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	<-s.done
	s.cur = nil
	return nil
}
