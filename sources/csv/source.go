package csv

import (
	"bytes"
	"compress/gzip"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"crmsync/pipeline"
)

var _ pipeline.Source = (*Source)(nil)

// MaxFieldBytes is the longest field accepted, in bytes; a longer one
// rejects its row with code "field_too_long". No CRM field holds a megabyte,
// and a field that long is almost always a quoting accident.
const MaxFieldBytes = 1 << 20

// maxRowBytes bounds what one row may pull from the input before the run
// stops: past it an opening quote is almost surely never closed. It is a
// variable so tests can lower it.
var maxRowBytes int64 = 32 << 20

const (
	defaultBatchSize = 1024
	// sampleBytes is how much of the input delimiter detection looks at.
	sampleBytes = 64 << 10
	// sampleLines is how many lines after the header detection compares.
	sampleLines = 20
)

// Options control how a CSV file is read. The zero value reads a UTF-8 file,
// detects the delimiter, and uses batches of 1024 rows.
type Options struct {
	// Delimiter separates fields; 0 detects it among , ; tab and | from
	// the first lines.
	Delimiter rune
	// Encoding of the file: "" or "utf-8", "latin1" (ISO-8859-1),
	// "windows-1252", "utf-16" (the byte order mark decides endianness,
	// little-endian without one), "utf-16le", "utf-16be". With "", Open
	// fails when the first 64 KiB are not UTF-8; with "utf-8", such rows
	// are rejected one by one.
	Encoding string
	// BatchSize is the most rows Next returns at once; 0 means 1024.
	BatchSize int
	// Stdin is read when the path is "-"; nil means os.Stdin.
	Stdin io.Reader
}

// Source reads a CSV file. See the package documentation.
type Source struct {
	// consumed counts bytes read from the file, and size is its size (0
	// for standard input), for Progress.
	consumed atomic.Int64
	size     int64

	path    string
	display string // "stdin" for "-", else the path, for messages
	file    *os.File
	gz      *gzip.Reader
	win     *window
	r       *stdcsv.Reader
	start   int64 // stream offset of encoding/csv's offset 0
	cols    []string
	delim   rune
	batch   int
	num     int64
	line    int64 // line of the last row returned, for fatal messages
	utf8    bool  // the input is not decoded, so its UTF-8 must be checked
	unesc   bool  // the file is a reject file: undo EscapeFormula
	err     error // fatal error to return once the rows before it are out
	done    bool
	closed  bool
}

