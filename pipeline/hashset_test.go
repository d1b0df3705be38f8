package pipeline

import (
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

func BenchmarkHashSetAdd(b *testing.B) {
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = "C" + strconv.Itoa(100000+i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	h := newHashSet()
	for i := 0; i < b.N; i++ {
		if i%len(keys) == 0 {
			h = newHashSet()
		}
		h.add(keys[i%len(keys)])
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
