package all_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"crmsync/crm"
	_ "crmsync/crm/all"
	"crmsync/pipeline"
	"crmsync/pipeline/sinktest"
)

// known are the connectors crm/all must link in: a connector that drops
// out of the build fails here, not only in the CLI.
var known = []string{"count", "revnue", "tamio", "tiquo"}

// hints are what the conformance suite cannot learn from a connector's
// schema, by connector name: data only. A connector without an entry
// runs with none (its id fields unmapped).
var hints = map[string]sinktest.Hints{
	"tamio": {
		// The teammates every tamio sandbox holds unless configured
		// otherwise (tamiotest.DefaultTeammates).
		Values: map[string][]string{"teammate_id": {
			"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01",
			"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e02",
			"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e03",
		}},
		// A well-formed UUID no teammate has: tamio answers 1002.
		Refused: map[string]string{"teammate_id": "00000000-0000-4000-8000-000000000000"},
	},
	"count": {
		// crmsync takes a top-level domain of letters and digits; COUNT
		// wants letters, and answers validation_error.
		Refused: map[string]string{"email": "refused@example.c0m"},
		// COUNT's answers carry no rate limit: the sink paces at --rate
		// or the documented 100 a minute.
		RateFromConfig: true,
	},
	"revnue": {
		// The emulator's default account: company 1, categories 1 to 3;
		// countries by ISO numeric code.
		Values: map[string][]string{"company": {"1"}, "category": {"1", "2", "3"},
			"country": {"276", "250", "826"}},
		// No category of the account has the id 99: Revnue answers 400.
		Refused: map[string]string{"category": "99"},
		// Revnue's answers carry no rate limit.
		RateFromConfig: true,
	},
	"tiquo": {
		// crmsync takes a top-level domain of letters and digits; tiquo
		// wants letters only, and answers validation_error.
		Refused: map[string]string{"email": "refused@example.c1"},
	},
}

func TestKnownConnectorsAreRegistered(t *testing.T) {
	names := crm.Names()
	for _, n := range known {
		if !slices.Contains(names, n) {
			t.Errorf("connector %q is not registered; crm/all links in %v", n, names)
		}
	}
	for n := range hints {
		if !slices.Contains(names, n) {
			t.Errorf("hints are given for %q, which is not registered", n)
		}
	}
}

// TestConformance runs the conformance suite for every connector crm/all
// links in, so that none is registered without passing it; a connector
// whose every behaviour skipped fails.
func TestConformance(t *testing.T) {
	all := crm.All()
	if len(all) == 0 {
		t.Fatal("crm/all registers no connector")
	}
	for _, c := range all {
		t.Run(c.Name, func(t *testing.T) {
			sum := sinktest.RunConnector(t, c, hints[c.Name])
			t.Logf("%s: %d behaviours ran, %d skipped %v", c.Name, len(sum.Ran), len(sum.Skipped), sum.Skipped)
			if len(sum.Ran) == 0 {
				t.Errorf("connector %s was registered but the conformance suite ran none of its behaviours", c.Name)
			}
		})
	}
}

// TestSandboxControls: every sandbox takes faults while it runs (every
// answer a 5xx, then none), serves its API through Handler as at its URL
// (a reader walks the account through it alone), and WaitIdle returns
// once nothing is queued, so that a tool driving any emulator needs no
// connector's own types.
func TestSandboxControls(t *testing.T) {
	for _, c := range crm.All() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			sb, err := c.StartSandbox(t.Context(), crm.SandboxOptions{DBPath: filepath.Join(t.TempDir(), "crm.db"), Addr: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			var mu sync.Mutex
			var statuses []int
			inProcess := roundTripper(func(req *http.Request) (*http.Response, error) {
				// As a server receives it: a body always, the address it
				// came from, the target as sent.
				in := req.Clone(req.Context())
				if in.Body == nil {
					in.Body = http.NoBody
				}
				in.RemoteAddr, in.RequestURI = "127.0.0.1:1", req.URL.RequestURI()
				rec := httptest.NewRecorder()
				sb.Handler().ServeHTTP(rec, in)
				mu.Lock()
				statuses = append(statuses, rec.Code)
				mu.Unlock()
				return rec.Result(), nil
			})
			walk := func() error {
				r, err := c.NewReader(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), HTTPClient: &http.Client{Transport: inProcess}})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				defer cancel()
				return r.Walk(ctx, func([]pipeline.Customer) error { return nil })
			}
			sb.SetFaults(crm.Faults{Seed: 1, ErrorRate: 1})
			if err := walk(); err == nil || len(statuses) == 0 || statuses[0] < 500 {
				t.Errorf("every answer an error: walk %v, answers %v", err, statuses)
			}
			sb.SetFaults(crm.Faults{})
			statuses = nil
			if err := walk(); err != nil || len(statuses) == 0 || slices.ContainsFunc(statuses, func(s int) bool { return s >= 300 }) {
				t.Errorf("faults off again: walk %v, answers %v", err, statuses)
			}
			if err := sb.WaitIdle(t.Context()); err != nil {
				t.Errorf("WaitIdle: %v", err)
			}
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
