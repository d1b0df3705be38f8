package parquet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"crmsync/pipeline"
	"crmsync/sources/parquet"
)

// column is one test column: its type, its four values as Arrow JSON, and
// the text the Source must give for each.
type column struct {
	name string
	typ  arrow.DataType
	json string
	want []string
	// wantPlain overrides want when the file carries no Arrow schema, as
	// files from Spark or DuckDB do.
	wantPlain []string
	// build, when set, makes the array instead of json: Arrow's JSON
	// reader goes through float64 and loses digits past 2^53.
	build func(array.Builder)
}

func appendInts(vals ...any) func(array.Builder) {
	return func(b array.Builder) {
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
				b.AppendNull()
			case int64:
				switch b := b.(type) {
				case *array.Int64Builder:
					b.Append(v)
				case *array.TimestampBuilder:
					b.Append(arrow.Timestamp(v))
				}
			case uint64:
				b.(*array.Uint64Builder).Append(v)
			}
		}
	}
}

var typeColumns = []column{
	{"bool", arrow.FixedWidthTypes.Boolean, `[true, false, null, true]`, []string{"true", "false", "", "true"}, nil, nil},
	{"int8", arrow.PrimitiveTypes.Int8, `[-128, 127, null, 0]`, []string{"-128", "127", "", "0"}, nil, nil},
	{"int16", arrow.PrimitiveTypes.Int16, `[-32768, 32767, null, 1]`, []string{"-32768", "32767", "", "1"}, nil, nil},
	{"int32", arrow.PrimitiveTypes.Int32, `[-2147483648, 2147483647, null, 42]`, []string{"-2147483648", "2147483647", "", "42"}, nil, nil},
	{"int64", arrow.PrimitiveTypes.Int64, ``, []string{"-9223372036854775808", "9223372036854775807", "", "0"}, nil, appendInts(int64(-1<<63), int64(1<<63-1), nil, int64(0))},
	{"uint8", arrow.PrimitiveTypes.Uint8, `[0, 255, null, 7]`, []string{"0", "255", "", "7"}, nil, nil},
	{"uint16", arrow.PrimitiveTypes.Uint16, `[0, 65535, null, 7]`, []string{"0", "65535", "", "7"}, nil, nil},
	{"uint32", arrow.PrimitiveTypes.Uint32, `[0, 4294967295, null, 7]`, []string{"0", "4294967295", "", "7"}, nil, nil},
	{"uint64", arrow.PrimitiveTypes.Uint64, ``, []string{"0", "18446744073709551615", "", "7"}, nil, appendInts(uint64(0), uint64(1<<64-1), nil, uint64(7))},
	{"float16", arrow.FixedWidthTypes.Float16, `[1.5, -0.25, null, 65504]`, []string{"1.5", "-0.25", "", "65504"}, nil, nil},
	{"float32", arrow.PrimitiveTypes.Float32, `[0.1, -3.5, null, 1e10]`, []string{"0.1", "-3.5", "", "1e+10"}, nil, nil},
	{"float64", arrow.PrimitiveTypes.Float64, `[0.30000000000000004, 1e21, null, 123.456]`, []string{"0.30000000000000004", "1e+21", "", "123.456"}, nil, nil},
	{"string", arrow.BinaryTypes.String, `["héllo", "", null, "a,b\"c"]`, []string{"héllo", "", "", `a,b"c`}, nil, nil},
	{"large_string", arrow.BinaryTypes.LargeString, `["ünï", "x", null, ""]`, []string{"ünï", "x", "", ""}, nil, nil},
	{"binary", arrow.BinaryTypes.Binary, `["AAEC/w==", "", null, "aGk="]`, []string{"AAEC/w==", "", "", "aGk="}, nil, nil},
	{"fixed_binary", &arrow.FixedSizeBinaryType{ByteWidth: 4}, `["AAEC/w==", "AAAAAA==", null, "/////w=="]`, []string{"AAEC/w==", "AAAAAA==", "", "/////w=="}, nil, nil},
	{"date32", arrow.FixedWidthTypes.Date32, `[19783, 0, null, -1]`, []string{"2024-03-01", "1970-01-01", "", "1969-12-31"}, nil, nil},
	{"date64", arrow.FixedWidthTypes.Date64, `[1709251200000, 0, null, -86400000]`, []string{"2024-03-01", "1970-01-01", "", "1969-12-31"}, nil, nil},
	{"ts_s", &arrow.TimestampType{Unit: arrow.Second}, `[1709296200, 0, null, -1]`, []string{"2024-03-01T12:30:00Z", "1970-01-01T00:00:00Z", "", "1969-12-31T23:59:59Z"}, nil, nil},
	{"ts_ms", &arrow.TimestampType{Unit: arrow.Millisecond}, `[1709296200250, 1709296200000, null, -1]`, []string{"2024-03-01T12:30:00.25Z", "2024-03-01T12:30:00Z", "", "1969-12-31T23:59:59.999Z"}, nil, nil},
	{"ts_us", &arrow.TimestampType{Unit: arrow.Microsecond}, ``, []string{"2024-03-01T12:30:00.000001Z", "9999-12-31T23:59:59.999999Z", "", "1970-01-01T00:00:00Z"}, nil,
		appendInts(int64(1709296200000001), int64(253402300799999999), nil, int64(0))},
	{"ts_ns", &arrow.TimestampType{Unit: arrow.Nanosecond}, ``, []string{"2024-03-01T12:30:00.123456789Z", "2024-03-01T12:30:00.1Z", "", "1970-01-01T00:00:00.000000001Z"}, nil,
		appendInts(int64(1709296200123456789), int64(1709296200100000000), nil, int64(1))},
	{"ts_tz", &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "America/New_York"}, `[1709296200000, 1719837000500, null, 0]`,
		[]string{"2024-03-01T07:30:00-05:00", "2024-07-01T08:30:00.5-04:00", "", "1969-12-31T19:00:00-05:00"},
		[]string{"2024-03-01T12:30:00Z", "2024-07-01T12:30:00.5Z", "", "1970-01-01T00:00:00Z"}, nil},
	{"ts_utc", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `[1709296200000000, 0, null, 1]`, []string{"2024-03-01T12:30:00Z", "1970-01-01T00:00:00Z", "", "1970-01-01T00:00:00.000001Z"}, nil, nil},
	{"time32_s", arrow.FixedWidthTypes.Time32s, `[45000, 0, null, 86399]`, []string{"12:30:00", "00:00:00", "", "23:59:59"}, nil, nil},
	{"time32_ms", arrow.FixedWidthTypes.Time32ms, `[45000250, 1, null, 86399999]`, []string{"12:30:00.25", "00:00:00.001", "", "23:59:59.999"}, nil, nil},
	{"time64_us", arrow.FixedWidthTypes.Time64us, `[45000000001, 0, null, 1000000]`, []string{"12:30:00.000001", "00:00:00", "", "00:00:01"}, nil, nil},
	{"time64_ns", arrow.FixedWidthTypes.Time64ns, `[45000123456789, 0, null, 1]`, []string{"12:30:00.123456789", "00:00:00", "", "00:00:00.000000001"}, nil, nil},
	{"dec_10_2", &arrow.Decimal128Type{Precision: 10, Scale: 2}, `["123.45", "-0.05", null, "0.00"]`, []string{"123.45", "-0.05", "", "0.00"}, nil, nil},
	{"dec_38_4", &arrow.Decimal128Type{Precision: 38, Scale: 4}, `["1234567890123456789012345678901234.5678", "-1.0000", null, "-9999999999999999999999999999999999.9999"]`,
		[]string{"1234567890123456789012345678901234.5678", "-1.0000", "", "-9999999999999999999999999999999999.9999"}, nil, nil},
	{"dec_18_0", &arrow.Decimal128Type{Precision: 18, Scale: 0}, `["999999999999999999", "-1", null, "0"]`, []string{"999999999999999999", "-1", "", "0"}, nil, nil},
	{"dec256", &arrow.Decimal256Type{Precision: 76, Scale: 10}, `["-123456789012345678901234567890123456789012345678901234567890.0123456789", "1.5", null, "0"]`,
		[]string{"-123456789012345678901234567890123456789012345678901234567890.0123456789", "1.5000000000", "", "0.0000000000"}, nil, nil},
	{"dict", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, `["gold", "silver", null, "gold"]`, []string{"gold", "silver", "", "gold"}, nil, nil},
	{"list", arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1, 2], [], null, [3]]`, []string{"[1,2]", "[]", "", "[3]"}, nil, nil},
	{"struct", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true}),
		`[{"a": 1, "b": "x"}, {"a": null, "b": null}, null, {"a": 2, "b": "y"}]`, []string{`{"a":1,"b":"x"}`, `{"a":null,"b":null}`, "", `{"a":2,"b":"y"}`}, nil, nil},
	{"map", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), `[[{"key": "k", "value": 1}], [], null, [{"key": "a", "value": 2}, {"key": "b", "value": null}]]`,
		[]string{`[{"key":"k","value":1}]`, `[]`, "", `[{"key":"a","value":2},{"key":"b","value":null}]`}, nil, nil},
	{"all_null", arrow.BinaryTypes.String, `[null, null, null, null]`, []string{"", "", "", ""}, nil, nil},
}

var nestedNames = []string{"list", "struct", "map"}

func buildRecord(t testing.TB, cols []column) arrow.Record {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		var arr arrow.Array
		if c.build != nil {
			b := array.NewBuilder(memory.DefaultAllocator, c.typ)
			c.build(b)
			arr = b.NewArray()
			b.Release()
		} else {
			var err error
			arr, _, err = array.FromJSON(memory.DefaultAllocator, c.typ, strings.NewReader(c.json))
			if err != nil {
				t.Fatalf("column %s: %v", c.name, err)
			}
		}
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		arrs[i] = arr
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), arrs, -1)
}

// writeParquet writes the records to a new file with the given writer
// properties and returns its path.
func writeParquet(t testing.TB, recs []arrow.Record, props *pq.WriterProperties, aprops pqarrow.ArrowWriterProperties) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), f, props, aprops)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t testing.TB, src *parquet.Source, batch int) ([]pipeline.Row, error) {
	t.Helper()
	var rows []pipeline.Row
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if len(b) == 0 || len(b) > batch {
			t.Fatalf("batch of %d rows, want 1..%d", len(b), batch)
		}
		rows = append(rows, b...)
	}
}

func openAll(t testing.TB, path string, opts parquet.Options) (*parquet.Source, []pipeline.Row) {
	t.Helper()
	src, err := parquet.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	batch := opts.BatchSize
	if batch == 0 {
		batch = 1024
	}
	rows, err := readAll(t, src, batch)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	for i, r := range rows {
		if r.Num != int64(i+1) || r.Line != 0 {
			t.Fatalf("row %d: Num %d Line %d", i, r.Num, r.Line)
		}
	}
	return src, rows
}

func checkColumns(t *testing.T, src *parquet.Source, rows []pipeline.Row, cols []column, plain bool) {
	t.Helper()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	if !reflect.DeepEqual(src.Columns(), names) {
		t.Fatalf("Columns = %q, want %q", src.Columns(), names)
	}
	if !reflect.DeepEqual(src.NestedColumns(), nestedNames) {
		t.Errorf("NestedColumns = %q, want %q", src.NestedColumns(), nestedNames)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for ci, c := range cols {
		want := c.want
		if plain && c.wantPlain != nil {
			want = c.wantPlain
		}
		for r := range rows {
			if rows[r].Reject != nil {
				t.Errorf("row %d rejected: %v", r+1, rows[r].Reject)
			}
			if got := rows[r].Values[ci]; got != want[r] {
				t.Errorf("column %s row %d = %q, want %q", c.name, r+1, got, want[r])
			}
		}
	}
}

func TestTypes(t *testing.T) {
	rec := buildRecord(t, typeColumns)
	defer rec.Release()
	stored := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	plain := pqarrow.DefaultWriterProps()
	tests := []struct {
		name   string
		props  *pq.WriterProperties
		aprops pqarrow.ArrowWriterProperties
		plain  bool
		batch  int
		// override holds what a writer changes: Parquet 1.0 has no
		// nanosecond timestamps, so the writer truncates to microseconds.
		override map[string][]string
	}{
		{"defaults", pq.NewWriterProperties(), stored, false, 0, nil},
		{"no arrow schema", pq.NewWriterProperties(), plain, true, 0, nil},
		{"no dictionary", pq.NewWriterProperties(pq.WithDictionaryDefault(false)), stored, false, 0, nil},
		{"snappy", pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Snappy)), stored, false, 0, nil},
		{"zstd", pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Zstd)), stored, false, 0, nil},
		{"gzip", pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Gzip)), stored, false, 0, nil},
		{"brotli", pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Brotli)), stored, false, 0, nil},
		{"uncompressed", pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Uncompressed)), stored, false, 0, nil},
		{"decimals as integers (Spark, DuckDB)", pq.NewWriterProperties(pq.WithStoreDecimalAsInteger(true)), plain, true, 0, nil},
		{"data page v2", pq.NewWriterProperties(pq.WithDataPageVersion(pq.DataPageV2)), stored, false, 0, nil},
		{"parquet 1.0", pq.NewWriterProperties(pq.WithVersion(pq.V1_0)), stored, false, 0,
			map[string][]string{"ts_ns": {"2024-03-01T12:30:00.123456Z", "2024-03-01T12:30:00.1Z", "", "1970-01-01T00:00:00Z"}}},
		{"row group per row, batch across groups", pq.NewWriterProperties(pq.WithMaxRowGroupLength(1)), stored, false, 3, nil},
		{"batch of one", pq.NewWriterProperties(pq.WithCompression(compress.Codecs.Zstd), pq.WithDataPageVersion(pq.DataPageV2)), plain, true, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeParquet(t, []arrow.Record{rec}, tt.props, tt.aprops)
			src, rows := openAll(t, p, parquet.Options{BatchSize: tt.batch})
			cols := append([]column(nil), typeColumns...)
			for i, c := range cols {
				if w, ok := tt.override[c.name]; ok {
					cols[i].want, cols[i].wantPlain = w, w
				}
			}
			checkColumns(t, src, rows, cols, tt.plain)
		})
	}
}

func TestNestedValuesAreJSON(t *testing.T) {
	rec := buildRecord(t, typeColumns)
	defer rec.Release()
	p := writeParquet(t, []arrow.Record{rec}, pq.NewWriterProperties(), pqarrow.DefaultWriterProps())
	src, rows := openAll(t, p, parquet.Options{Columns: nestedNames})
	if !reflect.DeepEqual(src.Columns(), nestedNames) {
		t.Fatalf("Columns = %q", src.Columns())
	}
	for _, r := range rows {
		for i, v := range r.Values {
			if v != "" && !json.Valid([]byte(v)) {
				t.Errorf("row %d %s: %q is not JSON", r.Num, nestedNames[i], v)
			}
		}
	}
}

func TestProjection(t *testing.T) {
	rec := buildRecord(t, typeColumns)
	defer rec.Release()
	p := writeParquet(t, []arrow.Record{rec}, pq.NewWriterProperties(), pqarrow.DefaultWriterProps())
	// Asked out of order, with a nested column: file order comes back.
	src, rows := openAll(t, p, parquet.Options{Columns: []string{"string", "struct", "int8"}})
	if want := []string{"int8", "string", "struct"}; !reflect.DeepEqual(src.Columns(), want) {
		t.Errorf("Columns = %q, want %q", src.Columns(), want)
	}
	if want := []string{"struct"}; !reflect.DeepEqual(src.NestedColumns(), want) {
		t.Errorf("NestedColumns = %q, want %q", src.NestedColumns(), want)
	}
	if got, want := rows[0].Values, []string{"-128", "héllo", `{"a":1,"b":"x"}`}; !reflect.DeepEqual(got, want) {
		t.Errorf("row 1 = %q, want %q", got, want)
	}
	_, err := parquet.Open(p, parquet.Options{Columns: []string{"int8", "emial"}})
	// The file's columns are listed, the first 10 of them.
	if want := fmt.Sprintf(`has no column "emial"; its columns are "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16" and %d more`, len(typeColumns)-10); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
		t.Errorf("unknown column: err = %v", err)
	}

	// SkipMissing leaves the unknown names to the caller, which checks
	// them against Header; with none known, the first column is read.
	for _, c := range []struct{ ask, want []string }{
		{[]string{"string", "emial"}, []string{"string"}},
		{[]string{"emial"}, []string{typeColumns[0].name}},
	} {
		src, rows := openAll(t, p, parquet.Options{Columns: c.ask, SkipMissing: true})
		if !reflect.DeepEqual(src.Columns(), c.want) || len(rows) != 4 || len(rows[0].Values) != len(c.want) {
			t.Errorf("SkipMissing %q: Columns %q, %d rows", c.ask, src.Columns(), len(rows))
		}
		if len(src.Header()) != len(typeColumns) || src.Header()[1] != typeColumns[1].name {
			t.Errorf("SkipMissing %q: Header %q", c.ask, src.Header())
		}
	}
}

func TestMultipleRowGroupsAndBatches(t *testing.T) {
	const n = 10_000
	mem := memory.DefaultAllocator
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("c%d@example.com", i))
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	props := pq.NewWriterProperties(pq.WithMaxRowGroupLength(999), pq.WithDataPageSize(512), pq.WithCompression(compress.Codecs.Zstd))
	p := writeParquet(t, []arrow.Record{rec}, props, pqarrow.DefaultWriterProps())
	for _, batch := range []int{1, 100, 999, 1000, 4096} {
		src, rows := openAll(t, p, parquet.Options{BatchSize: batch})
		if got := src.EstimatedRows(); got != n {
			t.Errorf("batch %d: EstimatedRows = %d, want the footer's %d", batch, got, n)
		}
		if len(rows) != n {
			t.Fatalf("batch %d: %d rows, want %d", batch, len(rows), n)
		}
		for i, r := range rows {
			want := fmt.Sprintf("c%d@example.com", i)
			if i%7 == 0 {
				want = ""
			}
			if r.Values[0] != fmt.Sprint(i) || r.Values[1] != want {
				t.Fatalf("batch %d row %d = %q", batch, i+1, r.Values)
			}
		}
	}
}

func TestInt96Timestamps(t *testing.T) {
	// Spark and Impala write INT96 timestamps and no Arrow schema.
	// Built with a builder: Arrow's JSON reader goes through float64 and
	// would lose the nanoseconds.
	sc := arrow.NewSchema([]arrow.Field{{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	tb := b.Field(0).(*array.TimestampBuilder)
	tb.Append(1709296200123456789)
	tb.Append(0)
	tb.AppendNull()
	// Not at the very end of a day: Arrow's INT96 writer rounds the day
	// through float64.
	tb.Append(946641600000000001)
	want := []string{"2024-03-01T12:30:00.123456789Z", "1970-01-01T00:00:00Z", "", "1999-12-31T12:00:00.000000001Z"}
	rec := b.NewRecord()
	defer rec.Release()
	p := writeParquet(t, []arrow.Record{rec}, pq.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithDeprecatedInt96Timestamps(true)))
	f, err := file.OpenParquetFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.MetaData().Schema.Column(0).PhysicalType(); got != pq.Types.Int96 {
		t.Fatalf("test file stores %v, want INT96", got)
	}
	f.Close()
	_, rows := openAll(t, p, parquet.Options{})
	if len(rows) != len(want) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		if r.Values[0] != want[i] {
			t.Errorf("row %d = %q, want %q", i+1, r.Values[0], want[i])
		}
	}
}

// writeLowLevel writes a file with the parquet writer directly, for
// logical types pqarrow does not write (UUID) and for BINARY without
// the UTF8 annotation.
func writeLowLevel(t *testing.T, node *schema.PrimitiveNode, write func(file.ColumnChunkWriter)) string {
	t.Helper()
	root, err := schema.NewGroupNode("schema", pq.Repetitions.Required, schema.FieldList{node}, -1)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "low.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	rg := w.AppendRowGroup()
	cw, err := rg.NextColumn()
	if err != nil {
		t.Fatal(err)
	}
	write(cw)
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUUID(t *testing.T) {
	node, err := schema.NewPrimitiveNodeLogical("id", pq.Repetitions.Optional, schema.UUIDLogicalType{}, pq.Types.FixedLenByteArray, 16, -1)
	if err != nil {
		t.Fatal(err)
	}
	u := pq.FixedLenByteArray([]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00})
	p := writeLowLevel(t, node, func(cw file.ColumnChunkWriter) {
		if _, err := cw.(*file.FixedLenByteArrayColumnChunkWriter).WriteBatch([]pq.FixedLenByteArray{u}, []int16{1, 0}, nil); err != nil {
			t.Fatal(err)
		}
	})
	_, rows := openAll(t, p, parquet.Options{})
	if got := values(rows); !reflect.DeepEqual(got, [][]string{{"123e4567-e89b-12d3-a456-426614174000"}, {""}}) {
		t.Errorf("rows = %q", got)
	}
}

func TestBinaryAsString(t *testing.T) {
	node, err := schema.NewPrimitiveNode("name", pq.Repetitions.Optional, pq.Types.ByteArray, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	p := writeLowLevel(t, node, func(cw file.ColumnChunkWriter) {
		vals := []pq.ByteArray{pq.ByteArray("José"), pq.ByteArray("Jos\xe9")}
		if _, err := cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(vals, []int16{1, 1, 0}, nil); err != nil {
			t.Fatal(err)
		}
	})
	_, rows := openAll(t, p, parquet.Options{})
	if got := values(rows); !reflect.DeepEqual(got, [][]string{{"Sm9zw6k="}, {"Sm9z6Q=="}, {""}}) {
		t.Errorf("base64 rows = %q", got)
	}
	_, rows = openAll(t, p, parquet.Options{BinaryAsString: true})
	if rows[0].Values[0] != "José" || rows[0].Reject != nil {
		t.Errorf("row 1 = %q %v", rows[0].Values, rows[0].Reject)
	}
	if r := rows[1].Reject; r == nil || r.Code != "encoding" || r.Column != "name" || !strings.Contains(r.Message, "row 2") || !strings.Contains(r.Message, p) {
		t.Errorf("row 2 reject = %v", r)
	}
	if rows[2].Reject != nil || rows[2].Values[0] != "" {
		t.Errorf("row 3 = %q %v", rows[2].Values, rows[2].Reject)
	}
}

func values(rows []pipeline.Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.Values
	}
	return out
}

func TestEmptyFile(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "email", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	for _, withGroup := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "empty.parquet")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w, err := pqarrow.NewFileWriter(sc, f, pq.NewWriterProperties(), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		if withGroup { // an empty row group, as some writers leave
			rec := array.NewRecord(sc, []arrow.Array{
				array.NewInt64Builder(memory.DefaultAllocator).NewArray(),
				array.NewStringBuilder(memory.DefaultAllocator).NewArray(),
			}, 0)
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		src, rows := openAll(t, p, parquet.Options{})
		if len(rows) != 0 || !reflect.DeepEqual(src.Columns(), []string{"id", "email"}) {
			t.Errorf("row group %v: %d rows, columns %q", withGroup, len(rows), src.Columns())
		}
		if _, err := src.Next(context.Background()); err != io.EOF {
			t.Errorf("Next after the end = %v", err)
		}
	}
}

func TestDuplicateColumns(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "email", Type: arrow.BinaryTypes.String}, {Name: "id", Type: arrow.BinaryTypes.String}, {Name: "email", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	rec := b.NewRecord()
	p := writeParquet(t, []arrow.Record{rec}, pq.NewWriterProperties(), pqarrow.DefaultWriterProps())
	_, err := parquet.Open(p, parquet.Options{})
	if err == nil || !strings.Contains(err.Error(), `"email"`) || !strings.Contains(err.Error(), "1 and 3") {
		t.Errorf("err = %v", err)
	}
}

// customerFile writes n customer rows in row groups of rg rows.
func customerFile(t testing.TB, n, rg int) string {
	t.Helper()
	rec := customerRecord(n)
	defer rec.Release()
	return writeParquet(t, []arrow.Record{rec}, pq.NewWriterProperties(pq.WithMaxRowGroupLength(int64(rg)), pq.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
}

func TestCorruptFiles(t *testing.T) {
	p := customerFile(t, 3000, 1000)
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	try := func(name string, data []byte) {
		t.Helper()
		bad := filepath.Join(dir, name)
		if err := os.WriteFile(bad, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := parquet.Open(bad, parquet.Options{BatchSize: 500})
		if err == nil {
			_, err = readAll(t, src, 500)
			src.Close()
		}
		// A flipped byte inside a value may go unseen (Parquet has no
		// checksum by default); what must never happen is a panic, or an
		// error that does not name the file.
		if err != nil && (!strings.Contains(err.Error(), bad) || pipeline.ClassOf(err) != pipeline.ClassFatal) {
			t.Errorf("%s: err = %v, want fatal naming the file", name, err)
		}
	}
	for _, cut := range []int{0, 3, 4, 8, 100, len(good) / 2, len(good) - 9, len(good) - 8, len(good) - 4, len(good) - 1} {
		try(fmt.Sprintf("cut-%d.parquet", cut), good[:cut])
	}
	try("text.parquet", []byte("id,email\n1,a@x.io\n"))
	// Flip bytes all over the file, footer included.
	step := max(1, len(good)/300)
	for off := 0; off < len(good); off += step {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0xff
		try(fmt.Sprintf("flip-%d.parquet", off), bad)
	}

	// A truncated file is an error at Open, naming the file.
	bad := filepath.Join(dir, "half.parquet")
	if err := os.WriteFile(bad, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parquet.Open(bad, parquet.Options{}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("truncated: err = %v", err)
	}
	if _, err := parquet.Open(filepath.Join(dir, "missing.parquet"), parquet.Options{}); err == nil || !strings.Contains(err.Error(), "missing.parquet") {
		t.Errorf("missing: err = %v", err)
	}
}

func TestContextAndClose(t *testing.T) {
	p := customerFile(t, 10, 10)
	src, err := parquet.Open(p, parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context = %v", err)
	}
	if src.Name() != p {
		t.Errorf("Name = %q", src.Name())
	}
	if err := src.Close(); err != nil {
		t.Error(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := src.Next(context.Background()); err == nil || err == io.EOF {
		t.Errorf("Next after Close = %v", err)
	}
}

func TestRowsAreTheCallersToKeep(t *testing.T) {
	p := customerFile(t, 3000, 1000)
	src, err := parquet.Open(p, parquet.Options{BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rows, err := readAll(t, src, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if want := fmt.Sprintf("customer.%d@example%d.com", i, i%97); r.Values[1] != want {
			t.Fatalf("row %d email %q, want %q: a later batch overwrote it", i+1, r.Values[1], want)
		}
	}
}
