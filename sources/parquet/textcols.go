package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/schema"

	"crmsync/pipeline"
)

// textColumn is a top-level text column read straight from its pages
// rather than through Arrow's record reader. Arrow copies every string
// into a builder whose buffers grow by doubling, afresh for each batch:
// for a file of text columns that is about 560 bytes allocated a row, and
// a third of a dry run's time. Here a plain value is copied once, from
// its page into the batch's text, and a dictionary value not at all: the
// dictionary is kept as strings, checked for UTF-8 once per entry.
//
// Arrow's pages are still what is read (decompressed, decrypted when that
// is supported); only their values are decoded here, for the encodings
// flat text is written in: PLAIN and dictionary values, RLE definition
// levels, data pages v1 and v2. A column chunk with any other encoding
// (DELTA_*, the deprecated BIT_PACKED levels) is left to Arrow. Arrow's
// own ColumnChunkReader.ReadBatch would skip the builders too, but it
// never returns on a page whose levels or indices run short of its value
// count (FuzzParquet found one); here every step reads at least one row
// or fails.
type textColumn struct {
	col      int // index in Source.cols
	leaf     int
	optional bool // a null is a definition level of 0
	chunk    textChunk
}

// textChunk is the state of one text column chunk being read.
type textChunk struct {
	pages file.PageReader
	dict  []string
	// dictBad marks the dictionary entries that are not UTF-8.
	dictBad []bool
	// The current data page: left levels (rows) not yet read, their
	// definition levels, and its values, either plain (the page's bytes
	// left) or dictionary indices.
	left   int
	levels hybrid
	plain  []byte
	dictIx bool
	index  hybrid
}

// textEncodings are the encodings a textChunk decodes.
var textEncodings = map[pq.Encoding]bool{
	pq.Encodings.Plain: true, pq.Encodings.PlainDict: true, pq.Encodings.RLEDict: true, pq.Encodings.RLE: true,
}

// isTextColumn reports whether the top-level field with Arrow type t,
// stored as column col, can be read as a textColumn: a flat BYTE_ARRAY
// that Arrow would hand back as a string (or as bytes rendered as text).
func isTextColumn(t arrow.DataType, node schema.Node, col *schema.Column, binAsStr bool) bool {
	if _, prim := node.(*schema.PrimitiveNode); !prim {
		return false
	}
	if col.PhysicalType() != pq.Types.ByteArray || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
		return false
	}
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return true
	case arrow.BINARY, arrow.LARGE_BINARY:
		return binAsStr
	}
	return false
}

// textReadable reports whether every chunk of leaf is one a textChunk
// reads: not encrypted (Arrow refuses those with its own message), and in
// textEncodings only. A footer too corrupt to say is left to Open's
// checks.
func (s *Source) textReadable(leaf int) bool {
	md := s.f.MetaData()
	for rg := range s.f.NumRowGroups() {
		cc, err := md.RowGroup(rg).ColumnChunk(leaf)
		if err != nil {
			continue
		}
		if cc.CryptoMetadata() != nil || len(cc.Encodings()) == 0 {
			return false
		}
		for _, e := range cc.Encodings() {
			if !textEncodings[e] {
				return false
			}
		}
	}
	return true
}

// openText opens the column chunks of the text columns in row group rg.
func (s *Source) openText(rg int) error {
	rgr := s.f.RowGroup(rg)
	for i := range s.text {
		tc := &s.text[i]
		pages, err := rgr.GetColumnPageReader(tc.leaf)
		if err != nil {
			return fmt.Errorf("column %s: %w", pipeline.Quote(s.cols[tc.col]), err)
		}
		tc.chunk = textChunk{pages: pages}
	}
	return nil
}