// Open opens path ("-" for opts.Stdin) and reads its header row. Every
// error it returns is fatal for the run.
func Open(path string, opts Options) (*Source, error) {
	s := &Source{path: path, display: path, batch: opts.BatchSize}
	if s.batch <= 0 {
		s.batch = defaultBatchSize
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	var in io.Reader
	if path == "-" {
		s.display = "stdin"
		in = opts.Stdin
		if in == nil {
			in = os.Stdin
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, pipeline.Fatal(err)
		}
		s.file = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			s.size = st.Size()
		}
		in = &countingReader{r: f, n: &s.consumed}
	}

	head, in, err := peekBytes(in, 3)
	if err != nil {
		return nil, pipeline.Fatalf("read %s: %w", s.display, err)
	}
	if (len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b) || strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, pipeline.Fatalf("file %s is not valid gzip: %w", s.display, err)
		}
		s.gz = zr
		if head, in, err = peekBytes(zr, 3); err != nil {
			return nil, pipeline.Fatalf("read %s: %w", s.display, err)
		}
	}

	dec, err := decoderFor(opts.Encoding, head)
	if err != nil {
		return nil, pipeline.Fatalf("file %s: %w", s.display, err)
	}
	if dec != nil {
		in = transform.NewReader(in, dec.NewDecoder())
	} else {
		s.utf8 = true
	}

	s.win = newWindow(in, maxRowBytes)
	// Decoders drop a UTF-16 BOM; a UTF-8 BOM (or one a decoder kept) is
	// U+FEFF in UTF-8 and would end up in the first column's name.
	if bytes.HasPrefix(s.win.peek(3), []byte("\uFEFF")) {
		s.win.skip(3)
	}
	sample := s.win.peek(sampleBytes)
	if bytes.IndexByte(sample, '\r') >= 0 && bytes.IndexByte(sample, '\n') < 0 {
		s.win.useCRLineEndings()
	}
	if s.utf8 && opts.Encoding == "" {
		if err := s.checkFirstBlock(sample, s.win.err != nil); err != nil {
			return nil, err
		}
	}

	s.delim = opts.Delimiter
	if s.delim == 0 {
		s.delim = detectDelimiter(sample, s.win.err != nil)
	}
	if err := checkDelimiter(s.delim); err != nil {
		return nil, pipeline.Fatalf("file %s: %w", s.display, err)
	}

	s.start = s.win.offset()
	s.r = stdcsv.NewReader(s.win)
	s.r.Comma = s.delim
	s.r.FieldsPerRecord = -1
	// Each record gets a slice of its own, which becomes the row's Values
	// as it is: copying a reused one into a batch's slab cost more than
	// the allocation (1M-row dry run, alternating: 3.03-3.18 -> 2.86-3.08
	// s CPU, 5 MB less RSS).
	s.r.ReuseRecord = false

	if err := s.readHeader(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// peekBytes reads the first n bytes of r (fewer at the end of input) and
// returns them with a reader that yields the whole input again.
func peekBytes(r io.Reader, n int) ([]byte, io.Reader, error) {
	b := make([]byte, n)
	got, err := io.ReadFull(r, b)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, nil, err
	}
	b = b[:got]
	return b, io.MultiReader(bytes.NewReader(b), r), nil
}

// decoderFor returns the decoder for name, or nil for UTF-8 input that is
// read as it is. head is the start of the input, to spot a byte order mark.
// A UTF-8 one wins over any encoding given: no Latin-1 or UTF-16 text starts
// with those bytes, and reject files carry one, so a reject file fed back
// with the flags of the original run still reads right.
func decoderFor(name string, head []byte) (encoding.Encoding, error) {
	key := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(name))
	utf16BOM := len(head) >= 2 && (head[0] == 0xff && head[1] == 0xfe || head[0] == 0xfe && head[1] == 0xff)
	if bytes.HasPrefix(head, []byte("\uFEFF")) {
		key = "utf8"
	}
	switch key {
	case "", "utf8":
		if utf16BOM {
			return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
		}
		return nil, nil
	case "latin1", "iso88591", "l1":
		return charmap.ISO8859_1, nil
	case "windows1252", "cp1252":
		return charmap.Windows1252, nil
	case "utf16":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	case "utf16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), nil
	case "utf16be":
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), nil
	}
	return nil, fmt.Errorf("unknown encoding %q: use utf-8, latin1, windows-1252, utf-16, utf-16le or utf-16be", name)
}

func checkDelimiter(d rune) error {
	if d == '"' || d == '\r' || d == '\n' || d == utf8.RuneError || !utf8.ValidRune(d) {
		return fmt.Errorf("%q cannot be a delimiter", d)
	}
	return nil
}

