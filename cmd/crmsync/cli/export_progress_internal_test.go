package cli

import (
	"path/filepath"
	"testing"

	"crmsync/crm"
	"crmsync/internal/httpapi"
	"crmsync/internal/seed"
	"crmsync/pipeline"
)

// TestExportAllProgressHasTotal: an export of a whole account counts its
// customers against the size the API's list answers announce, so that
// the bar and the log lines show an ETA; an API that announces none
// (tiquo) counts without a total.
func TestExportAllProgressHasTotal(t *testing.T) {
	t.Parallel()
	for api, want := range map[string]int64{"tamio": 150, "count": 150, "revnue": 150, "tiquo": 0} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			conn, err := crm.Lookup(api)
			if err != nil {
				t.Fatal(err)
			}
			opts := crm.SandboxOptions{DBPath: filepath.Join(t.TempDir(), "crm.db"), Addr: "127.0.0.1:0", RateLimit: 1000}
			if _, err := seed.Sandbox(t.Context(), conn, opts, seed.Spec{N: 150, Seed: 1}, nil); err != nil {
				t.Fatal(err)
			}
			sb, err := conn.StartSandbox(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			hc := httpapi.NewHTTPClient(httpapi.DefaultTimeout)
			defer hc.CloseIdleConnections()
			r, err := conn.NewReader(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), HTTPClient: hc, Rate: 1000})
			if err != nil {
				t.Fatal(err)
			}
			x := &exporter{all: true, reader: r}
			var total int64
			err = r.Walk(t.Context(), func(page []pipeline.Customer) error {
				x.exported.Add(int64(len(page)))
				_, total = x.progress()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if done, _ := x.progress(); total != want || done != 150 {
				t.Errorf("progress %d of %d, want 150 of %d", done, total, want)
			}
		})
	}
}
