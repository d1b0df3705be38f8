package cli_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"crmsync/crm"
	"crmsync/internal/httpapi"
	"crmsync/internal/seed"
	"crmsync/pipeline"
)

// TestSandboxSeed seeds every API's sandbox as a script would: `crmsync
// sandbox --seed 300 --seed-only` exits 0 with 300 customers created;
// `crmsync sandbox --seed 300` on the same file then creates none, serves,
// and the connector's reader finds over HTTP the 300 customers with every
// value as generated.
func TestSandboxSeed(t *testing.T) {
	const n = 300
	for _, c := range crm.All() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "seeded.db")
			cmd, stdout, stderr := startBinary(t, "", "sandbox", "--api", c.Name, "--db", db, "--seed", fmt.Sprint(n), "--seed-only")
			r := waitBinary(t, cmd, stdout, stderr, time.Now(), 2*time.Minute)
			want := fmt.Sprintf("seeded %d customers into %s: %d created, 0 updated, 0 unchanged", n, db, n)
			if r.code != 0 || !strings.Contains(r.stdout, want) {
				t.Fatalf("--seed-only: exit %d, stdout %q, want %q; stderr:\n%s", r.code, r.stdout, want, r.stderr)
			}

			serve := exec.Command(binary, "sandbox", "--api", c.Name, "--db", db, "--seed", fmt.Sprint(n), "--listen", "127.0.0.1:0")
			out, err := serve.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := serve.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				serve.Process.Signal(syscall.SIGINT)
				serve.Wait()
			}()
			labels := map[string]string{}
			for _, cr := range c.Credentials {
				labels[credentialLabel(cr.Name)+": "] = cr.Name
			}
			var url, seeded string
			creds := map[string]string{}
			sc := bufio.NewScanner(out)
			for sc.Scan() && (url == "" || len(creds) < len(labels)) {
				line := sc.Text()
				if strings.HasPrefix(line, "seeded ") {
					seeded = line
				}
				if rest, ok := strings.CutPrefix(line, c.Name+" sandbox serving at "); ok {
					url = rest
				}
				for label, name := range labels {
					if rest, ok := strings.CutPrefix(line, label); ok {
						creds[name] = rest
					}
				}
			}
			if want := fmt.Sprintf("seeded %d customers into %s: 0 created, 0 updated, %d unchanged", n, db, n); seeded != want {
				t.Fatalf("seeding the seeded file again printed %q, want %q", seeded, want)
			}
			if url == "" || len(creds) < len(labels) {
				t.Fatalf("the sandbox printed url %q and credentials %v", url, creds)
			}
			go func() {
				for sc.Scan() {
				}
			}()

			// The values the account gives (teammates, categories) are
			// those of a sandbox of the same configuration.
			sb, err := c.StartSandbox(t.Context(), crm.SandboxOptions{})
			if err != nil {
				t.Fatal(err)
			}
			values := seed.ValuesOf(sb)
			sb.Close()
			hc := httpapi.NewHTTPClient(0)
			defer hc.CloseIdleConnections()
			rd, err := c.NewReader(crm.Config{BaseURL: url, Credentials: creds, HTTPClient: hc, Rate: 1e4})
			if err != nil {
				t.Fatal(err)
			}
			match := c.Schema.Index(c.Schema.MatchField)
			got := map[string][]string{}
			err = rd.Walk(t.Context(), func(page []pipeline.Customer) error {
				for _, cu := range page {
					got[cu.Values[match]] = cu.Values
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Errorf("the sandbox serves %d customers, want %d", len(got), n)
			}
			g := seed.New(c.Schema, 1, values)
			diffs := 0
			for i := range n {
				wantV := g.Record(i)
				have, ok := got[wantV[match]]
				if !ok {
					t.Errorf("customer %d (%s %q) is not served", i+1, c.Schema.MatchField, wantV[match])
					diffs++
					continue
				}
				for f := range wantV {
					if have[f] != wantV[f] {
						t.Errorf("customer %d: %s = %q, seeded %q", i+1, c.Schema.Fields[f].Name, have[f], wantV[f])
						diffs++
					}
				}
				if diffs > 20 {
					t.Fatal("too many differences")
				}
			}
		})
	}
}

// credentialLabel is how `crmsync sandbox` names a credential in what it
// prints: "api_key" is "API key".
func credentialLabel(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w == "api" || w == "id" {
			words[i] = strings.ToUpper(w)
		}
	}
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	return strings.Join(words, " ")
}

// TestSandboxSeedComplete: with --seed-complete every customer of every
// API's sandbox holds every field the seeding can fill, as generated.
func TestSandboxSeedComplete(t *testing.T) {
	const n = 60
	for _, c := range crm.All() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "complete.db")
			cmd, stdout, stderr := startBinary(t, "", "sandbox", "--api", c.Name, "--db", db, "--seed", fmt.Sprint(n), "--seed-only", "--seed-complete")
			if r := waitBinary(t, cmd, stdout, stderr, time.Now(), 2*time.Minute); r.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
			}
			sb, err := c.StartSandbox(t.Context(), crm.SandboxOptions{DBPath: db})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			hc := httpapi.NewHTTPClient(0)
			defer hc.CloseIdleConnections()
			rd, err := c.NewReader(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), HTTPClient: hc, Rate: 1e4})
			if err != nil {
				t.Fatal(err)
			}
			match := c.Schema.Index(c.Schema.MatchField)
			got := map[string][]string{}
			if err := rd.Walk(t.Context(), func(page []pipeline.Customer) error {
				for _, cu := range page {
					got[cu.Values[match]] = cu.Values
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			g := seed.New(c.Schema, 1, seed.ValuesOf(sb)).Complete()
			filled := g.Filled()
			if len(got) != n {
				t.Fatalf("the sandbox holds %d customers, want %d", len(got), n)
			}
			for i := range n {
				want := g.Record(i)
				have, ok := got[want[match]]
				if !ok {
					t.Fatalf("customer %d (%q) is missing", i+1, want[match])
				}
				for f := range want {
					if filled[f] && (have[f] == "" || have[f] != want[f]) {
						t.Fatalf("customer %d: %s = %q, want %q", i+1, c.Schema.Fields[f].Name, have[f], want[f])
					}
				}
			}
		})
	}
}
