package pipeline

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// ownerLog remembers, for each match value a row claimed, that row's
// number and key, so that the reject of a later row with the same value
// can name its owner. It is a file: its records are written as rows
// claim values and read back only for the rare repeat, and the
// repeat-detection set keeps each record's offset as the hash's tag
// (4 bytes a value). The file is unlinked as soon as it is made, so
// nothing of it stays on disk after the run, however the run ends.
type ownerLog struct {
	dir  string
	f    *os.File
	off  int64  // bytes written
	rec  []byte // the records of the batch being gathered
	err  error
	read []byte
}

// add appends row's record to the batch being gathered and returns its
// tag: its offset, or noTag once the file is past what a tag can address
// (the owner is then unnamed). The batch reaches the file in one write,
// by flush: a write a row cost a twentieth of a dry run.
func (l *ownerLog) add(row int64, key string) uint32 {
	off := l.off + int64(len(l.rec))
	if l.err != nil || off >= math.MaxUint32 {
		return noTag
	}
	l.rec = binary.AppendUvarint(l.rec, uint64(row))
	l.rec = binary.AppendUvarint(l.rec, uint64(len(key)))
	l.rec = append(l.rec, key...)
	return uint32(off)
}

// flush writes the records add gathered. Its error (the disk) is fatal.
func (l *ownerLog) flush() error {
	if l.err != nil || len(l.rec) == 0 {
		return l.err
	}
	if l.f == nil {
		f, err := os.CreateTemp(l.dir, "crmsync-owners-")
		if err != nil {
			l.err = fmt.Errorf("creating the repeat-detection owners file: %w", err)
			return l.err
		}
		os.Remove(f.Name())
		l.f = f
	}
	if _, err := l.f.Write(l.rec); err != nil {
		l.err = fmt.Errorf("writing the repeat-detection owners file: %w", err)
		return l.err
	}
	l.off += int64(len(l.rec))
	l.rec = l.rec[:0]
	return nil
}

// owner reads the record at tag; ok is false when it is not known.
func (l *ownerLog) owner(tag uint32) (row int64, key string, ok bool) {
	if tag == noTag || l.f == nil || l.err != nil || int64(tag) >= l.off {
		return 0, "", false
	}
	if cap(l.read) < 2*binary.MaxVarintLen64+256 {
		l.read = make([]byte, 2*binary.MaxVarintLen64+256)
	}
	n, _ := l.f.ReadAt(l.read[:cap(l.read)], int64(tag))
	b := l.read[:n]
	r, a := binary.Uvarint(b)
	if a <= 0 {
		return 0, "", false
	}
	klen, c := binary.Uvarint(b[a:])
	if c <= 0 {
		return 0, "", false
	}
	start := a + c
	if uint64(len(b)-start) < klen {
		// A key longer than the window: read it whole.
		full := make([]byte, klen)
		if _, err := l.f.ReadAt(full, int64(tag)+int64(start)); err != nil {
			return 0, "", false
		}
		return int64(r), string(full), true
	}
	return int64(r), string(b[start : start+int(klen)]), true
}

// Close releases the file.
func (l *ownerLog) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
