package pipeline

import (
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// hashSet remembers 64-bit hashes of strings, not the strings, in one
// open-addressed table. Two different strings share a hash with odds
// below 1 in a million at 5 million rows; the cost of such a collision is
// one row wrongly rejected as a repeat, never a row lost or written twice.
//
// The table is one allocation of any length (a hash's low 32 bits, scaled
// to the length, give its place), at most two thirds full: 12 bytes a
// hash when reserved for the rows a source expects. Its probes miss the
// cache whatever the layout, so the layout is chosen for how many misses
// the processor can overlap. BenchmarkHashSetAddHashes, 2M inserts on this
// project's 2-core VM: 256 separately grown parts probed row by row (the
// previous design) 260 ms; one reserved table probed row by row 150 ms;
// probed a batch at a time by addHashes 90 ms, half full, or 120 ms two
// thirds full. So:
//   - one contiguous table: on a virtual machine a miss also walks the
//     page tables, which stays cheap while the pages are neighbours;
//   - reserved, not grown: growing copies the table, and the copy lives
//     beside the old one for a while;
//   - probed in a loop that does nothing else, with its count in a
//     register, so the processor runs ahead into the next probes.
type hashSet struct {
	hasher
	slots []uint64 // 0 is empty; a hash of 0 is stored as 1
	// tags, in a tagged set, holds per slot a value kept with the hash
	// (see addTagged); nil otherwise.
	tags []uint32
	n    int
	max  int // resize before holding more
	// touched keeps addHashes' first loop from being optimised away.
	touched uint64
}

// hasher hashes strings for a set. It is a value, immutable once made, so
// the mapping workers can hash while the dispatcher changes the set.
type hasher struct{ seed maphash.Seed }

// minHashSlots is the length of a set's first table.
const minHashSlots = 1024

func newHashSet() *hashSet {
	h := &hashSet{hasher: hasher{seed: maphash.MakeSeed()}}
	h.resize(minHashSlots)
	return h
}

// reserve makes room for n hashes in all, so that adding them needs no
// growth; it never shrinks the table.
func (h *hashSet) reserve(n int) {
	if n > h.max {
		h.resize(n * 3 / 2)
	}
}

// newTaggedHashSet returns a set that keeps a tag with each hash.
func newTaggedHashSet() *hashSet {
	h := &hashSet{hasher: hasher{seed: maphash.MakeSeed()}, tags: []uint32{}}
	h.resize(minHashSlots)
	return h
}

// noTag is the tag of a hash whose tag is not known.
const noTag = ^uint32(0)

// reset empties the set, keeping its table.
func (h *hashSet) reset() {
	clear(h.slots)
	clear(h.tags)
	h.n = 0
}

// add reports whether s was new.
func (h *hashSet) add(s string) bool { return h.addHash(h.hash(s)) }

// hash returns the hash add would store for s; it may be computed on
// another goroutine than the one that calls addHash.
func (h hasher) hash(s string) uint64 {
	if k := maphash.String(h.seed, s); k != 0 {
		return k
	}
	return 1
}

// hashFold is hash of strings.ToLower(strings.TrimSpace(s)), without the
// allocations for the usual ASCII value.
func (h hasher) hashFold(s string) uint64 {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return h.hash(strings.ToLower(s))
		}
		if 'A' <= c && c <= 'Z' {
			var buf [128]byte
			b := append(buf[:0], s...)
			for j := i; j < len(b); j++ {
				if b[j] >= utf8.RuneSelf {
					return h.hash(strings.ToLower(s))
				}
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			if k := maphash.Bytes(h.seed, b); k != 0 {
				return k
			}
			return 1
		}
	}
	return h.hash(s)
}

// addHash reports whether a hash from hash was new.
func (h *hashSet) addHash(k uint64) bool {
	var isNew [1]bool
	h.addHashes([]uint64{k}, isNew[:])
	return isNew[0]
}

// addHashes adds hashes from hash in order and sets isNew[i] to whether
// ks[i] was new, so a hash repeated within ks is new only the first time.
func (h *hashSet) addHashes(ks []uint64, isNew []bool) { h.addTagged(ks, nil, isNew, nil) }

// addTagged is addHashes for a tagged set: a new ks[i] is stored with
// tags[i], and for one already held prev[i] is the tag it was stored with.
// tags and prev are nil for an untagged set.
func (h *hashSet) addTagged(ks []uint64, tags []uint32, isNew []bool, prev []uint32) {
	if need := h.n + len(ks); need > h.max {
		h.resize(max(2*len(h.slots), need*3/2))
	}
	slots := h.slots
	n := uint64(len(slots))
	added := 0
	// Touch each hash's slot first, in a loop whose loads do not depend on
	// one another, so that the processor has many of its cache misses in
	// flight at once; the loop that inserts then finds them in cache.
	var touched uint64
	for _, k := range ks {
		touched += slots[place(k, n)]
	}
	h.touched = touched
	for j, k := range ks {
		i := place(k, n)
		for {
			v := slots[i]
			if v == 0 {
				slots[i] = k
				added++
				isNew[j] = true
				if tags != nil {
					h.tags[i] = tags[j]
				}
				break
			}
			if v == k {
				isNew[j] = false
				if prev != nil {
					prev[j] = h.tags[i]
				}
				break
			}
			if i++; i == n {
				i = 0
			}
		}
	}
	h.n += added
}

// place maps a hash's low 32 bits onto [0, n) without a division.
func place(k, n uint64) uint64 { return (k & (1<<32 - 1)) * n >> 32 }

// resize moves the set into a table of length n.
func (h *hashSet) resize(n int) {
	old, oldTags := h.slots, h.tags
	h.slots = make([]uint64, n)
	if oldTags != nil {
		h.tags = make([]uint32, n)
	}
	h.max = n * 2 / 3
	size := uint64(n)
	for j, k := range old {
		if k == 0 {
			continue
		}
		i := place(k, size)
		for h.slots[i] != 0 {
			if i++; i == size {
				i = 0
			}
		}
		h.slots[i] = k
		if oldTags != nil {
			h.tags[i] = oldTags[j]
		}
	}
}

// len returns how many hashes the set holds.
func (h *hashSet) len() int { return h.n }
