package cli_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// verifyArgs are the arguments of crmsync verify against target, quiet,
// with the key in keyEnv; extra flags come last.
func verifyArgs(source, mapping, target, out string, extra ...string) []string {
	return append([]string{"verify", "--source", source, "--mapping", mapping, "--target", target,
		"--out", out, "--api-key-env", keyEnv, "--progress", "none", "--concurrency", "4"}, extra...)
}

// runVerify runs crmsync verify and returns verify.csv's rows, header
// first, after checking the exit status and the file's mode.
func runVerify(t *testing.T, key string, wantCode int, args ...string) ([][]string, binResult) {
	t.Helper()
	res := runBinary(t, key, args...)
	if res.code != wantCode {
		t.Fatalf("crmsync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, wantCode, res.stdout, res.stderr)
	}
	out := args[slices.Index(args, "--out")+1]
	return readVerifyCSV(t, out), res
}

func readVerifyCSV(t *testing.T, out string) [][]string {
	t.Helper()
	path := filepath.Join(out, "verify.csv")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("verify.csv has mode %v; it lists personal data and must be 0600", fi.Mode().Perm())
	}
	rows := readCSVFile(t, path)
	if want := []string{"key", "row", "crm_id", "kind", "field", "expected", "found"}; !slices.Equal(rows[0], want) {
		t.Fatalf("verify.csv header %q, want %q", rows[0], want)
	}
	return rows
}

// tamioClient is a client of the emulator's HTTP API, for the test's own
// changes in the CRM.
func tamioClient(t *testing.T, srv *tamiotest.Server) *tamio.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tamio.NewClient(srv.URL, srv.APIKey, &http.Client{Transport: tr, Timeout: 30 * time.Second}, pipeline.NewPacer(pipeline.PacerOptions{}))
}

// TestVerifyAfterSync syncs a file with a state and verifies it (nothing
// differs), then changes a customer's name and deletes another through
// the emulator's API: verify names both, with the key, the field, the
// value expected and the value found, in verify.csv and report.html, and
// exits 5, with the state and without it (found by email). sync --verify
// ends with the same pass.
func TestVerifyAfterSync(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	source, rows := generate(t, dir, "customers.csv", fixtures.Options{Rows: 300, Seed: 5, BadShare: 0.03})

	s := syncState(t, srv.APIKey, source, mapping, srv.URL, filepath.Join(dir, "sync"), statePath, cli.ExitRejects, "--verify")
	if s.Verify == nil || s.Verify.Checked != s.Rows.Created || s.Verify.Agree != s.Verify.Checked || s.Verify.NotCompared != s.Rows.Rejected {
		t.Fatalf("sync --verify: %+v after %+v; want every customer created checked and agreeing, every reject not compared", s.Verify, s.Rows)
	}
	if diffs := readVerifyCSV(t, filepath.Join(dir, "sync")); len(diffs) != 1 {
		t.Fatalf("sync --verify found differences right after the sync: %q", diffs[1:])
	}

	args := verifyArgs(source, mapping, srv.URL, filepath.Join(dir, "v1"), "--state", statePath)
	diffs, res := runVerify(t, srv.APIKey, cli.ExitOK, args...)
	if len(diffs) != 1 || !strings.Contains(res.stdout, "0 differ, 0 missing") {
		t.Fatalf("verify right after the sync: %q\n%s", diffs[1:], res.stdout)
	}

	// The first two valid customers of the file: one renamed in the CRM,
	// one deleted from it.
	hdr := rows[0]
	keyCol, emailCol := column(t, hdr, "customer_id"), column(t, hdr, "email")
	crm := crmCustomers(t, srv)
	var keys, ids, names []string
	for _, r := range rows[1:] {
		if c, ok := crm[strings.ToLower(strings.TrimSpace(r[emailCol]))]; ok && len(keys) < 2 {
			keys, ids, names = append(keys, r[keyCol]), append(ids, c.ID), append(names, c.Name)
		}
	}
	c := tamioClient(t, srv)
	ctx := context.Background()
	if _, err := c.Update(ctx, ids[0], map[string]any{"name": "=Renamed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BulkDelete(ctx, ids[1:2]); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}

	for _, withState := range []bool{true, false} {
		out := filepath.Join(dir, "v2")
		extra := []string{}
		if withState {
			extra = append(extra, "--state", statePath)
		} else {
			out = filepath.Join(dir, "v3")
		}
		diffs, res = runVerify(t, srv.APIKey, cli.ExitDiffer, verifyArgs(source, mapping, srv.URL, out, extra...)...)
		missingID := ids[1]
		if !withState {
			missingID = "" // found by email: nothing holds it
		}
		// The formula the test wrote comes back escaped, as every CSV
		// crmsync writes.
		want := [][]string{
			{keys[0], ids[0], "value", "name", names[0], "'=Renamed"},
			{keys[1], missingID, "missing", "email"},
		}
		var got [][]string
		for _, d := range diffs[1:] {
			// key, crm_id, kind, field, expected, found
			got = append(got, []string{d[0], d[2], d[3], d[4], d[5], d[6]})
		}
		if len(got) != 2 {
			t.Fatalf("state %v: verify.csv lists %q, want the renamed and the deleted customer", withState, diffs[1:])
		}
		slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[2], b[2]) }) // missing before value
		if g := got[1]; !slices.Equal(g, want[0]) {
			t.Errorf("state %v: the renamed customer's line is %q, want %q", withState, g, want[0])
		}
		if g := got[0]; !slices.Equal(g[:4], want[1]) || g[4] == "" || g[5] != "" {
			t.Errorf("state %v: the deleted customer's line is %q, want %q and its email", withState, g, want[1])
		}
		if !strings.Contains(res.stdout, "1 differ, 1 missing") {
			t.Errorf("state %v: stdout does not give the counts:\n%s", withState, res.stdout)
		}
		page, err := os.ReadFile(filepath.Join(out, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{keys[0], keys[1], "=Renamed", names[0], "2 customers differ"} {
			if !strings.Contains(string(page), s) {
				t.Errorf("state %v: report.html does not show %q", withState, s)
			}
		}
		if strings.Contains(res.stderr, "Renamed") || strings.Contains(res.stderr, keys[0]) {
			t.Errorf("state %v: the log holds a customer's data:\n%s", withState, res.stderr)
		}
	}

	// The sync's own pass catches it too: the state says nothing changed
	// in the source, so nothing is written, and the CRM still differs.
	res = runBinary(t, srv.APIKey, syncArgs(source, mapping, srv.URL, filepath.Join(dir, "sync2"), "--state", statePath, "--verify")...)
	if res.code != cli.ExitDiffer {
		t.Fatalf("sync --verify over a CRM changed since: exit %d, want %d\n%s\n%s", res.code, cli.ExitDiffer, res.stdout, res.stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "sync2")); s.Verify == nil || s.Verify.Differ != 1 || s.Verify.Missing != 1 || s.Status != "differs" {
		t.Errorf("sync --verify summary: status %s, %+v; want 1 differing, 1 missing", s.Status, s.Verify)
	}
}

// TestVerifyFlags: --verify is refused where it cannot run, and a file
// source is not verified unless asked.
func TestVerifyFlags(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "customers.csv", fixtures.Options{Rows: 20, Seed: 9})
	for _, extra := range [][]string{{"--verify", "--dry-run"}, {"--verify=true", "--dry-run"}} {
		if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, filepath.Join(dir, "out"), extra...)...); code != cli.ExitUsage {
			t.Errorf("sync %v: exit %d, want %d", extra, code, cli.ExitUsage)
		}
	}
	if code := runMain(t, srv.APIKey, syncArgs("-", mapping, srv.URL, filepath.Join(dir, "out"), "--verify")...); code != cli.ExitUsage {
		t.Errorf("sync --verify of standard input: exit %d, want %d", code, cli.ExitUsage)
	}
	if code := runMain(t, srv.APIKey, verifyArgs(source, mapping, srv.URL, filepath.Join(dir, "v"), "--state", filepath.Join(dir, "none.db"))...); code != cli.ExitUsage {
		t.Errorf("verify with a state that does not exist: exit %d, want %d", code, cli.ExitUsage)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Errorf("verify made a state file")
	}
	out := filepath.Join(dir, "plain")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out)...); code != cli.ExitOK {
		t.Fatalf("sync: exit %d", code)
	}
	if s := readSummary(t, out); s.Verify != nil {
		t.Errorf("a file source was verified without --verify: %+v", s.Verify)
	}
	if _, err := os.Stat(filepath.Join(out, "verify.csv")); err == nil {
		t.Errorf("a sync without --verify wrote verify.csv")
	}
}

