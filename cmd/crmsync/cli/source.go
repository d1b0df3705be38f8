package cli

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"crmsync/internal/remotes"
	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/sources/crmsource"
	csvsource "crmsync/sources/csv"
	parquetsource "crmsync/sources/parquet"
)

// sourceFlags are the flags that say how to read the input.
type sourceFlags struct {
	path      string
	format    string // csv, parquet, or "" to go by the extension
	encoding  string
	delimiter string
}

// openedSource is a source with what the rest of a run needs to know of
// its format.
type openedSource struct {
	pipeline.Source
	format string
	nested []string
	// header is every column of the file when only some are read (the
	// mapping's, from Parquet), for Bind's did-you-mean; nil otherwise.
	header []string
	// newRejects opens a reject file of the source's format in dir.
	newRejects func(dir string) (pipeline.RejectWriter, string, error)
}

var _ pipeline.RowEstimator = (*openedSource)(nil)

// EstimatedRows passes on the estimate of a source that makes one, which
// embedding alone would hide from the engine.
func (s *openedSource) EstimatedRows() int64 {
	if e, ok := s.Source.(pipeline.RowEstimator); ok {
		return e.EstimatedRows()
	}
	return 0
}

// register declares the flags that say how to read the source; the
// --source flag itself is declared by each command with its own help.
func (f *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.format, "format", "", "source format: csv or parquet (default: by extension)")
	fs.StringVar(&f.encoding, "encoding", "", "CSV encoding: utf-8, latin1, windows-1252, utf-16, utf-16le, utf-16be (default: UTF-8, refusing a file whose first 64 KiB are not; give utf-8 to reject such rows one by one)")
	fs.StringVar(&f.delimiter, "delimiter", "", "CSV delimiter (default: detected among , ; tab |)")
}

func (f *sourceFlags) formatOf() (string, error) {
	if f.format != "" {
		switch f.format {
		case "csv", "parquet":
			return f.format, nil
		}
		return "", usageError("--format %q: use csv or parquet", f.format)
	}
	name := strings.ToLower(strings.TrimSuffix(f.path, ".gz"))
	switch filepath.Ext(name) {
	case ".parquet", ".pq":
		return "parquet", nil
	}
	return "csv", nil
}

// bind binds m to the columns read. A column m names that the file lacks
// is reported against all of the file's columns, so that its did-you-mean
// looks among those not read too.
func (s *openedSource) bind(m *mappings.Mapping) (*mappings.Program, error) {
	prog, err := m.Bind(s.Columns(), s.nested)
	if err != nil && s.header != nil {
		if _, herr := m.Bind(s.header, s.nested); herr != nil {
			err = herr
		}
	}
	return prog, err
}

// open opens the source file for a run of mapping m (openFor tells a
// CRM from a file first). A Parquet file is read
// only in the columns m reads: a column costs memory and time to read
// whether it is used or not, and an export may hold thousands. Its reject
// file then holds those columns only.
func (f *sourceFlags) open(batchSize int, m *mappings.Mapping) (*openedSource, error) {
	if f.path == "" {
		return nil, usageError("--source is required (a CSV or Parquet file, - for standard input, or a CRM: NAME: or sandbox:API)")
	}
	format, err := f.formatOf()
	if err != nil {
		return nil, err
	}
	if format == "parquet" {
		if f.path == "-" {
			return nil, usageError("Parquet cannot be read from standard input: it needs a file it can seek in")
		}
		src, err := parquetsource.Open(f.path, parquetsource.Options{BatchSize: batchSize, Columns: m.Columns(), SkipMissing: true})
		if err != nil {
			return nil, err
		}
		cols := src.Columns()
		return &openedSource{Source: src, format: format, nested: src.NestedColumns(), header: src.Header(),
			newRejects: func(dir string) (pipeline.RejectWriter, string, error) {
				p := filepath.Join(dir, "rejects.parquet")
				w, err := parquetsource.NewRejectWriter(p, cols)
				return w, p, err
			}}, nil
	}
	var delim rune
	if f.delimiter != "" {
		d := f.delimiter
		if d == `\t` || strings.EqualFold(d, "tab") {
			d = "\t"
		}
		r, size := utf8.DecodeRuneInString(d)
		if size != len(d) || r == utf8.RuneError {
			return nil, usageError("--delimiter %q: give one character (or \\t)", f.delimiter)
		}
		delim = r
	}
	src, err := csvsource.Open(f.path, csvsource.Options{Delimiter: delim, Encoding: f.encoding, BatchSize: batchSize})
	if err != nil {
		return nil, err
	}
	cols := src.Columns()
	return &openedSource{Source: src, format: format,
		newRejects: func(dir string) (pipeline.RejectWriter, string, error) {
			p := filepath.Join(dir, "rejects.csv")
			w, err := csvsource.NewRejectWriter(p, cols, src.Delimiter())
			return w, p, err
		}}, nil
}

