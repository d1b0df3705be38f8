package cli_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// The key and emails the secrets test plants: distinctive enough that
// finding one anywhere can only be a leak.
const (
	probeKey    = "tamio-live-PROBEkey-7Hq2vX9rLm4ZtW"
	probeDomain = "leak-probe.example"
)

// probeEmail is the i-th planted email; odd ones are written with capitals
// and a trailing space, as exports do, so a leak of the raw cell is found
// as well as one of the normalised value.
func probeEmail(i int) string {
	if i%2 == 1 {
		return fmt.Sprintf("Probe.Person%d@Leak-Probe.example ", i)
	}
	return fmt.Sprintf("probe.person%d@%s", i, probeDomain)
}

// needles are the forms in which a value can leak: as written, lower-cased
// (the search is case-insensitive anyway) and escaped into a URL query,
// where an email travels when a customer is looked up.
func needles(values ...string) []string {
	var out []string
	for _, v := range values {
		v = strings.ToLower(strings.TrimSpace(v))
		out = append(out, v)
		if q := url.QueryEscape(v); q != v {
			out = append(out, strings.ToLower(q))
		}
	}
	return out
}

// leaksIn returns the needles found in data, case-insensitively.
func leaksIn(data []byte, needles []string) []string {
	low := bytes.ToLower(data)
	var found []string
	for _, n := range needles {
		if bytes.Contains(low, []byte(n)) {
			found = append(found, n)
		}
	}
	return found
}

// checkOutput fails the test when a command's standard output or error
// holds the key or a planted email.
func checkOutput(t *testing.T, what string, res binResult, emails []string) {
	t.Helper()
	for stream, text := range map[string]string{"standard error": res.stderr, "standard output": res.stdout} {
		if found := leaksIn([]byte(text), needles(probeKey)); len(found) > 0 {
			t.Errorf("%s: the API key is on %s", what, stream)
		}
		if found := leaksIn([]byte(text), needles(emails...)); len(found) > 0 {
			t.Errorf("%s: %s holds %q:\n%s", what, stream, found, text)
		}
	}
	if strings.TrimSpace(res.stderr) == "" {
		t.Errorf("%s logged nothing: the check of its logs would pass vacuously", what)
	}
}

