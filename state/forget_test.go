package state_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"crmsync/pipeline"
	"crmsync/state"
)

// TestForgetCRMIDsLeavesNoEmailInTheJournal erases a customer created by
// one run and updated by the next. The create was journaled before its
// customer had an id, so only its key ties that journal entry, which holds
// the email, to the erased customer; it must go with the rest, and another
// customer's entries must stay.
func TestForgetCRMIDsLeavesNoEmailInTheJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	created := func(key, id, email string) pipeline.StateOutcome {
		return pipeline.StateOutcome{Key: key, Outcome: pipeline.OutcomeCreated, CRMID: id, Digest: 1, Fields: map[string]string{"email": email}}
	}
	if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k1", Match: "erased@x.test"}, {Key: "k2", Match: "kept@x.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, []pipeline.StateOutcome{created("k1", "id-1", "erased@x.test"), created("k2", "id-2", "kept@x.test")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k1", CRMID: "id-1", Match: "erased@x.test"}}); err != nil {
		t.Fatal(err)
	}

	n, err := st.ForgetCRMIDs(ctx, []string{"id-1"})
	if err != nil || n != 1 {
		t.Fatalf("ForgetCRMIDs: %d, %v; want 1 customer forgotten", n, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string, args ...any) int {
		t.Helper()
		var c int
		if err := db.QueryRow(q, args...).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count(`SELECT count(*) FROM journal WHERE key = 'k1' OR match = 'erased@x.test'`); c != 0 {
		t.Errorf("the journal still holds %d entries of the erased customer, with their email", c)
	}
	if c := count(`SELECT count(*) FROM journal WHERE key = 'k2'`); c != 1 {
		t.Errorf("the journal holds %d entries of the customer kept, want 1", c)
	}
	if c := count(`SELECT count(*) FROM records WHERE crm_id = 'id-1'`); c != 0 {
		t.Errorf("the erased customer is still in the records")
	}
}
