package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// TestUnchangedBySource follows nightly runs in which the rows stay the
// same: they are recognised from the source alone, unmapped, until
// something they map through changes (here a lookup table), which makes
// the next run map every row again and send what the change implies. A
// new row repeating the email of a row taken unmapped is still caught.
func TestUnchangedBySource(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	day, rows := generate(t, dir, "day.csv", fixtures.Options{Rows: 600, Seed: 11})
	out := func(n string) string { return filepath.Join(dir, n) }

	s1 := syncState(t, srv.APIKey, day, mapping, srv.URL, out("out1"), statePath, cli.ExitOK)
	if s1.Rows.Created != int64(len(rows)-1) || s1.Rows.UnchangedBySource != 0 {
		t.Fatalf("first run: %+v", s1.Rows)
	}
	before := writeCalls(sandboxStats(t, srv))
	s2 := syncState(t, srv.APIKey, day, mapping, srv.URL, out("out2"), statePath, cli.ExitOK)
	if s2.Rows.Unchanged != s1.Rows.Created || s2.Rows.UnchangedBySource != s2.Rows.Unchanged {
		t.Errorf("second run: %+v; want every row unchanged, recognised by its source", s2.Rows)
	}
	if after := writeCalls(sandboxStats(t, srv)); !mapsEqual(before, after) {
		t.Errorf("the second run wrote: calls before %v, after %v", before, after)
	}

	// Two account owners swap teammates in the lookup table: the rows are
	// the same, what they map to is not.
	teammates := filepath.Join(dir, "teammates.csv")
	data, err := os.ReadFile(teammates)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	id := func(line string) string { return strings.Split(line, ",")[1] }
	a, b := id(lines[1]), id(lines[2])
	lines[1] = strings.Replace(lines[1], a, b, 1)
	lines[2] = strings.Replace(lines[2], b, a, 1)
	if err := os.WriteFile(teammates, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	owners := map[string]bool{strings.Split(lines[1], ",")[0]: true, strings.Split(lines[2], ",")[0]: true}
	owned := 0
	for _, r := range rows[1:] {
		if owners[strings.ToLower(r[5])] {
			owned++
		}
	}
	if owned == 0 {
		t.Fatal("no generated row belongs to the swapped owners")
	}
	s3 := syncState(t, srv.APIKey, day, mapping, srv.URL, out("out3"), statePath, cli.ExitOK)
	if s3.Rows.UnchangedBySource != 0 || s3.Rows.Updated != int64(owned) {
		t.Errorf("after the lookup table changed: %+v; want %d updated and no row taken unmapped", s3.Rows, owned)
	}
	s4 := syncState(t, srv.APIKey, day, mapping, srv.URL, out("out4"), statePath, cli.ExitOK)
	if s4.Rows.UnchangedBySource != s4.Rows.Unchanged || s4.Rows.Unchanged != s1.Rows.Created {
		t.Errorf("the run after: %+v; want every row recognised by its source again", s4.Rows)
	}

	// A new key with the email of a row taken unmapped is a second row for
	// one customer.
	extra := append([]string(nil), rows[1]...)
	extra[0] = "NEW-" + extra[0]
	day5 := filepath.Join(dir, "day5.csv")
	writeCSVFile(t, day5, append(rows, extra))
	s5 := syncState(t, srv.APIKey, day5, mapping, srv.URL, out("out5"), statePath, cli.ExitRejects)
	if s5.RejectsByCode["duplicate_email"] != 1 || s5.Rows.UnchangedBySource != s1.Rows.Created || s5.Rows.Created != 0 {
		t.Errorf("a new key repeating an email: %+v, rejects %v", s5.Rows, s5.RejectsByCode)
	}
}
