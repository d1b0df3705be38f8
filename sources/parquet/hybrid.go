package parquet

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// hybrid decodes Parquet's RLE / bit-packing hybrid encoding, in which
// definition levels and dictionary indices are stored: a sequence of runs,
// each either one value repeated or groups of 8 values packed width bits
// each, least significant bit first.
// https://parquet.apache.org/docs/file-format/data-pages/encodings/
type hybrid struct {
	data  []byte
	width uint
	// The current run: rle values of repeated, or packed values left of
	// bits (starting at bit pos).
	rle      int
	repeated uint32
	packed   int
	bits     []byte
	pos      uint
}

var errHybridShort = errors.New("the RLE/bit-packed data ends before its values")

func newHybrid(data []byte, width uint) (hybrid, error) {
	if width > 32 {
		return hybrid{}, fmt.Errorf("bit width %d, more than 32", width)
	}
	return hybrid{data: data, width: width}, nil
}

// nextRun reads the next run's header.
func (h *hybrid) nextRun() error {
	header, n := binary.Uvarint(h.data)
	if n <= 0 {
		return errHybridShort
	}
	h.data = h.data[n:]
	if header&1 == 0 {
		count := header >> 1
		size := int(h.width+7) / 8
		if len(h.data) < size || count == 0 || count > 1<<31 {
			return errHybridShort
		}
		var v uint32
		for i := range size {
			v |= uint32(h.data[i]) << (8 * i)
		}
		h.rle, h.repeated, h.data = int(count), v, h.data[size:]
		return nil
	}
	groups := header >> 1
	if groups == 0 || groups > 1<<28 {
		return errHybridShort
	}
	size := groups * uint64(h.width)
	// The last run may stop short of its padding; only the values its
	// bytes hold can be read.
	values := groups * 8
	if size > uint64(len(h.data)) {
		size = uint64(len(h.data))
		if h.width > 0 {
			values = size * 8 / uint64(h.width)
		}
		if values == 0 {
			return errHybridShort
		}
	}
	h.packed, h.bits, h.pos, h.data = int(values), h.data[:size], 0, h.data[size:]
	return nil
}

// read fills out with the next len(out) values.
func (h *hybrid) read(out []uint32) error {
	mask := uint64(1)<<h.width - 1
	for len(out) > 0 {
		switch {
		case h.rle > 0:
			k := min(h.rle, len(out))
			for i := range out[:k] {
				out[i] = h.repeated
			}
			h.rle -= k
			out = out[k:]
		case h.packed > 0:
			k := min(h.packed, len(out))
			for i := range out[:k] {
				out[i] = uint32(h.load(h.pos>>3)>>(h.pos&7)) & uint32(mask)
				h.pos += h.width
			}
			h.packed -= k
			out = out[k:]
		default:
			if err := h.nextRun(); err != nil {
				return err
			}
		}
	}
	return nil
}

// load returns the 8 bytes of bits from at, little-endian, zero past the
// end.
func (h *hybrid) load(at uint) uint64 {
	if int(at)+8 <= len(h.bits) {
		return binary.LittleEndian.Uint64(h.bits[at:])
	}
	var v uint64
	for i := 0; int(at)+i < len(h.bits) && i < 8; i++ {
		v |= uint64(h.bits[int(at)+i]) << (8 * i)
	}
	return v
}
