package cli_test

// Named remotes (issue 18, item 1): the remotes file, `crmsync remotes`
// and --target NAME, with the real binary against emulators on 127.0.0.1.

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/remotes"
	"crmsync/sinks/tiquo/tiquotest"
)

// runBinaryEnv runs the crmsync binary with env added to the test's
// environment, and XDG_CONFIG_HOME in a directory of its own so that no
// remotes file of the machine's user is read.
func runBinaryEnv(t *testing.T, env []string, args ...string) binResult {
	t.Helper()
	return runBinaryIn(t, "", env, args...)
}

// runBinaryIn is runBinaryEnv in the working directory cwd ("" for the
// test's), where sandboxes keep their default files.
func runBinaryIn(t *testing.T, cwd string, env []string, args ...string) binResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = cwd
	cmd.Env = append(append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir()), env...)
	var r binResult
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := time.Now()
	err := cmd.Run()
	r.stdout, r.stderr, r.took = stdout.String(), stderr.String(), time.Since(started)
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// sampleAbs is the absolute path of a file of samples/, for runs in
// another working directory.
func sampleAbs(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(sample(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeRemotes writes a remotes file to dir.
func writeRemotes(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "remotes.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rowOf returns the line of a table that starts with name.
func rowOf(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	return ""
}

// TestRemotesCheck: a tiquo emulator's configuration gives it one key. `crmsync remotes`
// lists the file's remotes and the built-in sandboxes, with whether each
// credential variable is set and never its value, and calls nothing;
// --check reads one page with each remote's key and reports per remote:
// the right key answers, a wrong one is refused (401), a variable not set
// fails without a call; the exit status is 1 when any fails and 0 when
// those checked all answer. The same remote then serves as --target.
func TestRemotesCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const right, wrong = "sk_test_right_key_1", "sk_test_wrong_key_2"
	// The emulator's account, configured as `crmsync sandbox --config`
	// and --sandbox-config are: one key, which the stale variable is not.
	sbConfig := filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(sbConfig, []byte("keys:\n  - {token: "+right+", name: migration, scopes: [customers:read, customers:write]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := tiquotest.LoadConfig(sbConfig)
	if err != nil {
		t.Fatal(err)
	}
	opts.DBPath = filepath.Join(dir, "crm.db")
	srv, err := tiquotest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	config := writeRemotes(t, dir, `remotes:
  good:
    api: tiquo
    url: `+srv.URL+`
    credentials: {api_key: H1_GOOD_KEY}
  stale:
    api: tiquo
    url: `+srv.URL+`
    credentials: {api_key: H1_STALE_KEY}
  unset:
    api: tiquo
    url: `+srv.URL+`
    credentials: {api_key: H1_UNSET_KEY}
  rehearsal: {api: tamio, sandbox: true, sandbox_db: rehearsal.db}
`)
	env := []string{"H1_GOOD_KEY=" + right, "H1_STALE_KEY=" + wrong, "H1_UNSET_KEY="}
	noSecret := func(r binResult) {
		t.Helper()
		for _, s := range []string{right, wrong} {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("the output holds a key:\n%s%s", r.stdout, r.stderr)
			}
		}
	}

	r := runBinaryEnv(t, env, "--config", config, "remotes")
	noSecret(r)
	if r.code != cli.ExitOK {
		t.Fatalf("remotes: exit %d\n%s", r.code, r.stderr)
	}
	for name, want := range map[string]string{
		"good":          "api_key=H1_GOOD_KEY (set)",
		"unset":         "api_key=H1_UNSET_KEY (NOT SET)",
		"rehearsal":     "sandbox on " + filepath.Join(dir, "rehearsal.db"),
		"sandbox:tiquo": "sandbox on crmsync-sandbox-tiquo.db",
		"sandbox:count": "sandbox on crmsync-sandbox-count.db",
	} {
		if row := rowOf(r.stdout, name); !strings.Contains(row, want) {
			t.Errorf("remotes: the row of %s is %q, want it to hold %q\n%s", name, row, want, r.stdout)
		}
	}
	if n := sandboxStatsTiquo(t, srv); n != 0 {
		t.Errorf("listing made %d calls", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "rehearsal.db")); err == nil {
		t.Error("listing started the sandbox remote")
	}

	r = runBinaryEnv(t, env, "--config", config, "remotes", "--check")
	noSecret(r)
	if r.code != cli.ExitFatal || !strings.Contains(r.stderr, "2 of 8 remotes failed the check") {
		t.Errorf("remotes --check: exit %d, want %d naming 2 of 8\n%s", r.code, cli.ExitFatal, r.stderr)
	}
	for name, want := range map[string]*regexp.Regexp{
		"good":      regexp.MustCompile(`\(set\)\s+ok$`),
		"stale":     regexp.MustCompile(`FAILED: .*401`),
		"unset":     regexp.MustCompile(`FAILED: .*set the environment variable H1_UNSET_KEY`),
		"rehearsal": regexp.MustCompile(`a sandbox holds its own key`),
	} {
		if row := rowOf(r.stdout, name); !want.MatchString(row) {
			t.Errorf("remotes --check: the row of %s is %q, want %v\n%s", name, row, want, r.stdout)
		}
	}

	r = runBinaryEnv(t, env, "--config", config, "remotes", "--check", "good", "sandbox:tiquo")
	if r.code != cli.ExitOK || rowOf(r.stdout, "stale") != "" || !strings.Contains(rowOf(r.stdout, "good"), "ok") {
		t.Errorf("remotes --check good: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	out := filepath.Join(dir, "out")
	r = runBinaryEnv(t, env, "--config", config, "sync", "--source", sampleHead(t, dir, 20), "--mapping", sample("customers.tiquo.yaml"),
		"--target", "good", "--out", out, "--progress", "none")
	noSecret(r)
	if r.code != cli.ExitOK && r.code != cli.ExitRejects {
		t.Fatalf("sync --target good: exit %d\n%s", r.code, r.stderr)
	}
	if s := readSummary(t, out); s.Rows.Created == 0 || !strings.HasPrefix(s.Target, "good (") {
		t.Errorf("sync --target good: %d created, target %q", s.Rows.Created, s.Target)
	}
}

// sandboxStatsTiquo counts the requests a tiquo emulator answered.
func sandboxStatsTiquo(t *testing.T, srv *tiquotest.Server) int64 {
	t.Helper()
	var st struct {
		TotalRequests int64 `json:"total_requests"`
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(strings.TrimSuffix(srv.URL, "/v1") + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.TotalRequests
}

// TestRemotesUsageErrors: every mistake in naming a remote stops the
// command with exit 2 before anything is sent, saying what is wrong: a
// --config file that does not exist, a file holding a secret (named by
// file, line, remote and key, the secret not repeated), an unknown
// remote (with the closest name), and a remote of another API than the
// mapping's. The default file may be absent.
func TestRemotesUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	leaky := filepath.Join(dir, "leaky.yaml")
	if err := os.WriteFile(leaky, []byte("remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com/v1\n    credentials:\n      api_key: "+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := writeRemotes(t, dir, "remotes:\n  production: {api: tiquo, url: 'http://127.0.0.1:9/v1', credentials: {api_key: H1_PROD_KEY}}\n")
	mapping, csv := sampleAbs(t, "customers.tamio.yaml"), sampleAbs(t, "customers.csv")
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml"), "remotes"}, "--config " + filepath.Join(dir, "none.yaml") + ": no such file"},
		{"secret", []string{"--config", leaky, "remotes"}, leaky + `:6: remote "old": credentials.api_key: not the name of an environment variable`},
		{"secret in sync", append([]string{"--config", leaky}, syncArgs(csv, mapping, "old", out)...), leaky + ":6:"},
		{"unknown remote", append([]string{"--config", config}, syncArgs(csv, mapping, "prodution", out)...),
			`--target: unknown remote "prodution" (` + config + ` defines 1 remote; crmsync remotes lists them); did you mean "production"?`},
		{"unknown in remotes", []string{"--config", config, "remotes", "--check", "prod"}, `unknown remote "prod"`},
		{"remote of another API", append([]string{"--config", config}, syncArgs(csv, mapping, "production", out)...),
			"--target production is a tiquo remote, but the mapping says api: tamio"},
		{"sandbox of another API", syncArgs(csv, mapping, "sandbox:tiquo", out), "--target sandbox:tiquo is a tiquo remote, but the mapping says api: tamio"},
		{"unknown sandbox", syncArgs(csv, mapping, "sandbox:tamoi", out), `sandbox:tamoi: unknown api "tamoi"`},
		{"--api of another API", []string{"--config", config, "export", "--api", "tamio", "--target", "production", "--all", "--out", filepath.Join(dir, "export")},
			"--target production is a tiquo remote, but --api says tamio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinaryIn(t, dir, []string{"H1_PROD_KEY=k"}, tc.args...)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", r.code, cli.ExitUsage, tc.want, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("the output holds the secret:\n%s", r.stderr)
			}
		})
	}
	r := runBinaryEnv(t, nil, "remotes")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "(absent: only the sandboxes are defined)") || rowOf(r.stdout, "sandbox:tamio") == "" {
		t.Errorf("remotes without a file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "crmsync-sandbox-tiquo.db")); err == nil {
		t.Error("a refused run started a sandbox")
	}
}

// TestReadmeRemotesExampleLoads: the remotes file the README shows is
// one crmsync reads, with the remotes it describes.
func TestReadmeRemotesExampleLoads(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n### Remotes")
	if !ok {
		t.Fatal("README.md has no Remotes section")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the Remotes section of README.md shows no remotes file")
	}
	f, err := remotes.Load(writeRemotes(t, t.TempDir(), block), true)
	if err != nil {
		t.Fatalf("README.md's remotes file: %v", err)
	}
	if len(f.Remotes) != 2 || f.Remotes[0].Name != "old-crm" || f.Remotes[0].Env["api_key"] != "OLD_TIQUO_KEY" || !f.Remotes[1].Sandbox {
		t.Errorf("README.md's remotes file reads as %+v", f.Remotes)
	}
}
