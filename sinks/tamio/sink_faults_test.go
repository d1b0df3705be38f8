package tamio_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

func startAccount(t *testing.T, opts tamiotest.Options) *account {
	t.Helper()
	opts.DBPath = filepath.Join(t.TempDir(), "tamio.db")
	srv, err := tamiotest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &account{srv: srv, client: tamio.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))}
}

func records(from, n int) []pipeline.Change {
	chs := make([]pipeline.Change, n)
	for i := range chs {
		chs[i] = pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)}, Key: fmt.Sprint(from + i), Values: harness.Valid(from + i)}}
	}
	return chs
}

func applyAll(t *testing.T, s pipeline.Sink, chs []pipeline.Change) []pipeline.Result {
	t.Helper()
	mapped := make([]bool, len(s.Schema().Fields))
	for i := range mapped {
		mapped[i] = true
	}
	ctx := context.Background()
	if err := s.Prepare(ctx, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert}); err != nil {
		t.Fatal(err)
	}
	res := make([]pipeline.Result, len(chs))
	for start := 0; start < len(chs); start += s.Properties().MaxBatch {
		end := min(start+s.Properties().MaxBatch, len(chs))
		if err := s.Apply(ctx, chs[start:end], res[start:end]); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

// requireCreatedOnce checks every change was created, each id is distinct
// and held by the account with the change's email, and the account holds
// nothing else.
func requireCreatedOnce(t *testing.T, a *account, chs []pipeline.Change, res []pipeline.Result) {
	t.Helper()
	seen := map[string]bool{}
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated {
			t.Errorf("change %d: %v %v, want created", i, r.Outcome, r.Reject)
			continue
		}
		if seen[r.ID] {
			t.Errorf("change %d: id %s given twice", i, r.ID)
		}
		seen[r.ID] = true
		got, ok := a.Get(t, r.ID)
		if !ok || got["email"] != chs[i].Record.Values[0] {
			t.Errorf("change %d: id %s holds %v, want email %s", i, r.ID, got, chs[i].Record.Values[0])
		}
	}
	if n := a.Count(t); n != len(chs) {
		t.Errorf("the account holds %d customers, want %d", n, len(chs))
	}
}

// A bulk job slower than the confirmation timeout leaves rows unconfirmed;
// they are then created one by one, and the job's later run (or the
// single create's "already exists") must not make duplicates.
func TestLateBulkJobFallsBackToSingleCreates(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: 300 * time.Millisecond})
	s, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: a.srv.APIKey, ConfirmTimeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chs := records(0, 40)
	res := applyAll(t, s, chs)
	requireCreatedOnce(t, a, chs, res)
	st := a.srv.Stats()
	if st.Requests["POST /customers/create"]["200"]+st.Requests["POST /customers/create"]["400"] == 0 {
		t.Errorf("no single create was made; the fallback was not exercised: %v", st.Requests["POST /customers/create"])
	}
}

// Lost answers on writes are the case that makes naive clients create
// duplicates: the write happened, the client saw an error and retried.
// Chunks of 5 make some 24 bulk writes, so with 30% of write answers lost
// the odds that none is lost (and the test proves nothing) are 0.7^24.
func TestFaultsNeverDuplicateOrLoseACustomer(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: 5 * time.Millisecond})
	a.srv.SetFaults(tamiotest.Faults{Seed: 5, ErrorRate: 0.1, DropRate: 0.05, LostAnswerRate: 0.3})
	s, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: a.srv.APIKey, BulkChunk: 5, ConfirmTimeout: 2 * time.Second, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chs := records(1000, 120)
	res := applyAll(t, s, chs)
	a.srv.SetFaults(tamiotest.Faults{})
	requireCreatedOnce(t, a, chs, res)
	st := a.srv.Stats()
	if st.ByStatus["lost"] == 0 {
		t.Errorf("no answer was lost; the test did not exercise what it is for: %v", st.ByStatus)
	}
}

// A changed teammate on an existing customer goes through
// bulk/assign-to-teammate, grouped by teammate, and nothing else.
func TestTeammateChangeUsesBulkAssign(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	newSinkFor := func() pipeline.Sink {
		s, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: a.srv.APIKey, PollInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	chs := records(2000, 60)
	requireCreatedOnce(t, a, chs, applyAll(t, newSinkFor(), chs))

	target := tamiotest.DefaultTeammates()[2].ID
	moved := 0
	for i := range chs {
		if chs[i].Record.Values[9] != target {
			chs[i].Record.Values[9] = target
			moved++
		}
	}
	before := a.srv.Stats()
	res := applyAll(t, newSinkFor(), chs)
	after := a.srv.Stats()
	updated := 0
	for i, r := range res {
		switch r.Outcome {
		case pipeline.OutcomeUpdated:
			updated++
			if got, _ := a.Get(t, r.ID); got["teammate_id"] != target {
				t.Errorf("change %d: teammate %q, want %q", i, got["teammate_id"], target)
			}
		case pipeline.OutcomeUnchanged:
		default:
			t.Errorf("change %d: %v %v", i, r.Outcome, r.Reject)
		}
	}
	if updated != moved {
		t.Errorf("%d updated, %d moved to another teammate", updated, moved)
	}
	assigns := after.Requests["POST /customers/bulk/assign-to-teammate"]["200"] - before.Requests["POST /customers/bulk/assign-to-teammate"]["200"]
	if want := int64((moved + 49) / 50); assigns != want {
		t.Errorf("%d bulk assign calls for %d moved customers to one teammate, want %d", assigns, moved, want)
	}
	if n := after.Requests["POST /customers/update/{uuid}"]["200"] - before.Requests["POST /customers/update/{uuid}"]["200"]; n != 0 {
		t.Errorf("%d single updates for a teammate-only change, want 0", n)
	}
}
