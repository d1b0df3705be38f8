package pipeline

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestHashSetAddsEachStringOnce(t *testing.T) {
	h := newHashSet()
	const n = 200000
	for i := range n {
		if !h.add("key-" + strconv.Itoa(i)) {
			t.Fatalf("key-%d reported as seen before it was added", i)
		}
	}
	for i := range n {
		if h.add("key-" + strconv.Itoa(i)) {
			t.Fatalf("key-%d reported as new on its second add", i)
		}
	}
	if got := h.len(); got != n {
		t.Fatalf("len = %d, want %d", got, n)
	}
	if !h.add("") || h.add("") {
		t.Error("the empty string is a key like any other")
	}
}

// A batch answers as the same hashes added one by one would, in order: a
// hash twice in one batch is new the first time only.
func TestHashSetAddHashesInOrder(t *testing.T) {
	one, batched := newHashSet(), newHashSet()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		ks := make([]uint64, rng.IntN(2000))
		for i := range ks {
			ks[i] = rng.Uint64N(100_000) * 0x9E3779B97F4A7C15 // repeats, spread over the table
		}
		isNew := make([]bool, len(ks))
		batched.addHashes(ks, isNew)
		for i, k := range ks {
			if want := one.addHash(k); isNew[i] != want {
				t.Fatalf("round %d: hash %d of the batch new = %v, one by one %v", round, i, isNew[i], want)
			}
		}
	}
	if one.len() != batched.len() {
		t.Fatalf("len %d batched, %d one by one", batched.len(), one.len())
	}
}

func TestHashSetReserveAvoidsGrowth(t *testing.T) {
	h := newHashSet()
	h.reserve(100_000)
	size := len(h.slots)
	ks := make([]uint64, 1000)
	isNew := make([]bool, len(ks))
	for i := range 100 {
		for j := range ks {
			ks[j] = uint64(i*len(ks)+j+1) * 0x9E3779B97F4A7C15
		}
		h.addHashes(ks, isNew)
	}
	if len(h.slots) != size || h.len() != 100_000 {
		t.Fatalf("%d hashes in %d slots, reserved %d", h.len(), len(h.slots), size)
	}
	if 3*h.len() > 2*len(h.slots) {
		t.Fatalf("%d hashes in %d slots: fuller than two thirds", h.len(), len(h.slots))
	}
	h.reset()
	if h.len() != 0 || len(h.slots) != size || !h.addHash(ks[0]) {
		t.Fatal("reset did not empty the set and keep its table")
	}
}

// BenchmarkHashSetAddHashes adds 2M random hashes to two sets (keys and
// emails) a batch of 1024 at a time, as the dispatcher does.
func BenchmarkHashSetAddHashes(b *testing.B) {
	for _, reserve := range []bool{false, true} {
		b.Run(fmt.Sprintf("reserved=%v", reserve), func(b *testing.B) {
			ks := make([]uint64, 2<<20)
			for i := range ks {
				ks[i] = rand.Uint64()
			}
			isNew := make([]bool, 1024)
			b.ResetTimer()
			for range b.N {
				keys, emails := newHashSet(), newHashSet()
				if reserve {
					keys.reserve(len(ks) / 2)
					emails.reserve(len(ks) / 2)
				}
				for i := 0; i < len(ks); i += 2048 {
					keys.addHashes(ks[i:i+1024], isNew)
					emails.addHashes(ks[i+1024:i+2048], isNew)
				}
			}
		})
	}
}

func TestHashFoldIsHashOfLowerTrimmed(t *testing.T) {
	h := newHashSet()
	for _, s := range []string{"ana@example.com", " Ana@Example.COM ", "ÉLODIE@example.com", "x", "", strings.Repeat("A", 300) + "@example.com"} {
		if got, want := h.hashFold(s), h.hash(strings.ToLower(strings.TrimSpace(s))); got != want {
			t.Errorf("hashFold(%q) = %x, want the hash of its lower-cased, trimmed form %x", s, got, want)
		}
	}
}
