package cli_test

// Tests of `crmsync erase`, over real HTTP against the tamio emulator,
// with a real sync state file and real erasure logs.

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/gdpr"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
	"crmsync/state"
)

func eraseArgs(target, subjects, out string, extra ...string) []string {
	return append([]string{"erase", "--api", "tamio", "--target", target, "--subjects", subjects, "--out", out, "--api-key-env", keyEnv}, extra...)
}

// seedState records people in a new state file at path as a sync that
// created them would: keyed by email, with their CRM ids.
func seedState(t *testing.T, path string, people []tamio.Customer) {
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
			Fields: map[string]string{"email": p.Email, "name": p.Name}}
	}
	if err := st.Commit(ctx, outs); err != nil {
		t.Fatal(err)
	}
}

// stateHolds returns the CRM ids the state holds for people, by email.
func stateHolds(t *testing.T, path string, people []tamio.Customer) map[string]string {
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
		if e.CRMID != "" {
			out[k] = e.CRMID
		}
	}
	return out
}

// crmIDs returns the ids of every customer the emulator holds.
func crmIDs(t *testing.T, srv *tamiotest.Server) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, c := range crmCustomers(t, srv) {
		ids[c.ID] = true
	}
	return ids
}

// erasureRows reads an erasure log (or dry-run plan) as maps by column.
func erasureRows(t *testing.T, path string) []map[string]string {
	t.Helper()
	recs := readCSVFile(t, path)
	if !slices.Equal(recs[0], gdpr.ErasureColumns) {
		t.Fatalf("%s has header %q", path, recs[0])
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// outcomes counts rows by outcome, for the rows of run (all when "").
func outcomes(rows []map[string]string, run string) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		if run == "" || r["run"] == run {
			n[r["outcome"]]++
		}
	}
	return n
}

func bulkDeletes(t *testing.T, srv *tamiotest.Server) int64 {
	t.Helper()
	return writeCalls(sandboxStats(t, srv))["POST /customers/bulk/delete"]
}

