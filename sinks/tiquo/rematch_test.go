package tiquo_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// goneChange is a change bound (by the state) to a customer deleted in
// tiquo since, with the fields the state says changed.
func goneChange(t *testing.T, a *account, key string, vals map[string]string) pipeline.Change {
	t.Helper()
	id := a.seed(t, body(vals))
	if err := a.client.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	ch := change(key, values(vals))
	ch.ID = id
	ch.Send = make([]bool, len(sch.Fields))
	ch.Send[sch.Index("notes")] = true
	return ch
}

// An update of a customer deleted in tiquo since it was bound is matched
// again by email: a customer with the email (made by hand since) is
// claimed and updated with everything that differs from it, not only
// what the state marked; with none the record is created again, except
// in --mode update, which rejects it. With an index the deleted customer
// is missing from it; without, the PATCH answers 404. Both paths end
// alike.
func TestGoneCustomerIsMatchedAgain(t *testing.T) {
	for _, plan := range []pipeline.Plan{{IndexAccount: true}, {}} {
		a := startAccount(t, tiquotest.Options{})
		st := newState(t)
		plan.Claim = st.Claim
		// k0's customer was deleted, and one with its email made anew.
		ch0 := goneChange(t, a, "k0", full(0))
		other := a.seed(t, body(with(map[string]string{"lastName": "Byron"})))
		ch1 := goneChange(t, a, "k1", full(1))
		res := run(t, a.sink(t, tiquo.Options{}), plan, []pipeline.Change{ch0, ch1})

		if r := res[0]; r.Outcome != pipeline.OutcomeUpdated || r.ID != other || !slicesEqual(sentFields(r.Sent), []string{"lastName"}) {
			t.Errorf("index %v, remade by hand: %v %q %v sent %v, want updated %q (lastName)", plan.IndexAccount, r.Outcome, r.ID, r.Reject, sentFields(r.Sent), other)
		}
		if held := a.held(t, other); held["lastName"] != "Lovelace 0" {
			t.Errorf("index %v: the matched customer holds lastName %v", plan.IndexAccount, held["lastName"])
		}
		if owners, _ := st.Owners(context.Background(), []string{other}); owners[other] != "k0" {
			t.Errorf("index %v: the matched customer is bound to %q, want k0", plan.IndexAccount, owners[other])
		}
		if r := res[1]; r.Outcome != pipeline.OutcomeCreated || r.ID == "" || r.ID == ch1.ID || a.held(t, r.ID) == nil {
			t.Errorf("index %v, gone for good: %v %q %v, want created anew", plan.IndexAccount, r.Outcome, r.ID, r.Reject)
		}
		if a.count(t) != 2 {
			t.Errorf("index %v: %d customers, want 2", plan.IndexAccount, a.count(t))
		}
		rs := a.front.requests()
		if plan.IndexAccount {
			// The index showed them gone: nothing is sent to them.
			for _, r := range rs {
				if strings.Contains(r.Path, ch0.ID) || strings.Contains(r.Path, ch1.ID) {
					t.Errorf("index true: %s %s to a customer the index showed gone", r.Method, r.Path)
				}
			}
		}

		plan.Mode = pipeline.ModeUpdate
		ch2 := goneChange(t, a, "k2", full(2))
		res = run(t, a.sink(t, tiquo.Options{}), plan, []pipeline.Change{ch2})
		if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeNotFound {
			t.Errorf("index %v, --mode update: %v %v, want rejected not_found", plan.IndexAccount, r.Outcome, r.Reject)
		}
		if got := len(routed(append(rs, a.front.requests()...), http.MethodPost, "/v1/customers")); got != 1 {
			t.Errorf("index %v: %d creates, want 1 (k1's)", plan.IndexAccount, got)
		}
	}
}

// A change whose own email finds nothing is looked up under its AltMatch,
// the email of a create an interrupted run sent but never confirmed: the
// customer found is claimed and updated, not created twice.
func TestAltMatchFindsAnUnconfirmedCreate(t *testing.T) {
	for _, plan := range []pipeline.Plan{{IndexAccount: true}, {}} {
		a := startAccount(t, tiquotest.Options{})
		st := newState(t)
		plan.Claim = st.Claim
		id := a.seed(t, body(full(0)))
		ch := change("k0", values(with(map[string]string{"email": "ada.new@example.com"})))
		ch.AltMatch = "ada0@example.com"
		res := run(t, a.sink(t, tiquo.Options{}), plan, []pipeline.Change{ch})
		if r := res[0]; r.Outcome != pipeline.OutcomeUpdated || r.ID != id || !slicesEqual(sentFields(r.Sent), []string{"email"}) {
			t.Errorf("index %v: %v %q %v sent %v, want the email of %q updated", plan.IndexAccount, r.Outcome, r.ID, r.Reject, sentFields(r.Sent), id)
		}
		if a.count(t) != 1 {
			t.Errorf("index %v: %d customers, want 1", plan.IndexAccount, a.count(t))
		}
	}
}
