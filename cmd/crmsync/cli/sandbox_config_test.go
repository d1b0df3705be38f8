package cli_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"crmsync/sinks/tamio/tamiotest"
)

// ownTeammates are teammates the embedded sandbox does not have unless a
// configuration gives them.
var ownTeammates = map[string]string{
	"ana.garcia@example.com":   "4a1b2c3d-0000-4000-8000-000000000001",
	"ben.okafor@example.com":   "4a1b2c3d-0000-4000-8000-000000000002",
	"chloe.martin@example.com": "4a1b2c3d-0000-4000-8000-000000000003",
}

// sampleHead writes the header and the first n rows of the shipped sample
// to dir and returns the file's path.
func sampleHead(t *testing.T, dir string, n int) string {
	t.Helper()
	rows := readLooseCSV(t, sample("customers.csv"))
	path := filepath.Join(dir, "head.csv")
	writeCSVFile(t, path, rows[:n+1])
	return path
}

// readLooseCSV reads the records of a CSV file that holds broken ones, as
// the sample does, leaving out those that do not parse.
func readLooseCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Fatal(err)
		}
		if err == nil {
			rows = append(rows, rec)
		}
	}
}

// ownAccount writes the sample mapping with a lookup table of
// ownTeammates, and a sandbox configuration holding them, to dir.
func ownAccount(t *testing.T, dir string) (mapping, config string) {
	t.Helper()
	mapping = mappingIn(t, dir)
	var table bytes.Buffer
	conf := "teammates:\n"
	table.WriteString("email,id,name\n")
	for email, id := range ownTeammates {
		table.WriteString(email + "," + id + ",Someone\n")
		conf += "  - {id: " + id + ", email: " + email + ", name: Someone}\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "teammates.csv"), table.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return mapping, config
}

// checkOwners opens the sandbox database db with the teammates of config
// and checks that every customer created from source is assigned to the
// teammate its owner_email names in want, and that there are created ones.
func checkOwners(t *testing.T, db, config, source string, want map[string]string) {
	t.Helper()
	o, err := tamiotest.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	o.DBPath = db
	crm := crmCustomers(t, newCRM(t, o))
	rows := readLooseCSV(t, source)
	email, owner := column(t, rows[0], "email"), column(t, rows[0], "owner_email")
	checked := 0
	for _, r := range rows[1:] {
		if len(r) <= owner {
			continue
		}
		c, ok := crm[strings.ToLower(strings.TrimSpace(r[email]))]
		if !ok {
			continue
		}
		checked++
		if id := want[strings.ToLower(r[owner])]; c.TeammateID != id {
			t.Errorf("customer %s: teammate %q, want %q (owner %s)", c.ID, c.TeammateID, id, r[owner])
		}
	}
	if checked == 0 {
		t.Fatal("the sandbox holds no customer of the source")
	}
}

// TestSandboxConfigAssignsTeammates syncs onto the embedded sandbox a
// mapping whose lookup table names teammates the default sandbox lacks:
// without --sandbox-config every row with an owner is rejected 1002, with a
// configuration holding them each is assigned its owner's teammate. The
// shipped sample with samples/sandbox.yaml assigns every owner too.
func TestSandboxConfigAssignsTeammates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	source := sampleHead(t, dir, 40)
	mapping, config := ownAccount(t, dir)

	bare := runBinary(t, "", syncArgs(source, mapping, "sandbox", filepath.Join(dir, "out-bare"),
		"--sandbox-db", filepath.Join(dir, "bare.db"))...)
	if bare.code != 3 {
		t.Fatalf("sync without --sandbox-config: exit %d, want 3; stderr:\n%s", bare.code, bare.stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "out-bare")); s.RejectsByCode["1002"] == 0 || s.Rows.Created != 0 {
		t.Fatalf("without the teammates: %d created, %v rejects; want every row with an owner rejected 1002",
			s.Rows.Created, s.RejectsByCode)
	}

	db := filepath.Join(dir, "own.db")
	own := runBinary(t, "", syncArgs(source, mapping, "sandbox", filepath.Join(dir, "out-own"),
		"--sandbox-db", db, "--sandbox-config", config)...)
	if own.code != 3 { // the sample's broken rows
		t.Fatalf("sync with --sandbox-config: exit %d, want 3; stderr:\n%s", own.code, own.stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "out-own")); s.RejectsByCode["1002"] != 0 || s.Rows.Created == 0 {
		t.Fatalf("with the teammates: %d created, %v rejects; want no 1002", s.Rows.Created, s.RejectsByCode)
	}
	checkOwners(t, db, config, source, ownTeammates)

	sampleDB := filepath.Join(dir, "sample.db")
	run := runBinary(t, "", syncArgs(sample("customers.csv"), sample("customers.tamio.yaml"), "sandbox",
		filepath.Join(dir, "out-sample"), "--sandbox-db", sampleDB, "--sandbox-config", sample("sandbox.yaml"))...)
	if run.code != 3 {
		t.Fatalf("sample sync: exit %d, want 3; stderr:\n%s", run.code, run.stderr)
	}
	if s := readSummary(t, filepath.Join(dir, "out-sample")); s.RejectsByCode["1002"] != 0 {
		t.Errorf("sample with samples/sandbox.yaml: rejects %v, want no 1002", s.RejectsByCode)
	}
	sampleTeammates := map[string]string{}
	for _, r := range readCSVFile(t, sample("teammates.csv"))[1:] {
		sampleTeammates[strings.ToLower(r[0])] = r[1]
	}
	checkOwners(t, sampleDB, sample("sandbox.yaml"), sample("customers.csv"), sampleTeammates)
}

