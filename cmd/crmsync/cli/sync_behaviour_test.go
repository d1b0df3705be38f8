package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// seedCRM syncs rows (header first) into srv and fails unless all of them
// are created.
func seedCRM(t *testing.T, srv *tamiotest.Server, mapping string, rows [][]string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "seed.csv")
	writeCSVFile(t, path, rows)
	out := filepath.Join(dir, "out")
	if code := runMain(t, srv.APIKey, syncArgs(path, mapping, srv.URL, out)...); code != cli.ExitOK {
		t.Fatalf("seeding the CRM: exit %d: %+v", code, readSummary(t, out))
	}
	if n := len(crmCustomers(t, srv)); n != len(rows)-1 {
		t.Fatalf("seeding the CRM: it holds %d customers, want %d", n, len(rows)-1)
	}
}

// renamed returns a copy of rows (header first) with the full name of the
// rows numbered from..to (inclusive) prefixed, so their first name changes.
func renamed(rows [][]string, from, to int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append([]string(nil), r...)
		if i >= from && i <= to {
			out[i][2] = "Renamed" + out[i][2]
		}
	}
	return out
}

// firstName is what the sample mapping makes of a full name.
func firstName(full string) string {
	if f := strings.Fields(full); len(f) > 0 {
		return f[0]
	}
	return ""
}

func emailOf(row []string) string { return strings.ToLower(strings.TrimSpace(row[1])) }

// TestSyncInterrupted sends SIGINT to a slow sync running as a process of
// its own: it must exit 130 with summary.json saying "interrupted", counts
// that add up, a complete reject file, and no batch started after the
// signal. Run again without interruption, the CRM must then hold every
// valid row exactly once.
func TestSyncInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, rows := generate(t, dir, "in.csv", fixtures.Options{Rows: 1500, Seed: 17, BadShare: 0.04})
	// Every request waits 20 ms and a bulk job 300 ms: with one batch at a
	// time, each batch of 1,000 rows takes most of a second.
	srv := newCRM(t, tamiotest.Options{BulkDelay: 300 * time.Millisecond})
	srv.SetFaults(tamiotest.Faults{Latency: 20 * time.Millisecond})
	out := filepath.Join(dir, "out1")

	started := time.Now()
	cmd, stdout, stderr := startBinary(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out, "--concurrency", "1")...)
	// The first batch is on its way once its bulk body is answered; the
	// second waits for it to finish.
	const bulk = "POST /customers/bulk/create"
	deadline := time.Now().Add(30 * time.Second)
	for sandboxStats(t, srv).Requests[bulk]["200"] == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no bulk create after 30 s; stderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGINT after %s", time.Since(started).Round(time.Millisecond))
	r := waitBinary(t, cmd, stdout, stderr, started, time.Minute)
	if r.code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, cli.ExitInterrupted, r.stderr)
	}
	s := readSummary(t, out)
	t.Logf("interrupted: %+v, in %s", s.Rows, r.took.Round(time.Millisecond))
	if s.Status != "interrupted" || s.ExitCode != cli.ExitInterrupted {
		t.Errorf("summary status %q exit %d; want \"interrupted\", %d", s.Status, s.ExitCode, cli.ExitInterrupted)
	}
	checkCounts(t, s)
	if s.Rows.Created+s.Rows.Rejected == 1500 {
		t.Errorf("rows %+v: the whole file was synced, though SIGINT came while the first of two batches was in flight", s.Rows)
	}
	if !strings.Contains(r.stdout, "status: interrupted") {
		t.Errorf("stdout does not report the interruption:\n%s", r.stdout)
	}
	if n := sandboxStats(t, srv).Requests[bulk]["200"]; n != 1 {
		t.Errorf("%d bulk creates: a batch was sent after the interrupt (the first was in flight when it came)", n)
	}
	rej := readCSVFile(t, filepath.Join(out, "rejects.csv"))
	if want := append(append([]string(nil), fixtures.Columns...), "_row", "_stage", "_code", "_field", "_message"); strings.Join(rej[0], ",") != strings.Join(want, ",") {
		t.Errorf("reject file header %q, want %q", rej[0], want)
	}
	if int64(len(rej)-1) != s.Rows.Rejected {
		t.Errorf("reject file holds %d rows, the summary %d rejected", len(rej)-1, s.Rows.Rejected)
	}
	crm := crmCustomers(t, srv)
	if int64(len(crm)) < s.Rows.Created {
		t.Errorf("the summary says %d created, the CRM holds %d", s.Rows.Created, len(crm))
	}

	// The rerun, without latency, finishes the job.
	srv.SetFaults(tamiotest.Faults{})
	out2 := filepath.Join(dir, "out2")
	r2 := runBinary(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out2)...)
	s2 := readSummary(t, out2)
	if r2.code != cli.ExitRejects || s2.Status != "done_with_rejects" {
		t.Fatalf("rerun: exit %d, status %q (error %q)", r2.code, s2.Status, s2.Error)
	}
	checkCounts(t, s2)
	if s2.Rows.Pending != 0 || s2.Rows.Read != 1500 || s2.Rows.Updated != 0 {
		t.Errorf("rerun: rows %+v; want all 1,500 read, none pending or updated", s2.Rows)
	}
	rejected := map[string]bool{}
	rej2 := readCSVFile(t, filepath.Join(out2, "rejects.csv"))
	for _, rec := range rej2[1:] {
		rejected[rec[column(t, rej2[0], "_row")]] = true
	}
	crm = crmCustomers(t, srv)
	want := 0
	for i, row := range rows[1:] {
		if rejected[strconv.Itoa(i+1)] {
			continue
		}
		want++
		c, ok := crm[emailOf(row)]
		if !ok {
			t.Errorf("row %d (%s) is neither in the CRM nor in the rejects", i+1, row[0])
			continue
		}
		if c.Name != firstName(row[2]) {
			t.Errorf("row %d: the CRM holds name %q, want %q", i+1, c.Name, firstName(row[2]))
		}
	}
	if len(crm) != want || int64(want) != s2.Rows.Created+s2.Rows.Unchanged {
		t.Errorf("the CRM holds %d customers; %d rows are valid; the rerun created %d and left %d unchanged",
			len(crm), want, s2.Rows.Created, s2.Rows.Unchanged)
	}
}

