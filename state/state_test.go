package state_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"crmsync/pipeline"
	"crmsync/state"
)

func open(t *testing.T, path string) *state.Store {
	t.Helper()
	st, err := state.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestBindRefusesAnotherKeyColumn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	if err := st.Bind(ctx, "tamio", "customer_id"); err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(ctx, "tamio", "customer_id"); err != nil {
		t.Fatalf("binding again to the same key: %v", err)
	}
	err := st.Bind(ctx, "tamio", "email")
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Fatalf("another key column: %v, want a fatal error", err)
	}
}

func TestOutcomesRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	// As a sync for an API that matches by email binds it; the binding
	// outlives the reopen below.
	if err := st.BindMatch(ctx, "email", true); err != nil {
		t.Fatal(err)
	}
	run1, unconfirmed, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"})
	if err != nil || unconfirmed != 0 {
		t.Fatalf("BeginRun: %d, %v", unconfirmed, err)
	}
	// k1 created, k2 rejected, k3 journaled and never confirmed (killed).
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k1", Match: "a@x.test"}, {Key: "k2", Match: "b@x.test"}, {Key: "k3", Match: "c@x.test"}}); err != nil {
		t.Fatal(err)
	}
	reject := &pipeline.Reject{Stage: pipeline.StageAPI, Code: "10082", Field: "phone", Message: "bad phone"}
	if err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "k1", Outcome: pipeline.OutcomeCreated, CRMID: "id-1", Digest: 11, Fields: map[string]string{"email": "a@x.test", "name": "A"}},
		{Key: "k2", Outcome: pipeline.OutcomeRejected, Reject: reject},
		{Key: "k2", Outcome: pipeline.OutcomeRejected, Reject: reject}, // twice in one run counts once
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, run1, "interrupted", state.RunCounts{Read: 3}); err != nil {
		t.Fatal(err)
	}

	// Reopen, as the next run does.
	st.Close()
	st = open(t, path)
	_, unconfirmed, err = st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if unconfirmed != 1 {
		t.Errorf("%d unconfirmed writes, want 1 (k3)", unconfirmed)
	}
	got := map[uint64]uint64{}
	if err := st.Scan(ctx, nil, func(kh, dg, _ uint64) { got[kh] = dg }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[pipeline.KeyHash("k1")] != 11 || got[pipeline.KeyHash("k2")] != 0 {
		t.Errorf("Scan: %v", got)
	}
	es, err := st.Entries(ctx, []string{"k1", "k2", "k3", "k4"})
	if err != nil {
		t.Fatal(err)
	}
	if e := es["k1"]; e == nil || e.CRMID != "id-1" || e.Fields["name"] != "A" || e.Failures != 0 {
		t.Errorf("k1: %+v", e)
	}
	if e := es["k2"]; e == nil || e.CRMID != "" || e.Failures != 1 {
		t.Errorf("k2: %+v", e)
	}
	if e := es["k3"]; e == nil || e.UnconfirmedMatch != "c@x.test" {
		t.Errorf("k3: %+v; want the unconfirmed create's email", e)
	}
	if _, ok := es["k4"]; ok {
		t.Errorf("k4 is unknown but has an entry")
	}

	// A second failing run makes k2's streak 2; a success resets it.
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "k2", Outcome: pipeline.OutcomeRejected, Reject: reject}}); err != nil {
		t.Fatal(err)
	}
	failing, err := st.Failing(ctx, 2, 10)
	if err != nil || len(failing) != 1 || failing[0].Key != "k2" || failing[0].Runs != 2 || failing[0].Code != "10082" {
		t.Fatalf("Failing: %+v, %v", failing, err)
	}
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "k2", Outcome: pipeline.OutcomeCreated, CRMID: "id-2", Digest: 22, Fields: map[string]string{"email": "b@x.test"}}}); err != nil {
		t.Fatal(err)
	}
	if failing, _ := st.Failing(ctx, 1, 10); len(failing) != 0 {
		t.Errorf("after a success, still failing: %+v", failing)
	}

	var synced []string
	if err := st.Synced(ctx, func(key, id, match string) error {
		synced = append(synced, key+"="+id+"="+match)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 2 || synced[0] != "k1=id-1=a@x.test" || synced[1] != "k2=id-2=b@x.test" {
		t.Errorf("Synced: %v", synced)
	}
	n, err := st.ForgetCRMIDs(ctx, []string{"id-1", "id-unknown"})
	if err != nil || n != 1 {
		t.Errorf("ForgetCRMIDs: %d, %v; want 1", n, err)
	}
	if keys, withID, _ := st.Len(ctx); keys != 1 || withID != 1 {
		t.Errorf("after forgetting k1: %d keys, %d with ids", keys, withID)
	}

	last, err := st.LastComplete(ctx)
	if err != nil || last != nil {
		t.Errorf("LastComplete: %+v, %v; no run completed", last, err)
	}
	hist, err := st.History(ctx, 1000, 10)
	if err != nil || len(hist) != 2 || hist[1].Status != "interrupted" || hist[0].Status != "running" {
		t.Errorf("History: %+v, %v", hist, err)
	}
}

func TestKilledRunIsMarked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert"}); err != nil {
		t.Fatal(err)
	}
	// Killed: the files stay as they are while the run is on, and the
	// store is never closed.
	st = open(t, killedCopy(t, path))
	id, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert"})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := st.History(ctx, id, 1)
	if err != nil || len(hist) != 1 || hist[0].Status != "killed" {
		t.Errorf("the run before: %+v, %v; want status killed", hist, err)
	}
}

