package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"crmsync/pipeline"
)

var _ pipeline.Source = (*Source)(nil)

const defaultBatchSize = 1024

// Options control how a Parquet file is read.
type Options struct {
	// BatchSize is the most rows Next returns at once; 0 means 1024.
	BatchSize int
	// Columns, when set, reads only these top-level columns (projection);
	// they come back in file order. A name the file lacks is an error,
	// unless SkipMissing. The other columns cost neither time nor memory
	// beyond their share of the footer.
	Columns []string
	// SkipMissing leaves out the names of Columns that the file lacks, for
	// a caller that checks them itself against Header (a mapping, which
	// names the place in its file). When none is left, the first column is
	// read: rows are counted by the columns read.
	SkipMissing bool
	// BinaryAsString renders BINARY columns as text rather than base64.
	// Impala, Hive and old Spark write strings as BINARY without the UTF8
	// annotation; Spark's spark.sql.parquet.binaryAsString is the same
	// switch. A value that is not valid UTF-8 then rejects its row.
	BinaryAsString bool

	// arrowOnly reads every column through Arrow's record reader, for
	// tests that compare it with the text columns' own reader.
	arrowOnly bool
}

// Source reads a Parquet file. See the package documentation.
type Source struct {
	// progress mirrors num for Progress, which runs on another goroutine;
	// rows is the file's row count from its footer.
	progress atomic.Int64
	rows     int64

	path   string
	header []string // every top-level column, in file order
	raw    *os.File // the file, for checkPages
	size   int64
	f      *file.Reader
	fr     *pqarrow.FileReader
	leaves []int // the Parquet columns read, in file order
	// text are the columns read as textColumns; the others, whose leaves
	// are arrowLeaves, come through Arrow's record reader, in file order:
	// column c is record column arrowCol[c] (-1 for a text column).
	text        []textColumn
	arrowLeaves []int
	arrowCol    []int
	textLevels  []uint32
	textIndex   []uint32
	// Row group rg is being read while inGroup; rgRead of its rows have
	// been returned. rr reads it alone, for the Arrow columns (nil when
	// there are none). See openRowGroup.
	inGroup  bool
	rr       pqarrow.RecordReader
	rg       int
	rgRead   int64
	cols     []string
	nested   []string
	info     []colInfo
	batch    int
	num      int64
	bufHint  int
	binAsStr bool
	done     bool
	closed   bool
}

// colInfo is what conversion needs to know of a column beyond its Arrow
// type.
type colInfo struct {
	name string
	uuid bool // FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type
}