func (s *Source) readHeader() error {
	s.win.mark = s.win.offset()
	rec, err := s.r.Read()
	if err == io.EOF {
		return pipeline.Fatalf("file %s is empty: no header row", s.display)
	}
	if err != nil {
		var pe *stdcsv.ParseError
		if errors.As(err, &pe) {
			return pipeline.Fatalf("file %s: cannot read the header row: line %d, column %d: %v", s.display, pe.Line, pe.Column, pe.Err)
		}
		return s.readError(err)
	}
	// A whole file in the wrong encoding shows in its header: stop there
	// rather than reject every row with an accent.
	for i, name := range rec {
		if strings.IndexByte(name, 0) >= 0 {
			return pipeline.Fatalf("file %s: the header holds NUL bytes (column %d): is the file UTF-16? Try --encoding utf-16", s.display, i+1)
		}
		if s.utf8 && !utf8.ValidString(name) {
			return pipeline.Fatalf("file %s: the header is not valid UTF-8 (column %d): try --encoding latin1 or --encoding windows-1252", s.display, i+1)
		}
	}
	s.cols = make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, name := range rec {
		name = strings.TrimSpace(name)
		if name == "" {
			name = "column_" + strconv.Itoa(i+1)
		}
		if j, dup := seen[name]; dup {
			return pipeline.Fatalf("file %s: column %s appears twice in the header, at positions %d and %d; rename one so mappings are not ambiguous", s.display, pipeline.Quote(name), j+1, i+1)
		}
		seen[name] = i
		s.cols[i] = strings.Clone(name)
	}
	s.unesc = true
	for _, c := range pipeline.RejectColumns {
		if _, ok := seen[c]; !ok {
			s.unesc = false
		}
	}
	if s.unesc {
		// The reject writer escapes header names like any cell, so a
		// column named "@handle" comes back under its own name.
		for i, c := range s.cols {
			s.cols[i] = unescapeFormula(c)
		}
	}
	s.line = 1
	return nil
}

// Columns returns the header's names in file order.
func (s *Source) Columns() []string { return s.cols }

// Delimiter returns the delimiter in use, given or detected.
func (s *Source) Delimiter() rune { return s.delim }

// Name returns the path given to Open, for messages.
func (s *Source) Name() string { return s.path }

// Next returns the next batch of rows, or nil and io.EOF at the end.
func (s *Source) Next(ctx context.Context) ([]pipeline.Row, error) {
	if s.closed {
		return nil, pipeline.Fatalf("file %s: read after close", s.display)
	}
	if s.err != nil {
		err := s.err
		s.err, s.done = nil, true
		return nil, err
	}
	if s.done {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ncols := len(s.cols)
	rows := make([]pipeline.Row, 0, s.batch)
	for len(rows) < s.batch {
		s.win.mark = s.start + s.r.InputOffset()
		startOff := s.win.mark
		rec, err := s.r.Read()
		if err == io.EOF {
			s.done = true
			break
		}
		if err != nil && !isParseError(err) {
			s.err = s.readError(err)
			break
		}
		s.num++
		row := pipeline.Row{Num: s.num}
		if err != nil {
			pe := err.(*stdcsv.ParseError)
			row.Line = int64(pe.StartLine)
			row.Values, row.Reject = s.parseReject(pe, rec, s.win.raw(startOff, s.start+s.r.InputOffset()))
		} else {
			line, _ := s.r.FieldPos(0)
			row.Line = int64(line)
			if len(rec) != ncols {
				row.Values = append([]string(nil), rec...)
				row.Reject = &pipeline.Reject{
					Stage:   pipeline.StageRead,
					Code:    CodeFieldCount,
					Message: fmt.Sprintf("file %s line %d: expected %d fields as in the header, found %d", s.display, line, ncols, len(rec)),
				}
			} else {
				vals := rec[:ncols:ncols]
				row.Values = vals
				if !s.recordClean(vals) {
					row.Reject = s.checkFields(vals, line)
				}
				if s.unesc {
					for i, v := range vals {
						if v != "" && v[0] == '\'' {
							vals[i] = unescapeFormula(v)
						}
					}
				}
			}
		}
		s.line = row.Line
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		if s.err != nil {
			err := s.err
			s.err, s.done = nil, true
			return nil, err
		}
		return nil, io.EOF
	}
	return rows, nil
}

// isParseError reports whether err is encoding/csv's error for one record,
// after which reading can go on. It takes the value, not a pointer to a
// local, so the check costs no allocation per row.
func isParseError(err error) bool {
	_, ok := err.(*stdcsv.ParseError)
	return ok
}

// recordClean reports, in one pass over the row, that no field can be
// rejected by checkFields. encoding/csv slices a record's fields from one
// string, so when they are adjacent in memory the whole row is checked at
// once; otherwise field by field.
func (s *Source) recordClean(vals []string) bool {
	var start *byte
	var next uintptr
	total := 0
	adjacent := true
	for _, v := range vals {
		if v == "" {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(v)))
		if total == 0 {
			start, next = unsafe.StringData(v), p
		}
		if p != next {
			adjacent = false
			break
		}
		next += uintptr(len(v))
		total += len(v)
	}
	if !adjacent {
		for _, v := range vals {
			if len(v) > MaxFieldBytes || !cleanText(v, s.utf8) {
				return false
			}
		}
		return true
	}
	if total > MaxFieldBytes {
		return false
	}
	if total == 0 {
		return true
	}
	return cleanText(unsafe.String(start, total), s.utf8)
}

