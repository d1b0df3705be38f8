package cli_test

// What sync, export and erase do to the directory given as --out: replace
// only what crmsync wrote there, one run at a time, never write through a
// link, and escape every CSV cell a spreadsheet would run. Over real HTTP
// against the tamio emulator, with real files, the binary where the
// message or a second process matters.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/gdpr"
	"crmsync/internal/fixtures"
	"crmsync/internal/outdir"
	"crmsync/sinks/tamio/tamiotest"
)

// writeFiles writes files (slash-separated name → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFilesHold fails unless every file holds its content still.
func checkFilesHold(t *testing.T, what, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(data) != content {
			t.Errorf("%s: %s holds %.80q (%v), want %.80q", what, name, data, err, content)
		}
	}
}

// TestExportReplacesOnlyItsOwnFiles checks that export refuses an --out
// holding files and no export manifest (the folder, which an
// export used to empty), leaving every file in it and calling no API;
// that an export over an earlier one replaces that one's files and
// leaves a file of the user's beside them alone; and that one of the
// user's inside subjects/ makes the next export refuse rather than drop it.
func TestExportReplacesOnlyItsOwnFiles(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	seedPeople(t, srv, "own", 6)

	foreign := t.TempDir()
	mine := map[string]string{"customers.csv": "mine 1", "customers.parquet": "mine 2", "not_found.csv": "mine 3", "subjects/important.txt": "mine 4"}
	writeFiles(t, foreign, mine)
	calls := sandboxStats(t, srv).TotalRequests
	r := runBinary(t, srv.APIKey, exportArgs(srv.URL, foreign, "--all", "--format", "jsonl")...)
	if r.code != cli.ExitUsage {
		t.Errorf("export into a foreign folder: exit %d, want %d; stderr:\n%s", r.code, cli.ExitUsage, r.stderr)
	}
	for _, want := range []string{foreign, "no crmsync export wrote", "new or empty directory"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, r.stderr)
		}
	}
	checkFilesHold(t, "after the refused export", foreign, mine)
	if entries, _ := os.ReadDir(foreign); len(entries) != 4 {
		t.Errorf("the refused export left %d entries in the folder, want the 4 there were", len(entries))
	}
	if n := sandboxStats(t, srv).TotalRequests; n != calls {
		t.Errorf("the refused export made %d API calls", n-calls)
	}

	out := filepath.Join(t.TempDir(), "export")
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--all", "--format", "jsonl")...); code != cli.ExitOK {
		t.Fatalf("first export: exit %d", code)
	}
	notes := map[string]string{"notes.txt": "the user's"}
	writeFiles(t, out, notes)
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--all", "--format", "csv")...); code != cli.ExitOK {
		t.Fatalf("export over an export: exit %d", code)
	}
	checkFilesHold(t, "after the export over an export", out, notes)
	if _, err := os.Stat(filepath.Join(out, "customers.jsonl")); !os.IsNotExist(err) {
		t.Errorf("the earlier export's table survived (%v)", err)
	}
	m, files := readManifestBeside(t, out, "notes.txt")
	if m.Format != "csv" || m.Counts.Exported != 6 || len(files) != 7 {
		t.Errorf("second export: format %s, %d customers, %d files", m.Format, m.Counts.Exported, len(files))
	}

	before, _ := os.ReadFile(filepath.Join(out, gdpr.ManifestName))
	intruder := map[string]string{"subjects/important.txt": "the user's too"}
	writeFiles(t, out, intruder)
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--all")...); code != cli.ExitUsage {
		t.Errorf("an export replacing subjects/ holding a file of the user's: exit %d, want %d", code, cli.ExitUsage)
	}
	checkFilesHold(t, "after the refused export", out, intruder)
	if after, _ := os.ReadFile(filepath.Join(out, gdpr.ManifestName)); !bytes.Equal(after, before) {
		t.Error("the refused export changed the manifest")
	}
}

