package pipeline

import "math/bits"

// stateIndex holds, for every key of the state, its KeyHash, the Digest
// last confirmed and the source digest of the row it came from: 24 bytes
// a key in an open-addressed table, so a run over a million unchanged
// rows decides "unchanged" without touching the database. It is filled
// before the run reads and only read after, so the mapping workers probe
// it without locks; the seen bits are written by the dispatcher alone.
//
// A key's slot is chosen by the hash's top bits, so keys put in the order
// of their hashes (as the state's index cache holds them) fill the table
// from start to end instead of missing the cache at every put.
type stateIndex struct {
	slots []indexSlot
	seen  []uint64 // a bit per slot: the key appeared in this run's source
	keyed []uint64 // a bit per slot: a row with this key (not one the source could not read) was taken
	mask  uint64
	shift uint // 64 - log2(len(slots))
	n     int
}

// indexSlot keeps a key's digests beside it: a probe of a table far
// larger than the CPU's caches then misses the cache once, not thrice.
type indexSlot struct {
	key    uint64 // 0: empty slot
	digest uint64
	source uint64 // the source digest of the row digest was mapped from; 0: unknown
}

func newStateIndex(capacity int) *stateIndex {
	logSize := bits.Len(uint(max(capacity, 8)*2 - 1))
	size := 1 << logSize
	return &stateIndex{slots: make([]indexSlot, size),
		seen: make([]uint64, (size+63)/64), keyed: make([]uint64, (size+63)/64), mask: uint64(size - 1), shift: uint(64 - logSize)}
}

// put adds a key; a second put of the same hash keeps the first digest
// (two keys sharing a 64-bit hash: then neither is ever "unchanged" by
// mistake, see find).
func (x *stateIndex) put(keyHash, digest, source uint64) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	i := keyHash >> x.shift
	for {
		switch x.slots[i].key {
		case 0:
			x.slots[i] = indexSlot{key: keyHash, digest: digest, source: source}
			x.n++
			return
		case keyHash:
			// Two keys with one hash: a digest of 0 makes every row of
			// either key go through the full comparison.
			x.slots[i].digest, x.slots[i].source = 0, 0
			return
		}
		i = (i + 1) & x.mask
	}
}

func (x *stateIndex) grow() {
	old := x.slots
	*x = *newStateIndex(len(old))
	for _, s := range old {
		if s.key != 0 {
			x.put(s.key, s.digest, s.source)
		}
	}
}

// find returns the slot of keyHash, or -1.
func (x *stateIndex) find(keyHash uint64) int {
	i := keyHash >> x.shift
	for {
		switch x.slots[i].key {
		case 0:
			return -1
		case keyHash:
			return int(i)
		}
		i = (i + 1) & x.mask
	}
}

// markKeyed marks slot's key as taken and reports whether it was not yet.
func (x *stateIndex) markKeyed(slot int) bool {
	w, bit := slot/64, uint64(1)<<(slot%64)
	first := x.keyed[w]&bit == 0
	x.keyed[w] |= bit
	return first
}

func (x *stateIndex) markSeen(slot int)      { x.seen[slot/64] |= 1 << (slot % 64) }
func (x *stateIndex) wasSeen(slot int) bool  { return x.seen[slot/64]&(1<<(slot%64)) != 0 }
func (x *stateIndex) digest(slot int) uint64 { return x.slots[slot].digest }
func (x *stateIndex) source(slot int) uint64 { return x.slots[slot].source }
func (x *stateIndex) len() int               { return x.n }
