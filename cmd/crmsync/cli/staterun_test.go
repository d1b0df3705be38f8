package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
	"crmsync/state"
)

// TestFailedRunIsRecorded runs syncs that fail after the state recorded
// their start, on an --out where a file cannot be written (a directory
// holds its name: a read-only folder stops no root user): each is
// recorded in the state's runs table as failed, with the time it ended,
// and never left running.
func TestFailedRunIsRecorded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 20, Seed: 20})
	srv := newCRM(t, tamiotest.Options{})
	for _, blocked := range []string{"diff.csv", "rejects.csv"} {
		t.Run(blocked, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			if err := os.MkdirAll(filepath.Join(out, blocked), 0o700); err != nil {
				t.Fatal(err)
			}
			statePath := filepath.Join(t.TempDir(), "state.db")
			args := syncArgs(source, mapping, srv.URL, out, "--state", statePath)
			res := runBinary(t, srv.APIKey, args...)
			if res.code != cli.ExitFatal {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", res.code, cli.ExitFatal, res.stderr)
			}
			st, err := state.Open(context.Background(), statePath)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			runs, err := st.History(context.Background(), math.MaxInt64, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || runs[0].Status != "failed" || runs[0].FinishedAt.IsZero() {
				t.Fatalf("runs %+v; want one, failed, with a finished_at", runs)
			}
		})
	}
}

// TestSyncRefusesAnotherApplicationsDatabase gives --state the database
// of another application: the sync stops at once (exit 1) with an error
// naming the file, which is left byte for byte as it was.
func TestSyncRefusesAnotherApplicationsDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 5, Seed: 21})
	srv := newCRM(t, tamiotest.Options{})
	other := filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)`, `INSERT INTO invoices(total) VALUES (42)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	before, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	res := runBinary(t, srv.APIKey, syncArgs(source, mapping, srv.URL, filepath.Join(dir, "out"), "--state", other)...)
	if res.code != cli.ExitFatal || !strings.Contains(res.stderr, other) {
		t.Fatalf("exit %d, want %d with an error naming %s; stderr:\n%s", res.code, cli.ExitFatal, other, res.stderr)
	}
	after, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("%s was changed", other)
	}
	if n := len(crmCustomers(t, srv)); n != 0 {
		t.Errorf("the CRM holds %d customers: the refused run wrote", n)
	}
}
