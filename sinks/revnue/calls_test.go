package revnue_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// seedMany seeds n customers with every field set, named Customer 0 …,
// and returns their ids in order.
func seedMany(t testing.TB, a *account, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = a.seed(t, a.srv.FullCustomer(fmt.Sprintf("Customer %d", i), i))
	}
	return ids
}

// An update costs about one call, reads included: the customers a batch
// updates are read a list page at a time, not with a Get each, whether
// the run indexed the account or the state bound them, and in whatever
// order the source lists them. Every customer keeps what the mapping
// does not touch. (A bench at Revnue's rate: BenchmarkUpdates.)
func TestUpdatesCostAboutOneCallEach(t *testing.T) {
	const n = 300
	for _, tc := range []struct {
		name     string
		index    bool
		shuffled bool
	}{{"indexed", true, false}, {"bound", false, false}, {"bound, shuffled", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAccount(t, revnuetest.Options{})
			ids := seedMany(t, a, n)
			s := revnue.Schema()
			order := make([]int, n)
			for i := range order {
				order[i] = i
			}
			if tc.shuffled {
				rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			chs := make([]pipeline.Change, n)
			for k, i := range order {
				chs[k] = change(fmt.Sprint("k", i), "", values(s, map[string]string{"name": fmt.Sprintf("Customer %d", i), "phone": fmt.Sprintf("+1 555 %04d", i)}))
				if !tc.index {
					chs[k].ID, chs[k].Send = ids[i], mapped(s, "phone")
				}
			}
			sink := a.sink(t, revnue.Options{})
			res := run(t, sink, pipeline.Plan{Mapped: mapped(s, "name", "phone"), IndexAccount: tc.index}, chs)
			wantOutcome(t, res, pipeline.OutcomeUpdated)
			calls := sink.Stats().Calls.Load()
			reqs := a.front.requests()
			perUpdate := float64(len(reqs)) / n
			pages, gets := 0, 0
			for _, r := range reqs {
				switch {
				case r.Method == "GET" && r.Path == "/api/v2/customer/":
					pages++
				case r.Method == "GET" && strings.HasPrefix(r.Path, "/api/v2/customer/"):
					gets++
				}
			}
			t.Logf("%d calls (%d PUTs, %d page reads, %d Gets) for %d updates: %.3f a customer", len(reqs),
				count(reqs, "PUT", ""), pages, gets, n, perUpdate)
			if calls != int64(len(reqs)) {
				t.Errorf("the sink counted %d calls, the account received %d", calls, len(reqs))
			}
			if perUpdate > 1.05 {
				t.Errorf("%.3f calls an updated customer, want at most 1.05", perUpdate)
			}
			for _, k := range []int{0, n / 2, n - 1} {
				c := a.held(t, ids[k])
				if c["phone"] != fmt.Sprintf("+1 555 %04d", k) || c["fax"] == nil || c["template"] == nil || c["nda_signed"] != true {
					t.Errorf("customer %d after the update: %v", k, c)
				}
			}
		})
	}
}
