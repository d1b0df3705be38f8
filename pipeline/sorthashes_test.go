package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortHashes(t *testing.T) {
	for _, n := range []int{0, 1, 100, 4095, 4096, 100_000} {
		a := make([]uint64, n)
		for i := range a {
			a[i] = rand.Uint64()
			if i%7 == 0 {
				a[i] = a[i/2] // repeats
			}
			if i%11 == 0 {
				a[i] &= 0xffff // small values
			}
		}
		want := slices.Clone(a)
		slices.Sort(want)
		sortHashes(a, make([]uint64, n))
		if !slices.Equal(a, want) {
			t.Fatalf("%d hashes: not sorted as slices.Sort sorts them", n)
		}
	}
}

func BenchmarkSortHashes(b *testing.B) {
	src := make([]uint64, 1<<20)
	for i := range src {
		src[i] = rand.Uint64()
	}
	a, tmp := make([]uint64, len(src)), make([]uint64, len(src))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(a, src)
			sortHashes(a, tmp)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(a, src)
			slices.Sort(a)
		}
	})
}
