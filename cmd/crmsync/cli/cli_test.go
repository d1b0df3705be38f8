package cli_test

// Behaviour tests of the command line: exit codes, summaries, reject files
// and what reaches the CRM, over real HTTP against the tamio emulator on
// 127.0.0.1 with SQLite files in t.TempDir().
//
// Two ways to run a command:
//
//   - runMain calls cli.Main in this process. Main keeps its log flags in
//     package variables, so calls are serialised by mainMu; that also makes
//     it safe to set the API key's environment variable around the call.
//   - runBinary runs the crmsync binary that TestMain builds, for what needs
//     a process of its own: signals, and standard output or error (Main
//     writes them to os.Stdout and os.Stderr, which a test cannot inject).
//
// Every top-level test is parallel: the subprocess runs overlap one another
// and the in-process ones.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// binary is the crmsync command built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmsync-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crmsync")
	// Without -race even when the tests have it: a race-enabled binary
	// makes the subprocess runs several times slower, and the in-process
	// runs give the race detector the same code paths, signals aside.
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

// keyEnv is the environment variable the tests pass the API key in, named
// with --api-key-env.
const keyEnv = "CRMSYNC_TEST_API_KEY"

// mainMu serialises the in-process calls of cli.Main: see the file comment.
var mainMu sync.Mutex

// runMain runs cli.Main with args, the API key (if not "") in keyEnv.
func runMain(t *testing.T, key string, args ...string) int {
	t.Helper()
	mainMu.Lock()
	defer mainMu.Unlock()
	if key != "" {
		os.Setenv(keyEnv, key)
		defer os.Unsetenv(keyEnv)
	}
	return cli.Main(args)
}

// binResult is what a run of the binary did.
type binResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// startBinary starts the crmsync binary with args, the API key (if not "")
// in keyEnv; wait with waitBinary.
func startBinary(t *testing.T, key string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), keyEnv+"="+key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that stops before waitBinary leaves no process behind.
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &stdout, &stderr
}

// waitBinary waits for a started binary, killing it after limit.
func waitBinary(t *testing.T, cmd *exec.Cmd, stdout, stderr *bytes.Buffer, started time.Time, limit time.Duration) binResult {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("crmsync %s still running after %s; killed. stderr:\n%s", strings.Join(cmd.Args[1:], " "), limit, stderr)
	}
	r := binResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(started)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return r
}

// runBinary runs the crmsync binary to its end.
func runBinary(t *testing.T, key string, args ...string) binResult {
	t.Helper()
	started := time.Now()
	cmd, stdout, stderr := startBinary(t, key, args...)
	return waitBinary(t, cmd, stdout, stderr, started, 2*time.Minute)
}

// newCRM starts an emulator on a SQLite file in a temporary directory,
// closed when the test ends.
func newCRM(t *testing.T, o tamiotest.Options) *tamiotest.Server {
	t.Helper()
	if o.DBPath == "" {
		o.DBPath = filepath.Join(t.TempDir(), "crm.db")
	}
	srv, err := tamiotest.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	return srv
}

// mappingIn copies the sample mapping and its lookup table into dir.
func mappingIn(t *testing.T, dir string) string {
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

// sample is the path of a file of samples/.
func sample(name string) string { return filepath.Join("..", "..", "..", "samples", name) }

// syncArgs are the arguments of a sync against target, quiet, with the key
// in keyEnv; extra flags come last.
func syncArgs(source, mapping, target, out string, extra ...string) []string {
	return append([]string{"sync", "--source", source, "--mapping", mapping, "--target", target,
		"--out", out, "--api-key-env", keyEnv, "--progress", "none", "--concurrency", "4"}, extra...)
}

// generate writes a generated export of o.Rows rows to dir/name and returns
// its path and its rows, header first.
func generate(t *testing.T, dir, name string, o fixtures.Options) (string, [][]string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if _, err := fixtures.WriteCSV(path, o); err != nil {
		t.Fatal(err)
	}
	return path, readCSVFile(t, path)
}

// writeCSVFile writes rows (header first) to path.
func writeCSVFile(t *testing.T, path string, rows [][]string) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readCSVFile reads a whole CSV file strictly: every record must have as
// many fields as the header. A leading UTF-8 byte order mark is dropped.
func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("%s is not valid CSV: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no header", path)
	}
	return rows
}