// TestEraseExactlyTheSubjects erases 20 of 60 customers named by id, by
// email or by both, with a sync state holding all 60; then erases them
// again, which does nothing and says so; then exports them, finding
// nobody.
func TestEraseExactlyTheSubjects(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "erase", 60)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.db")
	seedState(t, statePath, people)

	var rows [][]string
	var erased, kept []tamio.Customer
	for i, p := range people {
		if i%3 != 0 {
			kept = append(kept, p)
			continue
		}
		erased = append(erased, p)
		switch i % 4 {
		case 0:
			rows = append(rows, []string{"", p.ID})
		case 1:
			rows = append(rows, []string{strings.ToUpper(p.Email), ""})
		case 2:
			rows = append(rows, []string{p.Email, p.ID})
		default:
			rows = append(rows, []string{p.Email, ""})
		}
	}
	rows = append(rows, []string{"", erased[0].ID}, []string{erased[0].Email, ""}, // named twice more
		[]string{"never.held@example.org", ""}, []string{"", "11111111-2222-4333-8444-555555555555"})
	subjects := writeSubjects(t, filepath.Join(dir, "erase.csv"), []string{"email", "id"}, rows...)
	out := filepath.Join(dir, "erasures")

	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, out, "--state", statePath)...); code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	want := map[string]bool{}
	for _, p := range kept {
		want[p.ID] = true
	}
	if got := crmIDs(t, srv); !maps.Equal(got, want) {
		t.Errorf("the CRM holds %d customers after the erase; want exactly the %d not named", len(got), len(want))
	}
	if n := bulkDeletes(t, srv); n != 1 {
		t.Errorf("%d bulk deletes for 20 customers, want 1", n)
	}
	held := stateHolds(t, statePath, people)
	for _, p := range erased {
		if _, ok := held[p.Email]; ok {
			t.Errorf("the state still holds erased customer %s", p.ID)
		}
	}
	for _, p := range kept {
		if held[p.Email] != p.ID {
			t.Errorf("the state lost customer %s, who was not named", p.ID)
		}
	}

	logPath := filepath.Join(out, "erasure-log.csv")
	checkPrivate(t, out)
	data, _ := os.ReadFile(logPath)
	for _, p := range people {
		if strings.Contains(string(data), p.Email) || strings.Contains(string(data), p.LastName) {
			t.Fatalf("the erasure log holds personal data of %s", p.ID)
		}
	}
	log := erasureRows(t, logPath)
	if n := outcomes(log, ""); n[gdpr.OutcomeDeleting] != 20 || n[gdpr.OutcomeDeleted] != 20 || n[gdpr.OutcomeNotFound] != 2 || len(log) != 42 {
		t.Errorf("first run's log: %v in %d rows", n, len(log))
	}
	byID := map[string]map[string]string{}
	for _, r := range log {
		if r["outcome"] == gdpr.OutcomeDeleted {
			byID[r["crm_id"]] = r
		}
	}
	for _, p := range erased {
		r := byID[p.ID]
		if r == nil || r["email_sha256"] != gdpr.EmailHash(p.Email) {
			t.Errorf("log row of %s: %v", p.ID, r)
		}
		if ts, err := time.Parse(time.RFC3339Nano, r["time"]); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("log row of %s has time %q", p.ID, r["time"])
		}
	}

	// Again: nothing to delete, and the log says why.
	r := runBinary(t, srv.APIKey, eraseArgs(srv.URL, subjects, out, "--state", statePath)...)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "nothing to erase") {
		t.Errorf("second erase: exit %d, stdout %q", r.code, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "@example.org") {
		t.Errorf("the second erase printed an email:\n%s%s", r.stdout, r.stderr)
	}
	if n := bulkDeletes(t, srv); n != 1 {
		t.Errorf("the second erase sent bulk deletes (%d in all)", n)
	}
	log = erasureRows(t, logPath)
	second := log[len(log)-1]["run"]
	if n := outcomes(log, second); n[gdpr.OutcomeAlreadyAbsent] != 21 || n[gdpr.OutcomeNotFound] != 2 || len(n) != 2 {
		t.Errorf("second run's log: %v", n)
	}
	if got := crmIDs(t, srv); !maps.Equal(got, want) {
		t.Error("the second erase changed the CRM")
	}

	// A later export of the same subjects finds none of them.
	exp := filepath.Join(dir, "export")
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, exp, "--subjects", subjects)...); code != cli.ExitOK {
		t.Fatalf("export: exit %d", code)
	}
	m, files := readManifest(t, exp)
	if m.Counts.Exported != 0 || m.Counts.NotFound != int64(m.Counts.Subjects) || len(files) != 2 {
		t.Errorf("export after the erase: %+v", m.Counts)
	}
	if nf := readCSVFile(t, filepath.Join(exp, "not_found.csv")); len(nf)-1 != m.Counts.Subjects {
		t.Errorf("not_found.csv has %d rows for %d subjects", len(nf)-1, m.Counts.Subjects)
	}
}

// TestEraseUnderFaults erases 150 of 200 customers (three bulk bodies)
// while the emulator fails requests, drops connections and loses the
// answers of deletes it applied.
func TestEraseUnderFaults(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "faults", 200)
	dir := t.TempDir()
	var rows [][]string
	want := map[string]bool{}
	for i, p := range people {
		if i%4 == 3 {
			want[p.ID] = true
			continue
		}
		if i%2 == 0 {
			rows = append(rows, []string{p.Email, ""})
		} else {
			rows = append(rows, []string{"", p.ID})
		}
	}
	subjects := writeSubjects(t, filepath.Join(dir, "erase.csv"), []string{"email", "id"}, rows...)
	srv.SetFaults(tamiotest.Faults{Seed: 11, ErrorRate: 0.1, DropRate: 0.05, LostAnswerRate: 0.3})
	out := filepath.Join(dir, "out")
	code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, out, "--max-delete", "150")...)
	srv.SetFaults(tamiotest.Faults{})
	if code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	if got := crmIDs(t, srv); !maps.Equal(got, want) {
		t.Errorf("the CRM holds %d customers; want exactly the %d not named", len(got), len(want))
	}
	st := sandboxStats(t, srv)
	if st.ByStatus["lost"] == 0 || st.ByStatus["dropped"] == 0 {
		t.Errorf("no answers lost or connections dropped: %v", st.ByStatus)
	}
	if n := outcomes(erasureRows(t, filepath.Join(out, "erasure-log.csv")), ""); n[gdpr.OutcomeDeleted] != 150 || n[gdpr.OutcomeFailed] != 0 {
		t.Errorf("log outcomes %v; want 150 deleted", n)
	}
}