// TestSandboxSyncLeavesEmulatorLinesToDebug checks that a sync on the
// embedded sandbox shows none of the emulator's own INFO lines (a line per
// bulk job) at the default level, that --verbose still shows them, and
// that the standalone `crmsync sandbox` keeps them at INFO.
func TestSandboxSyncLeavesEmulatorLinesToDebug(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	source := sampleHead(t, dir, 40)
	mapping := mappingIn(t, dir)
	db := filepath.Join(dir, "sandbox.db")

	quiet := runBinary(t, "", syncArgs(source, mapping, "sandbox", filepath.Join(dir, "out1"), "--sandbox-db", db)...)
	if quiet.code != 3 {
		t.Fatalf("sync: exit %d, want 3; stderr:\n%s", quiet.code, quiet.stderr)
	}
	for _, line := range []string{"bulk job", "tamio sandbox"} {
		if strings.Contains(quiet.stderr, line) {
			t.Errorf("stderr of a sandbox sync holds the emulator's %q lines:\n%s", line, quiet.stderr)
		}
	}
	if !strings.Contains(quiet.stderr, "sync finished") {
		t.Errorf("stderr lacks the sync's own lines:\n%s", quiet.stderr)
	}

	verbose := runBinary(t, "", syncArgs(source, mapping, "sandbox", filepath.Join(dir, "out2"),
		"--sandbox-db", filepath.Join(dir, "verbose.db"), "--verbose")...)
	if verbose.code != 3 || !strings.Contains(verbose.stderr, `level=DEBUG msg="bulk job queued"`) {
		t.Errorf("sync --verbose: exit %d, stderr without the emulator's bulk job lines at debug:\n%s", verbose.code, verbose.stderr)
	}

	cmd := exec.Command(binary, "sandbox", "--api", "tamio", "--listen", "127.0.0.1:0", "--db", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "tamio sandbox serving at http://127.0.0.1:") {
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("crmsync sandbox did not stop within 30 s of SIGINT")
	}
	if err != nil || !strings.Contains(stderr.String(), `level=INFO msg="tamio sandbox listening"`) {
		t.Errorf("crmsync sandbox: %v; stderr without its INFO lines:\n%s", err, stderr.String())
	}
}

// helpConfigExample is the YAML example of `crmsync sandbox --help`: the
// indented lines after "A complete example:".
func helpConfigExample(t *testing.T, help string) string {
	t.Helper()
	_, rest, ok := strings.Cut(help, "A complete example for tamio:\n\n")
	if !ok {
		t.Fatalf("sandbox --help has no configuration example:\n%s", help)
	}
	var b strings.Builder
	for line := range strings.Lines(rest) {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		b.WriteString(line[2:])
	}
	return b.String()
}

