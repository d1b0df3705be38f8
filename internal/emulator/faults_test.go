package emulator

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestInjectorGolden pins the draws of one seed: the sequence tamiotest
// gave before the kit existed, so that a recorded chaos seed replays the
// same faults. Lose needs a write (every third request is a read).
func TestInjectorGolden(t *testing.T) {
	fi := NewInjector(Faults{Seed: 7, ErrorRate: 0.2, DropRate: 0.2, LostAnswerRate: 0.2})
	var got []string
	for i := range 24 {
		d := fi.Decide(i%3 != 0)
		got = append(got, fmt.Sprintf("%d/%d", d.Fault, d.Status))
	}
	const want = "0/0 3/0 1/0 2/503 0/0 0/0 0/0 0/0 1/0 0/0 0/0 3/0 0/0 0/0 1/0 2/503 0/0 0/0 2/503 0/0 0/0 0/0 0/0 0/0"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("seed 7 draws\n got %s\nwant %s", s, want)
	}
}

// TestInjectorReadsDrawToo checks that a request draws whether or not it
// could get a fault: a read between two writes moves the stream by as
// much as a write, and Set re-seeds.
func TestInjectorReadsDrawToo(t *testing.T) {
	f := Faults{Seed: 11, ErrorRate: 0.3, DropRate: 0.2, LostAnswerRate: 0.3}
	all := NewInjector(f)
	mixed := NewInjector(f)
	for i := range 200 {
		a := all.Decide(true)
		b := mixed.Decide(i%2 == 0)
		if b.Fault == Lose && i%2 != 0 {
			t.Fatalf("request %d: a read lost its answer", i)
		}
		if a.Fault != Lose && a != b {
			t.Fatalf("request %d: %+v as a write, %+v as a read", i, a, b)
		}
	}
	// Set starts the stream over.
	all.Set(f)
	again := NewInjector(f)
	for i := range 50 {
		if a, b := all.Decide(true), again.Decide(true); a != b {
			t.Fatalf("request %d after Set: %+v, a new injector: %+v", i, a, b)
		}
	}
}

func TestInjectorRates(t *testing.T) {
	fi := NewInjector(Faults{Seed: 1, ErrorRate: 0.25, DropRate: 0.25, LostAnswerRate: 0.25, Latency: time.Millisecond})
	n := map[Fault]int{}
	statuses := map[int]int{}
	const total = 20000
	for range total {
		d := fi.Decide(true)
		if d.Latency != time.Millisecond {
			t.Fatalf("latency %v", d.Latency)
		}
		n[d.Fault]++
		statuses[d.Status]++
	}
	for _, f := range []Fault{NoFault, Drop, Fail, Lose} {
		if share := float64(n[f]) / total; math.Abs(share-0.25) > 0.02 {
			t.Errorf("fault %d: share %.3f, want 0.25", f, share)
		}
	}
	for _, s := range []int{500, 502, 503} {
		if statuses[s] == 0 {
			t.Errorf("no %d among %v", s, statuses)
		}
	}
	if d := NewInjector(Faults{Latency: time.Second}).Decide(true); d != (Decision{Latency: time.Second}) {
		t.Errorf("latency only: %+v", d)
	}
	if d := (&Injector{}).Decide(true); d != (Decision{}) {
		t.Errorf("zero injector: %+v", d)
	}
}

func TestFaultsValidateAndClamp(t *testing.T) {
	for _, tc := range []struct {
		f    Faults
		want string
	}{
		{Faults{ErrorRate: 1.5}, "error_rate"},
		{Faults{DropRate: math.NaN()}, "drop_rate"},
		{Faults{LostAnswerRate: -0.1}, "lost_answer_rate"},
		{Faults{ErrorRate: 0.6, DropRate: 0.6}, "more than 1"},
		{Faults{Latency: -time.Second}, "negative latency"},
		{Faults{ErrorRate: 0.5, DropRate: 0.5, Latency: time.Second}, ""},
	} {
		err := tc.f.Validate()
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.want)
		}
	}
	c := Faults{ErrorRate: 2, DropRate: math.NaN(), LostAnswerRate: -1, Latency: -1}.Clamp()
	if c != (Faults{ErrorRate: 1}) {
		t.Errorf("clamped: %+v", c)
	}
}

// TestFaultsAny: latency alone is a fault a sandbox asks for (Any), though
// it draws nothing (Active); a seed alone is neither.
func TestFaultsAny(t *testing.T) {
	for _, tc := range []struct {
		f           Faults
		any, active bool
	}{
		{Faults{}, false, false},
		{Faults{Seed: 3}, false, false},
		{Faults{Latency: time.Millisecond}, true, false},
		{Faults{ErrorRate: 0.1}, true, true},
		{Faults{DropRate: 0.1}, true, true},
		{Faults{LostAnswerRate: 0.1}, true, true},
	} {
		if tc.f.Any() != tc.any || tc.f.Active() != tc.active {
			t.Errorf("%+v: Any %v Active %v, want %v %v", tc.f, tc.f.Any(), tc.f.Active(), tc.any, tc.active)
		}
	}
}