// TestEraseGuards checks --max-delete (given and default) and --dry-run:
// neither deletes anything.
func TestEraseGuards(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "guard", 101)
	dir := t.TempDir()
	var all [][]string
	for _, p := range people {
		all = append(all, []string{p.Email})
	}
	five := writeSubjects(t, filepath.Join(dir, "five.csv"), []string{"email"}, all[:5]...)
	many := writeSubjects(t, filepath.Join(dir, "many.csv"), []string{"email"}, all...)
	out := filepath.Join(dir, "out")

	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, five, out, "--max-delete", "4")...); code != cli.ExitAborted {
		t.Errorf("5 over --max-delete 4: exit %d, want %d", code, cli.ExitAborted)
	}
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, many, out)...); code != cli.ExitAborted {
		t.Errorf("101 over the default --max-delete: exit %d, want %d", code, cli.ExitAborted)
	}
	r := runBinary(t, srv.APIKey, eraseArgs(srv.URL, five, out, "--max-delete", "4", "--dry-run")...)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "would delete 5 customers") || !strings.Contains(r.stdout, "--max-delete 5") {
		t.Errorf("dry run: exit %d, stdout %q", r.code, r.stdout)
	}
	if n := bulkDeletes(t, srv); n != 0 {
		t.Errorf("%d bulk deletes", n)
	}
	if n := len(crmIDs(t, srv)); n != 101 {
		t.Errorf("the CRM holds %d customers, want 101", n)
	}
	if _, err := os.Stat(filepath.Join(out, "erasure-log.csv")); !os.IsNotExist(err) {
		t.Errorf("refused and dry runs wrote an erasure log (%v)", err)
	}
	plan := erasureRows(t, filepath.Join(out, "erasure-dry-run.csv"))
	if n := outcomes(plan, ""); n[gdpr.OutcomeWouldDelete] != 5 || len(plan) != 5 {
		t.Errorf("dry-run plan: %v", n)
	}
	for i, row := range plan {
		if row["crm_id"] != people[i].ID || row["email_sha256"] != gdpr.EmailHash(people[i].Email) {
			t.Errorf("plan row %d: %v", i, row)
		}
	}
	checkPrivate(t, out)

	// Raised, it goes ahead.
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, many, out, "--max-delete", "101")...); code != cli.ExitOK {
		t.Errorf("--max-delete 101: exit %d", code)
	}
	if n := len(crmIDs(t, srv)); n != 0 {
		t.Errorf("the CRM holds %d customers, want none", n)
	}
}

// TestEraseKilledAndRerun interrupts an erase run during the lookups
// (SIGINT: exit 130), and kills runs with SIGKILL right after a bulk body's "deleting" rows reached the log (so,
// most likely, while its delete is on its way), and between two bulk
// bodies, with a sync state and slow answers; then runs it to the end.
// The subjects are gone from the CRM and the state, the others are not,
// and the last run accounts for every subject: deleted, or already_absent
// when a killed run deleted it.
func TestEraseKilledAndRerun(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "kill", 90)
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.db")
	seedState(t, statePath, people)
	subjectsOf, kept := people[:70], people[70:]
	var rows [][]string
	for _, p := range subjectsOf {
		rows = append(rows, []string{p.Email})
	}
	subjects := writeSubjects(t, filepath.Join(dir, "erase.csv"), []string{"email"}, rows...)
	out := filepath.Join(dir, "out")
	logPath := filepath.Join(out, "erasure-log.csv")
	srv.SetFaults(tamiotest.Faults{Latency: 40 * time.Millisecond})
	args := eraseArgs(srv.URL, subjects, out, "--state", statePath, "--concurrency", "8")
	count := func(outcome string) int {
		data, _ := os.ReadFile(logPath)
		return strings.Count(string(data), ","+outcome+"\n")
	}
	kills := []struct {
		name string
		sig  os.Signal
		when func(started time.Time) bool
	}{
		// --out appears once the run is under way, after Main has set up
		// its signal handling: an earlier SIGINT would find Go's default.
		{"during the lookups", os.Interrupt, func(started time.Time) bool {
			_, err := os.Stat(out)
			return err == nil && time.Since(started) > 300*time.Millisecond
		}},
		{"after the first body's deleting rows", os.Kill, func(time.Time) bool { return count(gdpr.OutcomeDeleting) >= 50 }},
		{"after the first body's deleted rows", os.Kill, func(time.Time) bool { return count(gdpr.OutcomeDeleted) >= 50 }},
	}