// readManifestBeside verifies out against its manifest with the given
// files of the user's set aside, and returns the manifest.
func readManifestBeside(t *testing.T, out string, users ...string) (cli.ExportManifest, []gdpr.FileEntry) {
	t.Helper()
	aside := t.TempDir()
	for _, u := range users {
		if err := os.Rename(filepath.Join(out, u), filepath.Join(aside, u)); err != nil {
			t.Fatal(err)
		}
	}
	m, files := readManifest(t, out)
	for _, u := range users {
		if err := os.Rename(filepath.Join(aside, u), filepath.Join(out, u)); err != nil {
			t.Fatal(err)
		}
	}
	return m, files
}

// TestOutLockedOneRunAtATime checks that a second export started while a
// first one writes into the same --out fails at once, naming the first,
// and that the first's export is whole; and that sync and erase on an
// --out another run holds fail the same way, writing and deleting nothing.
func TestOutLockedOneRunAtATime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "lock", 8)

	out := filepath.Join(dir, "export")
	srv.SetFaults(tamiotest.Faults{Latency: 400 * time.Millisecond})
	started := time.Now()
	first, stdout, stderr := startBinary(t, srv.APIKey, exportArgs(srv.URL, out, "--all")...)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(out, ".crmsync-staging-*")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first export made no staging directory in 30 s; stderr:\n%s", stderr)
		}
	}
	second := runBinary(t, srv.APIKey, exportArgs(srv.URL, out, "--all", "--format", "csv")...)
	if second.code != cli.ExitFatal {
		t.Errorf("second export: exit %d, want %d; stderr:\n%s", second.code, cli.ExitFatal, second.stderr)
	}
	for _, want := range []string{"in use by another crmsync run", "pid " + strconv.Itoa(first.Process.Pid), "crmsync export"} {
		if !strings.Contains(second.stderr, want) {
			t.Errorf("the second export's error does not say %q:\n%s", want, second.stderr)
		}
	}
	r := waitBinary(t, first, stdout, stderr, started, time.Minute)
	srv.SetFaults(tamiotest.Faults{})
	if r.code != cli.ExitOK {
		t.Errorf("first export: exit %d; stderr:\n%s", r.code, r.stderr)
	} else if m, files := readManifest(t, out); m.Format != "jsonl" || m.Counts.Exported != 8 || len(files) != 9 {
		t.Errorf("the first export: format %s, %d customers, %d files", m.Format, m.Counts.Exported, len(files))
	}

	// Sync: a complete run, then one while the test holds --out.
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 60, Seed: 5, BadShare: 0.1})
	syncOut := filepath.Join(dir, "sync")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, syncOut)...); code != cli.ExitRejects {
		t.Fatalf("first sync: exit %d", code)
	}
	names := []string{"summary.json", "rejects.csv", "diff.csv", "report.html"}
	was := map[string]string{}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(syncOut, n))
		if err != nil {
			t.Fatal(err)
		}
		was[n] = string(data)
	}
	held, err := outdir.Lock(syncOut, "test")
	if err != nil {
		t.Fatal(err)
	}
	calls := sandboxStats(t, srv).TotalRequests
	r = runBinary(t, srv.APIKey, syncArgs(source, mapping, srv.URL, syncOut)...)
	if r.code != cli.ExitFatal || !strings.Contains(r.stderr, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(r.stderr, "crmsync test") {
		t.Errorf("sync on a held --out: exit %d, want %d and the holder named; stderr:\n%s", r.code, cli.ExitFatal, r.stderr)
	}
	checkFilesHold(t, "after the refused sync", syncOut, was)

	// Erase: nothing deleted, no log.
	subjects := writeSubjects(t, filepath.Join(dir, "erase.csv"), []string{"id"}, []string{people[0].ID})
	eraseOut := filepath.Join(dir, "erase")
	held2, err := outdir.Lock(eraseOut, "test")
	if err != nil {
		t.Fatal(err)
	}
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, eraseOut)...); code != cli.ExitFatal {
		t.Errorf("erase on a held --out: exit %d, want %d", code, cli.ExitFatal)
	}
	if n := sandboxStats(t, srv).TotalRequests; n != calls {
		t.Errorf("runs refused --out made %d API calls", n-calls)
	}
	if _, err := os.Stat(filepath.Join(eraseOut, "erasure-log.csv")); !os.IsNotExist(err) {
		t.Errorf("the refused erase wrote its log (%v)", err)
	}
	held.Unlock()
	held2.Unlock()
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, eraseOut)...); code != cli.ExitOK {
		t.Errorf("erase once --out is free: exit %d", code)
	}
}