// Open opens path and reads its schema. Every error it returns is fatal for
// the run.
func Open(path string, opts Options) (_ *Source, err error) {
	s := &Source{path: path, batch: opts.BatchSize, binAsStr: opts.BinaryAsString}
	if s.batch <= 0 {
		s.batch = defaultBatchSize
	}
	defer func() {
		// Arrow panics on some corrupt footers and schemas.
		if r := recover(); r != nil {
			err = pipeline.Fatalf("file %s is not a readable Parquet file: %v", path, r)
		}
		if err != nil {
			s.Close()
		}
	}()

	// Arrow's Go reader keeps using buffers after it frees them, within a
	// batch and across the batches of a row group (tried twice: a pooling
	// allocator, even one that waits two batches before reusing, returns
	// wrong values and dictionary errors), so it gets the plain Go
	// allocator, whose Free does nothing.
	mem := memory.DefaultAllocator
	props := pq.NewReaderProperties(mem)
	// Read pages as they are needed rather than whole column chunks, so
	// memory does not grow with the writer's row group size.
	props.BufferedStreamEnabled = true
	props.BufferSize = 64 << 10
	if s.raw, s.size, err = openChecked(path); err != nil {
		return nil, err
	}
	s.f, err = file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, pipeline.Fatal(err)
		}
		return nil, pipeline.Fatalf("file %s is not a readable Parquet file: %w", path, err)
	}
	if err := checkArrowSchema(s.f.MetaData().KeyValueMetadata()); err != nil {
		return nil, pipeline.Fatalf("file %s: the Arrow schema stored in its footer is corrupt: %v", path, err)
	}
	// BatchSize 0 would read no rows at all, without an error.
	fr, err := pqarrow.NewFileReader(s.f, pqarrow.ArrowReadProperties{BatchSize: int64(s.batch)}, mem)
	if err != nil {
		return nil, pipeline.Fatalf("file %s: cannot map its schema to columns: %w", path, err)
	}

	fields := fr.Manifest.Fields
	for i := range fields {
		undictionary(&fields[i])
	}
	if len(fields) == 0 {
		return nil, pipeline.Fatalf("file %s has no columns", path)
	}
	names := make([]string, len(fields))
	seen := make(map[string]int, len(fields))
	for i, f := range fields {
		name := strings.TrimSpace(f.Field.Name)
		if name == "" {
			name = "column_" + strconv.Itoa(i+1)
		}
		if j, dup := seen[name]; dup {
			return nil, pipeline.Fatalf("file %s: column %s appears twice, at positions %d and %d; mappings by name would be ambiguous", path, pipeline.Quote(name), j+1, i+1)
		}
		seen[name] = i
		names[i] = name
	}

	selected := make([]bool, len(fields))
	if opts.Columns == nil {
		for i := range selected {
			selected[i] = true
		}
	} else {
		var missing []string
		for _, c := range opts.Columns {
			i, ok := seen[c]
			if !ok {
				missing = append(missing, c)
				continue
			}
			selected[i] = true
		}
		if len(missing) > 0 && !opts.SkipMissing {
			return nil, pipeline.Fatalf("file %s has no column %s; its columns are %s", path, pipeline.QuoteList(missing), pipeline.QuoteList(names))
		}
		if opts.SkipMissing && !slices.Contains(selected, true) {
			selected[0] = true
		}
	}
	s.header = names

	// The leaves (Parquet columns) under each top-level field. The
	// manifest's SchemaField.IsLeaf cannot be trusted for this: Arrow v17
	// leaves ColIndex at 0, not -1, on group fields.
	descr := s.f.MetaData().Schema
	fieldLeaves := make([][]int, len(fields))
	for leaf := range descr.NumColumns() {
		fi := descr.Root().FieldIndexByField(descr.ColumnRoot(leaf))
		if fi < 0 || fi >= len(fields) {
			return nil, pipeline.Fatalf("file %s: column %d has no top-level field", path, leaf)
		}
		fieldLeaves[fi] = append(fieldLeaves[fi], leaf)
	}
	var leaves []int
	arrowFields := 0
	for i, f := range fields {
		if !selected[i] {
			continue
		}
		leaves = append(leaves, fieldLeaves[i]...)
		info := colInfo{name: names[i]}
		if _, prim := descr.Root().Field(i).(*schema.PrimitiveNode); prim && len(fieldLeaves[i]) == 1 {
			_, info.uuid = descr.Column(fieldLeaves[i][0]).LogicalType().(schema.UUIDLogicalType)
		}
		if len(fieldLeaves[i]) == 1 && !opts.arrowOnly && s.textReadable(fieldLeaves[i][0]) &&
			isTextColumn(f.Field.Type, descr.Root().Field(i), descr.Column(fieldLeaves[i][0]), s.binAsStr) {
			leaf := fieldLeaves[i][0]
			s.text = append(s.text, textColumn{col: len(s.cols), leaf: leaf, optional: descr.Column(leaf).MaxDefinitionLevel() > 0})
			s.arrowCol = append(s.arrowCol, -1)
		} else {
			s.arrowCol = append(s.arrowCol, arrowFields)
			arrowFields++
			s.arrowLeaves = append(s.arrowLeaves, fieldLeaves[i]...)
		}
		s.cols = append(s.cols, names[i])
		s.info = append(s.info, info)
		if isNested(f.Field.Type) {
			s.nested = append(s.nested, names[i])
		}
	}
	if len(leaves) == 0 {
		return nil, pipeline.Fatalf("file %s: no column selected", path)
	}
	slices.Sort(leaves)
	s.fr, s.leaves = fr, leaves
	// Arrow decodes the column chunks' metadata on goroutines of its own
	// (GetFieldReaders), where a panic over a corrupt footer cannot be
	// recovered and kills the process: decode it here first, under the
	// recover above.
	md := s.f.MetaData()
	var groupRows int64
	for rg := range s.f.NumRowGroups() {
		rgmd := md.RowGroup(rg)
		if rgmd.NumRows() < 0 {
			return nil, pipeline.Fatalf("file %s: the footer is corrupt: row group %d of %d holds %d rows", path, rg+1, s.f.NumRowGroups(), rgmd.NumRows())
		}
		groupRows += rgmd.NumRows()
		for _, leaf := range leaves {
			if _, err := rgmd.ColumnChunk(leaf); err != nil {
				return nil, pipeline.Fatalf("file %s: the footer is corrupt (row group %d, column %d): %w", path, rg+1, leaf+1, err)
			}
		}
	}
	// The rows read are checked against the row groups' counts, so those
	// are the total Progress gives.
	s.rows = groupRows
	if s.f.NumRowGroups() > 0 {
		if err := s.openRowGroup(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openChecked opens path and tells a file cut short, or one that is not
// Parquet at all, from other damage: Arrow's message for both is "file is
// smaller than indicated metadata size", which names neither.
func openChecked(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, pipeline.Fatal(err)
	}
	fail := func(err error) (*os.File, int64, error) {
		f.Close()
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(pipeline.Fatal(err))
	}
	if !st.Mode().IsRegular() {
		return fail(pipeline.Fatalf("file %s is not a regular file: Parquet is read by seeking in it", path))
	}
	if st.Size() == 0 {
		return fail(pipeline.Fatalf("file %s is empty (0 bytes), not a Parquet file", path))
	}
	var head, tail [4]byte
	if _, err := f.ReadAt(head[:], 0); err != nil || (string(head[:]) != "PAR1" && string(head[:]) != "PARE") {
		return fail(pipeline.Fatalf("file %s is not a Parquet file: it does not start with PAR1 (if it is CSV, give --format csv)", path))
	}
	if _, err := f.ReadAt(tail[:], st.Size()-4); err != nil || (string(tail[:]) != "PAR1" && string(tail[:]) != "PARE") {
		return fail(pipeline.Fatalf("file %s is truncated (%d bytes): it does not end with a Parquet footer (PAR1); was the copy or download cut short?", path, st.Size()))
	}
	return f, st.Size(), nil
}

// openRowGroup starts reading row group s.rg on its own. Arrow's column
// readers move from one row group to the next each on their own, and take
// a page header they cannot read for the end of the group: across groups,
// one column would then slip against the others and rows would come back
// made of two rows' values, silently. Read a group at a time, a column
// that ends early shows as a batch whose columns differ in length, or as
// a group short of the rows its footer promises; Next stops on both.
func (s *Source) openRowGroup() error {
	if err := s.checkPages(s.rg); err != nil {
		return pipeline.Fatalf("file %s: row group %s is corrupt: %v%s", s.path, s.groupName(), err, s.notRead())
	}
	if err := s.openText(s.rg); err != nil {
		return pipeline.Fatalf("file %s: row group %s: %v", s.path, s.groupName(), err)
	}
	s.inGroup, s.rgRead = true, 0
	if len(s.arrowLeaves) == 0 {
		return nil
	}
	rr, err := s.fr.GetRecordReader(context.Background(), s.arrowLeaves, []int{s.rg})
	if err != nil {
		return pipeline.Fatalf("file %s: row group %s: %w", s.path, s.groupName(), err)
	}
	if got, want := len(rr.Schema().Fields()), len(s.cols)-len(s.text); got != want {
		rr.Release()
		return pipeline.Fatalf("file %s: reader returned %d columns for %d selected", s.path, got, want)
	}
	s.rr = rr
	return nil
}

// nextInGroup returns the next Arrow batch of the row group being read
// (nil when it has no Arrow columns) and its number of rows; 0 rows at
// the group's end.
func (s *Source) nextInGroup(want int64) (arrow.Record, int, error) {
	if s.rr == nil {
		return nil, int(min(int64(s.batch), want-s.rgRead)), nil
	}
	if s.rr.Next() && s.rr.Record().NumRows() > 0 {
		rec := s.rr.Record()
		return rec, int(rec.NumRows()), nil
	}
	err := s.rr.Err()
	s.rr.Release()
	s.rr = nil
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, pipeline.Fatalf("file %s: cannot read after row %d (row group %s): %w", s.path, s.num, s.groupName(), err)
	}
	return nil, 0, nil
}