// cleanText reports that s holds no NUL byte and, when checkUTF8 is set, is
// valid UTF-8. ASCII text, by far the most common, is checked eight bytes
// at a time in one pass.
func cleanText(s string, checkUTF8 bool) bool {
	const hi, lo = 0x8080808080808080, 0x0101010101010101
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if w&hi != 0 {
			break
		}
		if (w-lo)&^w&hi != 0 {
			return false
		}
		s = s[8:]
	}
	if strings.IndexByte(s, 0) >= 0 {
		return false
	}
	return !checkUTF8 || utf8.ValidString(s)
}

// checkFields returns the reject for the first field that cannot be sent
// on, or nil.
func (s *Source) checkFields(vals []string, line int) *pipeline.Reject {
	for i, v := range vals {
		var code, why string
		switch {
		case len(v) > MaxFieldBytes:
			code, why = CodeFieldTooLong, fmt.Sprintf("is %d bytes long, over the limit of %d", len(v), MaxFieldBytes)
		case strings.IndexByte(v, 0) >= 0:
			code, why = CodeNULByte, "holds a NUL byte (is the file binary, or a broken export?)"
		case s.utf8 && !utf8.ValidString(v):
			code, why = pipeline.CodeEncoding, "is not valid UTF-8: if the file comes from Excel or an older system, try --encoding latin1 or --encoding windows-1252"
		default:
			continue
		}
		return &pipeline.Reject{
			Stage:   pipeline.StageRead,
			Code:    code,
			Column:  s.cols[i],
			Message: fmt.Sprintf("file %s line %d: column %s %s", s.display, line, pipeline.Quote(s.cols[i]), why),
		}
	}
	return nil
}

// parseReject explains a row encoding/csv could not parse. encoding/csv
// drops the rest of the line where it stopped, so the values are taken
// from the row's raw text read again with lazy quotes: the reject file then
// holds all of the row.
func (s *Source) parseReject(pe *stdcsv.ParseError, rec []string, raw []byte) ([]string, *pipeline.Reject) {
	vals := lenientFields(raw, s.delim)
	if vals == nil {
		vals = append([]string(nil), rec...)
	}
	rej := &pipeline.Reject{Stage: pipeline.StageRead, Code: CodeParse}
	where := fmt.Sprintf("file %s line %d", s.display, pe.StartLine)
	if pe.Line != pe.StartLine {
		where = fmt.Sprintf("file %s lines %d to %d", s.display, pe.StartLine, pe.Line)
	}
	switch {
	case errors.Is(pe.Err, stdcsv.ErrBareQuote):
		rej.Code = CodeBadQuote
		rej.Message = fmt.Sprintf(`%s: a quote (") inside an unquoted field at line %d, column %d; quote the whole field and double the quotes inside it ("")`, where, pe.Line, pe.Column)
	case errors.Is(pe.Err, stdcsv.ErrQuote):
		rej.Code = CodeBadQuote
		rej.Message = fmt.Sprintf(`%s: a quoted field is not closed properly (missing or extra quote near line %d, column %d)`, where, pe.Line, pe.Column)
		if pe.Line != pe.StartLine {
			rej.Message += fmt.Sprintf("; lines %d to %d were read as this one row", pe.StartLine, pe.Line)
		}
	default:
		rej.Message = fmt.Sprintf("%s: %v", where, pe.Err)
	}
	if s.utf8 {
		// The lenient values go to the reject file as they are; only the
		// reason needs to say so when the bytes are not text either.
		for _, v := range vals {
			if !utf8.ValidString(v) {
				rej.Message += "; the row is also not valid UTF-8 (try --encoding latin1)"
				break
			}
		}
	}
	return vals, rej
}