// TestSyncDryRun checks that --dry-run reads the CRM, reports what it
// would create and update, and writes nothing. The CRM is seeded by a first
// emulator, then served by a second one on the same SQLite file, so the
// second one's stats count the dry run's calls alone.
func TestSyncDryRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	_, rows := generate(t, dir, "all.csv", fixtures.Options{Rows: 300, Seed: 31})
	db := filepath.Join(dir, "crm.db")
	seeder := newCRM(t, tamiotest.Options{DBPath: db})
	seedCRM(t, seeder, mapping, rows[:201])
	if err := seeder.Close(); err != nil {
		t.Fatal(err)
	}

	// Rows 1-50 changed, 51-200 as seeded, 201-300 new.
	source := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, source, renamed(rows, 1, 50))
	srv := newCRM(t, tamiotest.Options{DBPath: db})
	before := sandboxStats(t, srv)
	if before.Customers != 200 || before.TotalRequests != 0 {
		t.Fatalf("the reopened CRM holds %d customers and counted %d requests", before.Customers, before.TotalRequests)
	}
	out := filepath.Join(dir, "out")
	code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out, "--dry-run")...)
	s := readSummary(t, out)
	if code != cli.ExitOK || s.Status != "done" || !s.DryRun {
		t.Fatalf("exit %d, status %q, dry_run %v (error %q)", code, s.Status, s.DryRun, s.Error)
	}
	checkCounts(t, s)
	if s.Rows.Read != 300 || s.Rows.Created != 100 || s.Rows.Updated != 50 || s.Rows.Unchanged != 150 || s.Rows.Rejected != 0 {
		t.Errorf("rows %+v; want 300 read: 100 would be created, 50 updated, 150 unchanged", s.Rows)
	}
	after := sandboxStats(t, srv)
	if w := writeCalls(after); len(w) != 0 {
		t.Errorf("a dry run called write endpoints: %v", w)
	}
	if after.TotalRequests == 0 || after.Customers != 200 || after.JobsRun != 0 {
		t.Errorf("after the dry run: %d requests, %d customers, %d jobs run; want reads only, 200 customers", after.TotalRequests, after.Customers, after.JobsRun)
	}
	crm := crmCustomers(t, srv)
	for i := 1; i <= 200; i++ {
		if c := crm[emailOf(rows[i])]; c.Name != firstName(rows[i][2]) {
			t.Errorf("row %d: the CRM holds name %q after a dry run, want %q as seeded", i, c.Name, firstName(rows[i][2]))
		}
	}
}

