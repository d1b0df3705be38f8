package seed_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"crmsync/crm"
	"crmsync/internal/httpapi"
	"crmsync/internal/seed"
	"crmsync/pipeline"
)

// TestSandboxReadsBack seeds each registered connector's emulator over
// HTTP through its own sink, reads the account back with its own reader,
// and finds every generated customer with every value as generated; a
// second seeding of the same file creates no one.
func TestSandboxReadsBack(t *testing.T) {
	const n = 300
	for _, c := range crm.All() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := filepath.Join(t.TempDir(), "sandbox.db")
			counts, err := seed.Sandbox(ctx, c, crm.SandboxOptions{DBPath: db}, seed.Spec{N: n, Seed: 11}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if counts.Created != n {
				t.Fatalf("created %d of %d: %+v", counts.Created, n, counts)
			}
			got, values := ReadAccount(t, c, db)
			want := seed.New(c.Schema, 11, values)
			CompareAccount(t, c.Schema, want, n, got)

			again, err := seed.Sandbox(ctx, c, crm.SandboxOptions{DBPath: db}, seed.Spec{N: n, Seed: 11}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if again.Created != 0 || again.Unchanged+again.Updated != n {
				t.Fatalf("seeding the same file again: %+v, want %d found and none created", again, n)
			}
			if got, _ := ReadAccount(t, c, db); len(got) != n {
				t.Fatalf("the account holds %d customers after a second seeding, want %d", len(got), n)
			}
		})
	}
}

// ReadAccount starts the connector's emulator on db and reads every
// customer with the connector's reader, by match value; it returns the
// account's seed values too.
func ReadAccount(t *testing.T, c *crm.Connector, db string) (map[string][]string, map[string][]string) {
	t.Helper()
	sb, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: db, RateLimit: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	hc := httpapi.NewHTTPClient(0)
	defer hc.CloseIdleConnections()
	r, err := c.NewReader(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), HTTPClient: hc, Rate: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	match := c.Schema.Index(c.Schema.MatchField)
	out := map[string][]string{}
	err = r.Walk(t.Context(), func(page []pipeline.Customer) error {
		for _, cu := range page {
			if _, dup := out[cu.Values[match]]; dup {
				return fmt.Errorf("two customers hold the match value %q", cu.Values[match])
			}
			out[cu.Values[match]] = cu.Values
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, seed.ValuesOf(sb)
}

// CompareAccount fails unless the account holds exactly customers 0 to
// n-1 of g, field by field.
func CompareAccount(t *testing.T, s *pipeline.Schema, g *seed.Generator, n int, got map[string][]string) {
	t.Helper()
	if len(got) != n {
		t.Errorf("the account holds %d customers, want %d", len(got), n)
	}
	match := s.Index(s.MatchField)
	diffs := 0
	for i := range n {
		want := g.Record(i)
		have, ok := got[want[match]]
		if !ok {
			t.Errorf("customer %d (%q) is missing", i+1, want[match])
			diffs++
		}
		for f := range want {
			if ok && have[f] != want[f] {
				t.Errorf("customer %d: %s = %q, generated %q", i+1, s.Fields[f].Name, have[f], want[f])
				diffs++
			}
		}
		if diffs > 20 {
			t.Fatal("too many differences")
		}
	}
}
