package pipeline

import (
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// hashSet remembers 64-bit hashes of strings, not the strings, in
// open-addressed tables split by the hash's top bits: about 10 bytes a
// row, and a table grows one part at a time, so growing never needs twice
// the memory. Two different strings share a hash with odds below 1 in a
// million at 5 million rows; the cost of such a collision is one row
// wrongly rejected as a repeat, never a row lost or written twice.
type hashSet struct {
	hasher
	parts [hashSetParts]hashPart
	n     int
}

// hasher hashes strings for a set. It is a value, immutable once made, so
// the mapping workers can hash while the dispatcher changes the set.
type hasher struct{ seed maphash.Seed }

const (
	hashSetParts = 256
	hashSetShift = 56 // top 8 bits choose the part
)

type hashPart struct {
	slots []uint64 // 0 is empty; a hash of 0 is stored as 1
	used  int
}

func newHashSet() *hashSet { return &hashSet{hasher: hasher{seed: maphash.MakeSeed()}} }

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
	if h.parts[k>>hashSetShift].add(k) {
		h.n++
		return true
	}
	return false
}

func (p *hashPart) add(k uint64) bool {
	if p.used+1 > len(p.slots)*13/16 { // keep probes short: load ≤ 0.8
		p.grow()
	}
	mask := uint64(len(p.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch p.slots[i] {
		case 0:
			p.slots[i] = k
			p.used++
			return true
		case k:
			return false
		}
	}
}

func (p *hashPart) grow() {
	old := p.slots
	n := max(len(old)*2, 64)
	p.slots = make([]uint64, n)
	mask := uint64(n - 1)
	for _, k := range old {
		if k == 0 {
			continue
		}
		i := k & mask
		for p.slots[i] != 0 {
			i = (i + 1) & mask
		}
		p.slots[i] = k
	}
}

// len returns how many hashes the set holds.
func (h *hashSet) len() int { return h.n }