// lenientFields splits one record's raw text the way a person would read
// it: a quote that does not close a quoted field properly is taken as text,
// and so is everything up to the final line break, so no byte is dropped.
func lenientFields(raw []byte, delim rune) []string {
	raw = bytes.TrimSuffix(raw, []byte("\n"))
	raw = bytes.TrimSuffix(raw, []byte("\r"))
	if len(raw) == 0 {
		return nil
	}
	var d [utf8.UTFMax]byte
	sep := d[:utf8.EncodeRune(d[:], delim)]
	var fields []string
	var f []byte
	for {
		f = f[:0]
		if len(raw) > 0 && raw[0] == '"' {
			raw = raw[1:]
			for {
				i := bytes.IndexByte(raw, '"')
				if i < 0 { // never closed: the rest is this field
					f = append(f, raw...)
					raw = raw[len(raw):]
					break
				}
				f = append(f, raw[:i]...)
				raw = raw[i+1:]
				if len(raw) > 0 && raw[0] == '"' {
					f = append(f, '"')
					raw = raw[1:]
					continue
				}
				if len(raw) > 0 && !bytes.HasPrefix(raw, sep) {
					// A stray quote: keep it and read on as unquoted text.
					f = append(f, '"')
					i := bytes.Index(raw, sep)
					if i < 0 {
						i = len(raw)
					}
					f = append(f, raw[:i]...)
					raw = raw[i:]
				}
				break
			}
		} else {
			i := bytes.Index(raw, sep)
			if i < 0 {
				i = len(raw)
			}
			f = append(f, raw[:i]...)
			raw = raw[i:]
		}
		fields = append(fields, string(f))
		if len(raw) == 0 {
			return fields
		}
		raw = raw[len(sep):]
	}
}

func (s *Source) readError(err error) error {
	if errors.Is(err, errRowTooLarge) {
		return pipeline.Fatalf("file %s: the row after line %d is over %d MiB: a quote is probably opened and never closed there; fix the quoting and run again", s.display, s.line, maxRowBytes>>20)
	}
	return pipeline.Fatalf("file %s: read error after line %d: %w", s.display, s.line, err)
}

// Close releases the file. It is safe to call more than once.
func (s *Source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.gz != nil {
		err = s.gz.Close()
	}
	if s.file != nil {
		if cerr := s.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

var _ pipeline.Progresser = (*Source)(nil)

// Progress implements pipeline.Progresser in bytes of the file (compressed
// bytes for .gz): read so far and in all.
func (s *Source) Progress() (done, total int64) { return s.consumed.Load(), s.size }

var _ pipeline.RowEstimator = (*Source)(nil)

// EstimatedRows implements pipeline.RowEstimator for a plain file: its
// size over the bytes a row took so far, plus an eighth, as the first
// rows are seldom the average. A compressed or re-encoded input, or
// standard input, does not say.
func (s *Source) EstimatedRows() int64 {
	if s.size == 0 || s.gz != nil || !s.utf8 || s.num == 0 {
		return 0
	}
	read := s.start + s.r.InputOffset()
	if read <= 0 {
		return 0
	}
	est := float64(s.num) * float64(s.size) / float64(read)
	return int64(est * 9 / 8)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