// checkFiles walks root and fails the test for any file that holds the
// key, or a planted email unless mayHoldEmails says the file is meant to
// hold personal data. It returns the files it read.
func checkFiles(t *testing.T, root string, emails []string, mayHoldEmails func(rel string) bool) []string {
	t.Helper()
	var seen []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		seen = append(seen, rel)
		if len(leaksIn(data, needles(probeKey))) > 0 {
			t.Errorf("%s holds the API key", path)
		}
		if found := leaksIn(data, needles(emails...)); len(found) > 0 && !mayHoldEmails(rel) {
			t.Errorf("%s holds %q, and is not a file meant for personal data", path, found)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// TestNoSecretsInLogsOrOutputs runs syncs (text and JSON logs, debug on,
// the second under faults), an export and an erase against an emulator
// with a known key, over a source with known emails, and greps every line
// they log and every file they write. The key must be nowhere, the state
// and summary.json included. The emails may be only where a user goes to
// find rows: the reject file, diff.csv, report.html, the state (by
// design), and an export's per-person and table files and not_found.csv;
// never in a log, summary.json, manifest.json or the erasure log, which
// holds hashed emails only.
func TestNoSecretsInLogsOrOutputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{Keys: []tamiotest.Key{{Token: probeKey, Name: "probe",
		Permissions: []string{tamiotest.PermView, tamiotest.PermEdit, tamiotest.PermCreate, tamiotest.PermRemove}}}})
	if srv.APIKey != probeKey {
		t.Fatalf("the emulator's key is %q", srv.APIKey)
	}
	mapping := mappingIn(t, dir)
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(stateDir, "state.db")

	// Day 1: probes 1 to 6 are valid customers; 7 is rejected for its
	// phone, 8 repeats probe 1's email under another key (a reject whose
	// message quotes the email).
	source, rows := generate(t, dir, "day1.csv", fixtures.Options{Rows: 200, Seed: 17})
	var emails []string
	for i := 1; i <= 7; i++ {
		rows[i*10][1] = probeEmail(i)
		emails = append(emails, probeEmail(i))
	}
	rows[70][4] = "12"
	rows[80][1] = probeEmail(1)
	writeCSVFile(t, source, rows)

	out1 := filepath.Join(dir, "sync1")
	res := runBinary(t, probeKey, append([]string{"--log-format", "text", "-v"},
		syncArgs(source, mapping, srv.URL, out1, "--state", statePath)...)...)
	if res.code != cli.ExitRejects {
		t.Fatalf("first sync: exit %d\n%s", res.code, res.stderr)
	}
	checkOutput(t, "sync (text logs)", res, emails)
	if s := readSummary(t, out1); s.Rows.Created != 198 || s.Rows.Rejected != 2 {
		t.Fatalf("first sync: %+v; want 198 created and probes 7 and 8 rejected", s.Rows)
	}

	// Day 2, under faults: probe 3 changes email (the diff holds both),
	// probe 4 changes name, and two new customers come with new probe
	// emails, which an incremental run looks up one by one.
	rows[30][1] = probeEmail(9)
	rows[40][2] = "Renamed Person"
	rows = append(rows, slices.Clone(rows[50]), slices.Clone(rows[60]))
	for i, n := range []int{10, 11} {
		r := rows[len(rows)-2+i]
		r[0], r[1] = fmt.Sprintf("PROBE%d", n), probeEmail(n)
	}
	emails = append(emails, probeEmail(9), probeEmail(10), probeEmail(11))
	day2 := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, day2, rows)
	srv.SetFaults(tamiotest.Faults{Seed: 3, ErrorRate: 0.1, DropRate: 0.05, LostAnswerRate: 0.05})
	out2 := filepath.Join(dir, "sync2")
	res = runBinary(t, probeKey, append([]string{"--log-format", "json", "-v"},
		syncArgs(day2, mapping, srv.URL, out2, "--state", statePath)...)...)
	srv.SetFaults(tamiotest.Faults{})
	if res.code != cli.ExitRejects {
		t.Fatalf("second sync: exit %d\n%s", res.code, res.stderr)
	}
	checkOutput(t, "sync (JSON logs, faults)", res, emails)
	if s := readSummary(t, out2); s.Rows.Created != 2 || s.Rows.Updated != 2 {
		t.Fatalf("second sync: %+v; want 2 created and 2 updated", s.Rows)
	}
	reports := func(rel string) bool {
		switch filepath.Base(rel) {
		case "rejects.csv", "diff.csv", "report.html":
			return true
		}
		return false
	}
	for _, out := range []string{out1, out2} {
		files := checkFiles(t, out, emails, reports)
		for _, want := range []string{"summary.json", "rejects.csv", "diff.csv", "report.html"} {
			if !slices.Contains(files, want) {
				t.Errorf("%s has no %s to check (it has %q)", out, want, files)
			}
		}
	}
	// The reports must hold what they are for, or the exceptions above
	// would be hiding nothing.
	if data, _ := os.ReadFile(filepath.Join(out2, "diff.csv")); len(leaksIn(data, needles(probeEmail(9)))) == 0 {
		t.Errorf("diff.csv of the second sync does not show probe 3's new email")
	}

	// Export: three probes and one the CRM does not hold; then the whole
	// account as CSV.
	subjects := filepath.Join(dir, "subjects.csv")
	absent := "probe.nobody@" + probeDomain
	emails = append(emails, absent)
	writeCSVFile(t, subjects, [][]string{{"email"}, {probeEmail(2)}, {probeEmail(4)}, {probeEmail(9)}, {absent}})
	exp1 := filepath.Join(dir, "export-subjects")
	res = runBinary(t, probeKey, "--log-format", "json", "-v", "export", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv,
		"--subjects", subjects, "--out", exp1, "--progress", "none")
	if res.code != cli.ExitOK {
		t.Fatalf("export: exit %d\n%s", res.code, res.stderr)
	}
	checkOutput(t, "export --subjects", res, emails)
	exp2 := filepath.Join(dir, "export-all")
	res = runBinary(t, probeKey, "--log-format", "text", "-v", "export", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv,
		"--all", "--format", "csv", "--out", exp2, "--progress", "none")
	if res.code != cli.ExitOK {
		t.Fatalf("export --all: exit %d\n%s", res.code, res.stderr)
	}
	checkOutput(t, "export --all", res, emails)
	exportData := func(rel string) bool {
		switch base := filepath.Base(rel); {
		case strings.HasPrefix(filepath.ToSlash(rel), "subjects/"):
			return true
		case strings.HasPrefix(base, "customers."), base == "not_found.csv":
			return true
		}
		return false
	}
	for _, root := range []string{exp1, exp2} {
		files := checkFiles(t, root, emails, exportData)
		if !slices.Contains(files, "manifest.json") {
			t.Errorf("%s has no manifest.json to check (it has %q)", root, files)
		}
	}
	for file, email := range map[string]string{"customers.jsonl": probeEmail(9), "not_found.csv": absent} {
		if data, _ := os.ReadFile(filepath.Join(exp1, file)); len(leaksIn(data, needles(email))) == 0 {
			t.Errorf("the export's %s does not hold %s: the exception for it would hide nothing", file, email)
		}
	}

	// Erase probes 2 and 5, first as a dry run, from the CRM and the state.
	erase := filepath.Join(dir, "erase.csv")
	writeCSVFile(t, erase, [][]string{{"email"}, {probeEmail(2)}, {probeEmail(5)}})
	erasures := filepath.Join(dir, "erasures")
	for i, extra := range [][]string{{"--dry-run"}, nil} {
		format := []string{"text", "json"}[i]
		args := append([]string{"--log-format", format, "-v", "erase", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv,
			"--subjects", erase, "--state", statePath, "--out", erasures}, extra...)
		res = runBinary(t, probeKey, args...)
		if res.code != cli.ExitOK {
			t.Fatalf("erase %q: exit %d\n%s", extra, res.code, res.stderr)
		}
		checkOutput(t, fmt.Sprintf("erase %q", extra), res, emails)
	}
	files := checkFiles(t, erasures, emails, func(string) bool { return false })
	for _, want := range []string{"erasure-log.csv", "erasure-dry-run.csv"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s has no %s to check (it has %q)", erasures, want, files)
		}
	}
	// What the erasure log holds instead: the hash of the lower-cased
	// email.
	elog, _ := os.ReadFile(filepath.Join(erasures, "erasure-log.csv"))
	for _, i := range []int{2, 5} {
		sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(probeEmail(i)))))
		if !bytes.Contains(elog, []byte(hex.EncodeToString(sum[:]))) {
			t.Errorf("erasure-log.csv has no row with the hash of probe %d's email:\n%s", i, elog)
		}
	}

	// The state may hold emails, never the key; and once a person is
	// erased, no table of it may still hold their email.
	checkFiles(t, stateDir, emails, func(string) bool { return true })
	stateTablesHold(t, statePath, probeEmail(1), true)
	for _, gone := range []int{2, 5} {
		stateTablesHold(t, statePath, probeEmail(gone), false)
	}
}