// TestSyncModes checks --mode create (an existing customer is rejected
// with code "exists", never updated) and --mode update (a new one is
// rejected with code "not_found", never created). The CRM holds rows
// 1-200; the file has rows 101-300, with 101-150 changed.
func TestSyncModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	_, rows := generate(t, dir, "all.csv", fixtures.Options{Rows: 300, Seed: 41})
	day2 := renamed(rows, 101, 150)
	source := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, source, append([][]string{rows[0]}, day2[101:]...))

	cases := []struct {
		mode         string
		wantRows     [4]int64 // created, updated, unchanged, rejected
		wantCode     string
		rejectedRows [2]int // first, last row of the original file rejected
		renamed      bool   // rows 101-150 hold the new names afterwards
		customers    int
	}{
		{"create", [4]int64{100, 0, 0, 100}, "exists", [2]int{101, 200}, false, 300},
		{"update", [4]int64{0, 50, 50, 100}, "not_found", [2]int{201, 300}, true, 200},
		{"upsert", [4]int64{100, 50, 50, 0}, "", [2]int{}, true, 300},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, tamiotest.Options{})
			seedCRM(t, srv, mapping, rows[:201])
			out := filepath.Join(t.TempDir(), "out")
			code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out, "--mode", tc.mode)...)
			s := readSummary(t, out)
			wantExit := cli.ExitRejects
			if tc.wantRows[3] == 0 {
				wantExit = cli.ExitOK
			}
			if code != wantExit || s.Mode != tc.mode {
				t.Fatalf("exit %d, mode %q; want %d, %q (error %q)", code, s.Mode, wantExit, tc.mode, s.Error)
			}
			checkCounts(t, s)
			if got := [4]int64{s.Rows.Created, s.Rows.Updated, s.Rows.Unchanged, s.Rows.Rejected}; got != tc.wantRows {
				t.Errorf("created, updated, unchanged, rejected: %v, want %v", got, tc.wantRows)
			}
			if tc.wantCode != "" && s.RejectsByCode[tc.wantCode] != tc.wantRows[3] {
				t.Errorf("rejects by code %v; want %d %q", s.RejectsByCode, tc.wantRows[3], tc.wantCode)
			}
			rej := readCSVFile(t, filepath.Join(out, "rejects.csv"))
			ids := map[string]bool{}
			for _, rec := range rej[1:] {
				ids[rec[0]] = true
				if code, stage := rec[column(t, rej[0], "_code")], rec[column(t, rej[0], "_stage")]; code != tc.wantCode || stage != "api" {
					t.Errorf("row %s rejected at %s with code %q, want api, %q", rec[0], stage, code, tc.wantCode)
				}
			}
			for i := tc.rejectedRows[0]; i > 0 && i <= tc.rejectedRows[1]; i++ {
				if !ids[rows[i][0]] {
					t.Errorf("%s is not in the reject file", rows[i][0])
				}
			}
			crm := crmCustomers(t, srv)
			if len(crm) != tc.customers {
				t.Errorf("the CRM holds %d customers, want %d", len(crm), tc.customers)
			}
			for i := 101; i <= 150; i++ {
				want := firstName(rows[i][2])
				if tc.renamed {
					want = firstName(day2[i][2])
				}
				if got := crm[emailOf(rows[i])].Name; got != want {
					t.Errorf("row %d: the CRM holds name %q, want %q", i, got, want)
				}
			}
		})
	}
}

