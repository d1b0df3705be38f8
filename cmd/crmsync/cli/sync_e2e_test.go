package cli_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// faulty is the fault mix the sync issue asks a run to survive: server
// errors, connections dropped before an answer, and writes applied whose
// answer is lost (what makes naive clients create duplicates).
var faulty = tamiotest.Faults{Seed: 11, ErrorRate: 0.05, DropRate: 0.02, LostAnswerRate: 0.03}

// TestSyncEndToEndUnderFaults runs crmsync sync three times against the
// emulator over HTTP: a first load and a day-2 file with changes, both with
// faults and a rate limit, then the same file again without faults. After
// each run every row must be in the CRM exactly once with its values, or in
// the reject file, and the counts must add up; the last run must write
// nothing.
func TestSyncEndToEndUnderFaults(t *testing.T) {
	dir := t.TempDir()
	srv, err := tamiotest.NewServer(tamiotest.Options{
		DBPath:    filepath.Join(dir, "crm.db"),
		BulkDelay: 30 * time.Millisecond,
		RateLimit: 400,
		RateBurst: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("TAMIO_API_KEY", srv.APIKey)
	mapping := copySampleMapping(t, dir)

	day1 := filepath.Join(dir, "day1.csv")
	if _, err := fixtures.WriteCSV(day1, fixtures.Options{Rows: 1500, Seed: 7, BadShare: 0.05}); err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(faulty)
	s1 := runSync(t, day1, mapping, srv.URL, filepath.Join(dir, "out1"), cli.ExitRejects)
	srv.SetFaults(tamiotest.Faults{})
	checkCRM(t, srv, day1, filepath.Join(dir, "out1"))
	if s1.Rows.Created == 0 || s1.Rows.Rejected == 0 {
		t.Fatalf("day 1: %+v; want creates and rejects", s1.Rows)
	}

	day2 := filepath.Join(dir, "day2.csv")
	changed := rewriteNames(t, day1, day2, 10)
	srv.SetFaults(faulty)
	s2 := runSync(t, day2, mapping, srv.URL, filepath.Join(dir, "out2"), cli.ExitRejects)
	srv.SetFaults(tamiotest.Faults{})
	checkCRM(t, srv, day2, filepath.Join(dir, "out2"))
	// Day 1 makes only some 20 calls (bulk creates are few), so it may meet
	// no fault by chance; day 2's ~180 single updates cannot all escape.
	if s2.API.Retries == 0 {
		t.Errorf("day 2 made no retries: the faults did not bite, so the test proves nothing")
	}
	if s2.Rows.Created != 0 {
		t.Errorf("day 2 created %d customers; every valid row existed already", s2.Rows.Created)
	}
	if s2.Rows.Updated == 0 || s2.Rows.Updated > int64(changed) {
		t.Errorf("day 2 updated %d customers; %d rows had a changed name", s2.Rows.Updated, changed)
	}

	s3 := runSync(t, day2, mapping, srv.URL, filepath.Join(dir, "out3"), cli.ExitRejects)
	if s3.Rows.Created != 0 || s3.Rows.Updated != 0 {
		t.Errorf("a rerun of the same file wrote: %+v", s3.Rows)
	}
	if s3.Rows.Unchanged != s2.Rows.Updated+s2.Rows.Unchanged {
		t.Errorf("rerun: %d unchanged, want %d", s3.Rows.Unchanged, s2.Rows.Updated+s2.Rows.Unchanged)
	}
}

func copySampleMapping(t *testing.T, dir string) string {
	t.Helper()
	for _, name := range []string{"customers.tamio.yaml", "teammates.csv"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "customers.tamio.yaml")
}

func runSync(t *testing.T, source, mapping, target, out string, wantCode int) *cli.Summary {
	t.Helper()
	code := cli.Main([]string{"sync", "--source", source, "--mapping", mapping, "--target", target,
		"--out", out, "--progress", "none", "--concurrency", "4"})
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatalf("exit %d and no summary: %v", code, err)
	}
	var s cli.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if code != wantCode {
		t.Fatalf("exit code %d, want %d; summary: %s", code, wantCode, data)
	}
	r := s.Rows
	t.Logf("%s: %+v, api %+v", filepath.Base(source), r, s.API)
	if r.Read != r.Created+r.Updated+r.Unchanged+r.Rejected || r.Pending != 0 {
		t.Fatalf("counts do not add up: %+v", r)
	}
	return &s
}

// checkCRM compares the CRM with the source: each row not in the reject
// file is one customer holding the row's email and first name, and the CRM
// holds nothing else.
func checkCRM(t *testing.T, srv *tamiotest.Server, source, out string) {
	t.Helper()
	rejected := map[int64]bool{}
	for _, rec := range readCSV(t, filepath.Join(out, "rejects.csv"))[1:] {
		n, err := strconv.ParseInt(rec[len(rec)-5], 10, 64) // _row
		if err != nil {
			t.Fatalf("reject file: _row %q: %v", rec[len(rec)-5], err)
		}
		rejected[n] = true
	}
	crm := listAll(t, srv)
	rows := readCSV(t, source)
	want := 0
	for i, rec := range rows[1:] {
		if rejected[int64(i+1)] {
			continue
		}
		want++
		email := strings.ToLower(strings.TrimSpace(rec[1]))
		c, ok := crm[email]
		if !ok {
			t.Errorf("row %d (%s) is neither in the CRM nor in the rejects", i+1, rec[0])
			continue
		}
		if first := strings.Fields(rec[2])[0]; c.Name != first {
			t.Errorf("row %d: CRM name %q, want %q", i+1, c.Name, first)
		}
	}
	if len(crm) != want {
		t.Errorf("CRM holds %d customers, the source %d rows that were not rejected", len(crm), want)
	}
}

func listAll(t *testing.T, srv *tamiotest.Server) map[string]tamio.Customer {
	t.Helper()
	c := tamio.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	out := map[string]tamio.Customer{}
	for page := 1; ; page++ {
		cs, total, err := c.List(context.Background(), tamio.ListQuery{Page: page, PerPage: 100, IncludeLeads: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, cu := range cs {
			key := strings.ToLower(cu.Email)
			if _, dup := out[key]; dup {
				t.Errorf("the CRM holds %s twice", key)
			}
			out[key] = cu
		}
		if page*100 >= total {
			return out
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// rewriteNames copies src to dst with the first name of every nth row
// changed, and returns how many rows it changed.
func rewriteNames(t *testing.T, src, dst string, nth int) int {
	t.Helper()
	rows := readCSV(t, src)
	changed := 0
	for i := 1; i < len(rows); i++ {
		if i%nth == 0 && rows[i][2] != "" {
			rows[i][2] = "Renamed" + strconv.Itoa(i) + " " + rows[i][2]
			changed++
		}
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return changed
}