// nextPage moves to the chunk's next data page, reading a dictionary page
// on the way. It returns false at the chunk's end.
func (tc *textColumn) nextPage() (bool, error) {
	ch := &tc.chunk
	for ch.pages.Next() {
		switch pg := ch.pages.Page().(type) {
		case *file.DictionaryPage:
			if ch.dict != nil {
				return false, errors.New("a second dictionary page")
			}
			if e := pq.Encoding(pg.Encoding()); e != pq.Encodings.Plain && e != pq.Encodings.PlainDict {
				return false, fmt.Errorf("a dictionary page in encoding %s", e)
			}
			if err := ch.setDict(pg.Data(), int(pg.NumValues())); err != nil {
				return false, err
			}
		case *file.DataPageV1:
			data := pg.Data()
			if tc.optional {
				if e := pg.DefinitionLevelEncoding(); e != pq.Encodings.RLE {
					return false, fmt.Errorf("definition levels in encoding %s", e)
				}
				if len(data) < 4 {
					return false, errHybridShort
				}
				n := binary.LittleEndian.Uint32(data)
				if uint64(n) > uint64(len(data)-4) {
					return false, errHybridShort
				}
				ch.levels, _ = newHybrid(data[4:4+n], 1)
				data = data[4+n:]
			}
			if err := ch.setValues(pq.Encoding(pg.Encoding()), data, int(pg.NumValues())); err != nil {
				return false, err
			}
			if ch.left > 0 {
				return true, nil
			}
		case *file.DataPageV2:
			data := pg.Data()
			defLen, repLen := int64(pg.DefinitionLevelByteLen()), int64(pg.RepetitionLevelByteLen())
			if repLen != 0 || defLen < 0 || defLen > int64(len(data)) {
				return false, fmt.Errorf("a data page v2 with %d bytes of repetition and %d of definition levels", repLen, defLen)
			}
			if tc.optional {
				ch.levels, _ = newHybrid(data[:defLen], 1)
			}
			if err := ch.setValues(pq.Encoding(pg.Encoding()), data[defLen:], int(pg.NumValues())); err != nil {
				return false, err
			}
			if ch.left > 0 {
				return true, nil
			}
		}
	}
	return false, ch.pages.Err()
}

// setDict keeps a dictionary page's n PLAIN values as strings.
func (ch *textChunk) setDict(data []byte, n int) error {
	if n < 0 || n > len(data)/4 {
		return fmt.Errorf("a dictionary page of %d bytes claims %d values", len(data), n)
	}
	// One string for all the entries: one allocation, and the page's
	// bytes are Arrow's to reuse.
	all := string(data)
	// When the whole page is UTF-8 (its lengths too, as they are below
	// 128 bytes), a value that starts and ends on character boundaries is.
	valid := utf8.ValidString(all)
	ch.dict, ch.dictBad = make([]string, n), make([]bool, n)
	for i := range n {
		if len(all) < 4 {
			return fmt.Errorf("the dictionary page ends at its value %d of %d", i+1, n)
		}
		size := uint32(all[0]) | uint32(all[1])<<8 | uint32(all[2])<<16 | uint32(all[3])<<24
		if uint64(size) > uint64(len(all)-4) {
			return fmt.Errorf("the dictionary page ends in its value %d of %d", i+1, n)
		}
		v := all[4 : 4+size]
		all = all[4+size:]
		ch.dict[i] = v
		if v != "" && (!valid || !utf8.RuneStart(v[0]) || all != "" && !utf8.RuneStart(all[0])) {
			ch.dictBad[i] = !utf8.ValidString(v)
		}
	}
	return nil
}

// setValues starts a data page of n levels whose values, after its
// levels, are data.
func (ch *textChunk) setValues(enc pq.Encoding, data []byte, n int) error {
	if n < 0 {
		return fmt.Errorf("a data page claims %d values", n)
	}
	switch enc {
	case pq.Encodings.Plain:
		ch.dictIx, ch.plain = false, data
	case pq.Encodings.PlainDict, pq.Encodings.RLEDict:
		if ch.dict == nil {
			return errors.New("a dictionary-encoded data page without a dictionary page")
		}
		if len(data) < 1 {
			return errHybridShort
		}
		h, err := newHybrid(data[1:], uint(data[0]))
		if err != nil {
			return err
		}
		ch.dictIx, ch.index = true, h
	default:
		return fmt.Errorf("a data page in encoding %s", enc)
	}
	ch.left = n
	return nil
}

