package cli_test

// The bad-input corpus, samples/bad (its README.md lists each file and the
// behaviour expected): every file goes through the crmsync binary, against
// the tamio emulator or a server of garbage, both on 127.0.0.1. Whatever
// the input, the run must end with a clear error (the exit code of its
// kind, a message naming the file, row, column or call) or the right
// rejects, and never with a panic.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/sinks/tamio/tamiotest"
)

// badFile is the path of a file of samples/bad.
func badFile(name string) string { return filepath.Join("..", "..", "..", "samples", "bad", name) }

// checkNoCrash fails the test when a run died rather than stopped: Go's
// panic and fatal error output, or an exit code crmsync does not give
// (a panic exits 2, which crmsync gives only for a usage error, and the
// callers that expect 2 check the message as well).
func checkNoCrash(t *testing.T, r binResult) {
	t.Helper()
	for _, sign := range []string{"panic:", "goroutine ", "fatal error:", "[signal "} {
		if strings.Contains(r.stderr, sign) {
			t.Fatalf("crmsync crashed (%q in stderr):\n%s", sign, r.stderr)
		}
	}
	switch r.code {
	case cli.ExitOK, cli.ExitFatal, cli.ExitUsage, cli.ExitRejects, cli.ExitAborted:
	default:
		t.Fatalf("exit %d, not one of crmsync's exit codes; stderr:\n%s", r.code, r.stderr)
	}
}

// wantReject is a row a run must reject: its number, code, and what the
// message must hold besides the file's name.
type wantReject struct {
	row  string
	code string
	says []string
}

// syncCase is one corpus file synced into a fresh emulator.
type syncCase struct {
	file    string   // in samples/bad; "" when source is set
	source  string   // a path, for files made at run time
	extra   []string // more flags
	code    int
	says    []string     // in stderr, besides the file's name
	created []string     // the emails the CRM must hold afterwards, all of them
	rejects []wantReject // all of them, in file order
}

// cleanRows reads samples/bad/clean.csv, which every bad CSV of the
// corpus is a copy of with a defect: header first.
func cleanRows(t *testing.T) [][]string {
	t.Helper()
	rows := readCSVFile(t, badFile("clean.csv"))
	if len(rows) != 9 {
		t.Fatalf("samples/bad/clean.csv holds %d rows, want a header and 8", len(rows))
	}
	return rows
}

// emailsBut lists the lower-cased emails of clean.csv's rows, less the
// rows numbered in skip (1 is the first after the header).
func emailsBut(rows [][]string, skip ...int) []string {
	var out []string
next:
	for i := 1; i < len(rows); i++ {
		for _, s := range skip {
			if i == s {
				continue next
			}
		}
		out = append(out, emailOf(rows[i]))
	}
	return out
}

// runSyncCase syncs one case and checks its exit code, its message, the
// reject file and what the CRM holds.
func runSyncCase(t *testing.T, tc syncCase) {
	t.Helper()
	source := tc.source
	if source == "" {
		source = badFile(tc.file)
	}
	srv := newCRM(t, tamiotest.Options{})
	out := filepath.Join(t.TempDir(), "out")
	r := runBinary(t, srv.APIKey, syncArgs(source, sample("customers.tamio.yaml"), srv.URL, out, tc.extra...)...)
	checkNoCrash(t, r)
	if r.code != tc.code {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
	}
	if tc.code == cli.ExitFatal || tc.code == cli.ExitUsage {
		msg := lastLine(r.stderr)
		for _, s := range append([]string{filepath.Base(source)}, tc.says...) {
			if !strings.Contains(msg, s) {
				t.Errorf("the error does not say %q:\n%s", s, msg)
			}
		}
		if strings.Contains(r.stdout, "status: done") {
			t.Errorf("a failed run says it is done:\n%s", r.stdout)
		}
	}
	// A run that got as far as writing a summary must account for every
	// row it read.
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err == nil {
		s := readSummary(t, out)
		checkCounts(t, s)
		if s.ExitCode != tc.code {
			t.Errorf("summary exit code %d, the process %d", s.ExitCode, r.code)
		}
		if s.Rows.Rejected != int64(len(tc.rejects)) {
			t.Errorf("summary: %d rejected, want %d", s.Rows.Rejected, len(tc.rejects))
		}
	} else if tc.code != cli.ExitFatal && tc.code != cli.ExitUsage {
		t.Errorf("no summary.json after exit %d: %v", r.code, err)
	}
	if len(tc.rejects) > 0 {
		checkRejectFile(t, filepath.Join(out, "rejects.csv"), filepath.Base(source), tc.rejects)
	}
	crm := crmCustomers(t, srv)
	for _, e := range tc.created {
		if _, ok := crm[e]; !ok {
			t.Errorf("the CRM lacks %s", e)
		}
	}
	if len(crm) != len(tc.created) {
		t.Errorf("the CRM holds %d customers, want %d", len(crm), len(tc.created))
	}
}

