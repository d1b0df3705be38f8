package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"crmsync/gdpr"
	"crmsync/gdpr/layout"
	"crmsync/pipeline"
)

// exporter writes what one CRM holds into the staging directory: its
// subjects' own files and its table under base, and, with --subjects,
// what it found of each subject.
type exporter struct {
	format      string
	all         bool
	concurrency int
	reader      pipeline.Reader
	// target names the CRM in the answers: the name --targets gave it,
	// or --target's (publicTarget).
	target string
	// named says the subjects' files name the target as well as the
	// API: across several CRMs, two targets may have one API.
	named  bool
	api    string
	layout *layout.Layout
	log    *slog.Logger
	dir    *gdpr.Dir // the staging directory
	// base is the folder of the CRM's files inside dir, "" or ending
	// in a slash.
	base string
	now  time.Time

	// related gives a customer's related records, when the reader
	// keeps any (layout.RelatedReader).
	related  func(context.Context, *pipeline.Customer) (map[string]json.RawMessage, error)
	files    *gdpr.FileList
	table    *gdpr.File
	tw       gdpr.TableWriter
	notFound atomic.Int64            // subjects the CRM does not hold
	exported atomic.Int64            // customers written
	looked   atomic.Int64            // subjects looked up
	total    atomic.Int64            // subjects to look up, for the progress
	seen     map[string]gdpr.Holding // CRM id → its holding, of the customers written
	// found are the customers found of each subject, indexed like the
	// subjects (--subjects).
	found [][]gdpr.Holding
	// notRead is why the CRM could not be read, when --keep-going let the
	// export go on without it.
	notRead error
}

// progress counts customers exported with --all, against the account's
// size where the API's list answers announce it (0 until then, and for an
// API that does not), and subjects looked up with --subjects.
func (x *exporter) progress() (int64, int64) {
	if x.all {
		var total int64
		if a, ok := x.reader.(pipeline.TotalAnnouncer); ok {
			total = a.AnnouncedTotal()
		}
		return x.exported.Load(), total
	}
	return x.looked.Load(), x.total.Load()
}

// abort drops the files still open; the staging directory goes with
// them when the run returns.
func (x *exporter) abort() {
	if x.table != nil {
		x.table.Abort()
	}
	if x.files != nil {
		x.files.Close()
	}
}

// tableName is the table's name inside the CRM's folder, before
// encryption.
func (x *exporter) tableName() string { return "customers." + x.format }

func (x *exporter) export(ctx context.Context, subjects []gdpr.Subject) error {
	var err error
	if rr, ok := x.reader.(layout.RelatedReader); ok {
		if x.related, err = rr.Related(ctx); err != nil {
			return err
		}
	}
	if x.files, err = gdpr.NewFileList(x.dir.Root); err != nil {
		return err
	}
	if err := x.dir.MkdirAll(x.base + "subjects"); err != nil {
		return err
	}
	if x.table, err = x.dir.Create(x.base + x.tableName()); err != nil {
		return err
	}
	if x.tw, err = gdpr.NewTableWriter(x.format, x.table, x.layout.Table()); err != nil {
		return err
	}
	if x.all {
		err = x.exportAll(ctx)
	} else {
		err = x.exportSubjects(ctx, subjects)
	}
	if err != nil {
		return err
	}
	if err := x.tw.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", x.table.Name(), err)
	}
	e, err := x.table.Commit(true)
	if err != nil {
		return err
	}
	if err := x.files.Add(e); err != nil {
		return err
	}
	return gdpr.SyncDir(filepath.Join(x.dir.Root, filepath.FromSlash(x.base+"subjects")))
}

// subjectDoc is a subject's own file: when and from which API (and
// target, across several CRMs), the customer object as the API answered
// it, then each of the layout's related records, null when the customer
// has none.
type subjectDoc struct {
	exportedAt time.Time
	api        string
	target     string
	customer   json.RawMessage
	names      []string
	related    map[string]json.RawMessage
}