// readText reads the next n values of tc into column tc.col of b, the
// same text Arrow's String array would give: a null is "", a value that
// is not UTF-8 rejects its row. A column chunk that ends before n values
// is corrupt.
func (s *Source) readText(b *batch, tc *textColumn, n int) error {
	if cap(s.textLevels) < n {
		s.textLevels = make([]uint32, n)
	}
	ch := &tc.chunk
	for row := 0; row < n; {
		if ch.left == 0 {
			more, err := tc.nextPage()
			if err != nil {
				return fmt.Errorf("column %s: %w", pipeline.Quote(s.cols[tc.col]), err)
			}
			if !more {
				return fmt.Errorf("column %s holds %d values for %d rows", pipeline.Quote(s.cols[tc.col]), row, n)
			}
		}
		m := min(n-row, ch.left)
		// present[i] is 1 where row row+i has a value.
		present := s.textLevels[:m]
		if tc.optional {
			if err := ch.levels.read(present); err != nil {
				return fmt.Errorf("column %s: definition levels: %w", pipeline.Quote(s.cols[tc.col]), err)
			}
		} else {
			for i := range present {
				present[i] = 1
			}
		}
		var err error
		if ch.dictIx {
			err = s.dictValues(b, tc, row, present)
		} else {
			err = s.plainValues(b, tc, row, present)
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", pipeline.Quote(s.cols[tc.col]), err)
		}
		ch.left -= m
		row += m
	}
	return nil
}

// plainValues copies the PLAIN values of the rows from row on that
// present marks into b.
func (s *Source) plainValues(b *batch, tc *textColumn, row int, present []uint32) error {
	ch := &tc.chunk
	start := len(b.buf)
	data := ch.plain
	for i, p := range present {
		switch p {
		case 0:
			continue
		case 1:
		default:
			return fmt.Errorf("definition level %d, more than 1", p)
		}
		if len(data) < 4 {
			return errors.New("a data page ends before its values")
		}
		size := binary.LittleEndian.Uint32(data)
		if uint64(size) > uint64(len(data)-4) {
			return errors.New("a data page ends in a value")
		}
		val := data[4 : 4+size]
		data = data[4+size:]
		if size == 0 {
			continue
		}
		at := len(b.buf)
		b.buf = append(b.buf, val...)
		b.vals[(row+i)*b.ncols+tc.col] = unsafe.String(&b.buf[at], len(val))
	}
	ch.plain = data
	// One UTF-8 check over all the text just copied; only when it fails
	// are the values checked one by one.
	if !utf8.Valid(b.buf[start:]) {
		for i := range present {
			r := row + i
			if val := b.vals[r*b.ncols+tc.col]; val != "" && !utf8.ValidString(val) {
				s.rejectEncoding(b, r, tc.col)
			}
		}
	}
	return nil
}

// dictValues sets the dictionary values of the rows from row on that
// present marks in b.
func (s *Source) dictValues(b *batch, tc *textColumn, row int, present []uint32) error {
	ch := &tc.chunk
	count := 0
	for _, p := range present {
		if p > 1 {
			return fmt.Errorf("definition level %d, more than 1", p)
		}
		count += int(p)
	}
	if cap(s.textIndex) < count {
		s.textIndex = make([]uint32, max(count, len(present)))
	}
	index := s.textIndex[:count]
	if err := ch.index.read(index); err != nil {
		return fmt.Errorf("dictionary indices: %w", err)
	}
	for i, p := range present {
		if p == 0 {
			continue
		}
		ix := index[0]
		index = index[1:]
		if int(ix) >= len(ch.dict) {
			return fmt.Errorf("dictionary index %d, past the dictionary's %d values", ix, len(ch.dict))
		}
		b.vals[(row+i)*b.ncols+tc.col] = ch.dict[ix]
		if ch.dictBad[ix] {
			s.rejectEncoding(b, row+i, tc.col)
		}
	}
	return nil
}

// textLeft reports whether a text column still holds values once its row
// group's rows are all read, which only a corrupt chunk does.
func (s *Source) textLeft() error {
	for i := range s.text {
		tc := &s.text[i]
		if tc.chunk.pages == nil {
			continue
		}
		more, err := tc.nextPage()
		if err != nil {
			return fmt.Errorf("column %s: %w", pipeline.Quote(s.cols[tc.col]), err)
		}
		if more || tc.chunk.left > 0 {
			return fmt.Errorf("column %s holds more values than the row group has rows", pipeline.Quote(s.cols[tc.col]))
		}
	}
	return nil
}