// checkRejectFile reads a reject file strictly (every line as many cells
// as the header) and checks it holds exactly the rows wanted, each with
// its code, stage "read", and a message naming the file and what else it
// must.
func checkRejectFile(t *testing.T, path, file string, want []wantReject) {
	t.Helper()
	rej := readCSVFile(t, path)
	head := rej[0]
	rowCol, codeCol, stageCol, msgCol := column(t, head, "_row"), column(t, head, "_code"), column(t, head, "_stage"), column(t, head, "_message")
	if len(rej)-1 != len(want) {
		t.Errorf("%s holds %d rejects, want %d:\n%q", filepath.Base(path), len(rej)-1, len(want), rej[1:])
	}
	for i, w := range want {
		if i+1 >= len(rej) {
			break
		}
		rec := rej[i+1]
		if rec[rowCol] != w.row || rec[codeCol] != w.code || rec[stageCol] != "read" {
			t.Errorf("reject %d: row %s, %s/%s; want row %s, read/%s (%s)", i+1, rec[rowCol], rec[stageCol], rec[codeCol], w.row, w.code, rec[msgCol])
		}
		for _, s := range append([]string{file}, w.says...) {
			if !strings.Contains(rec[msgCol], s) {
				t.Errorf("reject of row %s: the message does not say %q: %s", w.row, s, rec[msgCol])
			}
		}
	}
}

