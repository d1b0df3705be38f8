package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsHelp is the part of `crmsync sync --help` on --metrics-file.
const metricsHelp = `

--metrics-file PATH writes the run's figures, at the end of every run that
got as far as taking --out (done, with rejects, aborted, failed or
interrupted), in the Prometheus text format for node_exporter's textfile
collector, which reads only files named *.prom in its
--collector.textfile.directory. The file is replaced atomically (a temporary
file renamed into place) and is 0644, unlike the other outputs, so that
node_exporter can read it: it holds counts, codes and times, nothing
personal. The series carry no job label, and node_exporter refuses the same
series from two files: one crmsync job per host. The figures are
summary.json's:
  crmsync_rows_read, crmsync_rows{outcome=created|updated|unchanged|rejected|pending},
  crmsync_customers_deleted, crmsync_rejects{code}, crmsync_api_calls,
  crmsync_api_retries, crmsync_api_rate_limited (429s), crmsync_duration_seconds,
  crmsync_status{status} (1 for this run's), crmsync_exit_code, crmsync_dry_run,
  crmsync_last_run_timestamp_seconds and crmsync_last_success_timestamp_seconds.
The last success is the end of the last run that finished (done or done
with rejects) without --dry-run; any other run carries over the value of the
file it replaces, and 0 when there is none, so an alert on its age fires
when runs keep failing or never succeeded:
  # crontab: nightly at 02:30
  30 2 * * * crmsync sync ... --metrics-file /var/lib/node_exporter/textfile/crmsync.prom
  # Prometheus alert rule
  - alert: CrmsyncNoRecentSuccess
    expr: time() - crmsync_last_success_timestamp_seconds > 86400`

// metricsStatuses are every status a summary can hold, so that each run's
// file has the same series and an alert can match on one being 1.
var metricsStatuses = []string{"done", "done_with_rejects", "aborted", "failed", "interrupted"}

// lastSuccessMetric is the series an alert on stale syncs watches.
const lastSuccessMetric = "crmsync_last_success_timestamp_seconds"

// checkMetricsFile refuses, before the run, a --metrics-file that could
// not be written at its end.
func checkMetricsFile(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageError("--metrics-file %s is a directory", path)
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return usageError("--metrics-file: %v", err)
	}
	if !fi.IsDir() {
		return usageError("--metrics-file %s: %s is not a directory", path, filepath.Dir(path))
	}
	return nil
}

// writeMetrics writes s to path in the Prometheus text format. When the
// run did not succeed, the last success is read back from the file it
// replaces; a file that cannot be read is still replaced, with a last
// success of 0, and the error says so.
func writeMetrics(path string, s *Summary) error {
	lastSuccess, readErr := 0.0, error(nil)
	if (s.Status == "done" || s.Status == "done_with_rejects") && !s.DryRun {
		lastSuccess = unixSeconds(s.FinishedAt)
	} else {
		lastSuccess, readErr = readLastSuccess(path)
		if readErr != nil {
			readErr = fmt.Errorf("the last success in %s is lost: %w", path, readErr)
		}
	}

	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	gaugeVec := func(name, help, label string, values map[string]float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{label})
		for k, v := range values {
			g.WithLabelValues(k).Set(v)
		}
		reg.MustRegister(g)
	}
	r := s.Rows
	gauge("crmsync_rows_read", "Rows the last run read from its source.", float64(r.Read))
	gaugeVec("crmsync_rows", "Rows of the last run by outcome; read = created + updated + unchanged + rejected + pending.", "outcome",
		map[string]float64{"created": float64(r.Created), "updated": float64(r.Updated), "unchanged": float64(r.Unchanged),
			"rejected": float64(r.Rejected), "pending": float64(r.Pending)})
	gauge("crmsync_customers_deleted", "Customers the last run deleted (--mode mirror).", float64(r.Deleted))
	byCode := make(map[string]float64, len(s.RejectsByCode))
	for code, n := range s.RejectsByCode {
		byCode[code] = float64(n)
	}
	gaugeVec("crmsync_rejects", "Rows the last run rejected, by reject code.", "code", byCode)
	gauge("crmsync_api_calls", "API calls the last run made, retries included.", float64(s.API.Calls))
	gauge("crmsync_api_retries", "API calls the last run retried.", float64(s.API.Retries))
	gauge("crmsync_api_rate_limited", "API calls answered 429 in the last run.", float64(s.API.RateLimited))
	duration := s.Timings.TotalSeconds
	if duration == 0 {
		// A run that failed before it started has no timings.
		duration = s.FinishedAt.Sub(s.StartedAt).Seconds()
	}
	gauge("crmsync_duration_seconds", "How long the last run took.", duration)
	statuses := make(map[string]float64, len(metricsStatuses))
	for _, st := range metricsStatuses {
		statuses[st] = 0
	}
	statuses[s.Status] = 1
	gaugeVec("crmsync_status", "1 for the last run's status (as in summary.json), 0 for the others.", "status", statuses)
	gauge("crmsync_exit_code", "The last run's exit status.", float64(s.ExitCode))
	dry := 0.0
	if s.DryRun {
		dry = 1
	}
	gauge("crmsync_dry_run", "1 when the last run was a dry run.", dry)
	gauge("crmsync_last_run_timestamp_seconds", "Unix time the last run ended.", unixSeconds(s.FinishedAt))
	gauge(lastSuccessMetric, "Unix time the last successful run (done or done with rejects, not a dry run) ended; 0 when none is known.", lastSuccess)

	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return errors.Join(fmt.Errorf("writing the metrics file %s: %w", path, err), readErr)
	}
	return readErr
}

// readLastSuccess reads the last success from an earlier metrics file at
// path; 0 when there is none.
func readLastSuccess(path string) (float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(f)
	if err != nil {
		return 0, err
	}
	mf := families[lastSuccessMetric]
	if mf == nil || len(mf.GetMetric()) == 0 {
		return 0, nil
	}
	m := mf.GetMetric()[0]
	switch mf.GetType() {
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), nil
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), nil
	}
	return 0, fmt.Errorf("%s is a %s, not a gauge", lastSuccessMetric, mf.GetType())
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }

// writeMetrics writes --metrics-file, when given, and logs what went
// wrong: a failed run's own error is the one it returns.
func (o *syncOptions) writeMetrics(s *Summary) error {
	if o.metricsFile == "" {
		return nil
	}
	err := writeMetrics(o.metricsFile, s)
	if err != nil {
		o.log.Warn("metrics file", "error", err)
	}
	return err
}