// TestVerifyMigrationFromSandbox migrates a sandbox's customers into
// another API's sandbox: a CRM source is verified without being asked,
// read a second time through the sandbox the sync started (a second
// sandbox on its file is refused), and crmsync verify agrees.
func TestVerifyMigrationFromSandbox(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sandbox-<api>.db")
	data, err := os.ReadFile(sample("customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// The header and the first 40 rows.
	source := filepath.Join(dir, "customers.csv")
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(source, []byte(strings.Join(lines[:41], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	mapping := mappingIn(t, dir)
	if code := runMain(t, "", "sync", "--source", source, "--mapping", mapping, "--target", "sandbox:tamio",
		"--sandbox-db", db, "--out", filepath.Join(dir, "seed"), "--progress", "none"); code != cli.ExitOK && code != cli.ExitRejects {
		t.Fatalf("filling the tamio sandbox: exit %d", code)
	}
	seeded := readSummary(t, filepath.Join(dir, "seed")).Rows.Created
	migration := sample(filepath.Join("migrate", "tamio-to-tiquo.yaml"))
	out := filepath.Join(dir, "migrate")
	if code := runMain(t, "", "sync", "--source", "sandbox:tamio", "--mapping", migration, "--target", "sandbox:tiquo",
		"--sandbox-db", db, "--state", filepath.Join(dir, "state.db"), "--out", out, "--progress", "none"); code != cli.ExitOK {
		t.Fatalf("migration: exit %d", code)
	}
	s := readSummary(t, out)
	if s.Verify == nil || s.Verify.Checked != seeded || s.Verify.Agree != seeded || seeded == 0 {
		t.Fatalf("the migration's verification: %+v after %+v; want the %d customers checked, all agreeing", s.Verify, s.Rows, seeded)
	}
	if code := runMain(t, "", "verify", "--source", "sandbox:tamio", "--mapping", migration, "--target", "sandbox:tiquo",
		"--sandbox-db", db, "--out", filepath.Join(dir, "verify"), "--progress", "none"); code != cli.ExitOK {
		t.Errorf("crmsync verify without a state, after the migration: exit %d; %q", code, readVerifyCSV(t, filepath.Join(dir, "verify")))
	}
}