// lastLine is the last line of a command's error output: the error Main
// prints, after any log lines.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestBadInputFiles syncs each data file of the corpus: rows that cannot
// be read are rejected with the reason, and the rest synced; files that
// cannot be read at all stop the run with exit 1 and a message naming the
// file; nothing crashes.
func TestBadInputFiles(t *testing.T) {
	t.Parallel()
	clean := cleanRows(t)
	all := emailsBut(clean)

	// The 10 MB field is made here rather than kept in the repository: row
	// 5's full name, quoted, which is ten times MaxFieldBytes and well under
	// the 32 MiB at which a row stops the run.
	big := filepath.Join(t.TempDir(), "big-field.csv")
	{
		var b bytes.Buffer
		rows := append([][]string(nil), clean...)
		rows[5] = append([]string(nil), clean[5]...)
		rows[5][2] = strings.Repeat("Ann ", 10<<20/4)
		for _, rec := range rows {
			for i, v := range rec {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(`"` + strings.ReplaceAll(v, `"`, `""`) + `"`)
			}
			b.WriteByte('\n')
		}
		if err := os.WriteFile(big, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	cases := []syncCase{
		// The baselines: the corpus's bad files are copies of these with a
		// defect, so they must sync whole.
		{file: "clean.csv", code: cli.ExitOK, created: all},
		{file: "unbalanced-quotes.csv", code: cli.ExitRejects, created: emailsBut(clean, 3, 6, 7, 8),
			rejects: []wantReject{
				{"3", "bad_quote", []string{"line 4", "quote"}},
				// The quote opened in row 6 is never closed: the rest of
				// the file is that one row, rejected whole, not made up
				// into rows.
				{"6", "bad_quote", []string{"lines 7 to 9 were read as this one row"}},
			}},
		{file: "ragged-rows.csv", code: cli.ExitRejects, created: emailsBut(clean, 2, 5),
			rejects: []wantReject{
				{"2", "field_count", []string{"line 3", "expected 10 fields", "found 12", `"VIP" "call back"`}},
				{"5", "field_count", []string{"line 6", "expected 10 fields", "found 6"}},
			}},
		{file: "nul-bytes.csv", code: cli.ExitRejects, created: emailsBut(clean, 4),
			rejects: []wantReject{{"4", "nul_byte", []string{"line 5", `column "full_name"`, "NUL"}}}},
		// Not UTF-8 in its first block, yet with UTF-8 accents in it: the
		// run stops before reading a row, and says how to load the rest.
		{file: "latin1-in-utf8.csv", code: cli.ExitFatal, says: []string{"line 4", "mixes encodings", "--encoding utf-8"}},
		{file: "latin1-in-utf8.csv", extra: []string{"--encoding", "utf-8"}, code: cli.ExitRejects, created: emailsBut(clean, 3),
			rejects: []wantReject{{"3", "encoding", []string{"line 4", `column "full_name"`, "--encoding latin1"}}}},
		{source: big, code: cli.ExitRejects, created: emailsBut(clean, 5),
			rejects: []wantReject{{"5", "field_too_long", []string{"line 6", `column "full_name"`, "10485760 bytes"}}}},
		// A byte order mark says UTF-16; without one, the NULs of the
		// header say it, and the option to give.
		{file: "utf16.csv", code: cli.ExitOK, created: all},
		{file: "utf16-no-bom.csv", code: cli.ExitFatal, says: []string{"NUL", "--encoding utf-16"}},
		{file: "utf16-no-bom.csv", extra: []string{"--encoding", "utf-16le"}, code: cli.ExitOK, created: all},
		{file: "empty.csv", code: cli.ExitFatal, says: []string{"empty", "no header"}},
		{file: "header-only.csv", code: cli.ExitOK},
		{file: "duplicate-header.csv", code: cli.ExitFatal, says: []string{`column "email" appears twice`, "positions 2 and 6"}},
		{file: "empty.parquet", code: cli.ExitFatal, says: []string{"empty"}},
		{file: "truncated.parquet", code: cli.ExitFatal, says: []string{"truncated", "6000 bytes"}},
	}
	for _, tc := range cases {
		name := tc.file + strings.Join(tc.extra, " ")
		if tc.source != "" {
			name = filepath.Base(tc.source)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runSyncCase(t, tc)
		})
	}

	// Names must come through a UTF-16 file as they were: Zoë, Léa.
	t.Run("utf16.csv names", func(t *testing.T) {
		t.Parallel()
		srv := newCRM(t, tamiotest.Options{})
		out := filepath.Join(t.TempDir(), "out")
		r := runBinary(t, srv.APIKey, syncArgs(badFile("utf16.csv"), sample("customers.tamio.yaml"), srv.URL, out)...)
		checkNoCrash(t, r)
		crm := crmCustomers(t, srv)
		for _, row := range clean[1:] {
			if got := crm[emailOf(row)].Name; got != firstName(row[2]) {
				t.Errorf("%s: name %q, want %q", emailOf(row), got, firstName(row[2]))
			}
		}
	})
}

// TestBadInputParquet syncs the Parquet files of the corpus. clean.parquet
// must sync whole; corrupted.parquet has the first page header of its
// third row group's first column (customer_id) overwritten, which Arrow
// took for the end of that column: crmsync used to sync 40 rows and drop
// the last 20 without a word. It must stop naming the row group, and what
// reached the CRM before it stopped must be rows as they are in the file,
// never one row's email with another's name.
func TestBadInputParquet(t *testing.T) {
	t.Parallel()
	_, rows := readParquet(t, badFile("clean.parquet"))
	if len(rows) != 61 {
		t.Fatalf("samples/bad/clean.parquet holds %d rows, want 60", len(rows)-1)
	}
	byEmail := map[string][]string{}
	var all []string
	for _, row := range rows[1:] {
		byEmail[emailOf(row)] = row
		all = append(all, emailOf(row))
	}
	t.Run("clean.parquet", func(t *testing.T) {
		t.Parallel()
		runSyncCase(t, syncCase{file: "clean.parquet", code: cli.ExitOK, created: all})
	})
	t.Run("corrupted.parquet", func(t *testing.T) {
		t.Parallel()
		srv := newCRM(t, tamiotest.Options{})
		out := filepath.Join(t.TempDir(), "out")
		r := runBinary(t, srv.APIKey, syncArgs(badFile("corrupted.parquet"), sample("customers.tamio.yaml"), srv.URL, out)...)
		checkNoCrash(t, r)
		msg := lastLine(r.stderr)
		if r.code != cli.ExitFatal || !strings.Contains(msg, "corrupted.parquet") || !strings.Contains(msg, "row group 3 of 3") {
			t.Fatalf("exit %d, want %d with an error naming the file and row group 3 of 3; stderr:\n%s", r.code, cli.ExitFatal, r.stderr)
		}
		s := readSummary(t, out)
		checkCounts(t, s)
		if s.Status != "failed" || s.Rows.Read > 40 {
			t.Errorf("summary: status %q, %d rows read; want failed, at most the 40 rows before row group 3", s.Status, s.Rows.Read)
		}
		for email, c := range crmCustomers(t, srv) {
			row, ok := byEmail[email]
			switch {
			case !ok:
				t.Errorf("the CRM holds %s, which the file does not", email)
			case c.Name != firstName(row[2]) || c.TimezoneOffset != row[8]:
				t.Errorf("%s: the CRM holds name %q offset %q; the file's row has %q, %q", email, c.Name, c.TimezoneOffset, row[2], row[8])
			}
		}
	})
}

// TestBadInputMappings runs the broken mappings of the corpus through
// check and sync, against clean.csv: exit 2, the error at the mapping's
// file and line (and column where there is one), nothing sent.
func TestBadInputMappings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file      string
		line, col int // col 0: YAML reports lines only
		says      string
	}{
		{"mapping-missing-column.tamio.yaml", 18, 16, `column "mobile" is not in the source`},
		{"mapping-yaml-error.tamio.yaml", 14, 0, "did not find expected ',' or ']'"},
		{"mapping-expression-error.tamio.yaml", 18, 20, `field "phone"`},
	}
	for _, tc := range cases {
		mapping := badFile(tc.file)
		at := fmt.Sprintf("%s:%d:", mapping, tc.line)
		if tc.col > 0 {
			at = fmt.Sprintf("%s:%d:%d:", mapping, tc.line, tc.col)
		}
		check := func(t *testing.T, r binResult) {
			t.Helper()
			checkNoCrash(t, r)
			if r.code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, cli.ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, at+" "+tc.says) {
				t.Errorf("stderr lacks %q:\n%s", at+" "+tc.says, r.stderr)
			}
		}
		t.Run("check "+tc.file, func(t *testing.T) {
			t.Parallel()
			check(t, runBinary(t, "", "check", "--mapping", mapping, "--source", badFile("clean.csv")))
		})
		t.Run("sync "+tc.file, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, tamiotest.Options{})
			check(t, runBinary(t, srv.APIKey, syncArgs(badFile("clean.csv"), mapping, srv.URL, filepath.Join(t.TempDir(), "out"))...))
			if w := writeCalls(sandboxStats(t, srv)); len(w) != 0 {
				t.Errorf("a broken mapping wrote to the CRM: %v", w)
			}
		})
	}
}

