package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/internal/fixtures"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// binary is the crmsync command TestMain builds.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmsync-chaos-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crmsync")
	// Without -race even when the test has it: the chaos kills the
	// binary's runs, and a race-enabled binary only makes each slower.
	cmd := exec.Command("go", "build", "-o", binary, "crmsync/cmd/crmsync")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building crmsync:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sampleMapping(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "samples", "customers.tamio.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logWriter sends the chaos's lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestChaosShort is `make chaos` made small: 2,000 rows, a first load and
// a day of changes, at least four SIGKILLs under the same faults.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reruns crmsync for most of a minute")
	}
	t.Parallel()
	started := time.Now()
	cfg := Config{Bin: binary, Mapping: sampleMapping(t), Dir: t.TempDir(), Rows: 2000, Kills: 4, Seed: 7,
		// Fewer changes than make chaos: every 503 and 429 pauses a run
		// for its Retry-After, so a day's length goes with its calls; and
		// the bucket emptied at the start of half the runs, not all.
		ChangeShare: 0.02, FirstDrains: 0.5, Log: logWriter{t}}
	rep, err := Run(context.Background(), cfg)
	if rep != nil {
		var b strings.Builder
		rep.Print(&b)
		t.Log(b.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("the chaos run found differences or problems; see the table above")
	}
	if k := rep.Kills(); k < cfg.Kills {
		t.Errorf("%d kills, want at least %d", k, cfg.Kills)
	}
	if len(rep.Days) < 2 || rep.Days[len(rep.Days)-1].Kills == 0 {
		t.Errorf("no day of updates was killed: %d days", len(rep.Days))
	}
	if rep.Total.Valid < 1800 || rep.Total.Invalid == 0 || rep.Total.InCRM != rep.Total.Valid {
		t.Errorf("checked %d valid and %d invalid rows against %d customers; the check had too little to check",
			rep.Total.Valid, rep.Total.Invalid, rep.Total.InCRM)
	}
	t.Logf("took %s", time.Since(started).Round(time.Millisecond))
}

// TestCheckFindsDifferences tampers with the CRM, the reject file and the
// state after a clean sync, one thing of each kind, and expects the check
// to count each exactly once.
func TestCheckFindsDifferences(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: filepath.Join(dir, "crm.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	mapping := sampleMapping(t)
	d, err := firstDay(filepath.Join(dir, "day1.csv"), 300, 5, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	statePath, out := filepath.Join(dir, "state.db"), filepath.Join(dir, "out")
	cmd := exec.Command(binary, "sync", "--source", d.path, "--mapping", mapping, "--target", srv.URL,
		"--api-key-env", keyEnv, "--state", statePath, "--out", out, "--progress", "none")
	cmd.Env = append(os.Environ(), keyEnv+"="+srv.APIKey)
	if b, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("sync: %v\n%s", err, b)
	}
	// The first row's key had another email on an earlier day.
	former := "former.address@example.com"
	exp, err := expect(mapping, fixtures.Columns, d.rows, map[string]string{former: d.rows[0].values[colKey]})
	if err != nil {
		t.Fatal(err)
	}
	clean, err := check(ctx, srv, srv.APIKey, filepath.Join(out, "rejects.csv"), statePath, exp)
	if err != nil {
		t.Fatal(err)
	}
	if clean.differences() != 0 || clean.Valid == 0 || clean.Invalid == 0 {
		t.Fatalf("a clean sync: %d differences (%q), %d valid, %d invalid", clean.differences(), clean.Examples, clean.Valid, clean.Invalid)
	}

	c := tamio.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	crm, err := listCRM(ctx, srv.URL, srv.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	// One customer edited, one deleted (lost, and its state link now
	// points nowhere), one that no row has, and one under the first row's
	// former email: that row twice.
	edited, deleted := crm[0], crm[1]
	if _, err := c.Update(ctx, edited.ID, map[string]any{"name": edited.Name, "last_name": "Tampered"}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/customers/"+deleted.ID, nil)
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deleting %s: %s", deleted.ID, resp.Status)
	}
	for _, email := range []string{"stranger@example.com", former} {
		if _, err := c.Create(ctx, map[string]any{"email": email, "name": "Someone", "country": "de"}); err != nil {
			t.Fatal(err)
		}
	}
	// The reject file loses its first row and lists its second twice.
	rejects := filepath.Join(out, "rejects.csv")
	data, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(rejects, []byte(lines[0]+strings.Join(lines[2:], "")+lines[2]), 0o600); err != nil {
		t.Fatal(err)
	}

	f, err := check(ctx, srv, srv.APIKey, rejects, statePath, exp)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]int{f.Duplicates, f.Lost, f.Wrong, f.Extra, f.RejectsMissing, f.RejectsExtra, f.State}
	if want := [...]int{1, 1, 1, 1, 1, 1, 1}; got != want {
		t.Errorf("duplicates, lost, wrong, extra, rejects missing, rejects extra, state = %v, want %v\n%s", got, want, strings.Join(f.Examples, "\n"))
	}
}