// MarshalJSON writes the keys in their order. The encoder checks and
// compacts what it returns, and indents it.
func (d subjectDoc) MarshalJSON() ([]byte, error) {
	b := []byte(`{"exported_at":`)
	t, err := d.exportedAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	b = appendString(appendKey(b, "api"), d.api)
	if d.target != "" {
		b = appendString(appendKey(b, "target"), d.target)
	}
	b = append(appendKey(b, "customer"), d.customer...)
	for _, name := range d.names {
		b = appendKey(b, name)
		if v := d.related[name]; len(v) > 0 {
			b = append(b, v...)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}'), nil
}

func appendKey(b []byte, key string) []byte {
	return append(appendString(append(b, ','), key), ':')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// written is one customer made ready for the table: its row, the entry
// of its own file, and its related records.
type written struct {
	row     layout.Row
	entry   gdpr.FileEntry
	related map[string]json.RawMessage
}

// prepare writes one customer's own file and returns its table row. It
// runs on several goroutines at once.
func (x *exporter) prepare(ctx context.Context, c *pipeline.Customer) (written, error) {
	if c.ID == "" {
		return written{}, errors.New("the CRM answered a customer without an id")
	}
	if len(c.Raw) == 0 || string(c.Raw) == "null" {
		return written{}, fmt.Errorf("the CRM answered customer %s without its object", c.ID)
	}
	var related map[string]json.RawMessage
	if x.related != nil {
		var err error
		if related, err = x.related(ctx, c); err != nil {
			return written{}, fmt.Errorf("customer %s: %w", c.ID, err)
		}
	}
	row, err := x.layout.Flatten(c.Raw, related)
	if err != nil {
		return written{}, fmt.Errorf("customer %s, %w", c.ID, err)
	}
	f, err := x.dir.Create(x.base + "subjects/" + gdpr.SubjectFileName(c.ID))
	if errors.Is(err, fs.ErrExist) {
		return written{}, fmt.Errorf("the CRM listed customer %s twice: the account changed during the export; run it again", c.ID)
	}
	if err != nil {
		return written{}, err
	}
	doc := subjectDoc{exportedAt: x.now, api: x.api, customer: c.Raw, names: x.layout.Related, related: related}
	if x.named {
		doc.target = x.target
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		f.Abort()
		return written{}, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	// Not synced one by one: see gdpr.File.Commit.
	e, err := f.Commit(false)
	return written{row, e, related}, err
}

// write writes customers: their own files, a few at once (creating a
// file costs a disk round trip, which overlaps), then their rows and file
// entries in order.
func (x *exporter) write(ctx context.Context, cs []pipeline.Customer) ([]written, error) {
	out := make([]written, len(cs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fileWriters)
	for i := range cs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			var err error
			out[i], err = x.prepare(gctx, &cs[i])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, w := range out {
		if err := x.files.Add(w.entry); err != nil {
			return nil, err
		}
		if err := x.tw.Write(w.row); err != nil {
			return nil, fmt.Errorf("writing %s: %w", x.table.Name(), err)
		}
		x.exported.Add(1)
	}
	return out, nil
}

// fileWriters is how many per-customer files are written at once.
const fileWriters = 4

// exportAll reads the account page by page, in the order the reader's
// Walk keeps while it walks, so that no customer is listed twice or
// skipped by the account changing under it.
func (x *exporter) exportAll(ctx context.Context) error {
	return x.reader.Walk(ctx, func(page []pipeline.Customer) error {
		_, err := x.write(ctx, page)
		return err
	})
}

// found is a subject looked up: its index and its customers.
type found struct {
	i  int
	cs []pipeline.Customer
}

// exportSubjects looks the subjects up, a few at once, and writes the
// customers found in the subjects' order. A customer named twice (by id
// and by email, say) is written once, and is found for both.
func (x *exporter) exportSubjects(ctx context.Context, subjects []gdpr.Subject) error {
	x.total.Store(int64(len(subjects)))
	x.seen = make(map[string]gdpr.Holding, len(subjects))
	x.found = make([][]gdpr.Holding, len(subjects))
	finder, err := newSubjectFinder(ctx, x.reader, subjects)
	if err != nil {
		return err
	}
	jobs := func(yield func(int) bool) {
		for i := range subjects {
			if !yield(i) {
				return
			}
		}
	}
	fetch := func(ctx context.Context, i int) (found, error) {
		cs, err := finder.find(ctx, subjects[i])
		return found{i, cs}, err
	}
	emit := func(f found) (bool, error) {
		x.looked.Add(1)
		if len(f.cs) == 0 {
			x.notFound.Add(1)
			return false, nil
		}
		for k := range f.cs {
			c := &f.cs[k]
			h, ok := x.seen[c.ID]
			if !ok {
				w, err := x.write(ctx, f.cs[k:k+1])
				if err != nil {
					return false, err
				}
				h = gdpr.Holding{Target: x.target, API: x.api, CustomerID: c.ID, File: w[0].entry.Path,
					Customer: c.Raw, Related: w[0].related}
				x.seen[c.ID] = h
			}
			x.found[f.i] = append(x.found[f.i], h)
		}
		return false, nil
	}
	return inOrder(ctx, x.concurrency, jobs, fetch, emit)
}
