package pipeline

import (
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
