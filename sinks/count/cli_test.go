package count_test

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/sinks/count/counttest"
)

// The tests here run the crmsync command line in this process, so that
// they see what a user sees. The registry holds COUNT because this test
// binary links the connector, whatever crm/all links.

// sampleHead writes the header and the first n rows of the shipped sample
// to a file and returns its path.
func sampleHead(t *testing.T, n int) string {
	t.Helper()
	in, err := os.Open("../../samples/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	for i := 0; i <= n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	path := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// crmsync runs the command line with args and returns its exit code and
// what it wrote to standard output and standard error. It swaps the
// process's os.Stdout and os.Stderr, so its callers do not run in
// parallel.
func crmsync(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, out
	code := cli.Main(args)
	os.Stdout, os.Stderr = stdout, stderr
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(b)
}

// summary reads a run's summary.json.
func summary(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMirrorRefused: COUNT cannot delete, so crmsync sync --mode mirror
// refuses at start with a clear message, and writes nothing.
func TestMirrorRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sandbox.db")
	code, out := crmsync(t, "sync", "--source", sampleHead(t, 20), "--mapping", "../../samples/customers.count.yaml",
		"--target", "sandbox", "--sandbox-db", db, "--state", filepath.Join(dir, "state.db"), "--mode", "mirror",
		"--out", filepath.Join(dir, "out"), "--progress", "none")
	if code == 0 || !strings.Contains(out, "--mode mirror deletes the customers missing from the source, and count cannot delete customers: use --mode upsert") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	srv, err := counttest.NewServer(counttest.Options{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if n := srv.Stats().Customers; n != 0 {
		t.Errorf("the refused run wrote %d customers", n)
	}
}

// TestSampleEndToEnd: the shipped mapping loads the head of the shipped
// sample into a COUNT emulator given as the target URL, with the three
// credentials from COUNT_TOKEN, COUNT_CLIENT_ID and COUNT_CLIENT_SECRET;
// a second run writes nothing. The log says the contact is set on create
// only. No credential reaches the output, the debug log, the reports or
// the state.
func TestSampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv, err := counttest.NewServer(counttest.Options{DBPath: filepath.Join(dir, "count.db"), RateLimit: noLimit,
		Clients: []counttest.Client{{Token: "tok-Zq81mUeL0vX3", ClientID: "cid-Hn27wPq", ClientSecret: "sec-Kd93nVbT44"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("COUNT_TOKEN", srv.Token)
	t.Setenv("COUNT_CLIENT_ID", srv.ClientID)
	t.Setenv("COUNT_CLIENT_SECRET", srv.ClientSecret)
	source := sampleHead(t, 150)
	sync := func(out string) (int, string) {
		return crmsync(t, "sync", "--source", source, "--mapping", "../../samples/customers.count.yaml", "--target", srv.URL,
			"--rate", "1000", "--state", filepath.Join(dir, "state.db"), "--out", filepath.Join(dir, out), "--progress", "log", "--verbose")
	}
	code, out1 := sync("out1")
	rows := summary(t, filepath.Join(dir, "out1"))["rows"].(map[string]any)
	created := int64(rows["created"].(float64))
	if code != 0 && code != 3 || created < 140 || rows["pending"].(float64) != 0 {
		t.Fatalf("first run: exit %d, rows %v:\n%s", code, rows, out1)
	}
	if !strings.Contains(out1, "the mapping fills the primary contact, which COUNT sets only when it creates a customer") {
		t.Errorf("the run did not say that the contact is set on create only:\n%s", out1)
	}
	if n := srv.Stats().Customers; n != created {
		t.Errorf("COUNT holds %d customers, the run created %d", n, created)
	}
	writesBefore := srv.Stats().Requests["POST /customers"]["201"]
	code, out2 := sync("out2")
	rows = summary(t, filepath.Join(dir, "out2"))["rows"].(map[string]any)
	if code != 0 && code != 3 || rows["created"].(float64) != 0 || rows["updated"].(float64) != 0 || rows["unchanged"].(float64) != float64(created) {
		t.Errorf("second run: exit %d, rows %v", code, rows)
	}
	st := srv.Stats().Requests
	if st["POST /customers"]["201"] != writesBefore || len(st["PUT /customers/{uuid}"]) != 0 {
		t.Errorf("the second run wrote: %v", st)
	}
	texts := map[string]string{"first run's output": out1, "second run's output": out2}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "count.db" || strings.HasPrefix(filepath.Base(path), "count.db-") {
			return err
		}
		b, err := os.ReadFile(path)
		texts[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("looked through %d files and outputs; %d created", len(texts), created)
	if len(texts) < 8 {
		t.Errorf("only %d files and outputs to look through", len(texts))
	}
	for what, text := range texts {
		for _, secret := range []string{srv.Token, srv.ClientID, srv.ClientSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the credential %q", what, secret)
			}
		}
	}
}
