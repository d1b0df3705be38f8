package pipeline

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// spillSet is a hashSet whose memory stays flat however long the input:
// once it holds limit hashes it merges them into one sorted file on disk
// and starts afresh, and a Bloom filter of what the file holds (about 10
// bits a hash) spares most lookups a read. A hash is looked up first in
// memory, then, only when the filter says it may be there (every hash on
// file, and about 1% of the others), in the file, with one 4 KiB read as
// a rule: hashes are uniform, so a hash's place in the file is known
// within a few hundred entries.
type spillSet struct {
	hasher
	mem   *hashSet
	limit int
	dir   string

	file  *os.File
	path  string                  // the file's name; file.Name() is the name it was created under
	n     int64                   // hashes in the file
	start [hashSetParts + 1]int64 // first entry of each part in the file
	bloom []uint64                // blocked filter: 512-bit blocks
	room  int64                   // hashes the filter is sized for
	buf   []byte                  // a read window
}

const (
	bloomBitsPerKey = 10
	bloomBlockWords = 8 // 512 bits, one cache line
	spillWindow     = 512
)

// newSpillSet returns a set that keeps up to limit hashes in memory and
// the rest in a temporary directory under dir ("" for the system's).
func newSpillSet(limit int, dir string) *spillSet {
	mem := newHashSet()
	return &spillSet{hasher: mem.hasher, mem: mem, limit: limit, dir: dir}
}

// addHash reports whether k was new. Its error (the disk) is fatal.
func (s *spillSet) addHash(k uint64) (bool, error) {
	if s.n > 0 && s.mayHold(k) {
		on, err := s.fileHas(k)
		if err != nil || on {
			return false, err
		}
	}
	if !s.mem.addHash(k) {
		return false, nil
	}
	if s.mem.len() >= s.limit {
		if err := s.spill(); err != nil {
			return true, err
		}
	}
	return true, nil
}

// Close removes the file.
func (s *spillSet) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	if rerr := os.RemoveAll(filepath.Dir(s.path)); err == nil {
		err = rerr
	}
	s.file = nil
	return err
}

// bloomPlace picks a key's block from one mix of it and the bits within
// the block from another, so the two are independent.
func bloomPlace(k uint64, blocks int) (block int, bits uint64) {
	h := k * 0x9E3779B97F4A7C15
	return int((h >> 32) * uint64(blocks) >> 32), (k ^ k>>31) * 0xBF58476D1CE4E5B9
}

func (s *spillSet) mayHold(k uint64) bool {
	block, h := bloomPlace(k, len(s.bloom)/bloomBlockWords)
	b := s.bloom[block*bloomBlockWords : (block+1)*bloomBlockWords]
	for i := 0; i < 7; i++ {
		bit := (h >> (i * 9)) & 511
		if b[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

func bloomSet(bloom []uint64, k uint64) {
	block, h := bloomPlace(k, len(bloom)/bloomBlockWords)
	b := bloom[block*bloomBlockWords : (block+1)*bloomBlockWords]
	for i := 0; i < 7; i++ {
		bit := (h >> (i * 9)) & 511
		b[bit>>6] |= 1 << (bit & 63)
	}
}

// fileHas searches the file for k, reading a window where k's value says
// it should be and moving it until k is found or passed.
func (s *spillSet) fileHas(k uint64) (bool, error) {
	p := k >> hashSetShift
	lo, hi := s.start[p], s.start[p+1]
	if lo == hi {
		return false, nil
	}
	// Within a part, hashes are uniform over its 2^56 values.
	frac := float64(k&(1<<hashSetShift-1)) / float64(uint64(1)<<hashSetShift)
	at := lo + int64(frac*float64(hi-lo)) - spillWindow/2
	for {
		at = max(lo, min(at, hi-spillWindow))
		n := min(int64(spillWindow), hi-at)
		win := s.buf[:n*8]
		if _, err := s.file.ReadAt(win, at*8); err != nil {
			return false, fmt.Errorf("reading the repeat-detection file: %w", err)
		}
		first := binary.LittleEndian.Uint64(win)
		last := binary.LittleEndian.Uint64(win[(n-1)*8:])
		switch {
		case k < first && at > lo:
			at -= spillWindow - 1
		case k > last && at+n < hi:
			at += spillWindow - 1
		default:
			return searchWindow(win, k), nil
		}
	}
}

func searchWindow(win []byte, k uint64) bool {
	lo, hi := 0, len(win)/8
	for lo < hi {
		m := (lo + hi) / 2
		v := binary.LittleEndian.Uint64(win[m*8:])
		switch {
		case v == k:
			return true
		case v < k:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// spill merges the hashes in memory into the file, rebuilds the filter
// and the part index, and empties memory.
func (s *spillSet) spill() error {
	fresh := make([]uint64, 0, s.mem.len())
	for i := range s.mem.parts {
		for _, k := range s.mem.parts[i].slots {
			if k != 0 {
				fresh = append(fresh, k)
			}
		}
	}
	slices.Sort(fresh)
	if s.file == nil {
		dir, err := os.MkdirTemp(s.dir, "crmsync-seen-")
		if err != nil {
			return fmt.Errorf("creating the repeat-detection directory: %w", err)
		}
		s.buf = make([]byte, spillWindow*8)
		s.path = filepath.Join(dir, "seen")
		if s.file, err = os.Create(s.path); err != nil {
			return fmt.Errorf("creating the repeat-detection file: %w", err)
		}
	}
	total := s.n + int64(len(fresh))
	out, err := os.Create(s.path + ".next")
	if err != nil {
		return fmt.Errorf("creating the repeat-detection file: %w", err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	r := bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.n*8), 1<<20)
	// The filter is sized with room to spare, so most spills only add the
	// new hashes; when the file outgrows it, it is rebuilt twice as large
	// from the merge, which reads every hash anyway.
	bloom, rebuild := s.bloom, total > s.room
	if rebuild {
		s.room = 2 * total
		bloom = make([]uint64, max(int(s.room*bloomBitsPerKey/512), 1)*bloomBlockWords)
	}
	var start [hashSetParts + 1]int64
	var word [8]byte
	written := int64(0)
	emit := func(k uint64, fresh bool) error {
		binary.LittleEndian.PutUint64(word[:], k)
		if _, err := w.Write(word[:]); err != nil {
			return err
		}
		if fresh || rebuild {
			bloomSet(bloom, k)
		}
		start[(k>>hashSetShift)+1]++
		written++
		return nil
	}
	next := func() (uint64, bool, error) {
		if _, err := io.ReadFull(r, word[:]); err == io.EOF {
			return 0, false, nil
		} else if err != nil {
			return 0, false, err
		}
		return binary.LittleEndian.Uint64(word[:]), true, nil
	}
	old, ok, err := next()
	for i := 0; err == nil && (ok || i < len(fresh)); {
		if ok && (i == len(fresh) || old < fresh[i]) {
			if err = emit(old, false); err == nil {
				old, ok, err = next()
			}
			continue
		}
		err = emit(fresh[i], true)
		i++
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		out.Close()
		os.Remove(out.Name())
		return fmt.Errorf("writing the repeat-detection file: %w", err)
	}
	s.file.Close()
	if err := os.Rename(out.Name(), s.path); err != nil {
		out.Close()
		return fmt.Errorf("replacing the repeat-detection file: %w", err)
	}
	s.file = out
	for p := 1; p <= hashSetParts; p++ {
		start[p] += start[p-1]
	}
	s.start, s.bloom, s.n = start, bloom, written
	s.mem = &hashSet{hasher: s.hasher}
	return nil
}
