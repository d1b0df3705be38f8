package gdpr

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/gdpr/layout"
)

// Formats are the table formats, by the name --format takes, which is
// also the table file's extension.
var Formats = []string{"jsonl", "csv", "parquet"}

// TableWriter writes rows of the columns it was made for. Close writes
// what is buffered and the format's trailer; it does not close the
// underlying writer.
type TableWriter interface {
	Write(layout.Row) error
	Close() error
}

// NewTableWriter returns a writer of format (one of Formats) to w, of
// rows of cols (a layout's Table).
func NewTableWriter(format string, w io.Writer, cols []layout.Column) (TableWriter, error) {
	switch format {
	case "jsonl":
		return &jsonlWriter{w: bufio.NewWriterSize(w, 64<<10), cols: cols}, nil
	case "csv":
		cw := NewCSVWriter(w)
		if err := cw.Write(columnNames(cols)); err != nil {
			return nil, err
		}
		return &csvWriter{w: cw, cols: cols, rec: make([]string, len(cols))}, nil
	case "parquet":
		return newParquetWriter(w, cols)
	}
	return nil, fmt.Errorf("unknown table format %q (want jsonl, csv or parquet)", format)
}

func columnNames(cols []layout.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// jsonlWriter writes one JSON object per row, keys in column order,
// nulls as null.
type jsonlWriter struct {
	w    *bufio.Writer
	cols []layout.Column
	buf  []byte
}

func (j *jsonlWriter) Write(r layout.Row) error {
	b := append(j.buf[:0], '{')
	for i, c := range j.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c.Name)
		b = append(b, ':')
		v := r[i]
		switch {
		case v.Null:
			b = append(b, "null"...)
		case c.Kind == layout.Int64:
			b = strconv.AppendInt(b, v.Int, 10)
		case c.Kind == layout.Bool:
			b = strconv.AppendBool(b, v.Bool)
		default:
			// strconv's quoting is Go syntax, not JSON; encoding/json's
			// is JSON and keeps non-ASCII text as it is.
			q, err := json.Marshal(v.Str)
			if err != nil {
				return err
			}
			b = append(b, q...)
		}
	}
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

// csvWriter writes the table as CSV, every cell escaped (see CSVWriter).
type csvWriter struct {
	w    *CSVWriter
	cols []layout.Column
	rec  []string
}

func (c *csvWriter) Write(r layout.Row) error {
	for i, col := range c.cols {
		c.rec[i] = r[i].Text(col.Kind)
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) Close() error { return c.w.Flush() }

// parquetRowGroup is the number of rows a Parquet row group holds: what
// the writer keeps in memory (about 15 MB of customers) before it
// writes.
const parquetRowGroup = 8192

type parquetWriter struct {
	cols   []layout.Column
	fw     *pqarrow.FileWriter
	schema *arrow.Schema
	b      *array.RecordBuilder
	rows   int
}

// ParquetSchema is the Arrow schema of the Parquet table of cols: every
// column nullable, strings as UTF-8.
func ParquetSchema(cols []layout.Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		t := arrow.DataType(arrow.BinaryTypes.String)
		switch c.Kind {
		case layout.Int64:
			t = arrow.PrimitiveTypes.Int64
		case layout.Bool:
			t = arrow.FixedWidthTypes.Boolean
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func newParquetWriter(w io.Writer, cols []layout.Column) (p *parquetWriter, err error) {
	p = &parquetWriter{cols: cols, schema: ParquetSchema(cols)}
	props := pq.NewWriterProperties(
		pq.WithCompression(compress.Codecs.Snappy),
		pq.WithMaxRowGroupLength(parquetRowGroup),
		pq.WithCreatedBy("crmsync"),
	)
	// Arrow panics on some writer errors rather than returning them.
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("parquet: %v", r)
		}
	}()
	p.fw, err = pqarrow.NewFileWriter(p.schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	p.b = array.NewRecordBuilder(memory.DefaultAllocator, p.schema)
	return p, nil
}

func (p *parquetWriter) Write(r layout.Row) error {
	for i, c := range p.cols {
		v := r[i]
		switch fb := p.b.Field(i).(type) {
		case *array.StringBuilder:
			if v.Null {
				fb.AppendNull()
			} else {
				fb.Append(v.Str)
			}
		case *array.Int64Builder:
			if v.Null {
				fb.AppendNull()
			} else {
				fb.Append(v.Int)
			}
		case *array.BooleanBuilder:
			if v.Null {
				fb.AppendNull()
			} else {
				fb.Append(v.Bool)
			}
		default:
			return fmt.Errorf("parquet: column %s has an unexpected builder %T", c.Name, fb)
		}
	}
	p.rows++
	if p.rows >= parquetRowGroup {
		return p.flush()
	}
	return nil
}

func (p *parquetWriter) flush() (err error) {
	if p.rows == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parquet: %v", r)
		}
	}()
	rec := p.b.NewRecord()
	defer rec.Release()
	p.rows = 0
	return p.fw.Write(rec)
}

func (p *parquetWriter) Close() (err error) {
	defer p.b.Release()
	if err := p.flush(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parquet: %v", r)
		}
	}()
	return p.fw.Close()
}
