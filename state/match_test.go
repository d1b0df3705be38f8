package state_test

import (
	"context"
	"path/filepath"
	"testing"

	"crmsync/pipeline"
	"crmsync/state"
)

// TestMatchFieldIsTheCallers binds a state to a match field that is not
// an email and compares case-sensitively, as an API matching customers by
// a member code would: Synced reports that field's value, the binding
// survives a reopen, and an unconfirmed create whose match differs from
// the recorded one only in case is still reported, since to such an API
// they name two customers.
func TestMatchFieldIsTheCallers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	if err := st.BindMatch(ctx, "memberCode", false); err != nil {
		t.Fatal(err)
	}
	run, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	// k1 created with its id; k2 created without one (an API answering
	// its creates in bulk names no ids), then journaled again by a run
	// killed before it confirmed the write.
	fields := func(code string) map[string]string {
		return map[string]string{"memberCode": code, "email": "shared@x.test", "name": "N"}
	}
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k1", Match: "AB-1"}, {Key: "k2", Match: "CD-2"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "k1", Outcome: pipeline.OutcomeCreated, CRMID: "id-1", Digest: 1, Fields: fields("AB-1")},
		{Key: "k2", Outcome: pipeline.OutcomeCreated, Digest: 2, Fields: fields("CD-2")},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, run, "done", state.RunCounts{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k2", Match: "cd-2"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = open(t, path)
	var synced []string
	if err := st.Synced(ctx, func(key, id, match string) error {
		synced = append(synced, key+"="+id+"="+match)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != "k1=id-1=AB-1" {
		t.Errorf("Synced: %v; want k1 with its member code", synced)
	}
	es, err := st.Entries(ctx, []string{"k2"})
	if err != nil {
		t.Fatal(err)
	}
	if e := es["k2"]; e == nil || e.UnconfirmedMatch != "cd-2" {
		t.Errorf("k2: %+v; want the unconfirmed create's member code, which differs in case", e)
	}

	// Bound to compare without regard to case, the same journal names
	// the customer the state knows.
	if err := st.BindMatch(ctx, "memberCode", true); err != nil {
		t.Fatal(err)
	}
	es, err = st.Entries(ctx, []string{"k2"})
	if err != nil {
		t.Fatal(err)
	}
	if e := es["k2"]; e == nil || e.UnconfirmedMatch != "" {
		t.Errorf("k2 folded: %+v; want no unconfirmed match", e)
	}
}
