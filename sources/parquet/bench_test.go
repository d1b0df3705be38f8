package parquet_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/sources/parquet"
)

const benchRows = 100_000

func benchFile(b *testing.B) (string, int64) {
	b.Helper()
	p := customerFile(b, benchRows, 64<<10)
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return p, fi.Size()
}

// BenchmarkRawPqarrow is the baseline: pqarrow's record reader as its
// documentation shows it (default reader properties, BatchSize set), over
// the same file, touching every value.
func BenchmarkRawPqarrow(b *testing.B) {
	p, size := benchFile(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := file.OpenParquetFile(p, false)
		if err != nil {
			b.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		n, sink := 0, 0
		for rr.Next() {
			rec := rr.Record()
			for _, col := range rec.Columns() {
				sink += touch(col)
			}
			n += int(rec.NumRows())
		}
		if err := rr.Err(); err != nil && err != io.EOF {
			b.Fatal(err)
		}
		rr.Release()
		f.Close()
		if n != benchRows || sink == 0 {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// touch reads every value of a column, so the baseline cannot skip work
// the Source has to do.
func touch(col arrow.Array) int {
	s := 0
	switch a := col.(type) {
	case *array.String:
		for i := range a.Len() {
			s += len(a.Value(i))
		}
	case *array.Int64:
		for _, v := range a.Int64Values() {
			s += int(v & 1)
		}
	case *array.Int32:
		for _, v := range a.Int32Values() {
			s += int(v & 1)
		}
	case *array.Timestamp:
		for _, v := range a.TimestampValues() {
			s += int(v & 1)
		}
	}
	return s + 1
}

func BenchmarkSource(b *testing.B) {
	p, size := benchFile(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	ctx := context.Background()
	for b.Loop() {
		src, err := parquet.Open(p, parquet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rows, err := src.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			for i := range rows {
				if rows[i].Reject != nil {
					b.Fatalf("row %d rejected: %v", rows[i].Num, rows[i].Reject)
				}
			}
			n += len(rows)
		}
		src.Close()
		if n != benchRows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
