package pipeline_test

import (
	"context"
	"testing"

	"crmsync/pipeline"
)

// TestEngineRefusesWritesWithoutID: whatever a sink says, a write it
// confirmed without the customer's id is rejected no_id, never counted
// created and never bound in the state, so the next run looks the
// customer up instead of creating it twice.
func TestEngineRefusesWritesWithoutID(t *testing.T) {
	sink := &fakeSink{MaxBatch: 4, ApplyFn: func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
		for i := range changes {
			results[i] = pipeline.Result{Outcome: pipeline.OutcomeCreated}
		}
		return nil
	}}
	e := newEngine(t, sink, 10, fakeValues(1), fakeValues(2), fakeValues(3))
	st := newMemState()
	e.opts.State = st
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Created != 0 || c.Rejected != 3 {
		t.Errorf("counts %+v; want all 3 rejected, none created", c)
	}
	for _, r := range e.rejects.all() {
		if r.Reject.Code != pipeline.CodeNoID {
			t.Errorf("row %d rejected %q, want %s", r.Row, r.Reject.Code, pipeline.CodeNoID)
		}
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if id := st.crmID(k); id != "" {
			t.Errorf("key %s bound to %q", k, id)
		}
	}
}

// TestEngineClaimsMatchedCustomers: Plan.Claim gives a sink the key a
// matched customer is bound to, binds a free one to the row's key, and
// never lets two keys take one customer, in a real run and a dry run.
func TestEngineClaimsMatchedCustomers(t *testing.T) {
	for _, dry := range []bool{false, true} {
		var plan pipeline.Plan
		sink := &fakeSink{MaxBatch: 10,
			PrepareFn: func(ctx context.Context, p pipeline.Plan) error { plan = p; return nil },
			ApplyFn: func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
				// Every new key matches the customer of k1, then of "free".
				keys := []string{changes[0].Record.Key, changes[0].Record.Key}
				owners, err := plan.Claim(ctx, keys, []string{"id-k1", "free"})
				if err != nil {
					return err
				}
				if owners[0] != "k1" || owners[1] != "" {
					t.Errorf("dry=%v: owners %q, want k1's customer owned by k1 and the free one free", dry, owners)
				}
				createOrUpdate(changes, results)
				return nil
			}}
		e := newEngine(t, sink, 10, fakeValues(9))
		st := newMemState()
		st.seed(fakeValues(1))
		e.opts.State, e.opts.DryRun = st, dry
		if _, err := e.execute(t, context.Background()); err != nil {
			t.Fatal(err)
		}
		want := "free"
		if dry {
			want = ""
		}
		if got := st.crmID("k9"); got != want && !(got == "id-k9" && !dry) {
			t.Errorf("dry=%v: k9 bound to %q", dry, got)
		}
		if got := st.crmID("k1"); got != "id-k1" {
			t.Errorf("dry=%v: k1 lost its customer: bound to %q", dry, got)
		}
	}
}
