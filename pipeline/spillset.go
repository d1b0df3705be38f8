package pipeline

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// spillSet is a hashSet whose memory stays flat however long the input:
// once it holds limit hashes it writes them, sorted, to a file of their
// own (a run) and starts afresh, and one Bloom filter of every hash on
// disk (about 10 bits a hash) spares most lookups a read. A hash is looked
// up in the runs only when the filter says it may be on disk (every hash
// that is, and about 1% of the others), with one 4 KiB read per run as a
// rule: hashes are uniform, so a hash's place in a run is known within a
// few hundred entries; then in memory. Runs are never rewritten, so the
// disk work is linear in the input.
type spillSet struct {
	hasher
	mem   *hashSet
	limit int
	dir   string // the set's own directory, made at the first spill
	temp  string // where to make it

	runs  []*spillRun
	n     int64    // hashes on disk
	bloom []uint64 // blocked filter: 512-bit blocks
	room  int64    // hashes the filter is sized for
	buf   []byte   // a read window

	// scratch of addChunk
	cand    []uint64
	at      []int
	candNew []bool
	// touched keeps addChunk's first loop from being optimised away.
	touched uint64
}

// spillRun is one sorted file of hashes.
type spillRun struct {
	file  *os.File
	start [runParts + 1]int64 // first entry of each part
}

const (
	// runParts splits a run by the hashes' top bits (runShift), so a
	// lookup knows its hash's place within a few hundred entries.
	runParts = 256
	runShift = 56

	bloomBitsPerKey = 10
	bloomBlockWords = 8 // 512 bits, one cache line
	spillWindow     = 512
)

// newSpillSet returns a set that keeps up to limit hashes in memory and
// the rest in a temporary directory under dir ("" for the system's).
func newSpillSet(limit int, dir string) *spillSet {
	mem := newHashSet()
	return &spillSet{hasher: mem.hasher, mem: mem, limit: limit, temp: dir}
}

// newTaggedSpillSet returns a spillSet that keeps a tag with each hash
// while the hash is in memory; a hash found on disk has lost its tag
// (noTag).
func newTaggedSpillSet(limit int, dir string) *spillSet {
	mem := newTaggedHashSet()
	return &spillSet{hasher: mem.hasher, mem: mem, limit: limit, temp: dir}
}

// addHash reports whether k was new. Its error (the disk) is fatal.
func (s *spillSet) addHash(k uint64) (bool, error) {
	var isNew [1]bool
	err := s.addHashes([]uint64{k}, isNew[:])
	return isNew[0], err
}

// reserve makes room in memory for n hashes to come (at most the limit).
func (s *spillSet) reserve(n int) { s.mem.reserve(min(n, s.limit)) }

// addHashes adds ks in order and sets isNew[i] to whether ks[i] was new.
// Its error (the disk) is fatal.
func (s *spillSet) addHashes(ks []uint64, isNew []bool) error {
	return s.addTagged(ks, nil, isNew, nil)
}

// addTagged is addHashes for a tagged set (see hashSet.addTagged).
func (s *spillSet) addTagged(ks []uint64, tags []uint32, isNew []bool, prev []uint32) error {
	for len(ks) > 0 {
		// Memory never holds more than the limit: a set spills as it
		// reaches it.
		chunk := min(len(ks), s.limit-s.mem.len())
		var t, p []uint32
		if tags != nil {
			t, p = tags[:chunk], prev[:chunk]
		}
		if err := s.addChunk(ks[:chunk], t, isNew[:chunk], p); err != nil {
			return err
		}
		if s.mem.len() >= s.limit {
			if err := s.spill(); err != nil {
				return err
			}
		}
		ks, isNew = ks[chunk:], isNew[chunk:]
		if tags != nil {
			tags, prev = tags[chunk:], prev[chunk:]
		}
	}
	return nil
}

// addChunk adds ks, which fit in memory, to the set.
func (s *spillSet) addChunk(ks []uint64, tags []uint32, isNew []bool, prev []uint32) error {
	if s.n == 0 {
		s.mem.addTagged(ks, tags, isNew, prev)
		return nil
	}
	// Touch each hash's filter block first: these loads do not depend on
	// one another, so their cache misses overlap, and the tests below
	// find the blocks cached (as hashSet.addHashes does with its slots).
	blocks := len(s.bloom) / bloomBlockWords
	var touched uint64
	for _, k := range ks {
		block, _ := bloomPlace(k, blocks)
		touched += s.bloom[block*bloomBlockWords]
	}
	s.touched = touched
	// A hash on disk is not new; the others are looked up in memory, in
	// their order.
	s.cand, s.at = s.cand[:0], s.at[:0]
	for j, k := range ks {
		if s.mayHold(k) {
			on, err := s.fileHas(k)
			if err != nil {
				return err
			}
			if on {
				isNew[j] = false
				if prev != nil {
					prev[j] = noTag
				}
				continue
			}
		}
		s.cand, s.at = append(s.cand, k), append(s.at, j)
	}
	if cap(s.candNew) < len(s.cand) {
		s.candNew = make([]bool, len(s.cand))
	}
	candNew := s.candNew[:len(s.cand)]
	if tags == nil {
		s.mem.addHashes(s.cand, candNew)
	} else {
		candTags, candPrev := make([]uint32, len(s.cand)), make([]uint32, len(s.cand))
		for c, j := range s.at {
			candTags[c] = tags[j]
		}
		s.mem.addTagged(s.cand, candTags, candNew, candPrev)
		for c, j := range s.at {
			prev[j] = candPrev[c]
		}
	}
	for c, j := range s.at {
		isNew[j] = candNew[c]
	}
	return nil
}