// TestSyncParquetMatchesCSV syncs the shipped sample, CSV then Parquet,
// into two empty CRMs: the same customers must result, and the same
// rejects but for the CSV's two malformed lines, which Parquet cannot hold.
func TestSyncParquetMatchesCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	// Two processes at once: 3,000 rows each is the slowest sync here.
	csvCRM, pqCRM := newCRM(t, tamiotest.Options{}), newCRM(t, tamiotest.Options{})
	var sc, sp *cli.Summary
	run := func(t *testing.T, source string, srv *tamiotest.Server) *cli.Summary {
		out := filepath.Join(t.TempDir(), "out")
		r := runBinary(t, srv.APIKey, syncArgs(sample(source), mapping, srv.URL, out)...)
		s := readSummary(t, out)
		if r.code != cli.ExitRejects {
			t.Fatalf("%s: exit %d (error %q)", source, r.code, s.Error)
		}
		checkCounts(t, s)
		// The reject file is in the source's format.
		want := "rejects" + filepath.Ext(source)
		if _, err := os.Stat(filepath.Join(out, want)); err != nil || filepath.Base(s.RejectFile) != want {
			t.Errorf("%s: reject file %q, want %s: %v", source, s.RejectFile, want, err)
		}
		return s
	}
	t.Run("sync", func(t *testing.T) {
		t.Run("csv", func(t *testing.T) { t.Parallel(); sc = run(t, "customers.csv", csvCRM) })
		t.Run("parquet", func(t *testing.T) { t.Parallel(); sp = run(t, "customers.parquet", pqCRM) })
	})
	if sc == nil || sp == nil {
		t.FailNow()
	}
	if sp.Rows.Read != sc.Rows.Read-2 || sp.Rows.Created != sc.Rows.Created || sp.Rows.Rejected != sc.Rows.Rejected-2 {
		t.Errorf("Parquet %+v, CSV %+v: want the same but for 2 rows read and rejected", sp.Rows, sc.Rows)
	}
	if sc.RejectsByCode["field_count"] != 1 || sc.RejectsByCode["bad_quote"] != 1 || sc.RejectsByStage["read"] != 2 {
		t.Errorf("CSV rejects %v %v; want one field_count and one bad_quote, read at the read stage", sc.RejectsByCode, sc.RejectsByStage)
	}
	csvCodes := map[string]int64{}
	for c, n := range sc.RejectsByCode {
		if c != "field_count" && c != "bad_quote" {
			csvCodes[c] = n
		}
	}
	if a, b := jsonOf(t, csvCodes), jsonOf(t, sp.RejectsByCode); a != b {
		t.Errorf("rejects by code: CSV %s, Parquet %s", a, b)
	}
	a, b := crmCustomers(t, csvCRM), crmCustomers(t, pqCRM)
	if len(a) != len(b) || int64(len(a)) != sc.Rows.Created {
		t.Errorf("the CRMs hold %d (CSV) and %d (Parquet) customers; %d created", len(a), len(b), sc.Rows.Created)
	}
	for email, c := range a {
		d, ok := b[email]
		c.ID, d.ID, c.CreatedAt, d.CreatedAt = "", "", 0, 0
		if !ok || c != d {
			t.Errorf("%s: CSV gave %+v, Parquet %+v", email, c, d)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSyncJSONLogs runs syncs with --log-format json, as cron would: every
// line of standard error must be a JSON object, and neither the API key
// nor any email of the input may appear there.
func TestSyncJSONLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	clean, cleanRows := generate(t, dir, "clean.csv", fixtures.Options{Rows: 150, Seed: 61})
	dirty, dirtyRows := generate(t, dir, "dirty.csv", fixtures.Options{Rows: 150, Seed: 62, BadShare: 0.2})
	const key = "secret-key-4f9a2c"
	srv := newCRM(t, tamiotest.Options{Keys: []tamiotest.Key{{Token: key, Name: "cron",
		Permissions: []string{tamiotest.PermView, tamiotest.PermEdit, tamiotest.PermCreate}}}})

	var secrets []string
	for _, rows := range [][][]string{cleanRows, dirtyRows} {
		for _, row := range rows[1:] {
			for _, v := range row {
				if strings.Contains(v, "@") {
					secrets = append(secrets, strings.TrimSpace(v), strings.ToLower(strings.TrimSpace(v)))
				}
			}
		}
	}

	cases := []struct {
		name     string
		source   string
		key      string
		wantCode int
	}{
		{"clean file", clean, key, cli.ExitOK},
		{"rejects", dirty, key, cli.ExitRejects},
		{"wrong key", clean, key + "x", cli.ExitFatal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"--log-format", "json", "--verbose"}, syncArgs(tc.source, mapping, srv.URL, out, "--progress", "log")...)
			r := runBinary(t, tc.key, args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tc.wantCode, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) < 2 {
				t.Errorf("stderr has %d lines; want the run's logs:\n%s", len(lines), r.stderr)
			}
			for i, line := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("stderr line %d is not a JSON object: %q", i+1, line)
					continue
				}
				if rec["level"] == nil || rec["msg"] == nil {
					t.Errorf("stderr line %d has no level or msg: %q", i+1, line)
				}
			}
			if strings.Contains(r.stderr, tc.key) {
				t.Errorf("stderr holds the API key:\n%s", r.stderr)
			}
			for _, s := range secrets {
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr holds the input's email %q", s)
				}
			}
		})
	}
}