// crmSourceName returns the remote a --source names: "NAME:" (rclone's
// form), "sandbox:API:" or "sandbox:API". Anything else is a file.
func crmSourceName(path string) (string, bool) {
	if strings.HasSuffix(path, ":") || strings.HasPrefix(path, remotes.SandboxPrefix) {
		return namedTarget(path)
	}
	return "", false
}

// sourceFlagHelp documents --source.
const sourceFlagHelp = "CSV (.csv, .csv.gz, - for standard input) or Parquet file, or a CRM: NAME: (a remote; see crmsync remotes) or sandbox:API"

// openFor opens the source of a command that also resolves targets
// through tgt: a file as open does, or the CRM a remote names (see
// openCRM).
func (f *sourceFlags) openFor(ctx context.Context, log *slog.Logger, tgt *targetFlags, batchSize int, m *mappings.Mapping) (*openedSource, error) {
	if name, ok := crmSourceName(f.path); ok {
		return f.openCRM(ctx, log, tgt, name, batchSize, m)
	}
	return f.open(batchSize, m)
}

// openCRM reads the account of a remote as rows (package crmsource),
// with the credentials of the remote's own variables. The reader's schema
// is the API's, extended with the fields of its open families the
// mapping reads (custom template fields), and only the mapping's columns
// are read. The source's key is the customer's id in that CRM, so the
// mapping must key on it: a rerun with --state then sends only what
// changed in the source. Rejects go to rejects.csv. The source is named
// "NAME:" from here on, in logs, the summary and the state, never with a
// credential.
func (f *sourceFlags) openCRM(ctx context.Context, log *slog.Logger, tgt *targetFlags, name string, batchSize int, m *mappings.Mapping) (*openedSource, error) {
	if f.format != "" || f.encoding != "" || f.delimiter != "" {
		return nil, usageError("--format, --encoding and --delimiter describe a file; --source %s reads a CRM", f.path)
	}
	ep, err := tgt.named(log, name, "--source", "", false)
	if err != nil {
		return nil, err
	}
	f.path = name + ":"
	opened := false
	defer func() {
		if !opened {
			ep.Close()
		}
	}()
	schema, err := sourceSchema(ep.api.Schema, m.Columns())
	if err != nil {
		return nil, err
	}
	all := crmsource.AllColumns(schema)
	if key := crmsource.KeyColumn(schema); m.KeyColumn() != key {
		return nil, usageError("--source %s reads a CRM, whose rows are keyed by the customer's id there: the mapping %s must say key: %s (it says %s)",
			f.path, m.Path(), key, m.KeyColumn())
	}
	// Checked against every column the CRM has before any call, so that
	// a misspelt column is reported at its line with the closest name.
	if _, err := m.Bind(all, nil); err != nil {
		return nil, usageError("mapping %s does not fit what --source %s holds: %w", m.Path(), f.path, err)
	}
	cfg := ep.config(log, 0, 0)
	cfg.Schema = schema
	reader, err := ep.api.NewReader(cfg)
	if err != nil {
		return nil, pipeline.Fatalf("reading %s: %w", f.path, err)
	}
	src, err := crmsource.Open(ctx, reader, crmsource.Options{Columns: m.Columns(), BatchSize: batchSize})
	if err != nil {
		closeQuietly(reader)
		return nil, fmt.Errorf("--source %s: %w", f.path, err)
	}
	opened = true
	cols := src.Columns()
	return &openedSource{Source: &crmSource{Source: src, name: f.path, ep: ep, reader: reader, log: log},
		format: "crm", header: all,
		newRejects: func(dir string) (pipeline.RejectWriter, string, error) {
			p := filepath.Join(dir, "rejects.csv")
			w, err := crmsource.NewRejectWriter(p, cols)
			return w, p, err
		}}, nil
}

// sourceSchema is the schema a CRM source reads: the API's, extended with
// the fields of its open families among the columns the mapping reads
// (the way mappings.Mapping.Schema extends a target's with the fields it
// fills).
func sourceSchema(s *pipeline.Schema, cols []string) (*pipeline.Schema, error) {
	var open []string
	for _, c := range cols {
		if s.Index(c) < 0 && s.OpenFor(c) != nil {
			open = append(open, c)
		}
	}
	ext, err := s.Extend(open)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return ext, nil
}

// crmSource is a CRM account read as a source, with what it holds open:
// the reader and the endpoint (a sandbox it started).
type crmSource struct {
	*crmsource.Source
	name   string
	ep     *endpoint
	reader pipeline.Reader
	log    *slog.Logger
}

// Close stops the walk, then releases the reader and the endpoint, and
// logs the calls the reading took.
func (s *crmSource) Close() error {
	err := s.Source.Close()
	s.log.Info("source read", "source", s.name, "calls", s.reader.Stats().Calls.Load(), "retries", s.reader.Stats().Retries.Load())
	closeQuietly(s.reader)
	s.ep.Close()
	return err
}