// garbageServer answers every request, on 127.0.0.1 alone, with status
// and body; it counts the requests.
func garbageServer(t *testing.T, status int, body []byte) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/v2", &n
}

// TestBadInputAPI syncs clean.csv against targets that never give a
// usable answer: a server answering every call with a proxy's HTML page or
// with JSON cut short, and a port nothing listens on. The run must stop
// with exit 1 and an error naming the call and what was wrong, once the
// retries are spent; a 4xx is not retried. The retries' backoff makes
// these the slow cases of the corpus (about 13 s each), run in parallel.
func TestBadInputAPI(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile(badFile("api-answer-not-json.html"))
	if err != nil {
		t.Fatal(err)
	}
	half, err := os.ReadFile(badFile("api-answer-half-json.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		status  int
		body    []byte
		says    []string
		retried bool
	}{
		{"api-answer-not-json.html as a 200", 200, page,
			[]string{"GET /teammates/list", "not the documented JSON", "invalid character '<'", "502 Bad Gateway"}, true},
		{"api-answer-half-json.json as a 200", 200, half,
			[]string{"GET /teammates/list", "not the documented JSON", "unexpected end of JSON input", `{\"teammates\"`}, true},
		{"api-answer-not-json.html as a 502", 502, page, []string{"GET /teammates/list: 502", "502 Bad Gateway"}, true},
		{"api-answer-half-json.json as a 400", 400, half, []string{"GET /teammates/list: 400", `{"teammates"`}, false},
		{"unreachable", 0, nil, []string{"GET /teammates/list", "connection refused"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var target string
			var calls *atomic.Int64
			if tc.body != nil {
				target, calls = garbageServer(t, tc.status, tc.body)
			} else {
				target = "http://" + closedPort(t) + "/v2"
			}
			out := filepath.Join(t.TempDir(), "out")
			r := runBinary(t, "some-key", syncArgs(badFile("clean.csv"), sample("customers.tamio.yaml"), target, out)...)
			t.Logf("failed in %s", r.took.Round(time.Millisecond))
			checkNoCrash(t, r)
			if r.code != cli.ExitFatal {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, cli.ExitFatal, r.stderr)
			}
			msg := lastLine(r.stderr)
			for _, s := range tc.says {
				if !strings.Contains(msg, s) {
					t.Errorf("the error does not say %q:\n%s", s, msg)
				}
			}
			if len(msg) > 1000 {
				t.Errorf("an error of %d bytes: the answer should be cut to an excerpt", len(msg))
			}
			s := readSummary(t, out)
			checkCounts(t, s)
			if s.Status != "failed" || s.Rows.Created != 0 || s.Rows.Rejected != 0 {
				t.Errorf("summary: status %q, rows %+v; want failed, nothing created or rejected", s.Status, s.Rows)
			}
			if calls != nil {
				switch n := calls.Load(); {
				case tc.retried && n < 2:
					t.Errorf("the server was called %d times: an answer that may be a proxy's hiccup is worth a retry", n)
				case !tc.retried && n != 1:
					t.Errorf("the server was called %d times: a 4xx is the same when asked again", n)
				}
			}
		})
	}
}

