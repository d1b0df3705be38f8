package pipeline

import (
	"context"
	"fmt"
	"strings"
)

// Row is one record read from a source.
//
// Values are indexed by the column number of the source's header
// (see [Source.Columns]), compiled once, never looked up by name per row.
// Every value is text: Parquet sources render typed values (numbers,
// dates, decimals) in a canonical form, and a null becomes "".
type Row struct {
	// Num is the row's number in the source: 1 for the first data row, the
	// header not counted. It is what reports call _row.
	Num int64
	// Line is the line of the file on which the row starts, for text
	// formats; 0 where the format has no lines.
	Line int64
	// Values holds one value per source column. When Reject is set it holds
	// what could be recovered, which may be fewer or more values than
	// there are columns, or none.
	Values []string
	// Reject is set when the source could not read this row; such a row
	// goes straight to the reject file and is never mapped.
	Reject *Reject
}

// Source streams rows in batches. It is opened by its package's
// constructor, which reads the header (and fails with a fatal error when
// the file cannot be opened or is not of its format).
//
// A Source is used from one goroutine: the engine calls Next until it
// returns io.EOF, then Close. A row the source cannot parse is returned
// with Reject set and the stream goes on; an error from Next means the
// rest of the input cannot be read (I/O error, corruption past recovery)
// and is fatal for the run.
type Source interface {
	// Columns returns the column names, in file order. The slice must not
	// be modified.
	Columns() []string
	// Next returns the next batch of at most the source's batch size rows,
	// or (nil, io.EOF) at the end. The rows are the caller's to keep, and
	// the bytes of their values are never written again.
	Next(ctx context.Context) ([]Row, error)
	// Close releases the file. It is safe to call more than once.
	Close() error
}

// RejectWriter writes rejected rows, with their original values and the
// reason, in the format of the input, so a user can fix the file and feed
// it back. Each format package provides one.
//
// The engine serialises calls: Write is never called concurrently. Close
// flushes and must be called even after a failed Write; a write or flush
// error (disk full) is fatal for the run.
type RejectWriter interface {
	Write(row *Row, reject *Reject) error
	Close() error
}

// RejectColumns are appended to the source's columns in a reject file.
// They are ignored when the file is read back, so a fixed reject file
// syncs as it is.
var RejectColumns = []string{"_row", "_stage", "_code", "_field", "_message"}

// IsReservedColumn reports whether a source column is one crmsync adds to
// its reject files and ignores on input. Only those five are reserved:
// other names starting with "_" (MongoDB's _id) are ordinary columns.
func IsReservedColumn(name string) bool {
	for _, c := range RejectColumns {
		if name == c {
			return true
		}
	}
	return false
}

// Stage says where in the pipeline a row was rejected.
type Stage string

// The stages a row passes through, in order.
const (
	StageRead     Stage = "read"
	StageMap      Stage = "map"
	StageValidate Stage = "validate"
	StageAPI      Stage = "api"
)

// Reject explains why one row was not written.
type Reject struct {
	Stage Stage
	// Code is a short stable identifier users can filter on: for example
	// "field_count", "required", "enum", "duplicate_key", or the API's own
	// error code ("10142"). Every code is a constant that RegisterCodes
	// explains, so that `crmsync codes` and report.html can say what it
	// means and how to fix it.
	Code string
	// Column is the source column involved, when one is known.
	Column string
	// Field is the target field involved, when one is known.
	Field string
	// Message is a sentence for a person.
	Message string
}

// Error renders the reject for logs; it holds no row values.
func (r *Reject) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Stage, r.Code)
	if r.Column != "" {
		fmt.Fprintf(&b, " column %q", r.Column)
	}
	if r.Field != "" {
		fmt.Fprintf(&b, " field %q", r.Field)
	}
	if r.Message != "" {
		b.WriteString(": ")
		b.WriteString(r.Message)
	}
	return b.String()
}

// Progresser is implemented by sources that know how far through their
// input they are, so a run can show an ETA. Progress is called from
// another goroutine than Next and must be safe for that; done and total
// are in units of the source's choosing (bytes of the file, rows), and
// total is 0 when unknown (standard input).
type Progresser interface {
	Progress() (done, total int64)
}

// RowEstimator is implemented by sources that can tell about how many rows
// their input holds, so a run can size its memory for them once instead
// of growing it. EstimatedRows is called once, after the first Next that
// returns rows and on the same goroutine; it returns 0 when it cannot
// tell. An estimate may be off either way: it only saves work.
type RowEstimator interface {
	EstimatedRows() int64
}