// TestOutputFilesNeverThroughLinks checks that links placed in --out
// under the names of sync's files, and of erase's dry-run plan, are
// replaced by new 0600 files, their targets untouched in content and
// mode, and that erase refuses a link in place of its log.
func TestOutputFilesNeverThroughLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 60, Seed: 9, BadShare: 0.1})
	out := filepath.Join(dir, "out")
	victims := filepath.Join(dir, "victims")
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	// A target in the format of the file it stands for (an erasure
	// log's header) would be read as one and written to.
	content := func(name string) string {
		if name == "erasure-log.csv" {
			return strings.Join(gdpr.ErasureColumns, ",") + "\n"
		}
		return "victim " + name
	}
	link := func(out, name string) string {
		t.Helper()
		v := filepath.Join(victims, filepath.Base(out)+"-"+name)
		writeFiles(t, victims, map[string]string{filepath.Base(v): content(name)})
		if err := os.Chmod(v, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(v, filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
		return v
	}
	checkVictim := func(v, name string) {
		t.Helper()
		if fi, err := os.Stat(v); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s's target: %v; want it 0644 as it was", name, modeOf(fi, err))
		}
		if data, _ := os.ReadFile(v); string(data) != content(name) {
			t.Errorf("%s's target now holds %.60q", name, data)
		}
	}
	checkFresh := func(out, name string) {
		t.Helper()
		if fi, err := os.Lstat(filepath.Join(out, name)); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v; want a regular 0600 file", name, modeOf(fi, err))
		}
	}

	names := []string{"rejects.csv", "diff.csv", "summary.json", "report.html"}
	targets := map[string]string{}
	for _, n := range names {
		targets[n] = link(out, n)
	}
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out)...); code != cli.ExitRejects {
		t.Fatalf("sync: exit %d", code)
	}
	for _, n := range names {
		checkVictim(targets[n], n)
		checkFresh(out, n)
	}
	if rej := readCSVFile(t, filepath.Join(out, "rejects.csv")); len(rej) < 2 {
		t.Errorf("rejects.csv holds %d rows; the source has bad ones", len(rej))
	}

	pq := filepath.Join(dir, "in.parquet")
	if _, err := fixtures.WriteParquet(pq, fixtures.Options{Rows: 60, Seed: 9, BadShare: 0.1}, 64); err != nil {
		t.Fatal(err)
	}
	pqOut := filepath.Join(dir, "pq")
	os.MkdirAll(pqOut, 0o700)
	pqTarget := link(pqOut, "rejects.parquet")
	if code := runMain(t, srv.APIKey, syncArgs(pq, mapping, srv.URL, pqOut)...); code != cli.ExitRejects {
		t.Fatalf("sync from Parquet: exit %d", code)
	}
	checkVictim(pqTarget, "rejects.parquet")
	checkFresh(pqOut, "rejects.parquet")

	people := seedPeople(t, srv, "links", 2)
	subjects := writeSubjects(t, filepath.Join(dir, "erase.csv"), []string{"id"}, []string{people[0].ID})
	eraseOut := filepath.Join(dir, "erase")
	os.MkdirAll(eraseOut, 0o700)
	plan := link(eraseOut, "erasure-dry-run.csv")
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, eraseOut, "--dry-run")...); code != cli.ExitOK {
		t.Fatalf("erase --dry-run: exit %d", code)
	}
	checkVictim(plan, "erasure-dry-run.csv")
	checkFresh(eraseOut, "erasure-dry-run.csv")
	logTarget := link(eraseOut, "erasure-log.csv")
	r := runBinary(t, srv.APIKey, eraseArgs(srv.URL, subjects, eraseOut)...)
	if r.code != cli.ExitFatal || !strings.Contains(r.stderr, "symbolic link") {
		t.Errorf("erase with its log a link: exit %d, want %d and the link named; stderr:\n%s", r.code, cli.ExitFatal, r.stderr)
	}
	checkVictim(logTarget, "erasure-log.csv")
	if _, err := testClient(t, srv).Retrieve(context.Background(), people[0].ID); err != nil {
		t.Errorf("erase deleted a customer without a log to record it in: %v", err)
	}
}

