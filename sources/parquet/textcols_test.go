package parquet_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/pipeline"
	"crmsync/sources/parquet"
)

// textRecord is n rows of the text shapes a reader meets: a required
// column, nullable ones with nulls, empty strings, multi-byte and invalid
// UTF-8, values long enough to span pages, few distinct values (kept as a
// dictionary) and many (past the dictionary's limit, so the writer falls
// back to plain pages within a chunk), beside non-text columns.
func textRecord(n int) arrow.Record {
	mem := memory.DefaultAllocator
	fields := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tier", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	tiers := []string{"gold", "silver", "bronze", "", "Grüße"}
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("K%06d", i))
		name := b.Field(2).(*array.StringBuilder)
		switch i % 11 {
		case 0:
			name.AppendNull()
		case 1:
			name.Append("")
		case 2:
			name.Append("Jos\xe9 " + fmt.Sprint(i)) // Latin-1, not UTF-8
		default:
			name.Append(fmt.Sprintf("Zoë Müller-%d", i))
		}
		if i%7 == 3 {
			b.Field(3).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(3).(*array.StringBuilder).Append(tiers[i%len(tiers)])
		}
		if i%5 == 0 {
			b.Field(4).(*array.LargeStringBuilder).AppendNull()
		} else {
			b.Field(4).(*array.LargeStringBuilder).Append(strings.Repeat("long note ", 1+i%40) + fmt.Sprint(i))
		}
		b.Field(5).(*array.BinaryBuilder).Append([]byte{byte(i), 0xff, 'a'})
		b.Field(6).(*array.Float64Builder).Append(float64(i) / 4)
	}
	return b.NewRecord()
}

// TestTextColumnsReadAsArrowDoes reads text columns through their own
// reader and through Arrow's record reader, over files as writers make
// them, and wants the same rows, values and rejects from both.
func TestTextColumnsReadAsArrowDoes(t *testing.T) {
	rec := textRecord(1500)
	defer rec.Release()
	writers := map[string]*pq.WriterProperties{
		"dictionary, snappy, row groups of 700": pq.NewWriterProperties(
			pq.WithMaxRowGroupLength(700), pq.WithCompression(compress.Codecs.Snappy)),
		"plain, small pages": pq.NewWriterProperties(
			pq.WithDictionaryDefault(false), pq.WithDataPageSize(512)),
		"dictionary falling back to plain": pq.NewWriterProperties(
			pq.WithDictionaryPageSizeLimit(256), pq.WithDataPageSize(1024)),
		"data pages v2, one row group": pq.NewWriterProperties(
			pq.WithDataPageVersion(pq.DataPageV2), pq.WithCompression(compress.Codecs.Zstd), pq.WithDataPageSize(2048)),
		// Left to Arrow's reader: DELTA_* are not decoded here.
		"delta byte array": pq.NewWriterProperties(
			pq.WithDictionaryDefault(false), pq.WithDataPageVersion(pq.DataPageV2),
			pq.WithEncodingFor("name", pq.Encodings.DeltaByteArray), pq.WithEncodingFor("note", pq.Encodings.DeltaLengthByteArray)),
	}
	for name, props := range writers {
		for _, stored := range []bool{true, false} {
			aprops := pqarrow.DefaultWriterProps()
			if stored {
				aprops = pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
			}
			p := writeParquet(t, []arrow.Record{rec}, props, aprops)
			for _, opts := range []parquet.Options{{BatchSize: 7}, {BatchSize: 333}, {BinaryAsString: true}, {Columns: []string{"tier", "note"}, BatchSize: 100}} {
				t.Run(fmt.Sprintf("%s/schema %v/%+v", name, stored, opts), func(t *testing.T) {
					src, got := openAll(t, p, opts)
					_, want := openAll(t, p, parquet.ArrowOnly(opts))
					if int64(len(got)) != rec.NumRows() || len(got) != len(want) {
						t.Fatalf("%d rows, Arrow's reader %d, written %d", len(got), len(want), rec.NumRows())
					}
					for i := range got {
						if !reflect.DeepEqual(got[i].Values, want[i].Values) {
							t.Fatalf("row %d: %q, Arrow's reader %q", i+1, got[i].Values, want[i].Values)
						}
						if !sameReject(got[i].Reject, want[i].Reject) {
							t.Fatalf("row %d: reject %+v, Arrow's reader %+v", i+1, got[i].Reject, want[i].Reject)
						}
					}
					if opts.Columns == nil && src.Columns()[2] == "name" {
						if r := got[2].Reject; r == nil || r.Code != "encoding" || r.Column != "name" {
							t.Errorf("row 3's name is Latin-1; reject = %+v", r)
						}
					}
				})
			}
		}
	}
}

func sameReject(a, b *pipeline.Reject) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Code == b.Code && a.Column == b.Column && a.Message == b.Message && a.Stage == b.Stage
}
