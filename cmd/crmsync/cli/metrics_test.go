package cli_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// readMetrics parses a metrics file with the Prometheus text parser, as
// node_exporter does, and fails unless every series is a gauge.
func readMetrics(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no metrics file: %v", err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s is not in the Prometheus text format: %v", path, err)
	}
	for name, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %s, want a gauge", name, mf.GetType())
		}
	}
	return mfs
}

// byLabel gives the values of a family by the value of its one label;
// a family without labels is under "".
func byLabel(t *testing.T, mfs map[string]*dto.MetricFamily, name string) map[string]float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Errorf("no %s in the metrics file", name)
		return nil
	}
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) > 1 {
			t.Errorf("%s has labels %v, want one at most", name, m.GetLabel())
		}
		k := ""
		if len(m.GetLabel()) == 1 {
			k = m.GetLabel()[0].GetValue()
		}
		out[k] = m.GetGauge().GetValue()
	}
	return out
}

// checkMetrics fails unless the metrics file at path holds exactly the
// figures of s, and lastSuccess as the last success.
func checkMetrics(t *testing.T, path string, s *cli.Summary, lastSuccess float64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// node_exporter runs as its own user; the file holds no personal data.
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("the metrics file is %v, want 0644", fi.Mode().Perm())
	}
	mfs := readMetrics(t, path)
	duration := s.Timings.TotalSeconds
	if duration == 0 {
		duration = s.FinishedAt.Sub(s.StartedAt).Seconds()
	}
	dry := 0.0
	if s.DryRun {
		dry = 1
	}
	statuses := map[string]float64{"done": 0, "done_with_rejects": 0, "aborted": 0, "failed": 0, "interrupted": 0}
	statuses[s.Status] = 1
	rejects := map[string]float64{}
	for code, n := range s.RejectsByCode {
		rejects[code] = float64(n)
	}
	r := s.Rows
	want := map[string]map[string]float64{
		"crmsync_rows_read": {"": float64(r.Read)},
		"crmsync_rows": {"created": float64(r.Created), "updated": float64(r.Updated), "unchanged": float64(r.Unchanged),
			"rejected": float64(r.Rejected), "pending": float64(r.Pending)},
		"crmsync_customers_deleted":              {"": float64(r.Deleted)},
		"crmsync_rejects":                        rejects,
		"crmsync_api_calls":                      {"": float64(s.API.Calls)},
		"crmsync_api_retries":                    {"": float64(s.API.Retries)},
		"crmsync_api_rate_limited":               {"": float64(s.API.RateLimited)},
		"crmsync_duration_seconds":               {"": duration},
		"crmsync_status":                         statuses,
		"crmsync_exit_code":                      {"": float64(s.ExitCode)},
		"crmsync_dry_run":                        {"": dry},
		"crmsync_last_run_timestamp_seconds":     {"": float64(s.FinishedAt.UnixMilli()) / 1e3},
		"crmsync_last_success_timestamp_seconds": {"": lastSuccess},
	}
	for name, w := range want {
		if len(w) == 0 {
			// A family with no series is left out of the file.
			if mfs[name] != nil {
				t.Errorf("%s: %v, want no series", name, byLabel(t, mfs, name))
			}
			continue
		}
		if got := byLabel(t, mfs, name); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %v, want %v (summary.json)", name, got, w)
		}
	}
	for name := range mfs {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is in the metrics file but not checked against summary.json", name)
		}
	}
}

// TestMetricsFile runs syncs with --metrics-file and parses the file back
// with the Prometheus text parser: every figure must be summary.json's,
// after a run with rejects, retries and 429s, a failed run, a run that
// failed before it started and a dry run; the last three keep the last
// success of the file they replace, and a first run that fails has none.
func TestMetricsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, rows := generate(t, dir, "in.csv", fixtures.Options{Rows: 300, Seed: 21})
	breakEmails(rows, 4, 40, 200)
	writeCSVFile(t, source, rows)
	// A bucket smaller than the sync's concurrency brings 429s; the
	// faults bring retries of other kinds.
	srv := newCRM(t, tamiotest.Options{RateLimit: 20, RateBurst: 1, Faults: tamiotest.Faults{Seed: 3, ErrorRate: 0.1}})
	metrics := filepath.Join(t.TempDir(), "crmsync.prom")

	out := filepath.Join(dir, "out-rejects")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out, "--metrics-file", metrics)...); code != cli.ExitRejects {
		t.Fatalf("exit %d, want %d: %+v", code, cli.ExitRejects, readSummary(t, out))
	}
	s := readSummary(t, out)
	if s.Rows.Rejected == 0 || s.Rows.Created == 0 || s.API.Retries == 0 || s.API.RateLimited == 0 {
		t.Fatalf("the run had %+v rows and %+v API figures; the check below needs created and rejected rows, retries and 429s", s.Rows, s.API)
	}
	success := float64(s.FinishedAt.UnixMilli()) / 1e3
	checkMetrics(t, metrics, s, success)

	srv.SetFaults(tamiotest.Faults{})
	out = filepath.Join(dir, "out-failed")
	if code := runMain(t, "not-the-key", syncArgs(source, mapping, srv.URL, out, "--metrics-file", metrics)...); code != cli.ExitFatal {
		t.Fatalf("a wrong key: exit %d, want %d", code, cli.ExitFatal)
	}
	if s = readSummary(t, out); s.Status != "failed" {
		t.Fatalf("a wrong key: status %q, want failed", s.Status)
	}
	checkMetrics(t, metrics, s, success)

	// No source: the run fails before it reads a row.
	out = filepath.Join(dir, "out-no-source")
	missing := filepath.Join(dir, "missing.csv")
	if code := runMain(t, srv.APIKey, syncArgs(missing, mapping, srv.URL, out, "--metrics-file", metrics)...); code == cli.ExitOK {
		t.Fatal("a missing source: exit 0")
	}
	if s = readSummary(t, out); s.Status != "failed" {
		t.Fatalf("a missing source: status %q, want failed", s.Status)
	}
	checkMetrics(t, metrics, s, success)

	// A dry run changes nothing in the CRM, so it is no sync to count on.
	// An emulator without a rate limit spares it the wait of a 429.
	calm := newCRM(t, tamiotest.Options{})
	out = filepath.Join(dir, "out-dry")
	if code := runMain(t, calm.APIKey, syncArgs(source, mapping, calm.URL, out, "--metrics-file", metrics, "--dry-run")...); code != cli.ExitRejects {
		t.Fatalf("a dry run: exit %d, want %d", code, cli.ExitRejects)
	}
	s = readSummary(t, out)
	checkMetrics(t, metrics, s, success)

	first := filepath.Join(t.TempDir(), "first.prom")
	out = filepath.Join(dir, "out-first")
	runMain(t, srv.APIKey, syncArgs(missing, mapping, srv.URL, out, "--metrics-file", first)...)
	checkMetrics(t, first, readSummary(t, out), 0)

	// Refused before the run: a file in a directory that does not exist.
	out = filepath.Join(dir, "out-usage")
	bad := filepath.Join(dir, "no-such-dir", "crmsync.prom")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out, "--metrics-file", bad)...); code != cli.ExitUsage {
		t.Errorf("--metrics-file in a missing directory: exit %d, want %d", code, cli.ExitUsage)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("a refused --metrics-file left %s in --out", entries[0].Name())
	}
}
