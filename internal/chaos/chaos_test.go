package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/crm"
	"crmsync/internal/fixtures"
	"crmsync/pipeline"
	"crmsync/sinks/count"
	"crmsync/sinks/tamio"
)

// binary is the crmsync command TestMain builds.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmsync-chaos-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crmsync")
	// Without -race even when the test has it: the chaos kills the
	// binary's runs, and a race-enabled binary only makes each slower.
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

// mappingOf returns the chaos's mapping for an API, as an absolute path.
func mappingOf(t *testing.T, name string) string {
	t.Helper()
	a, err := lookupAPI(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := filepath.Abs(filepath.Join("..", "..", a.mapping))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logWriter sends the chaos's lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestChaosShort is `make chaos` made small, for each API: a first load
// and a day of changes, at least four SIGKILLs under the same faults;
// 2,000 rows for tamio, and 600 for tiquo and COUNT, whose creates are a
// request each and whose runs keep about 20 requests a second under the
// faults.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reruns crmsync for most of a minute")
	}
	for name, rows := range map[string]int{"tamio": 2000, "tiquo": 600, "count": 600} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			started := time.Now()
			cfg := Config{API: name, Bin: binary, Mapping: mappingOf(t, name), Dir: t.TempDir(), Rows: rows, Kills: 4, Seed: 7,
				// Fewer changes than make chaos: every 503 and 429 pauses a
				// run for its Retry-After, so a day's length goes with its
				// calls; and the bucket emptied at the start of half the
				// runs, not all.
				ChangeShare: 0.02, FirstDrains: 0.5, Log: logWriter{t}}
			rep, err := Run(context.Background(), cfg)
			if rep != nil {
				var b strings.Builder
				rep.Print(&b)
				t.Log(b.String())
			}
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Errorf("the chaos run found differences or problems; see the table above")
			}
			if k := rep.Kills(); k < cfg.Kills {
				t.Errorf("%d kills, want at least %d", k, cfg.Kills)
			}
			if len(rep.Days) < 2 || rep.Days[len(rep.Days)-1].Kills == 0 {
				t.Errorf("no day of updates was killed: %d days", len(rep.Days))
			}
			if rep.Total.Valid < rows*9/10 || rep.Total.Invalid == 0 || rep.Total.InCRM != rep.Total.Valid {
				t.Errorf("checked %d valid and %d invalid rows against %d customers; the check had too little to check",
					rep.Total.Valid, rep.Total.Invalid, rep.Total.InCRM)
			}
			t.Logf("took %s", time.Since(started).Round(time.Millisecond))
		})
	}
}

// tamperer changes a CRM behind crmsync's back, over the API as any other
// client of it would.
type tamperer struct {
	// rename changes the last name of customer c.
	rename func(c *pipeline.Customer) (method, path string, body map[string]any)
	// create makes a customer with the email.
	create func(email string) (path string, body map[string]any)
	// move, for an API without a delete, gives customer c another email:
	// the CRM no longer holds c's row, as if c were deleted, and holds
	// the email, as if a customer with it were created. nil: the test
	// deletes c and creates a customer with the email.
	move func(c *pipeline.Customer, email string) (method, path string, body map[string]any)
}

var tamperers = map[string]tamperer{
	"tamio": {
		rename: func(c *pipeline.Customer) (string, string, map[string]any) {
			// tamio wants the name on every update.
			name := c.Values[tamio.Schema().Index("name")]
			return http.MethodPost, "/customers/update/" + c.ID, map[string]any{"name": name, "last_name": "Tampered"}
		},
		create: func(email string) (string, map[string]any) {
			return "/customers/create", map[string]any{"email": email, "name": "Someone", "country": "de"}
		},
	},
	"tiquo": {
		rename: func(c *pipeline.Customer) (string, string, map[string]any) {
			return http.MethodPatch, "/customers/" + c.ID, map[string]any{"lastName": "Tampered"}
		},
		create: func(email string) (string, map[string]any) {
			return "/customers", map[string]any{"email": email, "firstName": "Some", "lastName": "One"}
		},
	},
	"count": {
		// COUNT wants the name and the email on every update.
		rename: func(c *pipeline.Customer) (string, string, map[string]any) {
			email := c.Values[count.Schema().Index("email")]
			return http.MethodPut, "/customers/" + c.ID, map[string]any{"customer": "Some Tampered", "email": email}
		},
		create: func(email string) (string, map[string]any) {
			return "/customers", map[string]any{"customer": "Some One", "email": email}
		},
		move: func(c *pipeline.Customer, email string) (string, string, map[string]any) {
			name := c.Values[count.Schema().Index("customer")]
			return http.MethodPut, "/customers/" + c.ID, map[string]any{"customer": name, "email": email}
		},
	},
}

// call makes one request to the emulator, with the credentials as the
// API wants them, and fails the test unless it is answered 2xx.
func call(t *testing.T, a *api, sb crm.Sandbox, method, path string, body map[string]any) {
	t.Helper()
	var b []byte
	var rd io.Reader
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, sb.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	a.authorizeRequest(req, b, sb.Credentials())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
}