// Close removes the set's files.
func (s *spillSet) Close() error {
	var err error
	for _, r := range s.runs {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
	}
	s.runs = nil
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); err == nil {
			err = rerr
		}
		s.dir = ""
	}
	return err
}

// bloomPlace picks a hash's block from its top bits, so hashes inserted
// in sorted order (as spills and runs are) walk the filter from end to
// end instead of missing the cache at every insert, and the bits within
// the block from a mix of the whole hash.
func bloomPlace(k uint64, blocks int) (block int, bits uint64) {
	return int((k >> 32) * uint64(blocks) >> 32), (k ^ k>>31) * 0xBF58476D1CE4E5B9
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

// fileHas reports whether any run holds k.
func (s *spillSet) fileHas(k uint64) (bool, error) {
	for _, r := range s.runs {
		if on, err := s.runHas(r, k); err != nil || on {
			return on, err
		}
	}
	return false, nil
}

// runHas searches one run for k, reading a window where k's value says it
// should be and moving it until k is found or passed.
func (s *spillSet) runHas(r *spillRun, k uint64) (bool, error) {
	p := k >> runShift
	lo, hi := r.start[p], r.start[p+1]
	if lo == hi {
		return false, nil
	}
	// Within a part, hashes are uniform over its 2^56 values.
	frac := float64(k&(1<<runShift-1)) / float64(uint64(1)<<runShift)
	at := lo + int64(frac*float64(hi-lo)) - spillWindow/2
	for {
		at = max(lo, min(at, hi-spillWindow))
		n := min(int64(spillWindow), hi-at)
		win := s.buf[:n*8]
		if _, err := r.file.ReadAt(win, at*8); err != nil {
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

// spill writes the hashes in memory to a new run, adds them to the
// filter, and empties memory.
func (s *spillSet) spill() error {
	fresh := make([]uint64, 0, s.mem.len())
	for _, k := range s.mem.slots {
		if k != 0 {
			fresh = append(fresh, k)
		}
	}
	// The table's slots, emptied below anyway, are the sort's scratch.
	sortHashes(fresh, s.mem.slots)
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.temp, "crmsync-seen-")
		if err != nil {
			return fmt.Errorf("creating the repeat-detection directory: %w", err)
		}
		s.dir = dir
		s.buf = make([]byte, spillWindow*8)
	}
	f, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("run-%d", len(s.runs))))
	if err != nil {
		return fmt.Errorf("creating a repeat-detection file: %w", err)
	}
	run := &spillRun{file: f}
	// Encoded a megabyte at a time: through bufio, a call a hash cost
	// as much as sorting them.
	out := make([]byte, 0, 1<<20)
	for _, k := range fresh {
		out = binary.LittleEndian.AppendUint64(out, k)
		run.start[(k>>runShift)+1]++
		if len(out) == cap(out) {
			if _, err = f.Write(out); err != nil {
				break
			}
			out = out[:0]
		}
	}
	if err == nil && len(out) > 0 {
		_, err = f.Write(out)
	}
	var word [8]byte
	if err != nil {
		f.Close()
		return fmt.Errorf("writing a repeat-detection file: %w", err)
	}
	for p := 1; p <= runParts; p++ {
		run.start[p] += run.start[p-1]
	}
	s.runs = append(s.runs, run)
	s.n += int64(len(fresh))
	// More rows are coming, and the table has the room of a full set.
	s.mem.reset()

	// The filter is sized with room to spare, so a spill only adds its
	// hashes; when the runs outgrow it, it is rebuilt twice as large.
	if s.n <= s.room {
		for _, k := range fresh {
			bloomSet(s.bloom, k)
		}
		return nil
	}
	s.room = 2 * s.n
	s.bloom = make([]uint64, max(int(s.room*bloomBitsPerKey/512), 1)*bloomBlockWords)
	for _, r := range s.runs {
		rd := bufio.NewReaderSize(io.NewSectionReader(r.file, 0, r.start[runParts]*8), 1<<20)
		for {
			if _, err := io.ReadFull(rd, word[:]); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("reading the repeat-detection file: %w", err)
			}
			bloomSet(s.bloom, binary.LittleEndian.Uint64(word[:]))
		}
	}
	return nil
}