// stateTablesHold checks whether any value of any table of the state holds
// email (case-insensitively).
func stateTablesHold(t *testing.T, path, email string, want bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	needle := strings.ToLower(strings.TrimSpace(email))
	var where []string
	for _, table := range names {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case string:
					s = v
				case []byte:
					s = string(v)
				}
				if strings.Contains(strings.ToLower(s), needle) {
					where = append(where, table+"."+cols[i])
				}
			}
		}
		rows.Close()
	}
	if holds := len(where) > 0; holds != want {
		if want {
			t.Errorf("the state does not hold %s, which it synced: the check would find nothing", needle)
		} else {
			t.Errorf("%s was erased, and the state still holds it in %q", needle, where)
		}
	}
}

// TestNoEmailInTheErrorOfAFailedLookup makes the one call that carries an
// email in its URL fail for good: an incremental run looks a new key's
// customer up with the email in the query, and a network that cuts every
// such request makes the run give up. Its error reaches standard error and
// summary.json, which must still hold neither the email nor the key.
func TestNoEmailInTheErrorOfAFailedLookup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{Keys: []tamiotest.Key{{Token: probeKey, Name: "probe",
		Permissions: []string{tamiotest.PermView, tamiotest.PermEdit, tamiotest.PermCreate}}}})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	source, rows := generate(t, dir, "day1.csv", fixtures.Options{Rows: 30, Seed: 23})
	if r := runBinary(t, probeKey, syncArgs(source, mapping, srv.URL, filepath.Join(dir, "out1"), "--state", statePath)...); r.code != cli.ExitOK {
		t.Fatalf("first sync: exit %d\n%s", r.code, r.stderr)
	}

	target, err := url.Parse(strings.TrimSuffix(srv.URL, "/v2"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var cut atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("filter") {
			cut.Add(1)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		proxy.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	email := probeEmail(1)
	rows = append(rows, slices.Clone(rows[1]))
	rows[len(rows)-1][0], rows[len(rows)-1][1] = "PROBE-NEW", email
	day2 := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, day2, rows)
	out := filepath.Join(dir, "out2")
	res := runBinary(t, probeKey, append([]string{"--log-format", "json", "-v"},
		syncArgs(day2, mapping, "http://"+ln.Addr().String()+"/v2", out, "--state", statePath)...)...)
	if res.code != cli.ExitFatal || cut.Load() == 0 {
		t.Fatalf("exit %d after %d lookups cut; want %d, the lookup given up\n%s", res.code, cut.Load(), cli.ExitFatal, res.stderr)
	}
	checkOutput(t, "a sync whose lookup failed", res, []string{email})
	s := readSummary(t, out)
	if s.Error == "" || !strings.Contains(s.Error, "/customers/list") {
		t.Errorf("summary error %q does not say which call failed", s.Error)
	}
	checkFiles(t, out, []string{email}, func(rel string) bool { return rel == "rejects.csv" || rel == "diff.csv" || rel == "report.html" })
}