// TestBadInputFullDisk syncs a file whose reject file cannot be written
// whole: the process's file size limit (RLIMIT_FSIZE, set by the shell's
// ulimit, which needs no privileges) stops the writes to the 10 MB reject
// as a full disk would. Go ignores SIGXFSZ, so the write fails with EFBIG:
// the run must stop with exit 1 naming the reject file, never report
// success.
func TestBadInputFullDisk(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to set the file size limit with")
	}
	clean := cleanRows(t)
	rows := append([][]string(nil), clean...)
	rows[5] = append([]string(nil), clean[5]...)
	rows[5][2] = strings.Repeat("Ann ", 10<<20/4)
	source := filepath.Join(t.TempDir(), "big-field.csv")
	writeCSVFile(t, source, rows)

	srv := newCRM(t, tamiotest.Options{})
	out := filepath.Join(t.TempDir(), "out")
	// 1024 blocks is 512 KiB (POSIX sh) or 1 MiB (bash): room for the
	// summary and report, not for the reject.
	args := append([]string{"-c", `ulimit -f 1024 && exec "$0" "$@"`, binary}, syncArgs(source, sample("customers.tamio.yaml"), srv.URL, out)...)
	cmd := exec.Command(sh, args...)
	cmd.Env = append(os.Environ(), keyEnv+"="+srv.APIKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := waitBinary(t, cmd, &stdout, &stderr, started, 2*time.Minute)
	checkNoCrash(t, r)
	if r.code != cli.ExitFatal {
		t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, cli.ExitFatal, r.stdout, r.stderr)
	}
	msg := lastLine(r.stderr)
	if !strings.Contains(msg, filepath.Join(out, "rejects.csv")) || !strings.Contains(msg, "file too large") {
		t.Errorf("the error does not name the reject file and the failed write:\n%s", msg)
	}
	if strings.Contains(r.stdout, "status: done") {
		t.Errorf("the run says it is done:\n%s", r.stdout)
	}
	s := readSummary(t, out)
	if s.Status != "failed" || s.ExitCode != cli.ExitFatal || !strings.Contains(s.Error, "rejects.csv") {
		t.Errorf("summary: status %q exit %d error %q; want failed, 1, naming rejects.csv", s.Status, s.ExitCode, s.Error)
	}
	st, err := os.Stat(filepath.Join(out, "rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 1<<20 {
		t.Errorf("rejects.csv is %d bytes: the file size limit did not hold, so this test proved nothing", st.Size())
	}
}

// TestBadInputCorpusCovered fails when a file is added to samples/bad
// without a case here, or its README does not list it.
func TestBadInputCorpusCovered(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("badinput_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(badFile("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(badFile("."))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" {
			continue
		}
		if !regexp.MustCompile(`"` + regexp.QuoteMeta(name) + `[" ]`).Match(src) {
			t.Errorf("samples/bad/%s has no case in badinput_test.go", name)
		}
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("samples/bad/README.md does not list %s", name)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > 100<<10 {
			t.Errorf("samples/bad/%s is %d bytes; keep corpus files under 100 KB", name, info.Size())
		}
	}
}
