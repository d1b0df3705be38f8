package cli

import (
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"crmsync/mappings"
	"crmsync/pipeline"
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

// open opens the source for a run of mapping m. A Parquet file is read
// only in the columns m reads: a column costs memory and time to read
// whether it is used or not, and an export may hold thousands. Its reject
// file then holds those columns only.
func (f *sourceFlags) open(batchSize int, m *mappings.Mapping) (*openedSource, error) {
	if f.path == "" {
		return nil, usageError("--source is required (a CSV or Parquet file, or - for standard input)")
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
