package csv

import (
	"bufio"
	stdcsv "encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"crmsync/internal/outdir"
	"crmsync/pipeline"
)

var _ pipeline.RejectWriter = (*RejectWriter)(nil)

// RejectWriter writes rejected rows as UTF-8 CSV, with a byte order mark
// for spreadsheets: the source's columns,
// less those starting with "_", then [pipeline.RejectColumns]. Every cell
// is passed through [EscapeFormula].
type RejectWriter struct {
	name   string
	file   *os.File // nil when writing to a plain io.Writer (tests)
	bw     *bufio.Writer
	cw     *stdcsv.Writer
	keep   []int // source column indexes written, in order
	ncols  int   // source columns
	rec    []string
	err    error
	closed bool
}

// NewRejectWriter creates path afresh with mode 0600, since reject files
// hold personal data, replacing whatever held the name (an earlier run's
// file, a symbolic link) without opening it (see [outdir.Create]), and
// writes the header. columns are the source's
// columns; delimiter 0 means ','.
func NewRejectWriter(path string, columns []string, delimiter rune) (*RejectWriter, error) {
	f, err := outdir.Create(path)
	if err != nil {
		return nil, pipeline.Fatalf("reject file: %w", err)
	}
	w, err := newRejectWriter(f, path, columns, delimiter)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// newRejectWriter writes to any writer; Close syncs it when it is a file.
func newRejectWriter(out io.Writer, name string, columns []string, delimiter rune) (*RejectWriter, error) {
	if delimiter == 0 {
		delimiter = ','
	}
	if err := checkDelimiter(delimiter); err != nil {
		return nil, pipeline.Fatalf("reject file %s: %w", name, err)
	}
	w := &RejectWriter{name: name, bw: bufio.NewWriterSize(out, 256<<10), ncols: len(columns)}
	w.cw = stdcsv.NewWriter(w.bw)
	w.cw.Comma = delimiter
	header := make([]string, 0, len(columns)+len(pipeline.RejectColumns))
	for i, c := range columns {
		if pipeline.IsReservedColumn(c) {
			continue
		}
		w.keep = append(w.keep, i)
		header = append(header, EscapeFormula(c))
	}
	header = append(header, pipeline.RejectColumns...)
	// A UTF-8 byte order mark: without it Excel, where most reject files
	// get fixed, reads the file as the local code page and garbles accents.
	if _, err := w.bw.WriteString("\uFEFF"); err != nil {
		return nil, pipeline.Fatalf("reject file %s: %w", name, err)
	}
	if err := w.cw.Write(header); err != nil {
		return nil, pipeline.Fatalf("reject file %s: %w", name, err)
	}
	return w, nil
}

// Write appends one rejected row. reject may be nil when row.Reject is
// set. A short row is padded with empty cells; the values of a long row
// beyond the columns are quoted in _message, so nothing of the row is lost.
func (w *RejectWriter) Write(row *pipeline.Row, reject *pipeline.Reject) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return pipeline.Fatalf("reject file %s: write after close", w.name)
	}
	if reject == nil {
		reject = row.Reject
	}
	if reject == nil {
		return pipeline.Fatalf("reject file %s: row %d has no reject reason", w.name, row.Num)
	}
	rec := w.rec[:0]
	for _, i := range w.keep {
		v := ""
		if i < len(row.Values) {
			v = row.Values[i]
		}
		rec = append(rec, EscapeFormula(v))
	}
	msg := reject.Message
	if extra := len(row.Values) - w.ncols; extra > 0 {
		msg += extraValues(row.Values[w.ncols:], w.ncols)
	}
	rec = append(rec,
		strconv.FormatInt(row.Num, 10),
		EscapeFormula(string(reject.Stage)),
		EscapeFormula(reject.Code),
		EscapeFormula(reject.Field),
		EscapeFormula(msg),
	)
	w.rec = rec
	if err := w.cw.Write(rec); err != nil {
		w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
		return w.err
	}
	return nil
}

// extraValues renders the values of a row that has more values than there
// are columns, for _message.
func extraValues(vals []string, ncols int) string {
	var b strings.Builder
	fmt.Fprintf(&b, " [%d values beyond the %d columns:", len(vals), ncols)
	for _, v := range vals {
		fmt.Fprintf(&b, " %q", v)
	}
	b.WriteString("]")
	return b.String()
}

// Close flushes, syncs and closes the file. A write error that the
// buffering delayed (disk full) is returned here. It is safe to call more
// than once.
func (w *RejectWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	w.cw.Flush()
	if err := w.cw.Error(); err != nil && w.err == nil {
		w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
	}
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
	}
	if w.file != nil {
		if err := w.file.Sync(); err != nil && w.err == nil {
			w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
		}
		if err := w.file.Close(); err != nil && w.err == nil {
			w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
		}
	}
	return w.err
}

// EscapeFormula makes s safe to open in a spreadsheet: a cell that starts
// with = + - @ tab or CR, which Excel and others may run as a formula, gets
// a leading single quote (OWASP's advice against CSV injection).
//
// Plain numbers and phone numbers (an optional sign, a digit, then only
// digits, spaces, parentheses, dots and dashes, such as "-12.5" or
// "+49 (30) 1234-567") are left alone: they cannot call a function, and
// quoting them would change the data. A value already starting with quotes
// followed by such a cell gets one more quote, so the escaping can be
// undone exactly (the CSV source does so when it reads a reject file back).
func EscapeFormula(s string) string {
	if needsEscape(s) {
		return "'" + s
	}
	return s
}

func needsEscape(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '\'', '=', '+', '-', '@', '\t', '\r':
	default:
		return false // nearly every value: decided by its first byte
	}
	t := strings.TrimLeft(s, "'")
	if t == "" {
		return false
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return !plainNumber(t)
	}
	return false
}

// unescapeFormula undoes EscapeFormula.
func unescapeFormula(s string) string {
	if len(s) > 0 && s[0] == '\'' && needsEscape(s[1:]) {
		return s[1:]
	}
	return s
}

// plainNumber matches ^[+-]?[0-9][0-9 ().-]*$.
func plainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == ' ', c == '(', c == ')', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}
