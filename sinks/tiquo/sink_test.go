package tiquo_test

import (
	"net/http"
	"reflect"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// A first run creates every record with every kind of field; the
// emulator holds what was sent. A second run, indexing the account, finds
// every record unchanged and writes nothing; a third, looking each record
// up by email (no index), neither.
func TestCreateThenUnchanged(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	const n = 30
	mk := func() []pipeline.Change {
		chs := make([]pipeline.Change, n)
		for i := range chs {
			chs[i] = change(string(rune('a'+i%26))+string(rune('0'+i/26)), values(full(i)))
		}
		return chs
	}
	res := run(t, a.sink(t, tiquo.Options{Concurrency: 4}), pipeline.Plan{IndexAccount: true}, mk())
	wantOutcome(t, res, pipeline.OutcomeCreated)
	ids := map[string]bool{}
	for i, r := range res {
		if r.ID == "" || ids[r.ID] {
			t.Fatalf("change %d: id %q empty or repeated", i, r.ID)
		}
		ids[r.ID] = true
		held := a.held(t, r.ID)
		if got := sch.Values(held); !reflect.DeepEqual(got, values(full(i))) {
			t.Errorf("customer %d holds\n%q\nwant\n%q", i, got, values(full(i)))
		}
	}
	if got := len(routed(a.front.requests(), http.MethodPost, "/v1/customers")); got != n {
		t.Errorf("%d creates sent for %d records", got, n)
	}

	res = run(t, a.sink(t, tiquo.Options{Concurrency: 4}), pipeline.Plan{IndexAccount: true}, mk())
	wantOutcome(t, res, pipeline.OutcomeUnchanged)
	if w := writes(a.front.requests()); len(w) > 0 {
		t.Errorf("an unchanged run sent %d writes, the first %s %s %s", len(w), w[0].Method, w[0].Path, w[0].Body)
	}

	res = run(t, a.sink(t, tiquo.Options{Concurrency: 4}), pipeline.Plan{}, mk())
	wantOutcome(t, res, pipeline.OutcomeUnchanged)
	rs := a.front.requests()
	if w := writes(rs); len(w) > 0 {
		t.Errorf("an unchanged run without an index sent %d writes, the first %s %s %s", len(w), w[0].Method, w[0].Path, w[0].Body)
	}
	if got := len(rs); got != n+1 {
		t.Errorf("%d requests to look %d records up, want one each and one to check the key", got, n)
	}
	if a.count(t) != n {
		t.Errorf("the account holds %d customers, want %d", a.count(t), n)
	}
}
