package parquet

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v17/parquet/metadata"
)

// checkArrowSchema checks the Arrow schema that Arrow writers (pyarrow,
// pandas) store in the footer under ARROW:schema, before Arrow reads it.
// Arrow sizes what it allocates by the lengths it finds there (the IPC
// message's, its body's, each list of fields and of metadata) before it
// sees they do not fit, and follows child fields without a depth limit:
// one flipped bit asks for gigabytes, or recurses for ever, and the
// process dies of it where no recover helps. Only those lengths and that
// nesting are checked; Arrow reports what else is wrong.
func checkArrowSchema(kv metadata.KeyValueMetadata) error {
	v := kv.FindValue("ARROW:schema")
	if v == nil {
		return nil
	}
	// Decoded as Arrow does: padded base64 when the length allows, else
	// unpadded.
	var data []byte
	var err error
	if len(*v)%4 == 0 {
		data, err = base64.StdEncoding.DecodeString(*v)
	}
	if len(data) == 0 || err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(*v); err != nil {
			return nil // Arrow refuses it with an error of its own
		}
	}
	if len(data) < 4 {
		return nil
	}
	var msgLen int64
	switch cont := binary.LittleEndian.Uint32(data); cont {
	case 0: // end of stream: nothing is allocated
		return nil
	case 0xFFFFFFFF:
		if len(data) < 8 {
			return nil
		}
		msgLen = int64(int32(binary.LittleEndian.Uint32(data[4:])))
		data = data[8:]
	default: // before Arrow 0.15 the length came first
		msgLen = int64(int32(cont))
		data = data[4:]
	}
	if msgLen < 0 || msgLen > int64(len(data)) {
		return fmt.Errorf("its message claims %d bytes, %d are there", msgLen, len(data))
	}
	fb := flatbuf{buf: data[:msgLen], budget: maxSchemaNodes}
	msg, ok := fb.root()
	if !ok {
		return errUnreadable
	}
	// Message: version 0, header_type 1, header 2, bodyLength 3.
	if at, ok := fb.field(msg, 3); !ok {
		return errUnreadable
	} else if at != 0 {
		body, ok := fb.i64(at)
		if rest := int64(len(data)) - msgLen; !ok || body < 0 || body > rest {
			return fmt.Errorf("its message claims a body of %d bytes, %d are there", body, rest)
		}
	}
	at, ok := fb.field(msg, 2)
	if !ok {
		return errUnreadable
	}
	if at == 0 {
		return nil // no header: Arrow says so
	}
	schema, ok := fb.indirect(at)
	if !ok {
		return errUnreadable
	}
	// Schema: endianness 0, fields 1, custom_metadata 2.
	if _, ok := fb.vector(schema, 2); !ok {
		return errUnreadable
	}
	fields, ok := fb.vector(schema, 1)
	if !ok {
		return errUnreadable
	}
	for _, f := range fields {
		if err := fb.checkField(f, 0); err != nil {
			return err
		}
	}
	return nil
}

var errUnreadable = errors.New("its message is not readable")

const (
	// maxSchemaDepth is far deeper than any real schema nests.
	maxSchemaDepth = 64
	// maxSchemaNodes bounds the work on a schema whose children point back
	// at their parents.
	maxSchemaNodes = 1 << 16
)

// flatbuf reads an Arrow IPC message's flatbuffer, checking every offset
// and length against the buffer.
type flatbuf struct {
	buf    []byte
	budget int
}

func (b *flatbuf) u32(at int64) (int64, bool) {
	if at < 0 || at+4 > int64(len(b.buf)) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint32(b.buf[at:])), true
}

func (b *flatbuf) u16(at int64) (int64, bool) {
	if at < 0 || at+2 > int64(len(b.buf)) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint16(b.buf[at:])), true
}

func (b *flatbuf) i64(at int64) (int64, bool) {
	if at < 0 || at+8 > int64(len(b.buf)) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b.buf[at:])), true
}

func (b *flatbuf) root() (int64, bool) { return b.u32(0) }

// indirect follows the offset stored at at.
func (b *flatbuf) indirect(at int64) (int64, bool) {
	off, ok := b.u32(at)
	return at + off, ok
}

// field returns where field i of the table at table is stored, or 0 when
// the field is absent.
func (b *flatbuf) field(table int64, i int) (int64, bool) {
	soff, ok := b.u32(table)
	if !ok {
		return 0, false
	}
	vtable := table - int64(int32(soff))
	vsize, ok := b.u16(vtable)
	if !ok {
		return 0, false
	}
	slot := int64(4 + 2*i)
	if slot+2 > vsize {
		return 0, true
	}
	off, ok := b.u16(vtable + slot)
	if !ok || off == 0 {
		return 0, ok
	}
	return table + off, true
}

// vector returns the tables a vector field of tables points to; every one
// costs a node of the budget.
func (b *flatbuf) vector(table int64, i int) ([]int64, bool) {
	at, ok := b.field(table, i)
	if !ok || at == 0 {
		return nil, ok
	}
	vec, ok := b.indirect(at)
	if !ok {
		return nil, false
	}
	n, ok := b.u32(vec)
	if !ok || n > (int64(len(b.buf))-vec-4)/4 || int(n) > b.budget {
		return nil, false
	}
	b.budget -= int(n)
	out := make([]int64, n)
	for k := range out {
		if out[k], ok = b.indirect(vec + 4 + 4*int64(k)); !ok {
			return nil, false
		}
	}
	return out, true
}

// checkField checks a Field table: name 0, nullable 1, type_type 2,
// type 3, dictionary 4, children 5, custom_metadata 6.
func (b *flatbuf) checkField(table int64, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("its fields nest over %d deep", maxSchemaDepth)
	}
	if _, ok := b.vector(table, 6); !ok {
		return errUnreadable
	}
	children, ok := b.vector(table, 5)
	if !ok {
		return errUnreadable
	}
	for _, c := range children {
		if err := b.checkField(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}
