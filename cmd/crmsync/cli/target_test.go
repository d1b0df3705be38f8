package cli_test

// What the commands send to a target and keep of it (issue 13, items 11
// to 15), with the real binary against servers on 127.0.0.1.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// probeCRM is an emulator that knows probeKey, behind handler wrap, which
// may answer a request itself or pass it on (next).
func probeCRM(t *testing.T, wrap func(w http.ResponseWriter, r *http.Request, next http.Handler)) string {
	t.Helper()
	srv := newCRM(t, tamiotest.Options{Keys: []tamiotest.Key{{Token: probeKey, Name: "probe",
		Permissions: []string{tamiotest.PermView, tamiotest.PermEdit, tamiotest.PermCreate, tamiotest.PermRemove}}}})
	next := srv.Handler()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { wrap(w, r, next) }))
	t.Cleanup(front.Close)
	return front.URL + "/v2"
}

// TestTargetURLIsChecked: an http:// target on another machine is
// refused without --allow-insecure-http, and a target holding a user name
// and password is refused whatever the flags, before anything is sent;
// the password is in neither the output nor any file the run leaves
// (summary.json, report.html, the state). Every command that takes a
// target has both safety flags.
func TestTargetURLIsChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	subjects := filepath.Join(dir, "subjects.csv")
	if err := os.WriteFile(subjects, []byte("email\nana@example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, args := range [][]string{
		syncArgs(sample("customers.csv"), mapping, "http://crm.example.invalid/v2", out),
		{"export", "--api", "tamio", "--target", "http://crm.example.invalid/v2", "--all", "--out", filepath.Join(dir, "export"), "--api-key-env", keyEnv},
		{"erase", "--api", "tamio", "--target", "http://crm.example.invalid/v2", "--subjects", subjects, "--out", filepath.Join(dir, "erase"), "--api-key-env", keyEnv, "--dry-run"},
	} {
		r := runBinary(t, probeKey, args...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "cleartext") || !strings.Contains(r.stderr, "--allow-insecure-http") {
			t.Errorf("%s to http://crm.example.invalid: exit %d, want %d naming --allow-insecure-http\n%s", args[0], r.code, cli.ExitUsage, r.stderr)
		}
		help := runBinary(t, "", args[0], "--help")
		if !strings.Contains(help.stdout, "--allow-insecure-http") || !strings.Contains(help.stdout, "--api-timeout duration") {
			t.Errorf("%s --help lacks the safety flags:\n%s", args[0], help.stdout)
		}
	}

	const password = "Pa55w0rdInTheURL"
	srv := newCRM(t, tamiotest.Options{})
	withUser := strings.Replace(srv.URL, "http://", "https://crm-user:"+password+"@", 1)
	state := filepath.Join(dir, "state.db")
	for _, target := range []string{withUser, strings.Replace(withUser, "https://", "http://", 1)} {
		r := runBinary(t, srv.APIKey, syncArgs(sample("customers.csv"), mapping, target, out, "--state", state, "--allow-insecure-http")...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "user name or password") {
			t.Errorf("a target with a password: exit %d, want %d\n%s", r.code, cli.ExitUsage, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, password) {
			t.Errorf("the password is in the output:\n%s", r.stderr)
		}
	}
	if n := sandboxStats(t, srv).TotalRequests; n != 0 {
		t.Errorf("the target got %d requests", n)
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Errorf("no summary.json to check: %v", err)
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(password)) {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})
}

// TestRedirectingTargetGetsNothingElsewhere: a target that redirects
// every call (307) to another port makes the run fail at once (exit 1),
// naming where the redirect pointed; the other server gets no request,
// so neither the key nor a customer.
func TestRedirectingTargetGetsNothingElsewhere(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	target := probeCRM(t, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	out := filepath.Join(dir, "out")
	r := runBinary(t, probeKey, syncArgs(sample("customers.csv"), mappingIn(t, dir), target, out)...)
	if r.code != cli.ExitFatal || !strings.Contains(r.stderr, other.URL+"/v2/") || !strings.Contains(r.stderr, "no redirect") {
		t.Errorf("exit %d, want %d naming %s\n%s", r.code, cli.ExitFatal, other.URL, r.stderr)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests", n)
	}
}

// TestEchoedKeyStaysOutOfOutputs: a target that echoes the Authorization
// header in the error body of every write (400, so each row is rejected
// with the API's message) leaves the key in no output: not on standard
// error, not in summary.json, report.html, rejects.csv or the state.
func TestEchoedKeyStaysOutOfOutputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var echoed atomic.Int64
	target := probeCRM(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		echoed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":400,"error":"request with %s refused","error_code":1001,"field":"email"}`, r.Header.Get("Authorization"))
	})
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 20, Seed: 7})
	out := filepath.Join(dir, "out")
	r := runBinary(t, probeKey, append([]string{"-v"}, syncArgs(source, mappingIn(t, dir), target, out, "--state", filepath.Join(out, "state.db"))...)...)
	if echoed.Load() == 0 {
		t.Fatalf("no write reached the echoing server (exit %d)\n%s", r.code, r.stderr)
	}
	checkOutput(t, "a sync against a server echoing the key", r, nil)
	seen := checkFiles(t, out, nil, func(string) bool { return true })
	rejects, err := os.ReadFile(filepath.Join(out, "rejects.csv"))
	if err != nil || !strings.Contains(string(rejects), "request with Bearer [redacted] refused") {
		t.Errorf("rejects.csv does not hold the redacted message (%v); files %q", err, seen)
	}
}

// TestAPITimeoutBoundsAStalledAnswer: with --api-timeout, an answer whose
// headers come and whose body stalls fails its attempt after the timeout;
// the retry is logged (method, route, attempt, reason, wait) and the run
// goes on. With the default timeout the run would wait two minutes.
func TestAPITimeoutBoundsAStalledAnswer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stalled atomic.Int64
	target := probeCRM(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.HasSuffix(r.URL.Path, "/teammates/list") && stalled.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"status":200,"teammates":[`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		next.ServeHTTP(w, r)
	})
	source, _ := generate(t, dir, "in.csv", fixtures.Options{Rows: 20, Seed: 8})
	out := filepath.Join(dir, "out")
	r := runBinary(t, probeKey, append([]string{"--log-format", "json"},
		syncArgs(source, mappingIn(t, dir), target, out, "--api-timeout", "500ms")...)...)
	if r.code != cli.ExitOK && r.code != cli.ExitRejects {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var retry string
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, "retrying") {
			retry = line
		}
	}
	for _, want := range []string{`"level":"INFO"`, `"method":"GET"`, `"route":"/teammates/list"`, `"attempt":1`, `"reason":"timed out reading the answer"`, `"wait":`} {
		if !strings.Contains(retry, want) {
			t.Errorf("the retry's log line %q lacks %s\n%s", retry, want, r.stderr)
		}
	}
}
