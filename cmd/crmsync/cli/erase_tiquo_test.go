package cli_test

// Tests of `crmsync erase` against the tiquo emulator: an API that
// deletes one customer per call, with no bulk delete.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/gdpr"
	"crmsync/pipeline"
	"crmsync/sinks/tiquo/tiquotest"
	"crmsync/state"
)

// seedTiquoState records people in a new state file as a sync that
// created them would: keyed by email, with their ids.
func seedTiquoState(t *testing.T, path string, people []tiquoPerson) {
	t.Helper()
	ctx := context.Background()
	st, err := state.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	outs := make([]pipeline.StateOutcome, len(people))
	for i, p := range people {
		outs[i] = pipeline.StateOutcome{Key: p.Email, Outcome: pipeline.OutcomeCreated, CRMID: p.ID, Digest: uint64(i + 1),
			Fields: map[string]string{"email": p.Email}}
	}
	if err := st.Commit(ctx, outs); err != nil {
		t.Fatal(err)
	}
}

// TestEraseTiquoOneByOne erases 30 of 40 tiquo customers, named by email
// (in another case) or by id, with a sync state, while the emulator loses
// the answers of some deletes it applied. tiquo has no bulk delete: every
// customer is deleted by a call of its own, a customer found already
// deleted when its delete is sent again counts as erased, and the log
// records each outcome. A second run finds every subject already absent.
func TestEraseTiquoOneByOne(t *testing.T) {
	t.Parallel()
	srv := newTiquo(t)
	c := tiquoClient(t, srv)
	people := seedTiquo(t, c, "erase", 40)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.db")
	seedTiquoState(t, statePath, people)
	erased, kept := people[:30], people[30:]
	var rows [][]string
	for i, p := range erased {
		if i%2 == 0 {
			rows = append(rows, []string{strings.ToUpper(p.Email), ""})
		} else {
			rows = append(rows, []string{"", p.ID})
		}
	}
	rows = append(rows, []string{"never.held@example.org", ""})
	subjects := writeSubjects(t, filepath.Join(dir, "erase.csv"), []string{"email", "id"}, rows...)
	out := filepath.Join(dir, "out")
	before := srv.Stats()

	srv.SetFaults(tiquotest.Faults{Seed: 5, LostAnswerRate: 0.3})
	code := runMain(t, srv.APIKey, tiquoArgs("erase", srv, "--subjects", subjects, "--out", out, "--state", statePath)...)
	srv.SetFaults(tiquotest.Faults{})
	if code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, p := range erased {
		if _, err := c.Get(context.Background(), p.ID); !errors.Is(err, pipeline.ErrNotFound) {
			t.Errorf("erased customer %s: %v, want not found", p.ID, err)
		}
	}
	for _, p := range kept {
		if _, err := c.Get(context.Background(), p.ID); err != nil {
			t.Errorf("kept customer %s: %v", p.ID, err)
		}
	}
	st := srv.Stats()
	deletes := st.Requests["DELETE /customers/{id}"]
	var writes int64
	for route, byStatus := range st.Requests {
		if strings.HasPrefix(route, "GET ") {
			continue
		}
		for _, n := range byStatus {
			writes += n
		}
		writes -= sum(before.Requests[route])
	}
	t.Logf("deletes by answer: %v", deletes)
	if deletes["lost"] == 0 || deletes["404"] == 0 {
		t.Fatalf("no delete answer was lost and found done on its retry (%v): the test shows nothing of that", deletes)
	}
	if got := deletes["200"] + deletes["204"] + deletes["lost"] + deletes["404"]; got != writes || deletes["200"]+deletes["204"]+deletes["404"] != int64(len(erased)) {
		t.Errorf("writes %d, deletes by answer %v; want one delete call per customer, each answered once", writes, deletes)
	}

	logPath := filepath.Join(out, "erasure-log.csv")
	log := erasureRows(t, logPath)
	if n := outcomes(log, ""); n[gdpr.OutcomeDeleting] != 30 || n[gdpr.OutcomeDeleted] != 30 || n[gdpr.OutcomeNotFound] != 1 || len(log) != 61 {
		t.Errorf("log outcomes %v in %d rows", n, len(log))
	}
	for _, r := range log {
		if r["outcome"] != gdpr.OutcomeDeleted {
			continue
		}
		var p *tiquoPerson
		for i := range erased {
			if erased[i].ID == r["crm_id"] {
				p = &erased[i]
			}
		}
		if p == nil || r["email_sha256"] != gdpr.MatchHash(p.Email, true) {
			t.Errorf("log row %v names no erased customer by its hash", r)
		}
	}
	data, _ := os.ReadFile(logPath)
	if strings.Contains(strings.ToLower(string(data)), "@example.org") {
		t.Error("the erasure log holds an email")
	}
	held := stateHoldsKeys(t, statePath, people)
	for _, p := range erased {
		if held[p.Email] != "" {
			t.Errorf("the state still holds erased customer %s", p.ID)
		}
	}
	for _, p := range kept {
		if held[p.Email] != p.ID {
			t.Errorf("the state lost customer %s, who was not named", p.ID)
		}
	}

	// Again: every subject is already absent, and nothing is deleted.
	r := runBinary(t, srv.APIKey, tiquoArgs("erase", srv, "--subjects", subjects, "--out", out, "--state", statePath)...)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "nothing to erase") {
		t.Errorf("second erase: exit %d, stdout %q", r.code, r.stdout)
	}
	log = erasureRows(t, logPath)
	second := log[len(log)-1]["run"]
	if n := outcomes(log, second); n[gdpr.OutcomeAlreadyAbsent] != 30 || n[gdpr.OutcomeNotFound] != 1 || len(n) != 2 {
		t.Errorf("second run's log: %v", n)
	}
	if n := srv.Stats().Requests["DELETE /customers/{id}"]; sum(n) != sum(deletes) {
		t.Errorf("the second erase sent deletes: %v after %v", n, deletes)
	}
}

// stateHoldsKeys returns the CRM ids the state holds for people, by email.
func stateHoldsKeys(t *testing.T, path string, people []tiquoPerson) map[string]string {
	t.Helper()
	ctx := context.Background()
	st, err := state.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := make([]string, len(people))
	for i, p := range people {
		keys[i] = p.Email
	}
	entries, err := st.Entries(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, e := range entries {
		out[k] = e.CRMID
	}
	return out
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
