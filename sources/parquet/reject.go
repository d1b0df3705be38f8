package parquet

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/internal/outdir"
	"crmsync/pipeline"
)

var _ pipeline.RejectWriter = (*RejectWriter)(nil)

const (
	// rejectRowGroupRows and rejectRowGroupBytes bound what the writer
	// holds before it writes a row group. The rows are held twice over
	// (Arrow builders, then the column writers' encoders): 64K rows of a
	// typical export held 20 MB, a seventh of a run's memory, so a row
	// group is 16K rows; the bytes bound keeps long values from piling up.
	rejectRowGroupRows  = 16 << 10
	rejectRowGroupBytes = 8 << 20
)

// RejectWriter writes rejected rows as Parquet: the source's columns, less
// those starting with "_", as nullable UTF-8 strings, then
// [pipeline.RejectColumns] with _row as int64.
type RejectWriter struct {
	name    string
	file    *os.File // nil when writing to a plain io.Writer (tests)
	sink    *errWriter
	bw      *bufio.Writer
	fw      *pqarrow.FileWriter
	schema  *arrow.Schema
	keep    []int // source column indexes written, in order
	ncols   int
	strs    []*array.StringBuilder // kept columns, then _stage.._message
	rowNums *array.Int64Builder
	rows    int
	bytes   int
	err     error
	closed  bool
}

// NewRejectWriter creates path afresh with mode 0600, since reject files
// hold personal data, replacing whatever held the name (an earlier run's
// file, a symbolic link) without opening it (see [outdir.Create]). columns are the source's columns.
func NewRejectWriter(path string, columns []string) (*RejectWriter, error) {
	f, err := outdir.Create(path)
	if err != nil {
		return nil, pipeline.Fatalf("reject file: %w", err)
	}
	w, err := newRejectWriter(f, path, columns)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	return w, nil
}

// errWriter keeps the first write error: Arrow drops some of them (row
// group closes), and a reject file must never be short without a word.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

func newRejectWriter(out io.Writer, name string, columns []string) (w *RejectWriter, err error) {
	w = &RejectWriter{name: name, sink: &errWriter{w: out}, ncols: len(columns)}
	w.bw = bufio.NewWriterSize(w.sink, 1<<20)
	var fields []arrow.Field
	for i, c := range columns {
		if pipeline.IsReservedColumn(c) {
			continue
		}
		w.keep = append(w.keep, i)
		fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	for _, c := range pipeline.RejectColumns {
		t := arrow.DataType(arrow.BinaryTypes.String)
		if c == "_row" {
			t = arrow.PrimitiveTypes.Int64
		}
		fields = append(fields, arrow.Field{Name: c, Type: t, Nullable: c != "_row"})
	}
	w.schema = arrow.NewSchema(fields, nil)
	props := pq.NewWriterProperties(
		pq.WithCompression(compress.Codecs.Snappy),
		pq.WithMaxRowGroupLength(rejectRowGroupRows),
		pq.WithCreatedBy("crmsync"),
	)
	defer func() {
		if r := recover(); r != nil {
			w, err = nil, pipeline.Fatalf("reject file %s: %v", name, r)
		}
	}()
	w.fw, err = pqarrow.NewFileWriter(w.schema, w.bw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, pipeline.Fatalf("reject file %s: %w", name, err)
	}
	mem := memory.DefaultAllocator
	for range len(w.keep) + len(pipeline.RejectColumns) - 1 {
		w.strs = append(w.strs, array.NewStringBuilder(mem))
	}
	w.rowNums = array.NewInt64Builder(mem)
	return w, nil
}

// Write appends one rejected row; rows are written a row group at a time.
// reject may be nil when row.Reject is set. A short row gets nulls; the
// values of a long row beyond the columns are quoted in _message.
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
	for k, i := range w.keep {
		v := ""
		if i < len(row.Values) {
			v = row.Values[i]
		}
		w.appendStr(w.strs[k], v)
	}
	msg := reject.Message
	if extra := len(row.Values) - w.ncols; extra > 0 {
		msg += fmt.Sprintf(" [%d values beyond the %d columns:", extra, w.ncols)
		for _, v := range row.Values[w.ncols:] {
			msg += fmt.Sprintf(" %q", v)
		}
		msg += "]"
	}
	k := len(w.keep)
	w.rowNums.Append(row.Num)
	w.appendStr(w.strs[k], string(reject.Stage))
	w.appendStr(w.strs[k+1], reject.Code)
	w.appendStr(w.strs[k+2], reject.Field)
	w.appendStr(w.strs[k+3], msg)
	w.rows++
	if w.rows >= rejectRowGroupRows || w.bytes >= rejectRowGroupBytes {
		return w.flush()
	}
	return nil
}

// appendStr stores "" as null: Values cannot tell an empty string from a
// null, and in a typed format null is what "no value" reads as.
func (w *RejectWriter) appendStr(b *array.StringBuilder, v string) {
	if v == "" {
		b.AppendNull()
		return
	}
	b.Append(v)
	w.bytes += len(v)
}

// flush writes the buffered rows as one row group.
func (w *RejectWriter) flush() (err error) {
	if w.rows == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
		if w.sink.err != nil {
			// The disk failed first; what Arrow said or did after (it
			// can panic on a writer that failed) follows from that.
			err = w.sink.err
		}
		if err != nil {
			w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
			err = w.err
		}
	}()
	cols := make([]arrow.Array, 0, len(w.schema.Fields()))
	for _, b := range w.strs[:len(w.keep)] {
		cols = append(cols, b.NewArray())
	}
	cols = append(cols, w.rowNums.NewArray())
	for _, b := range w.strs[len(w.keep):] {
		cols = append(cols, b.NewArray())
	}
	rec := array.NewRecord(w.schema, cols, int64(w.rows))
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	w.rows, w.bytes = 0, 0
	return w.fw.Write(rec)
}

// Close writes the last row group and the footer, flushes, syncs and
// closes the file. It is safe to call more than once.
func (w *RejectWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil {
		_ = w.flush() // sets w.err
	}
	if w.err == nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					w.err = pipeline.Fatalf("reject file %s: %v", w.name, r)
				}
				if w.err != nil && w.sink.err != nil {
					w.err = pipeline.Fatalf("reject file %s: %w", w.name, w.sink.err)
				}
			}()
			if err := w.fw.Close(); err != nil {
				w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
			}
		}()
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = pipeline.Fatalf("reject file %s: %w", w.name, err)
		}
	}
	if w.err == nil && w.sink.err != nil {
		w.err = pipeline.Fatalf("reject file %s: %w", w.name, w.sink.err)
	}
	for _, b := range w.strs {
		b.Release()
	}
	w.rowNums.Release()
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