// notRead says which rows a run that stops here has not read.
func (s *Source) notRead() string {
	if s.num == 0 {
		return "; no row was read"
	}
	return fmt.Sprintf("; the rows after row %d were not read", s.num)
}

// groupName names the row group being read, for messages.
func (s *Source) groupName() string {
	return fmt.Sprintf("%d of %d", s.rg+1, s.f.NumRowGroups())
}

// undictionary makes the reader decode dictionary-encoded columns to plain
// values. A file written from Arrow with a dictionary-typed column (pandas
// categoricals through pyarrow) would otherwise be read as dictionary
// arrays, and Arrow v17's record reader fails with "not implemented" on
// any batch that spans two row groups, which hold different dictionaries.
func undictionary(f *pqarrow.SchemaField) {
	if dt, ok := f.Field.Type.(*arrow.DictionaryType); ok {
		f.Field.Type = dt.ValueType
	}
	for i := range f.Children {
		undictionary(&f.Children[i])
	}
}

// isNested reports whether values of type t are made of other values.
func isNested(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW,
		arrow.STRUCT, arrow.MAP, arrow.SPARSE_UNION, arrow.DENSE_UNION:
		return true
	case arrow.EXTENSION:
		return isNested(t.(arrow.ExtensionType).StorageType())
	case arrow.DICTIONARY:
		return isNested(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// Columns returns the column names in file order (only the projected ones
// when Options.Columns was set): those of Row.Values.
func (s *Source) Columns() []string { return s.cols }

// Header returns every top-level column name of the file, in file order,
// whichever are read.
func (s *Source) Header() []string { return s.header }

// NestedColumns lists the columns, among Columns, whose values are lists,
// structs or maps. Their Values are JSON text, which no mapping may use:
// the mapping layer rejects a mapping that names one.
func (s *Source) NestedColumns() []string { return s.nested }

// Name returns the path given to Open, for messages.
func (s *Source) Name() string { return s.path }

// Next returns the next batch of rows, or nil and io.EOF at the end.
func (s *Source) Next(ctx context.Context) (rows []pipeline.Row, err error) {
	if s.closed {
		return nil, pipeline.Fatalf("file %s: read after close", s.path)
	}
	if s.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		// Arrow panics on some corrupt pages; the run stops, naming where.
		if r := recover(); r != nil {
			s.done = true
			rows, err = nil, pipeline.Fatalf("file %s: corrupt data after row %d (row group %s): %v", s.path, s.num, s.groupName(), r)
		}
	}()
	var (
		rec  arrow.Record
		n    int
		want int64
	)
	for {
		if !s.inGroup {
			if s.rg >= s.f.NumRowGroups() {
				s.done = true
				return nil, io.EOF
			}
			if err := s.openRowGroup(); err != nil {
				s.done = true
				return nil, err
			}
		}
		want = s.f.MetaData().RowGroup(s.rg).NumRows()
		if rec, n, err = s.nextInGroup(want); err != nil {
			s.done = true
			return nil, err
		}
		if n > 0 {
			break
		}
		if s.rgRead != want {
			s.done = true
			return nil, pipeline.Fatalf("file %s: row group %s holds %d rows by its footer, but only %d could be read (the rest of it is corrupt)%s",
				s.path, s.groupName(), want, s.rgRead, s.notRead())
		}
		if err := s.textLeft(); err != nil {
			s.done = true
			return nil, pipeline.Fatalf("file %s: row group %s is corrupt: %v%s", s.path, s.groupName(), err, s.notRead())
		}
		s.inGroup = false
		s.rg++
	}
	if rec != nil {
		for c, k := range s.arrowCol {
			if k < 0 {
				continue
			}
			if got := rec.Column(k).Len(); got != n {
				s.done = true
				return nil, pipeline.Fatalf("file %s: corrupt data after row %d (row group %s): column %s holds %d values for %d rows",
					s.path, s.num, s.groupName(), pipeline.Quote(s.cols[c]), got, n)
			}
		}
	}
	if s.rgRead+int64(n) > want {
		s.done = true
		return nil, pipeline.Fatalf("file %s: row group %s holds %d rows by its footer, but more could be read (it is corrupt)%s",
			s.path, s.groupName(), want, s.notRead())
	}
	s.rgRead += int64(n)
	b := &batch{
		n:     n,
		ncols: len(s.cols),
		vals:  make([]string, n*len(s.cols)),
		buf:   make([]byte, 0, s.bufHint),
	}
	if s.bufHint == 0 {
		b.buf = make([]byte, 0, n*len(s.cols)*16)
	}
	for c, k := range s.arrowCol {
		if k >= 0 {
			s.convert(b, c, rec.Column(k))
		}
	}
	for i := range s.text {
		if err := s.readText(b, &s.text[i], n); err != nil {
			s.done = true
			return nil, pipeline.Fatalf("file %s: corrupt data after row %d (row group %s): %v", s.path, s.num, s.groupName(), err)
		}
	}
	// Size the next buffer on this one so it seldom grows while filling.
	s.bufHint = len(b.buf) + len(b.buf)/8 + 64

	rows = make([]pipeline.Row, n)
	for r := range rows {
		rows[r] = pipeline.Row{
			Num:    s.num + int64(r) + 1,
			Values: b.vals[r*b.ncols : (r+1)*b.ncols : (r+1)*b.ncols],
		}
		if b.rejects != nil {
			rows[r].Reject = b.rejects[r]
		}
	}
	s.num += int64(n)
	s.progress.Store(s.num)
	return rows, nil
}

// Close releases the file. It is safe to call more than once.
func (s *Source) Close() (err error) {
	if s.closed {
		return nil
	}
	s.closed = true
	defer func() {
		// After a panic in Next, Arrow's reader may be in no state to
		// release itself; the file is closed below all the same.
		if r := recover(); r != nil {
			if s.f != nil {
				s.f.Close()
			}
			err = pipeline.Fatalf("file %s: closing after corrupt data: %v", s.path, r)
		}
	}()
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	if s.raw != nil {
		s.raw.Close()
	}
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			return pipeline.Fatalf("file %s: %w", s.path, err)
		}
	}
	return nil
}

// batch collects one record batch's values as text. All the text of a
// batch lives in buf, which is never written again where a value points,
// so the values are strings over it without a copy each.
type batch struct {
	n, ncols int
	buf      []byte
	vals     []string // row-major: vals[r*ncols+c]
	rejects  []*pipeline.Reject
}

// set makes the bytes appended to buf since start the value of row r,
// column c.
func (b *batch) set(r, c, start int) {
	if n := len(b.buf) - start; n > 0 {
		b.vals[r*b.ncols+c] = unsafe.String(&b.buf[start], n)
	}
}

func (b *batch) reject(r int, rej *pipeline.Reject) {
	if b.rejects == nil {
		b.rejects = make([]*pipeline.Reject, b.n)
	}
	if b.rejects[r] == nil {
		b.rejects[r] = rej
	}
}

var _ pipeline.Progresser = (*Source)(nil)

// Progress implements pipeline.Progresser in rows: read so far, and the
// file's row count from its footer.
func (s *Source) Progress() (done, total int64) { return s.progress.Load(), s.rows }

var _ pipeline.RowEstimator = (*Source)(nil)

// EstimatedRows implements pipeline.RowEstimator with the row count of the
// file's footer.
func (s *Source) EstimatedRows() int64 { return s.rows }
