package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"crmsync/internal/outdir"
	csvsource "crmsync/sources/csv"
)

// The actions of a diff row.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// DiffRow is one line of diff.csv. The file's columns, in order:
//
//	key        the row's source key (the mapping's key column, e.g. external_id)
//	crm_id     the customer's id in the CRM; "" for a create in a dry run,
//	           where the CRM never assigned one
//	action     create, update or delete
//	field      an update has one line per field it sent, named here; a
//	           create or a delete has one line, naming the match field
//	           (email)
//	old_value  for an update, what the CRM held, as crmsync last confirmed
//	           it (with --reconcile, what it last sent); for a delete,
//	           the customer's email, so a person can tell who it was
//	new_value  for an update, what the run sent; for a create, the new
//	           customer's email
//
// The file is UTF-8 with a byte order mark, as the reject files are, so
// that spreadsheets read accents right. A cell that a spreadsheet would run
// as a formula (starting with = + - @ tab or CR, other than a plain number
// or phone number) is written with a leading single quote; a value that
// already starts with quotes before such a cell gets one more, so the
// quoting can be undone exactly.
type DiffRow struct {
	Key      string `csv:"key"`
	CRMID    string `csv:"crm_id"`
	Action   string `csv:"action"`
	Field    string `csv:"field"`
	OldValue string `csv:"old_value"`
	NewValue string `csv:"new_value"`
}

// DiffWriter streams DiffRows to diff.csv. It holds no rows between calls,
// so a run of any size writes it in constant memory.
//
// It is not safe for concurrent use: the caller serialises Write calls.
// The first error is kept and returned by every later call.
type DiffWriter struct {
	path   string
	file   *os.File // nil when writing to a plain io.Writer (tests)
	bw     *bufio.Writer
	cw     *csv.Writer
	ew     *escapingWriter
	rec    [diffColumns]string // the row being written, reused
	line   []byte              // its bytes, reused
	err    error
	closed bool
}

// diffColumns is the number of DiffRow's fields, each one column.
const diffColumns = 6

// record lays r out in DiffRow's column order. gocsv writes the header
// from the struct tags; rows go through record instead, since gocsv's
// reflection was over half the cost of writing a row (0.6 s of CPU for
// the million lines of a 1M-row dry run). TestDiffRecordMatchesGocsv keeps
// the two in step.
func (r *DiffRow) record(rec *[diffColumns]string) {
	*rec = [diffColumns]string{r.Key, r.CRMID, r.Action, r.Field, r.OldValue, r.NewValue}
}

// diffBuffer is large enough that a batch of changes costs a handful of
// write calls, not one per row.
const diffBuffer = 256 << 10

// CreateDiff creates path afresh with mode 0600, since a diff lists
// customers' personal data, replacing whatever held the name (an earlier
// run's file, a symbolic link) without opening it (see outdir.Create). It
// writes the header through to the file, so that even a run killed before
// its first change leaves a diff.csv that says it changed nothing.
func CreateDiff(path string) (*DiffWriter, error) {
	f, err := outdir.Create(path)
	if err != nil {
		return nil, fmt.Errorf("diff report: %w", err)
	}
	w, err := newDiffWriter(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// newDiffWriter writes to any writer; Close syncs and closes it only when
// it is a file (w.file).
func newDiffWriter(out io.Writer, name string) (*DiffWriter, error) {
	bw := bufio.NewWriterSize(out, diffBuffer)
	// csv.NewWriter keeps bw rather than wrapping it in a second buffer,
	// since bw is a bufio.Writer at least as large as its default.
	cw := csv.NewWriter(bw)
	w := &DiffWriter{path: name, bw: bw, cw: cw, ew: &escapingWriter{cw: cw}}
	// The byte order mark: without it Excel reads the file in the local
	// code page and garbles every accented name. A failure to write it
	// stays in bw and comes back from the Flush below.
	bw.WriteString("\uFEFF")
	// An empty slice makes gocsv write the header alone, from the struct
	// tags, so the header cannot drift from DiffRow.
	if err := gocsv.MarshalCSV([]DiffRow{}, w.ew); err != nil {
		return nil, w.fail(err)
	}
	if err := bw.Flush(); err != nil {
		return nil, w.fail(err)
	}
	return w, nil
}

// Write appends rows. An error (disk full) may also show only at Close,
// since the file is buffered.
func (w *DiffWriter) Write(rows []DiffRow) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("diff report %s: write after close", w.path)
	}
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		rows[i].record(&w.rec)
		line := w.line[:0]
		for j, v := range w.rec {
			if j > 0 {
				line = append(line, ',')
			}
			line = appendCSVField(line, csvsource.EscapeFormula(v))
		}
		w.line = append(line, '\n')
		if _, err := w.bw.Write(w.line); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// appendCSVField appends v to line as encoding/csv's Writer (comma, LF
// line ends) would write it: quoted when it holds a comma, a quote or a
// line break, starts with white space, or is \. , with quotes doubled.
// Writing a row's line in one piece, rather than through encoding/csv's
// buffered call per field and separator, took a create line from 250 to
// 160 ns (a 1M-row dry run writes a million); FuzzAppendCSVField holds it
// to encoding/csv's bytes.
func appendCSVField(line []byte, v string) []byte {
	if !csvNeedsQuotes(v) {
		return append(line, v...)
	}
	line = append(line, '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' {
			line = append(line, '"')
		}
		line = append(line, v[i])
	}
	return append(line, '"')
}

func csvNeedsQuotes(v string) bool {
	if v == "" {
		return false
	}
	if v == `\.` {
		return true
	}
	for i := 0; i < len(v); i++ {
		if csvSpecial[v[i]] {
			return true
		}
	}
	if v[0] < utf8.RuneSelf {
		return csvSpace[v[0]]
	}
	r, _ := utf8.DecodeRuneInString(v)
	return unicode.IsSpace(r)
}

// csvSpecial marks the bytes that make encoding/csv quote a field, and
// csvSpace the ASCII white space that does so at its start.
var csvSpecial, csvSpace = [256]bool{'\n': true, '\r': true, '"': true, ',': true},
	[256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// Close flushes the buffer, syncs the file to disk and closes it. It
// returns the first error of the writer's life, so a caller that checks
// only Close still learns of a failed Write. It is safe to call more than
// once.
func (w *DiffWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		w.fail(err)
	}
	if w.file != nil {
		if err := w.file.Sync(); err != nil {
			w.fail(err)
		}
		if err := w.file.Close(); err != nil {
			w.fail(err)
		}
	}
	return w.err
}

// fail keeps the first error and returns it.
func (w *DiffWriter) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("diff report %s: %w", w.path, err)
	}
	return w.err
}

// escapingWriter is the gocsv.CSVWriter that DiffWriter hands gocsv: it
// escapes formulas on the way to encoding/csv.
type escapingWriter struct {
	cw *csv.Writer
}

var _ gocsv.CSVWriter = (*escapingWriter)(nil)

// Write escapes rec in place: gocsv and DiffWriter.Write hand over a
// scratch slice that they refill for every row, so nobody else sees it.
func (e *escapingWriter) Write(rec []string) error {
	for i, v := range rec {
		rec[i] = csvsource.EscapeFormula(v)
	}
	return e.cw.Write(rec)
}

// Flush does nothing: gocsv flushes after every batch, which would make a
// write call per batch however small; DiffWriter.Close flushes instead,
// and the buffer writes itself out as it fills.
func (e *escapingWriter) Flush() {}

// Error reports a failed write to the file. The buffer under cw keeps its
// first error, so the answer stays true after later writes.
func (e *escapingWriter) Error() error {
	return e.cw.Error()
}