// column returns the index of name in header, failing the test without it.
func column(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, c := range header {
		if c == name {
			return i
		}
	}
	t.Fatalf("no column %q in %q", name, header)
	return -1
}

// readSummary reads out/summary.json.
func readSummary(t *testing.T, out string) *cli.Summary {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatalf("no summary: %v", err)
	}
	var s cli.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary.json: %v\n%s", err, data)
	}
	return &s
}

// checkCounts fails unless the summary's counts add up.
func checkCounts(t *testing.T, s *cli.Summary) {
	t.Helper()
	r := s.Rows
	if r.Read != r.Created+r.Updated+r.Unchanged+r.Rejected+r.Pending || r.Pending < 0 {
		t.Errorf("counts do not add up: %+v", r)
	}
	var byCode, byStage int64
	for _, n := range s.RejectsByCode {
		byCode += n
	}
	for _, n := range s.RejectsByStage {
		byStage += n
	}
	if byCode != r.Rejected || byStage != r.Rejected {
		t.Errorf("%d rejected, but %d by code and %d by stage", r.Rejected, byCode, byStage)
	}
}

// crmCustomers lists every customer of the emulator by lower-cased email,
// after its bulk jobs have run; a customer held twice fails the test.
func crmCustomers(t *testing.T, srv *tamiotest.Server) map[string]tamio.Customer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatalf("waiting for the emulator's bulk jobs: %v", err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := tamio.NewClient(srv.URL, srv.APIKey, &http.Client{Transport: tr, Timeout: 30 * time.Second}, pipeline.NewPacer(pipeline.PacerOptions{}))
	out := map[string]tamio.Customer{}
	for page := 1; ; page++ {
		cs, total, err := c.List(ctx, tamio.ListQuery{Page: page, PerPage: 100, IncludeLeads: true})
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

// sandboxStats reads GET /_sandbox/stats over HTTP.
func sandboxStats(t *testing.T, srv *tamiotest.Server) tamiotest.Stats {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(strings.TrimSuffix(srv.URL, "/v2") + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st tamiotest.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// writeCalls counts the calls the emulator answered on endpoints that are
// not GETs, by route.
func writeCalls(st tamiotest.Stats) map[string]int64 {
	out := map[string]int64{}
	for route, byStatus := range st.Requests {
		if strings.HasPrefix(route, "GET ") {
			continue
		}
		for _, n := range byStatus {
			out[route] += n
		}
	}
	return out
}

// closedPort returns the address of a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// breakEmails gives the rows of data (header first) numbered in rows an
// email without @, so validation rejects them with code "email".
func breakEmails(data [][]string, rows ...int) {
	for _, n := range rows {
		data[n][1] = "broken" + strconv.Itoa(n) + ".at.example.com"
	}
}

// TestSyncExitCodes checks each exit code of `crmsync sync` and, where the
// run got going, summary.json's status and counts.
func TestSyncExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	clean, _ := generate(t, dir, "clean.csv", fixtures.Options{Rows: 120, Seed: 3})
	dirty, dirtyRows := generate(t, dir, "dirty.csv", fixtures.Options{Rows: 120, Seed: 3})
	breakEmails(dirtyRows, 5, 50, 90)
	writeCSVFile(t, dirty, dirtyRows)

	cases := []struct {
		name       string
		source     string
		extra      []string
		wantCode   int
		wantStatus string
		wantRows   [4]int64 // read, created, rejected, pending
	}{
		{"clean file", clean, nil, cli.ExitOK, "done", [4]int64{120, 120, 0, 0}},
		{"rejects", dirty, nil, cli.ExitRejects, "done_with_rejects", [4]int64{120, 117, 3, 0}},
		{"rejects at --max-rejects", dirty, []string{"--max-rejects", "3"}, cli.ExitRejects, "done_with_rejects", [4]int64{120, 117, 3, 0}},
		{"rejects at a percentage", dirty, []string{"--max-rejects", "2.5%"}, cli.ExitRejects, "done_with_rejects", [4]int64{120, 117, 3, 0}},
		// A count is checked at each reject: the run stops at row 90, the
		// third bad one, before the batch holding the rows read so far is
		// sent, so nothing is written and those rows are pending.
		{"rejects over --max-rejects", dirty, []string{"--max-rejects", "2"}, cli.ExitAborted, "aborted", [4]int64{90, 0, 3, 87}},
		// Under 1,000 rows a share is only checked at the end, when every
		// valid row has been written: aborted still, but nothing held back.
		{"rejects over a percentage", dirty, []string{"--max-rejects", "2%"}, cli.ExitAborted, "aborted", [4]int64{120, 117, 3, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, tamiotest.Options{})
			out := filepath.Join(t.TempDir(), "out")
			code := runMain(t, srv.APIKey, syncArgs(tc.source, mapping, srv.URL, out, tc.extra...)...)
			s := readSummary(t, out)
			if code != tc.wantCode || s.ExitCode != tc.wantCode || s.Status != tc.wantStatus {
				t.Fatalf("exit %d, summary exit %d status %q; want %d and %q (error %q)", code, s.ExitCode, s.Status, tc.wantCode, tc.wantStatus, s.Error)
			}
			checkCounts(t, s)
			if got := [4]int64{s.Rows.Read, s.Rows.Created, s.Rows.Rejected, s.Rows.Pending}; got != tc.wantRows {
				t.Errorf("rows %+v; want %d read, %d created, %d rejected, %d pending", s.Rows, tc.wantRows[0], tc.wantRows[1], tc.wantRows[2], tc.wantRows[3])
			}
			if n := len(crmCustomers(t, srv)); int64(n) != tc.wantRows[1] {
				t.Errorf("the CRM holds %d customers, want %d", n, tc.wantRows[1])
			}
		})
	}
}

// TestSyncUsageErrors checks that bad flags and arguments exit 2 before
// anything is written to the CRM.
func TestSyncUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 20, Seed: 5})
	srv := newCRM(t, tamiotest.Options{})
	unset := "CRMSYNC_TEST_UNSET_KEY_VARIABLE"
	if _, ok := os.LookupEnv(unset); ok {
		t.Fatalf("%s is set in the environment", unset)
	}

	cases := []struct {
		name string
		args []string
	}{
		{"unknown flag", append(syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o1")), "--no-such-flag")},
		{"unknown command", []string{"synch", "--source", source}},
		{"stray argument", append(syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o2")), "extra")},
		{"missing --mapping", []string{"sync", "--source", source, "--target", srv.URL, "--api-key-env", keyEnv, "--out", filepath.Join(dir, "o3")}},
		{"bad --mode", syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o4"), "--mode", "merge")},
		{"bad --max-rejects", syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o5"), "--max-rejects", "ten")},
		{"--max-rejects over 100%", syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o6"), "--max-rejects", "120%")},
		{"negative --max-rejects", syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o7"), "--max-rejects", "-1")},
		{"--target not a URL", syncArgs(source, mapping, "api.tamio.com/v2", filepath.Join(dir, "o8"))},
		{"--target with another scheme", syncArgs(source, mapping, "ftp://127.0.0.1/v2", filepath.Join(dir, "o9"))},
		{"missing --target", []string{"sync", "--source", source, "--mapping", mapping, "--out", filepath.Join(dir, "o10")}},
		{"missing API key", []string{"sync", "--source", source, "--mapping", mapping, "--target", srv.URL,
			"--api-key-env", unset, "--out", filepath.Join(dir, "o11"), "--progress", "none"}},
		{"bad --log-format", append([]string{"--log-format", "xml"}, syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o12"))...)},
		{"bad --concurrency", syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o13"), "--concurrency", "0")},
		{"bad --format", syncArgs(source, mapping, srv.URL, filepath.Join(dir, "o14"), "--format", "xlsx")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code := runMain(t, srv.APIKey, tc.args...); code != cli.ExitUsage {
				t.Errorf("crmsync %s: exit %d, want %d", strings.Join(tc.args, " "), code, cli.ExitUsage)
			}
		})
	}
	if w := writeCalls(sandboxStats(t, srv)); len(w) != 0 {
		t.Errorf("usage errors wrote to the CRM: %v", w)
	}
	if n := len(crmCustomers(t, srv)); n != 0 {
		t.Errorf("usage errors left %d customers in the CRM", n)
	}
}

// TestSyncMaxRejectsAborts checks that a run stops with exit 4 and status
// "aborted" once rejects go over --max-rejects, given as a count or a
// percentage, and that rows after the point where it stopped never reach
// the CRM. The first 1,000 rows are valid, so a full bulk body is on its
// way when the 24 bad rows after them trip the limit; the 476 rows after
// those are valid too, and must not be sent.
func TestSyncMaxRejectsAborts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, rows := generate(t, dir, "in.csv", fixtures.Options{Rows: 1500, Seed: 9})
	bad := make([]int, 0, 24)
	for n := 1001; n <= 1024; n++ {
		bad = append(bad, n)
	}
	breakEmails(rows, bad...)
	writeCSVFile(t, source, rows)
	rowOf := map[string]int64{} // lower-cased email -> row number
	for i, r := range rows[1:] {
		rowOf[strings.ToLower(strings.TrimSpace(r[1]))] = int64(i + 1)
	}

	for _, limit := range []string{"10", "2%"} {
		t.Run(limit, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, tamiotest.Options{BulkDelay: 50 * time.Millisecond})
			out := filepath.Join(t.TempDir(), "out")
			code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out, "--max-rejects", limit)...)
			s := readSummary(t, out)
			if code != cli.ExitAborted || s.Status != "aborted" || s.ExitCode != cli.ExitAborted {
				t.Errorf("exit %d, summary status %q exit %d; want %d, \"aborted\" (error %q)", code, s.Status, s.ExitCode, cli.ExitAborted, s.Error)
			}
			checkCounts(t, s)
			if s.Rows.Read >= 1500 {
				t.Errorf("read all %d rows before aborting", s.Rows.Read)
			}
			if s.Rows.Rejected <= 10 || s.RejectsByCode["email"] != s.Rows.Rejected {
				t.Errorf("rejects %+v by code %v; want more than 10, all for email", s.Rows, s.RejectsByCode)
			}
			if !strings.Contains(s.Error, "max-rejects") {
				t.Errorf("summary error %q does not name --max-rejects", s.Error)
			}
			crm := crmCustomers(t, srv)
			for email := range crm {
				if n := rowOf[email]; n == 0 || n > s.Rows.Read {
					t.Errorf("the CRM holds %s (row %d), after the %d rows read before the abort", email, n, s.Rows.Read)
				}
			}
			if int64(len(crm)) < s.Rows.Created {
				t.Errorf("summary says %d created, the CRM holds %d", s.Rows.Created, len(crm))
			}
			rej := readCSVFile(t, filepath.Join(out, "rejects.csv"))
			if int64(len(rej)-1) != s.Rows.Rejected {
				t.Errorf("rejects.csv holds %d rows, the summary says %d rejected", len(rej)-1, s.Rows.Rejected)
			}
		})
	}
}

// TestSyncFatalErrors checks that what makes every call fail stops the run
// with exit 1, rather than rejecting the rows one by one: a key the API
// refuses (401) and a key without the permission to create (403) at once,
// a target where nothing listens in reasonable time: the pacer retries a
// refused connection with backoff (8 retries), then gives up.
func TestSyncFatalErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 150, Seed: 13})

	// The unreachable target costs seconds of backoff, spent in a process
	// of its own and awaited in a cleanup: the cleanup of a test with
	// subtests runs after the test has given back its -parallel slot, so
	// the wait holds up no other test.
	out := filepath.Join(dir, "out-unreachable")
	started := time.Now()
	cmd, stdout, stderr := startBinary(t, "some-key", syncArgs(source, mapping, "http://"+closedPort(t)+"/v2", out)...)
	// The process's own run time, not the wait for the cleanup, which
	// comes after the subtests however long they take on a busy machine.
	exited := make(chan time.Duration, 1)
	go func() {
		// Until reaped, an exited child is a zombie: state Z in /proc.
		stat := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat"
		for time.Since(started) < 2*time.Minute {
			data, err := os.ReadFile(stat)
			if i := strings.LastIndexByte(string(data), ')'); err != nil || i < 0 || strings.HasPrefix(string(data[i+1:]), " Z") {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		exited <- time.Since(started)
	}()
	t.Cleanup(func() {
		r := waitBinary(t, cmd, stdout, stderr, started, 2*time.Minute)
		r.took = <-exited
		t.Logf("an unreachable target took %s to fail", r.took.Round(time.Millisecond))
		if r.code != cli.ExitFatal {
			t.Fatalf("unreachable target: exit %d, want %d; stderr:\n%s", r.code, cli.ExitFatal, r.stderr)
		}
		if r.took > 60*time.Second {
			t.Errorf("an unreachable target took %s to fail", r.took)
		}
		s := readSummary(t, out)
		if s.Status != "failed" || s.Rows.Read != 0 {
			t.Errorf("unreachable target: summary status %q rows %+v; want failed, nothing read", s.Status, s.Rows)
		}
		if !strings.Contains(s.Error, "connection refused") || !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("neither summary error %q nor stderr says the connection was refused:\n%s", s.Error, r.stderr)
		}
	})

	cases := []struct {
		name string
		opts tamiotest.Options
		key  string
		want string // in the summary's error
	}{
		{"wrong key", tamiotest.Options{}, "not-the-key", "401"},
		{"key without create", tamiotest.Options{Keys: []tamiotest.Key{{Token: "viewer-key", Name: "viewer",
			Permissions: []string{tamiotest.PermView, tamiotest.PermEdit}}}}, "viewer-key", "403"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, tc.opts)
			out := filepath.Join(t.TempDir(), "out")
			code := runMain(t, tc.key, syncArgs(source, mapping, srv.URL, out)...)
			s := readSummary(t, out)
			if code != cli.ExitFatal || s.Status != "failed" || s.ExitCode != cli.ExitFatal {
				t.Fatalf("exit %d, summary status %q exit %d; want %d, \"failed\" (error %q)", code, s.Status, s.ExitCode, cli.ExitFatal, s.Error)
			}
			checkCounts(t, s)
			if s.Rows.Rejected != 0 || s.Rows.Created != 0 {
				t.Errorf("rows %+v: a refused key must stop the run, not reject or create rows", s.Rows)
			}
			if !strings.Contains(s.Error, tc.want) {
				t.Errorf("summary error %q does not mention %s", s.Error, tc.want)
			}
			if strings.Contains(s.Error, tc.key) {
				t.Errorf("summary error %q holds the API key", s.Error)
			}
			if s.API.Retries != 0 {
				t.Errorf("%d retries of a %s", s.API.Retries, tc.want)
			}
			if n := len(crmCustomers(t, srv)); n != 0 {
				t.Errorf("the CRM holds %d customers", n)
			}
			if _, err := os.Stat(filepath.Join(out, "rejects.csv")); err != nil {
				t.Errorf("no reject file: %v", err)
			}
		})
	}
}