kill:
	for _, k := range kills {
		started := time.Now()
		cmd, _, stderr := startBinary(t, srv.APIKey, args...)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
	poll:
		for !k.when(started) {
			select {
			case <-exited:
				// Possible when an earlier kill came after its delete
				// reached the CRM: fewer deletes are left than awaited.
				t.Logf("killing %s: the run ended first:\n%s", k.name, stderr)
				continue kill
			case <-time.After(time.Millisecond):
			}
			if time.Since(started) > time.Minute {
				break poll
			}
		}
		_ = cmd.Process.Signal(k.sig)
		<-exited
		if code := cmd.ProcessState.ExitCode(); k.sig == os.Interrupt && code != cli.ExitInterrupted {
			t.Errorf("interrupted %s: exit %d, want %d\n%s", k.name, code, cli.ExitInterrupted, stderr)
		}
		t.Logf("stopped %s (%v) after %s", k.name, k.sig, time.Since(started).Round(time.Millisecond))
	}
	srv.SetFaults(tamiotest.Faults{})
	r := runBinary(t, srv.APIKey, args...)
	if r.code != cli.ExitOK {
		t.Fatalf("the run after the kills: exit %d\n%s", r.code, r.stderr)
	}
	want := map[string]bool{}
	for _, p := range kept {
		want[p.ID] = true
	}
	if got := crmIDs(t, srv); !maps.Equal(got, want) {
		t.Errorf("the CRM holds %d customers; want exactly the %d not named", len(got), len(want))
	}
	held := stateHolds(t, statePath, people)
	if len(held) != len(kept) {
		t.Errorf("the state holds %d customers, want %d", len(held), len(kept))
	}
	for _, p := range kept {
		if held[p.Email] != p.ID {
			t.Errorf("the state lost %s", p.ID)
		}
	}
	log := erasureRows(t, filepath.Join(out, "erasure-log.csv"))
	last := log[len(log)-1]["run"]
	n := outcomes(log, last)
	if n[gdpr.OutcomeDeleted]+n[gdpr.OutcomeAlreadyAbsent] != 70 || n[gdpr.OutcomeNotFound] != 0 || n[gdpr.OutcomeFailed] != 0 {
		t.Errorf("the last run's outcomes: %v; want 70 deleted or already absent", n)
	}
	t.Logf("the last run: %v; all runs: %v", n, outcomes(log, ""))
}

// TestEraseUsageErrors checks that bad flags exit 2 before the CRM is
// called.
func TestEraseUsageErrors(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	dir := t.TempDir()
	good := writeSubjects(t, filepath.Join(dir, "good.csv"), []string{"id"}, []string{"11111111-2222-4333-8444-555555555555"})
	bad := writeSubjects(t, filepath.Join(dir, "bad.csv"), []string{"name"}, []string{"Ada"})
	out := filepath.Join(dir, "out")
	cases := map[string][]string{
		"missing --subjects":           {"erase", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv, "--out", out},
		"missing --out":                {"erase", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv, "--subjects", good},
		"a --state that is not there":  eraseArgs(srv.URL, good, out, "--state", filepath.Join(dir, "nope.db")),
		"negative --max-delete":        eraseArgs(srv.URL, good, out, "--max-delete", "-1"),
		"subjects without email or id": eraseArgs(srv.URL, bad, out),
		"missing --target":             {"erase", "--api", "tamio", "--subjects", good, "--out", out},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			if code := runMain(t, srv.APIKey, args...); code != cli.ExitUsage {
				t.Errorf("exit %d, want %d", code, cli.ExitUsage)
			}
		})
	}
	if st := sandboxStats(t, srv); st.TotalRequests != 0 {
		t.Errorf("usage errors made %d requests", st.TotalRequests)
	}
	if _, err := os.Stat(filepath.Join(dir, "nope.db")); !os.IsNotExist(err) {
		t.Error("a missing --state file was created")
	}
}