// readmeConfigExample is the first yaml block of the README's section on
// rehearsing on the sandbox.
func readmeConfigExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "### Rehearsing with your teammates on the sandbox\n")
	if !ok {
		t.Fatal("README.md has no section on rehearsing on the sandbox")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("the README's sandbox section has no yaml example")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestSandboxConfigExamplesLoad loads the configuration examples of
// `crmsync sandbox --help` and of the README as --sandbox-config loads them,
// and checks that the help's example sets every kind of setting it claims
// to show.
func TestSandboxConfigExamplesLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	help := runBinary(t, "", "sandbox", "--help")
	if help.code != 0 {
		t.Fatalf("sandbox --help: exit %d", help.code)
	}
	if !strings.Contains(help.stdout, "--listen 127.0.0.1:0") {
		t.Error("sandbox --help does not show --listen 127.0.0.1:0")
	}
	load := func(name, text string) tamiotest.Options {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := tamiotest.LoadConfig(p)
		if err != nil {
			t.Fatalf("the %s example does not load: %v\n%s", name, err, text)
		}
		return o
	}
	o := load("help.yaml", helpConfigExample(t, help.stdout))
	if len(o.Keys) < 2 || len(o.Keys[1].Customers) == 0 || len(o.Teammates) == 0 || o.RateLimit == 0 ||
		o.RateBurst == 0 || o.BulkDelay == 0 || o.Faults.ErrorRate == 0 || o.Faults.Latency == 0 ||
		o.Faults.DropRate == 0 || o.Faults.LostAnswerRate == 0 {
		t.Errorf("the help's example leaves settings out: %+v", o)
	}
	if o := load("readme.yaml", readmeConfigExample(t)); len(o.Teammates) == 0 {
		t.Errorf("the README's example sets no teammates: %+v", o)
	}
}

// TestSandboxConfigUsageErrors checks that a configuration file with a
// mistake stops sync, export and erase with exit 2 and a message naming
// the file and the line, before anything is synced.
func TestSandboxConfigUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	conf := "teammates:\n  - {id: 4a1b2c3d-0000-4000-8000-000000000001, email: ana@example.com}\n  - {id: ana, email: ben@example.com}\n"
	if err := os.WriteFile(bad, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("teammates: []\nrate_limt: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	subjects := filepath.Join(dir, "subjects.csv")
	writeCSVFile(t, subjects, [][]string{{"email"}, {"ana@example.com"}})
	db := filepath.Join(dir, "sandbox.db")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"sync", syncArgs(sample("customers.csv"), sample("customers.tamio.yaml"), "sandbox", filepath.Join(dir, "out1"),
			"--sandbox-db", db, "--sandbox-config", bad), bad + ":3: teammate 1"},
		{"unknown setting", syncArgs(sample("customers.csv"), sample("customers.tamio.yaml"), "sandbox", filepath.Join(dir, "out2"),
			"--sandbox-db", db, "--sandbox-config", unknown), unknown + `:2: unknown setting "rate_limt"`},
		{"missing file", syncArgs(sample("customers.csv"), sample("customers.tamio.yaml"), "sandbox", filepath.Join(dir, "out3"),
			"--sandbox-db", db, "--sandbox-config", filepath.Join(dir, "missing.yaml")), filepath.Join(dir, "missing.yaml")},
		{"not the sandbox", syncArgs(sample("customers.csv"), sample("customers.tamio.yaml"), "http://127.0.0.1:9/v2", filepath.Join(dir, "out4"),
			"--sandbox-config", bad), "--sandbox-config"},
		{"export", []string{"export", "--api", "tamio", "--target", "sandbox", "--sandbox-db", db, "--sandbox-config", bad, "--all",
			"--out", filepath.Join(dir, "export"), "--progress", "none"}, bad + ":3: teammate 1"},
		{"erase", []string{"erase", "--api", "tamio", "--target", "sandbox", "--sandbox-db", db, "--sandbox-config", bad, "--subjects", subjects,
			"--out", filepath.Join(dir, "erase")}, bad + ":3: teammate 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, "k", tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want 2 with %q; stderr:\n%s", r.code, tc.want, r.stderr)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a sandbox was started on a configuration with mistakes")
	}
}
