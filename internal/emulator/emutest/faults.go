package emutest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"crmsync/internal/emulator"
)

// Replayed is a server a [CheckReplay] run drives.
type Replayed struct {
	// Create sends the i'th create, each of another record, through a
	// one-shot client ([Client.OneShot]); List sends a list. Each returns
	// the answer, or an error for a cut connection.
	Create func(i int) (*Answer, error)
	List   func() (*Answer, error)
	// Requests are the server's request counters (Stats().Requests).
	Requests func() map[string]map[string]int64
}

// CheckReplay checks that an emulator's fault seed replays: start(f)
// starts a server (closed when t ends) injecting f, faults of a seed at
// rates of 0.2 each; 60 requests alternate creates and lists. The same
// seed must give the same outcomes and counters, another seed other
// outcomes; the creates, counted under the route name create, must have
// met each fault (lost, dropped, 5xx) and some success, and the lists,
// counted under list, no lost answer, since reads apply nothing.
func CheckReplay(t testing.TB, create, list string, start func(f emulator.Faults) Replayed) {
	t.Helper()
	run := func(seed int64) ([]string, map[string]map[string]int64) {
		r := start(emulator.Faults{Seed: seed, ErrorRate: 0.2, DropRate: 0.2, LostAnswerRate: 0.2})
		var out []string
		for i := range 60 {
			var a *Answer
			var err error
			if i%2 == 0 {
				a, err = r.Create(i)
			} else {
				a, err = r.List()
			}
			if err != nil {
				out = append(out, "cut")
			} else {
				out = append(out, strconv.Itoa(a.Status))
			}
		}
		return out, r.Requests()
	}
	a, sa := run(7)
	b, sb := run(7)
	other, _ := run(8)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Errorf("same seed, different stats:\n%v\n%v", sa, sb)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 gave the same faults: %v", a)
	}
	c := sa[create]
	var ok int64
	for status, n := range c {
		if strings.HasPrefix(status, "2") {
			ok += n
		}
	}
	if c["lost"] == 0 || c["dropped"] == 0 || c["500"]+c["502"]+c["503"] == 0 || ok == 0 {
		t.Errorf("%s outcomes %v: want a success, lost, dropped and 5xx", create, c)
	}
	if l, ok := sa[list]; !ok || l["lost"] != 0 {
		t.Errorf("%s outcomes %v: want some and none lost", list, l)
	}
}
