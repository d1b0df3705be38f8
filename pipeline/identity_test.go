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