// killedCopy copies the state at path, as it is on disk while its store
// is open, to a new directory: what a killed process leaves behind.
func killedCopy(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(path + suffix)
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestUnfinishedRunIsFailed closes a store whose run was begun and never
// finished, as a caller returning on an error does: the run is recorded
// as failed, with the time it ended, not left running.
func TestUnfinishedRunIsFailed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, path)
	hist, err := st.History(ctx, 1000, 10)
	if err != nil || len(hist) != 1 || hist[0].Status != "failed" || hist[0].FinishedAt.IsZero() {
		t.Fatalf("the run closed unfinished: %+v, %v; want status failed with a finished_at", hist, err)
	}

	// A finished run keeps the status it was given.
	id, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, "done", state.RunCounts{Read: 3}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, path)
	if hist, err := st.History(ctx, 1000, 1); err != nil || len(hist) != 1 || hist[0].Status != "done" || hist[0].Counts.Read != 3 {
		t.Fatalf("the finished run: %+v, %v; want done", hist, err)
	}
}

func TestOpenRefusesAFileThatIsNotAState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not.db")
	if err := writeFile(path, "this is not sqlite"); err != nil {
		t.Fatal(err)
	}
	if _, err := state.Open(context.Background(), path); err == nil {
		t.Fatal("opened a text file as a state")
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// TestIndexCache checks that Scan gives the same answer from the cache as
// from the records, and that any write to the records makes the cache
// stale.
func TestIndexCache(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "state.db"))
	scan := func() map[uint64]uint64 {
		got := map[uint64]uint64{}
		sized := -1
		if err := st.Scan(ctx, func(n int) { sized = n }, func(kh, dg, _ uint64) { got[kh] = dg }); err != nil {
			t.Fatal(err)
		}
		if sized != -1 && sized != len(got) {
			t.Errorf("Scan announced %d keys and gave %d", sized, len(got))
		}
		return got
	}
	commit := func(key string, digest uint64) {
		if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: key, Outcome: pipeline.OutcomeCreated, CRMID: "id-" + key, Digest: digest}}); err != nil {
			t.Fatal(err)
		}
	}
	commit("a", 1)
	commit("b", 2)
	if err := st.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	if got := scan(); len(got) != 2 || got[pipeline.KeyHash("a")] != 1 || got[pipeline.KeyHash("b")] != 2 {
		t.Fatalf("from the cache: %v", got)
	}
	commit("a", 3)
	if err := st.Forget(ctx, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if got := scan(); len(got) != 1 || got[pipeline.KeyHash("a")] != 3 {
		t.Fatalf("after writes, a stale cache was used: %v", got)
	}
	if err := st.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	if got := scan(); len(got) != 1 || got[pipeline.KeyHash("a")] != 3 {
		t.Fatalf("from the refreshed cache: %v", got)
	}
}

func TestOneProcessAtATime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	_ = st
	if _, err := state.Open(context.Background(), path); err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Fatalf("a second open of a state in use: %v, want a fatal error", err)
	}
}