// modeOf describes a file's mode for a message, or the error of its stat.
func modeOf(fi os.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return fi.Mode().String()
}

// formulaCells are values a spreadsheet would run. Plain numbers and
// phone numbers (+1, -2, +49 30 1234) are data, and the one escaper
// leaves them alone; a leading tab or CR is trimmed from a subjects
// file's cells, and gdpr.TestCSVFilesEscapeFormulas covers it.
var formulaCells = []string{`=HYPERLINK("http://evil.example/","x")`, "@SUM(A1)", "+1+cmd", "-2+3"}

// TestCSVOutputsEscapeFormulas checks that export's customers.csv and
// not_found.csv and erase's erasure-log.csv and dry-run plan write a
// value a spreadsheet would run with the quote that rejects.csv and
// diff.csv give it.
func TestCSVOutputsEscapeFormulas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	c := testClient(t, srv)
	for i, f := range formulaCells {
		b := personBody("formula", i)
		b["name"], b["last_name"] = f, f
		if _, err := c.Create(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	// escaped fails unless every formula shows up, quoted, in a cell of
	// the CSV file at path, and none raw.
	escaped := func(path string) {
		t.Helper()
		found := map[string]bool{}
		for _, rec := range readCSVFile(t, path)[1:] {
			for _, cell := range rec {
				for _, f := range formulaCells {
					switch cell {
					case f:
						t.Errorf("%s holds %q raw", filepath.Base(path), f)
					case "'" + f:
						found[f] = true
					}
				}
			}
		}
		for _, f := range formulaCells {
			if !found[f] {
				t.Errorf("%s does not hold %q quoted", filepath.Base(path), f)
			}
		}
	}

	out := filepath.Join(dir, "all")
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--all", "--format", "csv")...); code != cli.ExitOK {
		t.Fatalf("export --all: exit %d", code)
	}
	escaped(filepath.Join(out, "customers.csv"))

	var rows [][]string
	for _, f := range formulaCells {
		rows = append(rows, []string{f})
	}
	subjects := writeSubjects(t, filepath.Join(dir, "subjects.csv"), []string{"id"}, rows...)
	out = filepath.Join(dir, "sar")
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--subjects", subjects, "--format", "csv")...); code != cli.ExitOK {
		t.Fatalf("export --subjects: exit %d", code)
	}
	escaped(filepath.Join(out, "not_found.csv"))

	out = filepath.Join(dir, "erase")
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, out, "--dry-run")...); code != cli.ExitOK {
		t.Fatalf("erase --dry-run: exit %d", code)
	}
	escaped(filepath.Join(out, "erasure-dry-run.csv"))
	if code := runMain(t, srv.APIKey, eraseArgs(srv.URL, subjects, out)...); code != cli.ExitOK {
		t.Fatalf("erase: exit %d", code)
	}
	escaped(filepath.Join(out, "erasure-log.csv"))
}
