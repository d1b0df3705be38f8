package csv

import (
	"bytes"
	"errors"
	"io"
)

// errRowTooLarge is returned to encoding/csv when one record has pulled more
// than the window's limit: encoding/csv would otherwise buffer the rest of
// the file as one quoted field.
var errRowTooLarge = errors.New("row too large")

// window is the reader encoding/csv reads from. It keeps every byte from the
// start of the record being parsed (mark), so a record that fails to parse
// can be recovered whole from its raw text, and it bounds how much one
// record may pull.
type window struct {
	src   io.Reader
	buf   []byte // buf[0] is at stream offset base
	base  int64
	r     int   // index in buf of the next byte to hand out
	mark  int64 // stream offset of the first byte still needed
	limit int64 // bytes one record may pull past mark
	err   error // sticky error of src
	crlf  bool  // translate lone CR line endings to LF while filling
}

const windowChunk = 64 << 10

func newWindow(src io.Reader, limit int64) *window {
	return &window{src: src, buf: make([]byte, 0, 2*windowChunk), limit: limit}
}

// offset returns the stream offset of the next byte to hand out.
func (w *window) offset() int64 { return w.base + int64(w.r) }

func (w *window) Read(p []byte) (int, error) {
	if w.offset()-w.mark > w.limit {
		return 0, errRowTooLarge
	}
	if w.r == len(w.buf) {
		if w.err != nil {
			return 0, w.err
		}
		w.fill()
		if w.r == len(w.buf) {
			return 0, w.err
		}
	}
	n := copy(p, w.buf[w.r:])
	w.r += n
	return n, nil
}

// fill reads one more chunk from src, first dropping the bytes before mark
// so the buffer only grows while a single record is larger than it.
func (w *window) fill() {
	room := cap(w.buf) - len(w.buf)
	if drop := int(w.mark - w.base); drop > 0 && (drop >= len(w.buf)/2 || room < windowChunk) {
		n := copy(w.buf, w.buf[drop:])
		w.buf = w.buf[:n]
		w.r -= drop
		w.base += int64(drop)
	}
	if cap(w.buf)-len(w.buf) < windowChunk {
		nb := make([]byte, len(w.buf), 2*cap(w.buf)+windowChunk)
		copy(nb, w.buf)
		w.buf = nb
	}
	// A reader may return 0, nil; try a few times rather than report an
	// end that is not one.
	for range 100 {
		n, err := w.src.Read(w.buf[len(w.buf):cap(w.buf)])
		if w.crlf {
			crToLF(w.buf[len(w.buf) : len(w.buf)+n])
		}
		w.buf = w.buf[:len(w.buf)+n]
		if err != nil {
			w.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	w.err = io.ErrNoProgress
}

// peek returns up to n bytes from the read position without consuming
// them, reading from src as needed. Only used before parsing starts.
func (w *window) peek(n int) []byte {
	for len(w.buf)-w.r < n && w.err == nil {
		w.fill()
	}
	end := min(len(w.buf), w.r+n)
	return w.buf[w.r:end]
}

// skip consumes n bytes that peek returned, and moves the mark past them.
func (w *window) skip(n int) {
	w.r += n
	w.mark = w.offset()
}

// raw returns the bytes between two stream offsets, which must lie between
// mark and the read position.
func (w *window) raw(from, to int64) []byte {
	lo, hi := int(from-w.base), int(to-w.base)
	if lo < 0 || hi > len(w.buf) || lo > hi {
		return nil
	}
	return w.buf[lo:hi]
}

// useCRLineEndings turns lone CRs into LFs, in what is already buffered and
// in everything read from now on.
func (w *window) useCRLineEndings() {
	w.crlf = true
	crToLF(w.buf[w.r:])
}

func crToLF(b []byte) {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			return
		}
		b[i] = '\n'
		b = b[i+1:]
	}
}
