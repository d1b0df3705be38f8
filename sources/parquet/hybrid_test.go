package parquet

import "testing"

// TestHybrid decodes runs written by hand: an RLE run, a bit-packed run
// of width 3, and a last bit-packed run cut short of its padding.
func TestHybrid(t *testing.T) {
	data := []byte{
		5 << 1, 7, // 5 × 7
		1<<1 | 1, 0x88, 0xC6, 0xFA, // 0..7 packed 3 bits each
		1<<1 | 1, 0x05, // packed width 3, one byte: values 5, 0
	}
	h, err := newHybrid(data, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]uint32, 15)
	if err := h.read(got); err != nil {
		t.Fatal(err)
	}
	want := []uint32{7, 7, 7, 7, 7, 0, 1, 2, 3, 4, 5, 6, 7, 5, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("values %v, want %v", got, want)
		}
	}
	if err := h.read(got[:1]); err == nil {
		t.Errorf("a value read past the end: %d", got[0])
	}
	if _, err := newHybrid(nil, 33); err == nil {
		t.Error("bit width 33 accepted")
	}
}

// FuzzHybrid decodes arbitrary bytes: it must fill the values asked for
// or fail, never panic or loop.
func FuzzHybrid(f *testing.F) {
	f.Add([]byte{5 << 1, 7, 1<<1 | 1, 0x88, 0xC6, 0xFA}, uint8(3), uint16(20))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1}, uint8(32), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, width uint8, n uint16) {
		h, err := newHybrid(data, uint(width))
		if err != nil {
			return
		}
		out := make([]uint32, n)
		if err := h.read(out); err != nil {
			return
		}
		// A packed value has width bits; a repeated one the whole
		// bytes it is stored in, which callers range-check.
		bits := 8 * ((uint(width) + 7) / 8)
		for _, v := range out {
			if bits < 32 && v >= 1<<bits {
				t.Fatalf("value %d in %d bits", v, width)
			}
		}
	})
}
