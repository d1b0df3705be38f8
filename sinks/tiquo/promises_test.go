package tiquo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// loseCreates makes the front close the connection, without an answer,
// after every create the emulator performed: the customer exists, the
// client saw a broken connection. It returns the count of answers lost.
func loseCreates(a *account) *atomic.Int64 {
	lost := new(atomic.Int64)
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		if r.Method != http.MethodPost {
			return false
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		if rec.Code == http.StatusCreated {
			lost.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			conn.Close()
			return true
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return true
	})
	return lost
}

// records returns n changes of full's shape, keys k0…
func records(n int) []pipeline.Change {
	chs := make([]pipeline.Change, n)
	for i := range chs {
		chs[i] = change(fmt.Sprintf("k%d", i), values(full(i)))
	}
	return chs
}

// requireCreatedOnce checks every change was created, under an id the
// account holds for its email, and that the account holds one customer
// per change.
func requireCreatedOnce(t *testing.T, a *account, chs []pipeline.Change, res []pipeline.Result) {
	t.Helper()
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated {
			t.Errorf("change %d: %v %v, want created", i, r.Outcome, r.Reject)
			continue
		}
		held := a.held(t, r.ID)
		if held == nil || !strings.EqualFold(held["email"].(string), chs[i].Record.Values[sch.Index("email")]) {
			t.Errorf("change %d: created as %q, which tiquo holds as %v", i, r.ID, held)
		}
	}
	if got := a.count(t); got != len(chs) {
		t.Errorf("the account holds %d customers for %d records: a create was repeated", got, len(chs))
	}
}

// Every create's answer is lost after tiquo made the customer; the
// pacer's retry is answered email_exists (409), and the sink finds the
// customer by email and takes its id: nothing is created twice, nothing
// rejected.
func TestLostCreateAnswersMakeNoDuplicates(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	lost := loseCreates(a)
	chs := records(20)
	res := run(t, a.sink(t, tiquo.Options{Concurrency: 4}), pipeline.Plan{IndexAccount: true}, chs)
	requireCreatedOnce(t, a, chs, res)
	if lost.Load() != int64(len(chs)) {
		t.Errorf("%d answers lost, want every create's (%d)", lost.Load(), len(chs))
	}
	st := a.srv.Stats()
	if got := st.Requests["POST /customers"]["409"]; got != int64(len(chs)) {
		t.Errorf("%d creates answered 409, want one retry per row (%d)", got, len(chs))
	}
}

// With the emulator's own faults (5xx, dropped connections, answers lost
// after a write) on every kind of call, a load and an update of every
// record end with each customer once and holding the record's values.
func TestFaultsMakeNoDuplicates(t *testing.T) {
	a := startAccount(t, tiquotest.Options{Faults: tiquotest.Faults{Seed: 3, ErrorRate: 0.03, DropRate: 0.05, LostAnswerRate: 0.2}})
	chs := records(40)
	s := a.sink(t, tiquo.Options{Concurrency: 6, MaxRetries: 20})
	res := run(t, s, pipeline.Plan{IndexAccount: true}, chs)
	a.srv.SetFaults(tiquotest.Faults{})
	requireCreatedOnce(t, a, chs, res)
	st := a.srv.Stats()
	if st.ByStatus["lost"] == 0 || st.ByStatus["dropped"] == 0 {
		t.Errorf("faults not exercised: %v", st.ByStatus)
	}

	a.srv.SetFaults(tiquotest.Faults{Seed: 4, ErrorRate: 0.03, DropRate: 0.05, LostAnswerRate: 0.2})
	for i := range chs {
		chs[i].Record.Values[sch.Index("notes")] = "second run"
	}
	res2 := run(t, a.sink(t, tiquo.Options{Concurrency: 6, MaxRetries: 20}), pipeline.Plan{}, chs)
	a.srv.SetFaults(tiquotest.Faults{})
	for i, r := range res2 {
		if r.Outcome != pipeline.OutcomeUpdated || r.ID != res[i].ID {
			t.Errorf("change %d: %v %q %v, want updated %q", i, r.Outcome, r.ID, r.Reject, res[i].ID)
		}
		if held := a.held(t, res[i].ID); held["notes"] != "second run" {
			t.Errorf("change %d: notes %v", i, held["notes"])
		}
	}
	if got := a.count(t); got != len(chs) {
		t.Errorf("%d customers after the update run, want %d", got, len(chs))
	}
}

// A create refused with 409 because the customer appeared since the
// account was indexed (made by hand, or by a lost create) is resolved by
// finding it: it is claimed through the state and updated with what
// differs. When the state binds it to another key, the row is rejected
// and nothing is written to it.
func TestTakenOnCreateIsFoundAndClaimed(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	st := newState(t)
	ctx := context.Background()
	s := a.sink(t, tiquo.Options{})
	if err := s.Prepare(ctx, pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert, IndexAccount: true, Claim: st.Claim}); err != nil {
		t.Fatal(err)
	}
	// Made after the index was read: the sink believes both are new.
	free := a.seed(t, body(with(map[string]string{"notes": "by hand"})))
	owned := a.seed(t, body(full(1)))
	if owners, err := st.Claim(ctx, []string{"someone-else"}, []string{owned}); err != nil || owners[0] != "" {
		t.Fatal(owners, err)
	}
	a.front.requests()
	chs := []pipeline.Change{change("k0", values(full(0))), change("k1", values(with(map[string]string{"email": "ada1@example.com", "notes": "overwrite?"})))}
	res := make([]pipeline.Result, 2)
	if err := s.Apply(ctx, chs, res); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if res[0].Outcome != pipeline.OutcomeUpdated || res[0].ID != free || !slicesEqual(sentFields(res[0].Sent), []string{"notes"}) {
		t.Errorf("the free customer: %v %q %v sent %v, want updated %q (notes)", res[0].Outcome, res[0].ID, res[0].Reject, sentFields(res[0].Sent), free)
	}
	if r := res[1]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.OwnedCode("email") || r.ID != "" {
		t.Errorf("the owned customer: %v %q %v, want rejected as owned", r.Outcome, r.ID, r.Reject)
	}
	if held := a.held(t, owned); held["notes"] != "prefers letters" {
		t.Errorf("the owned customer was written to: notes %v", held["notes"])
	}
	if owners, _ := st.Owners(ctx, []string{free}); owners[free] != "k0" {
		t.Errorf("the found customer is bound to %q, want k0", owners[free])
	}
	if a.count(t) != 2 {
		t.Errorf("%d customers, want 2", a.count(t))
	}
}

// A record matched by email to a customer the state binds to another key
// is rejected before anything is written to it, with or without an index.
func TestOwnedCustomerIsNotWritten(t *testing.T) {
	for _, plan := range []pipeline.Plan{{IndexAccount: true}, {}} {
		a := startAccount(t, tiquotest.Options{})
		st := newState(t)
		id := a.seed(t, body(full(0)))
		if _, err := st.Claim(context.Background(), []string{"first"}, []string{id}); err != nil {
			t.Fatal(err)
		}
		plan.Claim = st.Claim
		res := run(t, a.sink(t, tiquo.Options{}), plan, []pipeline.Change{change("second", values(with(map[string]string{"notes": "mine now"})))})
		if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.OwnedCode("email") || !strings.Contains(r.Reject.Message, `"first"`) {
			t.Errorf("index %v: %v %v, want rejected as owned by first", plan.IndexAccount, r.Outcome, r.Reject)
		}
		if w := writes(a.front.requests()); len(w) > 0 {
			t.Errorf("index %v: %d writes to a customer another key owns", plan.IndexAccount, len(w))
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
