package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/sinks/tamio/tamiotest"
)

// TestSyncOversizedMappingInput syncs clean.csv with mappings built to
// crash or balloon a run: an expression nested 2,000,000 brackets deep (a
// 4 MB file, under the mapping size cap), and a lookup table whose header
// of a million columns lacks the key column. The binary must stop with
// exit 2 and a short message naming the file and place, in stderr and in
// summary.json, without writing to the CRM.
func TestSyncOversizedMappingInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const head = "api: tamio\nkey: customer_id\n"
	deep := filepath.Join(dir, "deep.tamio.yaml")
	n := 2_000_000
	if err := os.WriteFile(deep, []byte(head+"fields:\n  name: "+strings.Repeat("(", n)+"full_name"+strings.Repeat(")", n)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var header strings.Builder
	for i := range 1_000_000 {
		if i > 0 {
			header.WriteByte(',')
		}
		header.WriteString("column_" + strconv.Itoa(i))
	}
	header.WriteString("\n")
	if err := os.WriteFile(filepath.Join(dir, "wide.csv"), []byte(header.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.tamio.yaml")
	if err := os.WriteFile(wide, []byte(head+"lookups:\n  owners: {file: wide.csv, key: email, value: id}\nfields:\n  name: full_name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, mapping, says string }{
		{"deep", deep, deep + `:4:109: field "name": the expression is nested more than 100 brackets deep`},
		{"wide", wide, wide + `:4:33: lookup "owners": ` + filepath.Join(dir, "wide.csv") + ` has no column "email" (its columns: "column_0", "column_1", "column_2", "column_3", "column_4", "column_5", "column_6", "column_7", "column_8", "column_9" and 999990 more)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, tamiotest.Options{})
			out := filepath.Join(t.TempDir(), "out")
			r := runBinary(t, srv.APIKey, syncArgs(badFile("clean.csv"), tc.mapping, srv.URL, out)...)
			checkNoCrash(t, r)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.says) || len(r.stderr) > 2000 {
				t.Fatalf("exit %d, stderr of %d bytes: %.2000q; want exit %d and %q", r.code, len(r.stderr), r.stderr, cli.ExitUsage, tc.says)
			}
			data, err := os.ReadFile(filepath.Join(out, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			if s := readSummary(t, out); s.Status != "failed" || !strings.Contains(s.Error, tc.says) || len(data) > 4000 {
				t.Errorf("summary.json of %d bytes, status %q, error %.2000q", len(data), s.Status, s.Error)
			}
			if w := writeCalls(sandboxStats(t, srv)); len(w) != 0 {
				t.Errorf("a broken mapping wrote to the CRM: %v", w)
			}
		})
	}
}

// TestHugeMappingFileCostsNoMemory: a --mapping that never ends (a wrong
// path to a device) is refused as too large after reading a few MiB of
// it. The binary runs with 4 GiB of address space, so reading /dev/zero
// whole would end in "out of memory" at once instead of filling the
// machine's.
func TestHugeMappingFileCostsNoMemory(t *testing.T) {
	t.Parallel()
	started := time.Now()
	cmd := exec.Command("sh", "-c", `ulimit -v 4194304 && exec "$0" "$@"`, binary, "check", "--mapping", "/dev/zero")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := waitBinary(t, cmd, &stdout, &stderr, started, time.Minute)
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "larger than 4 MiB") {
		t.Fatalf("exit %d: %.500s; want exit %d, the file refused as larger than 4 MiB", r.code, r.stderr, cli.ExitUsage)
	}
}
