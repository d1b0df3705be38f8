package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/parquet/metadata"
	"github.com/apache/thrift/lib/go/thrift"
)

// Page types, from parquet.thrift.
const (
	pageData       = 0
	pageIndex      = 1
	pageDictionary = 2
	pageDataV2     = 3
)

const (
	// minPageHeaderWindow and maxPageHeaderWindow are the bytes read to
	// find a page header, as Arrow reads them: 16 KiB, doubled up to 4 MiB
	// for headers carrying large statistics.
	minPageHeaderWindow = 16 << 10
	maxPageHeaderWindow = 4 << 20
	// maxPageBytes bounds a page's sizes. Arrow allocates a page's
	// uncompressed size before it reads a byte of it; writers cut pages at
	// about 1 MiB.
	maxPageBytes = 256 << 20
	// parquet816Slack is the padding Arrow reads past the column chunks
	// of parquet-mr before 1.2.9, which left the dictionary page header out
	// of the chunk's size (PARQUET-816).
	parquet816Slack = 100
)

// checkPages walks the page headers of the column chunks of row group rg
// that Next reads, before Arrow reads them: they must be pages Arrow
// knows, lie within their chunk, and hold between them the number of
// values the footer gives the chunk. Arrow's page reader stops once it has
// seen that many values; short of them, it reads on past the chunk's last
// page, where its buffered reader hands back stale bytes, and a stale
// "page" of a type it skips sends it round the same bytes for ever. A
// chunk that passes also cannot slip against the others by a page.
func (s *Source) checkPages(rg int) error {
	md := s.f.MetaData()
	rgmd := md.RowGroup(rg)
	slack := int64(0)
	if md.WriterVersion().LessThan(metadata.Parquet816FixedVersion) {
		slack = parquet816Slack
	}
	for _, leaf := range s.leaves {
		cc, err := rgmd.ColumnChunk(leaf)
		if err != nil {
			return err
		}
		if cc.CryptoMetadata() != nil {
			continue // Arrow refuses encrypted columns without keys
		}
		name := md.Schema.Column(leaf).Path()
		want := cc.NumValues()
		if want < 0 {
			return fmt.Errorf("column %s: the footer counts %d values", name, want)
		}
		if want == 0 {
			continue // Arrow reads no page of it
		}
		start := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
			start = cc.DictionaryPageOffset()
		}
		end := start + cc.TotalCompressedSize()
		if start < 4 || cc.TotalCompressedSize() <= 0 || end > s.size {
			return fmt.Errorf("column %s: its bytes %d to %d are not in the file's %d", name, start, end, s.size)
		}
		end = min(end+slack, s.size)
		var seen int64
		for at := start; seen < want; {
			if at >= end {
				return fmt.Errorf("column %s: its pages end at byte %d holding %d values; the footer counts %d", name, at, seen, want)
			}
			h, n, err := s.pageHeader(at, end)
			if err != nil {
				return fmt.Errorf("column %s: the page header at byte %d: %w", name, at, err)
			}
			switch {
			case h.compressed < 0 || h.uncompressed < 0 || h.compressed > maxPageBytes || h.uncompressed > maxPageBytes:
				return fmt.Errorf("column %s: the page at byte %d claims %d bytes (%d uncompressed); at most %d are read", name, at, h.compressed, h.uncompressed, maxPageBytes)
			case h.values < 0:
				return fmt.Errorf("column %s: the page at byte %d claims %d values", name, at, h.values)
			}
			switch h.typ {
			case pageData, pageDataV2:
				seen += int64(h.values)
			case pageDictionary, pageIndex:
			default:
				return fmt.Errorf("column %s: the page at byte %d is of no known type (%d)", name, at, h.typ)
			}
			at += n + int64(h.compressed)
			if at > end {
				return fmt.Errorf("column %s: the page at byte %d runs past the column's end", name, at)
			}
		}
		if seen != want {
			return fmt.Errorf("column %s: its pages hold %d values; the footer counts %d", name, seen, want)
		}
	}
	return nil
}

// pageHead is what checkPages needs of a page header.
type pageHead struct {
	typ, uncompressed, compressed, values int32
}

// pageHeader reads the page header at byte at, before end, and returns it
// with its length.
func (s *Source) pageHeader(at, end int64) (pageHead, int64, error) {
	for window := int64(minPageHeaderWindow); ; window *= 2 {
		n := min(window, end-at)
		buf := make([]byte, n)
		if _, err := s.raw.ReadAt(buf, at); err != nil && !errors.Is(err, io.EOF) {
			return pageHead{}, 0, err
		}
		trans := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(buf)}
		h, err := readPageHead(thrift.NewTCompactProtocolConf(trans, &thrift.TConfiguration{}))
		if err == nil {
			return h, n - int64(trans.RemainingBytes()), nil
		}
		if n < window || window >= maxPageHeaderWindow {
			return pageHead{}, 0, errors.New("not readable")
		}
	}
}

// readPageHead reads a PageHeader struct: type 1, uncompressed_page_size
// 2, compressed_page_size 3, and num_values (field 1) of the header its
// type calls for, data_page_header 5, dictionary_page_header 7 or
// data_page_header_v2 8.
func readPageHead(p thrift.TProtocol) (pageHead, error) {
	ctx := context.Background()
	var h pageHead
	var have [4]bool // type, uncompressed, compressed, values
	values := map[int16]int32{}
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return h, err
	}
	for {
		_, ft, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return h, err
		}
		if ft == thrift.STOP {
			break
		}
		switch {
		case id == 1 && ft == thrift.I32:
			h.typ, err = p.ReadI32(ctx)
			have[0] = true
		case id == 2 && ft == thrift.I32:
			h.uncompressed, err = p.ReadI32(ctx)
			have[1] = true
		case id == 3 && ft == thrift.I32:
			h.compressed, err = p.ReadI32(ctx)
			have[2] = true
		case (id == 5 || id == 7 || id == 8) && ft == thrift.STRUCT:
			var v int32
			if v, err = readNumValues(ctx, p); err == nil {
				values[id] = v
			}
		default:
			err = thrift.SkipDefaultDepth(ctx, p, ft)
		}
		if err != nil {
			return h, err
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return h, err
		}
	}
	if err := p.ReadStructEnd(ctx); err != nil {
		return h, err
	}
	sub := map[int32]int16{pageData: 5, pageDictionary: 7, pageDataV2: 8}
	if id, ok := sub[h.typ]; ok {
		h.values, have[3] = values[id]
	} else {
		have[3] = true // other pages carry no values
	}
	if have != [4]bool{true, true, true, true} {
		return h, errors.New("a required field is missing")
	}
	return h, nil
}

// readNumValues reads the required num_values (field 1, i32) of a page
// type's own header, skipping the rest.
func readNumValues(ctx context.Context, p thrift.TProtocol) (int32, error) {
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return 0, err
	}
	v, have := int32(0), false
	for {
		_, ft, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return 0, err
		}
		if ft == thrift.STOP {
			break
		}
		if id == 1 && ft == thrift.I32 {
			v, err = p.ReadI32(ctx)
			have = true
		} else {
			err = thrift.SkipDefaultDepth(ctx, p, ft)
		}
		if err != nil {
			return 0, err
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return 0, err
		}
	}
	if !have {
		return 0, errors.New("num_values is missing")
	}
	return v, p.ReadStructEnd(ctx)
}
