package pipeline

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// Past its limit the set moves hashes to disk; it must answer exactly as
// an unbounded set would, before and after each spill.
func TestSpillSetAnswersLikeAnUnboundedSet(t *testing.T) {
	dir := t.TempDir()
	s := newSpillSet(1000, dir)
	const n = 60000
	for round := 0; round < 2; round++ {
		for i := range n {
			isNew, err := s.addHash(s.hash("key-" + strconv.Itoa(i)))
			if err != nil {
				t.Fatal(err)
			}
			if want := round == 0; isNew != want {
				t.Fatalf("round %d: key-%d new = %v, want %v", round, i, isNew, want)
			}
		}
	}
	if s.n == 0 || s.mem.len() >= 1000 || len(s.runs) < 2 {
		t.Fatalf("%d hashes in %d runs on disk, %d in memory: the set did not spill", s.n, len(s.runs), s.mem.len())
	}
	if s.n+int64(s.mem.len()) != n {
		t.Fatalf("%d on disk + %d in memory, want %d", s.n, s.mem.len(), n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the set keeps %d entries in its directory, want its one folder", len(entries))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Close left %d entries behind", len(entries))
	}
}

// Batches that cross the limit answer as hashes added one by one would,
// repeats within a batch and repeats of hashes already on disk included,
// and memory never holds more than the limit.
func TestSpillSetBatchesAnswerLikeOneByOne(t *testing.T) {
	batched, one := newSpillSet(3000, t.TempDir()), newSpillSet(3000, t.TempDir())
	defer batched.Close()
	defer one.Close()
	batched.reserve(1 << 20)
	if len(batched.mem.slots) > 3000*3/2+1 {
		t.Fatalf("reserve went past the limit: %d slots", len(batched.mem.slots))
	}
	next := 0
	for round := range 40 {
		ks := make([]uint64, 1500)
		for i := range ks {
			if i%5 == 0 && next > 0 {
				ks[i] = batched.hash("key-" + strconv.Itoa(i*7%next)) // seen before, maybe on disk
			} else {
				ks[i] = batched.hash("key-" + strconv.Itoa(next))
				next++
			}
		}
		ks[len(ks)-1] = ks[0] // twice in one batch
		isNew := make([]bool, len(ks))
		if err := batched.addHashes(ks, isNew); err != nil {
			t.Fatal(err)
		}
		if batched.mem.len() >= 3000 {
			t.Fatalf("round %d: %d hashes in memory, limit 3000", round, batched.mem.len())
		}
		for i, k := range ks {
			want, err := one.addHash(k)
			if err != nil {
				t.Fatal(err)
			}
			if isNew[i] != want {
				t.Fatalf("round %d: hash %d new = %v batched, %v one by one", round, i, isNew[i], want)
			}
		}
	}
	if len(batched.runs) < 5 {
		t.Fatalf("%d runs: the test did not make the set spill", len(batched.runs))
	}
}

func TestSpillSetBloomFilterRejectsMostAbsentKeys(t *testing.T) {
	s := newSpillSet(50000, t.TempDir())
	defer s.Close()
	for i := range 50000 {
		if _, err := s.addHash(s.hash("in-" + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if s.n != 50000 {
		t.Fatalf("%d hashes on disk, want 50000", s.n)
	}
	maybe := 0
	for i := range 100000 {
		if s.mayHold(s.hash("out-" + strconv.Itoa(i))) {
			maybe++
		}
	}
	if rate := float64(maybe) / 100000; rate > 0.03 {
		t.Errorf("the filter lets %.1f%% of absent keys through to the disk, want about 1%%", rate*100)
	}
}

// BenchmarkSpillSetAddHashes adds 4M hashes, in batches of 1024, to a set
// keeping 1M in memory: the repeat detection of a 4M-row file, three
// spills and every later hash tested against the filter.
func BenchmarkSpillSetAddHashes(b *testing.B) {
	ks := make([]uint64, 4<<20)
	for i := range ks {
		ks[i] = rand.Uint64()
	}
	isNew := make([]bool, 1024)
	for b.Loop() {
		s := newSpillSet(1<<20, b.TempDir())
		for i := 0; i < len(ks); i += 1024 {
			if err := s.addHashes(ks[i:i+1024], isNew); err != nil {
				b.Fatal(err)
			}
		}
		s.Close()
	}
}
