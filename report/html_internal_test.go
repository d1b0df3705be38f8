package report

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestFmtInt(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{-1000, "-1,000"},
		{-999, "-999"},
		{1_048_576, "1,048,576"},
		{100_000, "100,000"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := fmtInt(tt.in); got != tt.want {
			t.Errorf("fmtInt(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFmtPct(t *testing.T) {
	tests := []struct {
		part, total int64
		want        string
	}{
		{0, 0, "0%"},
		{5, 0, "0%"},
		{0, 10, "0%"},
		{10, 10, "100%"},
		{1, 3, "33.3%"},
		{381, 1_048_576, "<0.1%"},
		{1_048_575, 1_048_576, ">99.9%"},
		{999, 1000, "99.9%"},
		{-4, 10, "0%"},
		{math.MaxInt64, math.MaxInt64, "100%"},
	}
	for _, tt := range tests {
		if got := fmtPct(tt.part, tt.total); got != tt.want {
			t.Errorf("fmtPct(%d, %d) = %q, want %q", tt.part, tt.total, got, tt.want)
		}
		if got := fmtPct(float64(tt.part), float64(tt.total)); got != tt.want {
			t.Errorf("fmtPct(%d, %d) = %q, want %q", tt.part, tt.total, got, tt.want)
		}
	}
}

func TestFmtSeconds(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.00 s"},
		{0.004, "0.00 s"},
		{3.844, "3.84 s"},
		{41.24, "41.2 s"},
		{59.96, "60.0 s"},
		{60, "1 min 00 s"},
		{458, "7 min 38 s"},
		{3600, "1 h 00 min"},
		{1e9, "277,777 h 47 min"},
		{-1, "0.00 s"},
		{math.NaN(), "0.00 s"},
		{math.Inf(1), "0.00 s"},
	}
	for _, tt := range tests {
		if got := fmtSeconds(tt.in); got != tt.want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShortPctAndWidth(t *testing.T) {
	pcts := []struct {
		in   float64
		want string
	}{
		{0, "0%"}, {0.001, "<1%"}, {0.07, "7%"}, {0.995, "100%"}, {1, "100%"}, {math.NaN(), "0%"},
	}
	for _, tt := range pcts {
		if got := shortPct(tt.in); got != tt.want {
			t.Errorf("shortPct(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	widths := []struct {
		v, top float64
		want   string
	}{
		{0, 0, "0%"}, {5, 0, "0%"}, {5, 10, "50.00%"}, {10, 10, "100.00%"}, {20, 10, "100.00%"},
		{math.NaN(), 10, "0.00%"}, {-3, 10, "0%"},
	}
	for _, tt := range widths {
		if got := fmtWidth(tt.v, tt.top); got != tt.want {
			t.Errorf("fmtWidth(%v, %v) = %q, want %q", tt.v, tt.top, got, tt.want)
		}
	}
}

func TestSatAdd(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{1, 2, 3},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64 - 1, 1, math.MaxInt64},
		{5, -3, 5},
	}
	for _, tt := range tests {
		if got := satAdd(tt.a, tt.b); got != tt.want {
			t.Errorf("satAdd(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestDonutGeometry checks that the segments tile the ring in order, each
// starting where the one before ended and all together closing it, and
// that each label sits on its own segment.
func TestDonutGeometry(t *testing.T) {
	circ := 2 * math.Pi * ringRadius
	tests := []struct {
		name   string
		counts Counts
		shares []float64 // of the ring, per drawn segment
	}{
		{"halves and tenths", Counts{Created: 1200, Updated: 300, Pending: 1500}, []float64{0.4, 0.1, 0.5}},
		{"one outcome", Counts{Unchanged: 9}, []float64{1}},
		{"all five", Counts{Created: 1, Updated: 2, Unchanged: 3, Rejected: 4, Pending: 10}, []float64{0.05, 0.1, 0.15, 0.2, 0.5}},
		{"nothing", Counts{}, nil},
		{"huge", Counts{Created: math.MaxInt64, Updated: math.MaxInt64}, []float64{0.5, 0.5}},
		{"negative ignored", Counts{Created: -5, Updated: 5}, []float64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := outcomeDonut(&Run{Counts: tt.counts})
			if len(d.Segments) != len(tt.shares) {
				t.Fatalf("%d segments, want %d", len(d.Segments), len(tt.shares))
			}
			start := 0.0
			for i, s := range d.Segments {
				dash := strings.Fields(s.Dash)
				length, _ := strconv.ParseFloat(dash[0], 64)
				offset, _ := strconv.ParseFloat(s.Offset, 64)
				want := tt.shares[i] * circ
				if math.Abs(-offset-start) > 0.02 {
					t.Errorf("segment %s starts at %.2f, want %.2f", s.Class, -offset, start)
				}
				// Neighbours are set apart by a small gap; a lone segment
				// is the whole ring.
				low := want - ringGap - 0.02
				if len(tt.shares) == 1 {
					low = want - 0.02
				}
				if length > want+0.02 || length < low {
					t.Errorf("segment %s is %.2f long, want about %.2f", s.Class, length, want)
				}
				start += want
			}
			if len(tt.shares) > 0 && math.Abs(start-circ) > 0.05 {
				t.Errorf("the segments cover %.2f of the ring's %.2f", start, circ)
			}
			labels := 0
			for _, sh := range tt.shares {
				if sh >= labelMin {
					labels++
				}
			}
			if len(d.Labels) != labels {
				t.Errorf("%d labels, want one per segment of 7%% or more (%d)", len(d.Labels), labels)
			}
		})
	}
}
