package sinktest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
)

// faultRun seeds customers 0..9 on a sandbox without faults, restarts it
// on the same file with faults, and runs one sink over 30 new records and
// updates of the 10; then it restarts the sandbox without faults and
// checks that every record is held exactly once with its values. It
// returns the calls the sink made.
func faultRun(t *testing.T, s *suite, faults crm.Faults) []call {
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 10)
	e.restart(crm.SandboxOptions{Faults: faults})
	all := make([][]string, 0, 40)
	for i := range values {
		all = append(all, s.gen.with(values[i], upd[i%len(upd)], i, 1))
	}
	all = append(all, s.gen.records(10, 30)...)
	sk, rec := e.sink()
	res := run(t, sk, s.plan(), changes(0, all))
	for i, r := range res {
		want := pipeline.OutcomeCreated
		if i < len(ids) {
			want = pipeline.OutcomeUpdated
			if r.ID != ids[i] {
				t.Errorf("update %d answered id %q, the customer is %q", i, r.ID, ids[i])
			}
		}
		if r.Outcome != want || r.ID == "" {
			t.Errorf("change %d: %v with id %q %v, want %v with an id", i, r.Outcome, r.ID, r.Reject, want)
		}
	}
	e.restart(crm.SandboxOptions{})
	byMatch := e.wantAccount(all)
	for i, r := range res {
		c, ok := byMatch[e.matchKey(all[i][s.gen.match])]
		if !ok {
			continue
		}
		if r.ID != "" && c.ID != r.ID {
			t.Errorf("change %d answered id %q; the account holds its %s under id %q", i, r.ID, s.conn.Schema.MatchField, c.ID)
		}
		e.wantValues(fmt.Sprintf("change %d", i), &c, all[i], s.gen.mapped())
	}
	return rec.Calls()
}

// ServerErrorsRetried: answers 500, 502 and 503 (not applied) are retried
// until every create and update is applied once, with the right outcome
// and id.
func testServerErrors(t *testing.T, s *suite) {
	calls := faultRun(t, s, crm.Faults{Seed: 7, ErrorRate: 0.3})
	n := 0
	for _, c := range calls {
		if c.Status >= 500 {
			n++
		}
	}
	if n == 0 {
		t.Errorf("the emulator answered none of %d calls with a 5xx at an error rate of 0.3", len(calls))
	}
	t.Logf("%d calls, %d answered 5xx", len(calls), n)
	logCalls(t, "sink", calls)
}

// LostAnswersNoDuplicates: writes whose answer is lost after they were
// applied, and requests whose connection drops before they are, leave
// every record created exactly once (never twice, never under another
// id) and every update applied.
func testLostAnswers(t *testing.T, s *suite) {
	calls := faultRun(t, s, crm.Faults{Seed: 11, LostAnswerRate: 0.25, DropRate: 0.05})
	lost := withStatus(calls, 0)
	if lost == 0 {
		t.Errorf("no answer of %d calls was lost or dropped", len(calls))
	}
	t.Logf("%d calls, %d got no answer", len(calls), lost)
	logCalls(t, "sink", calls)
}

// StatsFormat: the emulator serves its request counters at crm.StatsPath
// in the one shape every emulator shares (emulator.RequestStats at the
// top level), and they agree with what the clients saw: the total, each
// status, and the writes by route.
func testStatsFormat(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	_, values := e.seed(0, 5)
	rr := &recorder{}
	r, err := s.conn.NewReader(e.config(rr, nil))
	if err != nil {
		t.Fatal(err)
	}
	sk, rec := e.sink()
	next := make([][]string, len(values))
	for i := range values {
		next[i] = s.gen.with(values[i], s.gen.updatable()[0], i, 1)
	}
	before, err := e.stats(0)
	if err != nil {
		t.Fatal(err)
	}
	run(t, sk, s.plan(), changes(0, next))
	if err := r.Walk(t.Context(), func([]pipeline.Customer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	calls := append(rec.Calls(), rr.Calls()...)
	after, err := e.stats(int(before.TotalRequests) + len(calls))
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TotalRequests - before.TotalRequests; got != int64(len(calls)) {
		t.Errorf("total_requests grew by %d; the clients made %d calls", got, len(calls))
	}
	var sum int64
	var sumWrites, beforeWrites int64
	for route, by := range after.Requests {
		for _, n := range by {
			sum += n
			if isWriteRoute(route) {
				sumWrites += n
			}
		}
	}
	for route, by := range before.Requests {
		for _, n := range by {
			if isWriteRoute(route) {
				beforeWrites += n
			}
		}
	}
	if sum != after.TotalRequests {
		t.Errorf("requests sum to %d, total_requests is %d", sum, after.TotalRequests)
	}
	if got, want := sumWrites-beforeWrites, int64(writes(calls)); got != want {
		t.Errorf("the routes of writes (those not named GET or HEAD) counted %d; the clients made %d writes", got, want)
	}
	statuses := map[string]int64{}
	for _, c := range calls {
		statuses[fmt.Sprint(c.Status)]++
	}
	for st, n := range statuses {
		if got := after.ByStatus[st] - before.ByStatus[st]; got != n {
			t.Errorf("by_status[%s] grew by %d; the clients saw %d", st, got, n)
		}
	}
	if len(after.ByKey) == 0 {
		t.Errorf("by_key is empty after %d authenticated calls", len(calls))
	}
}

// isWriteRoute reports whether a stats route, named "METHOD path", is
// one of a method other than GET and HEAD.
func isWriteRoute(route string) bool {
	m, _, ok := strings.Cut(route, " ")
	if !ok {
		return false
	}
	switch m {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
