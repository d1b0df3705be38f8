package pipeline

import "math/bits"

// stateIndex holds, for every key of the state, its KeyHash and the
// Digest last confirmed: 16 bytes a key in an open-addressed table, so a
// run over a million unchanged rows decides "unchanged" without touching
// the database. It is filled before the run reads and only read after,
// so the mapping workers probe it without locks; the seen bits are
// written by the dispatcher alone.
type stateIndex struct {
	slots []indexSlot
	seen  []uint64 // a bit per slot: the key appeared in this run's source
	keyed []uint64 // a bit per slot: a row with this key (not one the source could not read) was taken
	mask  uint64
	n     int
}

// indexSlot keeps a key's digest beside it: a probe of a table far larger
// than the CPU's caches then misses the cache once, not twice.
type indexSlot struct {
	key    uint64 // 0: empty slot
	digest uint64
}

func newStateIndex(capacity int) *stateIndex {
	size := 1 << bits.Len(uint(max(capacity, 8)*2-1))
	return &stateIndex{slots: make([]indexSlot, size),
		seen: make([]uint64, (size+63)/64), keyed: make([]uint64, (size+63)/64), mask: uint64(size - 1)}
}

// put adds a key; a second put of the same hash keeps the first digest
// (two keys sharing a 64-bit hash: then neither is ever "unchanged" by
// mistake, see find).
func (x *stateIndex) put(keyHash, digest uint64) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	i := keyHash & x.mask
	for {
		switch x.slots[i].key {
		case 0:
			x.slots[i] = indexSlot{key: keyHash, digest: digest}
			x.n++
			return
		case keyHash:
			// Two keys with one hash: a digest of 0 makes every row of
			// either key go through the full comparison.
			x.slots[i].digest = 0
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
			x.put(s.key, s.digest)
		}
	}
}

// find returns the slot of keyHash, or -1.
func (x *stateIndex) find(keyHash uint64) int {
	i := keyHash & x.mask
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
func (x *stateIndex) len() int               { return x.n }