// TestCheckFindsDifferences tampers with the CRM, the reject file and the
// state after a clean sync, one thing of each kind, and expects the check
// to count each exactly once, for each API.
func TestCheckFindsDifferences(t *testing.T) {
	for _, name := range []string{"tamio", "tiquo", "count"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCheckFindsDifferences(t, name)
		})
	}
}

func testCheckFindsDifferences(t *testing.T, name string) {
	dir := t.TempDir()
	ctx := context.Background()
	conn, err := crm.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	a, err := lookupAPI(name)
	if err != nil {
		t.Fatal(err)
	}
	opts := crm.SandboxOptions{DBPath: filepath.Join(dir, "crm.db")}
	if a.pace {
		// An API whose answers say no limit keeps its documented one
		// unless told: COUNT's 100 a minute would make this minutes long.
		opts.RateLimit = 1000
	}
	sb, err := conn.StartSandbox(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	mapping := mappingOf(t, name)
	d, err := firstDay(filepath.Join(dir, "day1.csv"), 300, 5, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	statePath, out := filepath.Join(dir, "state.db"), filepath.Join(dir, "out")
	args := []string{"sync", "--source", d.path, "--mapping", mapping, "--target", sb.URL(),
		"--state", statePath, "--out", out, "--progress", "none"}
	env := os.Environ()
	for cred, v := range sb.Credentials() {
		args = append(args, "--credential-env", cred+"="+credentialEnv(cred))
		env = append(env, credentialEnv(cred)+"="+v)
	}
	if a.pace {
		args = append(args, "--rate", "1000")
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("sync: %v\n%s", err, b)
	}
	// The first row's key had another email on an earlier day.
	former := "former.address@example.com"
	exp, err := expect(conn.Schema, mapping, fixtures.Columns, d.rows, map[string]string{former: d.rows[0].values[colKey]})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := conn.NewReader(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	clean, err := check(ctx, rd, filepath.Join(out, "rejects.csv"), statePath, exp)
	if err != nil {
		t.Fatal(err)
	}
	if clean.differences() != 0 || clean.Valid == 0 || clean.Invalid == 0 || clean.InCRM != clean.Valid {
		t.Fatalf("a clean sync: %d differences (%q), %d valid, %d invalid, %d in the CRM", clean.differences(), clean.Examples, clean.Valid, clean.Invalid, clean.InCRM)
	}

	var crmNow []pipeline.Customer
	if err := rd.Walk(ctx, func(page []pipeline.Customer) error { crmNow = append(crmNow, page...); return nil }); err != nil {
		t.Fatal(err)
	}
	// One customer edited, one deleted (lost, and its state link now
	// points nowhere), one that no row has, and one under the first row's
	// former email: that row twice. Without a delete, the deleted one
	// and the stranger are one customer, moved to the stranger's email.
	edited, deleted := crmNow[0], crmNow[1]
	tp := tamperers[name]
	method, path, body := tp.rename(&edited)
	call(t, a, sb, method, path, body)
	created := []string{former}
	if tp.move != nil {
		method, path, body := tp.move(&deleted, "stranger@example.com")
		call(t, a, sb, method, path, body)
	} else {
		call(t, a, sb, http.MethodDelete, "/customers/"+deleted.ID, nil)
		created = append(created, "stranger@example.com")
	}
	for _, email := range created {
		path, body := tp.create(email)
		call(t, a, sb, http.MethodPost, path, body)
	}
	// The reject file loses its first row and lists its second twice.
	rejects := filepath.Join(out, "rejects.csv")
	data, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(rejects, []byte(lines[0]+strings.Join(lines[2:], "")+lines[2]), 0o600); err != nil {
		t.Fatal(err)
	}

	f, err := check(ctx, rd, rejects, statePath, exp)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]int{f.Duplicates, f.Lost, f.Wrong, f.Extra, f.RejectsMissing, f.RejectsExtra, f.State}
	if want := [...]int{1, 1, 1, 1, 1, 1, 1}; got != want {
		t.Errorf("duplicates, lost, wrong, extra, rejects missing, rejects extra, state = %v, want %v\n%s", got, want, strings.Join(f.Examples, "\n"))
	}
}

// TestDrainLead checks how long before a minute's end the neighbour
// starts on a window limit: at the pace of its last drain, time for what
// crmsync left of the minute with half again to spare, between the
// bounds; a neighbour not yet timed is taken as a slow one.
func TestDrainLead(t *testing.T) {
	c := &chaos{cfg: Config{RateLimit: 2000.0 / 60}}
	for _, tc := range []struct {
		speed float64 // reads a second of the last drain; 0: none yet
		used  int64
		want  time.Duration
	}{
		{0, 0, maxDrainLead},                // 2,000 reads at 50 a second
		{0, 1700, 9 * time.Second},          // 300 at 50
		{100, 1000, 15 * time.Second},       // 1,000 at 100
		{250, 1680, windowDrainLead},        // 320 at 250: under two seconds
		{100, 2500, windowDrainLead},        // the window spent already
		{10, 0, maxDrainLead},               // more than half a minute
		{400, 800, 4500 * time.Millisecond}, // 1,200 at 400
	} {
		c.drainSpeed.Store(math.Float64bits(tc.speed))
		if got := c.drainLead(tc.used); got != tc.want {
			t.Errorf("speed %g, %d used: lead %s, want %s", tc.speed, tc.used, got, tc.want)
		}
	}
}
