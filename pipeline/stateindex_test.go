package pipeline

import "testing"

func TestStateIndex(t *testing.T) {
	x := newStateIndex(4)
	const n = 10000
	for i := uint64(1); i <= n; i++ {
		x.put(i*0x9e3779b97f4a7c15, i, i+1)
	}
	if x.len() != n {
		t.Fatalf("len %d, want %d", x.len(), n)
	}
	for i := uint64(1); i <= n; i++ {
		slot := x.find(i * 0x9e3779b97f4a7c15)
		if slot < 0 || x.digest(slot) != i || x.source(slot) != i+1 {
			t.Fatalf("key %d: slot %d", i, slot)
		}
		if i%2 == 0 {
			x.markSeen(slot)
		}
	}
	if x.find(12345) >= 0 {
		t.Error("found a key never put")
	}
	for i := uint64(1); i <= n; i++ {
		if seen := x.wasSeen(x.find(i * 0x9e3779b97f4a7c15)); seen != (i%2 == 0) {
			t.Fatalf("key %d: seen %v", i, seen)
		}
	}
	// Two keys with one hash: neither may ever be taken as unchanged.
	h := uint64(0xdeadbeef)
	x.put(h, 7, 8)
	x.put(h, 7, 8)
	if d, s := x.digest(x.find(h)), x.source(x.find(h)); d != 0 || s != 0 {
		t.Errorf("a shared hash keeps digest %d and source digest %d, want 0", d, s)
	}
}
