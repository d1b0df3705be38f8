package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmsync/crm"
	"crmsync/internal/atomicfile"
	"crmsync/internal/outdir"
	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/report"
)

func init() { commands = append(commands, newSyncCommand) }

// syncOptions are the flags of `crmsync sync`.
type syncOptions struct {
	g *globals

	src         sourceFlags
	tgt         targetFlags
	mapping     string
	mode        string
	dryRun      bool
	out         string
	concurrency int
	rate        float64
	maxRejects  string
	progress    string
	grace       time.Duration
	statePath   string
	fullResync  bool
	reconcile   bool
	maxBlank    string
	maxDelete   string
	metricsFile string
	// verify runs a verification pass after the sync: unset, it runs
	// when the source is a CRM (a migration).
	verify autoBool

	// resolved by check
	parsedMode pipeline.Mode
	threshold  pipeline.Threshold
	blankLimit pipeline.Threshold
	delLimit   pipeline.Threshold
	log        *slog.Logger
	stdout     io.Writer
	stderr     *os.File
}

func newSyncCommand(g *globals) *cobra.Command {
	o := &syncOptions{g: g, stdout: os.Stdout, stderr: os.Stderr}
	cmd := &cobra.Command{
		Use:   "sync --source PATH --mapping PATH --target sandbox|URL",
		Short: "Sync rows of a CSV or Parquet file into a CRM",
		Long: `Sync reads every row of the source, maps it with the mapping file, validates
it against the target's schema and creates, updates or leaves unchanged the
matching customer. Every row ends up created, updated, unchanged or in the
reject file (in the input's format) with the stage, code, field and reason.

Outputs in --out: rejects.csv or rejects.parquet; diff.csv (key, crm_id,
action, field, old_value, new_value: every field created, updated or
deleted); report.html, one page with the counts, the fields that changed
most, rejects by code with examples and the run's timings; and summary.json
with the counts (read = created + updated + unchanged + rejected), API
calls, retries, 429s and timings. Each file is created anew (0600), never
written through a link; one run at a time may use an --out, and a second
fails at once, naming the first.

With --state FILE the sync is incremental: a row whose mapped values equal
what was last confirmed for its key costs no call, a changed row sends only
its changed fields to the customer its key became (so an email change is an
update), and rows that failed are retried on every run until they succeed.
A run killed at any point, even with SIGKILL, is rerun safely: nothing is
created twice and confirmed work is not redone. The file is SQLite; its
tables are documented for sqlite3 (see the state package).

--mode mirror also deletes the customers synced before whose keys are gone
from the source, at most --max-delete of them, and nothing when the source
is empty or shrank by more than that. --max-blank aborts a run (before any
harm) that would blank CRM values on more customers than it allows: the
classic broken export.

--verify ends the sync with the pass of crmsync verify: the source is read
again and every customer read back from the CRM and compared field by field
with what the mapping makes of its row. Differences go to verify.csv and
report.html, and the exit status is 5 when the two sides differ. It is on by
default when the source is a CRM (a migration) and off for files;
--verify=false turns it off. A dry run never verifies.

The mapping's api: names the CRM. Its credentials come from environment
variables (each API's own, or those --api-key-env and --credential-env name);
they are never taken from a flag value and never logged. --target sandbox runs
the API's embedded emulator on a local SQLite file (--sandbox-db), needing no
key.` + credentialsHelp(),
		Example: `  # Rehearse on the embedded sandbox with the shipped sample:
  crmsync sync --source samples/customers.csv --mapping samples/customers.` + firstAPI() + `.yaml --target sandbox --out out

  # Nightly, from cron, against the real API, sending only what changed:
  ` + firstCredentialEnv() + `=... crmsync sync --source /exports/customers.csv.gz \
      --mapping customers.` + firstAPI() + `.yaml --target ` + firstBaseURL() + ` \
      --state /var/lib/crmsync/state.db --out /var/lib/crmsync/$(date +%F) \
      --max-rejects 2% --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += metricsHelp
	cmd.Long += "\n" + syncExitCodesHelp
	f := cmd.Flags()
	f.StringVar(&o.src.path, "source", "", sourceFlagHelp)
	o.src.register(f)
	f.StringVar(&o.mapping, "mapping", "", "mapping file (YAML)")
	f.StringVar(&o.tgt.target, "target", "", targetFlagHelp)
	o.tgt.registerCredentialFlags(f)
	f.StringVar(&o.tgt.sandboxDB, "sandbox-db", defaultSandboxDB, sandboxDBFlagHelp)
	o.tgt.registerSandboxConfigFlag(f)
	o.tgt.registerSafetyFlags(f)
	f.StringVar(&o.mode, "mode", "upsert", "upsert, create (never update), update (never create) or mirror (upsert, then delete what left the source; needs --state)")
	f.BoolVar(&o.dryRun, "dry-run", false, "read and compare, but write nothing to the CRM; report what would change")
	f.StringVar(&o.out, "out", "crmsync-out", "directory for the reject file and summary.json")
	f.IntVar(&o.concurrency, "concurrency", 8, "batches written to the CRM at once")
	f.Float64Var(&o.rate, "rate", 0, "most API calls per second (0: as fast as the API allows; 429s slow it down)")
	f.StringVar(&o.maxRejects, "max-rejects", "", "abort (exit 4) when rejects go over N rows or P% (e.g. 100 or 2%)")
	f.StringVar(&o.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log, none")
	f.DurationVar(&o.grace, "grace", 15*time.Second, "after Ctrl-C, how long writes already sent may finish")
	f.StringVar(&o.statePath, "state", "", "state file (SQLite) that makes the sync incremental; created when absent")
	f.BoolVar(&o.fullResync, "full-resync", false, "ignore what the state knows: match and compare every row against the CRM (the state is rewritten)")
	f.BoolVar(&o.reconcile, "reconcile", false, "read the CRM and compare every row with what it holds now, catching edits made in the CRM")
	f.StringVar(&o.maxBlank, "max-blank", "5%", "abort (exit 4) before blanking a CRM value on more than N customers or P% of the state's; 0 allows none")
	f.StringVar(&o.maxDelete, "max-delete", "5%", "mirror: delete at most N customers or P% of the state's, and none if the source shrank more; 0 allows none")
	f.VarPF(&o.verify, "verify", "", "after the sync, read every customer back and compare it with the source; auto: on for a CRM source, off for a file").NoOptDefVal = "true"
	f.StringVar(&o.metricsFile, "metrics-file", "", "write the run's figures here for node_exporter's textfile collector (name it *.prom; see below)")
	return cmd
}

func (o *syncOptions) check() error {
	if o.mapping == "" {
		return usageError("--mapping is required")
	}
	m, ok := pipeline.ParseMode(o.mode)
	if !ok {
		return usageError("--mode %q: use upsert, create or update", o.mode)
	}
	o.parsedMode = m
	t, err := pipeline.ParseThreshold(o.maxRejects)
	if err != nil {
		return usageError("--max-rejects: %v", err)
	}
	o.threshold = t
	if o.concurrency < 1 || o.concurrency > 256 {
		return usageError("--concurrency %d: use 1 to 256", o.concurrency)
	}
	if o.rate < 0 {
		return usageError("--rate %v: must not be negative", o.rate)
	}
	switch o.progress {
	case "auto", "bar", "log", "none":
	default:
		return usageError("--progress %q: use auto, bar, log or none", o.progress)
	}
	if o.out == "" {
		return usageError("--out must name a directory")
	}
	if o.blankLimit, err = pipeline.ParseThreshold(o.maxBlank); err != nil {
		return usageError("--max-blank: %v", err)
	}
	if o.delLimit, err = pipeline.ParseThreshold(o.maxDelete); err != nil {
		return usageError("--max-delete: %v", err)
	}
	if o.parsedMode == pipeline.ModeMirror && o.statePath == "" {
		return usageError("--mode mirror needs --state: only customers crmsync synced before can be told gone")
	}
	if (o.fullResync || o.reconcile) && o.statePath == "" {
		return usageError("--full-resync and --reconcile need --state")
	}
	if o.fullResync && o.reconcile {
		return usageError("--full-resync and --reconcile do not go together")
	}
	if err := checkMetricsFile(o.metricsFile); err != nil {
		return err
	}
	if o.verify.set && o.verify.on {
		if o.dryRun {
			return usageError("--verify reads back what the sync wrote, and a dry run writes nothing")
		}
		if o.src.path == "-" {
			return usageError("--verify reads the source a second time, which standard input cannot be: give a file")
		}
	}
	return nil
}

// Summary is summary.json.
type Summary struct {
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Source     string    `json:"source"`
	Mapping    string    `json:"mapping"`
	Target     string    `json:"target"`
	Mode       string    `json:"mode"`
	DryRun     bool      `json:"dry_run"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	State      string    `json:"state,omitempty"`
	Rows       struct {
		Read      int64 `json:"read"`
		Created   int64 `json:"created"`
		Updated   int64 `json:"updated"`
		Unchanged int64 `json:"unchanged"`
		Rejected  int64 `json:"rejected"`
		// Pending rows were read but had no outcome when the run stopped
		// early; a complete run has none.
		Pending int64 `json:"pending"`
		// Deleted counts customers a mirror run deleted; they are not
		// source rows.
		Deleted int64 `json:"deleted"`
		// UnchangedBySource counts, among the unchanged rows, those the
		// state recognised from the source row itself, without mapping
		// it: neither the row, the mapping file, its lookup tables nor
		// crmsync changed since their last confirmed write.
		UnchangedBySource int64 `json:"unchanged_by_source,omitempty"`
	} `json:"rows"`
	Warnings       []string         `json:"warnings,omitempty"`
	RejectsByStage map[string]int64 `json:"rejects_by_stage"`
	RejectsByCode  map[string]int64 `json:"rejects_by_code"`
	API            struct {
		Calls       int64 `json:"calls"`
		Retries     int64 `json:"retries"`
		RateLimited int64 `json:"rate_limited"`
	} `json:"api"`
	Timings struct {
		TotalSeconds float64 `json:"total_seconds"`
		RowsPerSec   float64 `json:"rows_per_second"`
	} `json:"timings"`
	RejectFile string `json:"reject_file"`
	DiffFile   string `json:"diff_file"`
	ReportFile string `json:"report_file"`
	// Verify is the verification pass that followed the sync, if one ran.
	Verify   *VerifySummary `json:"verify,omitempty"`
	ExitCode int            `json:"exit_code"`
}

// VerifySummary is summary.json's account of a verification pass:
// Checked = Agree + Differ + Missing customers compared, NotCompared rows
// the sync rejects; verify.csv lists the differences.
type VerifySummary struct {
	Checked     int64  `json:"checked"`
	Agree       int64  `json:"agree"`
	Differ      int64  `json:"differ"`
	Missing     int64  `json:"missing"`
	NotCompared int64  `json:"not_compared"`
	File        string `json:"file"`
}

// syncMemoryLimit is the Go heap size a sync steers towards unless
// GOMEMLIMIT says otherwise. The live data of a run is small and flat (a
// few batches, and about 12 bytes per row read for repeat detection, up
// to a million rows); without a limit the collector lets the heap double
// past it. The rest of the process takes about 25 MB, so the peak RSS
// stays under the 150 MB a sync is held to: dry runs of 1M and 5M rows
// peak at 117-138 MB (make bench). Every MB below that limit is spent on
// collections: at 96 MiB a 1M-row Parquet dry run took 12% more CPU.
const syncMemoryLimit = 112 << 20

// syncGCPercent lets the heap grow to four times the live data before a
// collection, within syncMemoryLimit, which still bounds it. The live data
// is 15 to 50 MB, so the default (100) collected about 80 times in a
// 1M-row dry run and took a sixth of its CPU; at 400 a run collects about
// a third as often with the same peak RSS.
const syncGCPercent = 400

func (o *syncOptions) run(ctx context.Context) (err error) {
	log := o.g.log.newLogger(o.stderr)
	o.log = log
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(syncMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(syncGCPercent)
	}
	started := time.Now()
	// Before the summary below is deferred: a run refused --out writes
	// nothing in it.
	lock, err := outdir.Lock(o.out, "sync")
	if err != nil {
		return pipeline.Fatalf("--out: %w", err)
	}
	defer lock.Unlock()
	// A run that fails before it starts (a source that cannot be opened, a
	// mapping that does not fit) still leaves a summary, so a cron job's
	// monitoring finds "failed" and why, not a summary from the day before.
	summarized := false
	defer func() {
		if err == nil || summarized {
			return
		}
		code := ExitFatal
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		s := &Summary{Status: "failed", Error: err.Error(), Source: o.src.path, Mapping: o.mapping, Mode: o.mode,
			DryRun: o.dryRun, StartedAt: started.UTC(), FinishedAt: time.Now().UTC(), State: o.statePath, ExitCode: code}
		_ = writeJSON(filepath.Join(o.out, "summary.json"), s)
		_ = o.writeMetrics(s) // logged; the run's own error comes first
	}()
	m, _, err := loadMapping(o.mapping)
	if err != nil {
		return err
	}
	src, err := o.src.openFor(ctx, log, &o.tgt, 0, m)
	if err != nil {
		return err
	}
	defer src.Close()
	prog, err := src.bind(m)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("mapping %s does not fit source %s: %w", o.mapping, o.src.path, err)}
	}

	ep, err := o.tgt.resolve(log, m.API())
	if err != nil {
		return err
	}
	defer ep.Close()
	cfg := ep.config(log, o.rate, o.concurrency)
	cfg.Schema = m.Schema()
	sink, err := ep.api.NewSink(cfg)
	if err != nil {
		return err
	}
	defer sink.Close()
	if m, prog, err = bindReferences(ctx, log, m, prog, sink, src); err != nil {
		return err
	}

	inc, err := o.openIncremental(ctx, m.API(), m.KeyColumn(), ep.describe())
	if err != nil {
		return err
	}
	defer inc.close()
	prevRead, err := inc.previousRead(ctx)
	if err != nil {
		return pipeline.Fatal(err)
	}
	rejectFile, rejectPath, err := src.newRejects(o.out)
	if err != nil {
		return pipeline.Fatalf("opening the reject file: %w", err)
	}
	rejects := rejectRecorder{RejectWriter: rejectFile, inc: inc}
	opts := pipeline.RunOptions{
		Source: src, Mapper: prog, Mapped: m.Mapped(), Sink: sink, Rejects: rejects,
		Mode: o.parsedMode, DryRun: o.dryRun, Concurrency: o.concurrency,
		MaxRejects: o.threshold, Grace: o.grace, Logger: log,
		FullResync: o.fullResync, Reconcile: o.reconcile, KeyColumn: slices.Index(src.Columns(), m.KeyColumn()),
		MaxBlank: o.blankLimit, MaxDelete: o.delLimit, PreviousRead: prevRead, OnWritten: inc.onWritten,
	}
	if inc.store != nil {
		opts.State = inc.store
	}
	run, err := pipeline.NewRun(opts)
	if err != nil {
		rejects.Close()
		return &exitError{code: ExitUsage, err: err}
	}
	log.Info("sync starting", "source", o.src.path, "mapping", o.mapping, "target", ep.describe(), "mode", o.parsedMode, "dry_run", o.dryRun)
	stopProgress := startProgress(o.progress, o.stderr, log, src.Source, run.Progress)
	runErr := run.Execute(ctx)
	stopProgress()
	closeErr := rejects.Close()
	if runErr == nil && closeErr != nil {
		runErr = pipeline.Fatalf("writing the reject file %s: %w", rejectPath, closeErr)
	}
	if err := inc.closeDiff(); err != nil && runErr == nil {
		runErr = pipeline.Fatalf("writing diff.csv: %w", err)
	}
	var verified *verifyResult
	if runErr == nil && o.verifies(src) {
		var verr error
		verified, verr = o.verifyAfterSync(ctx, log, src, m, ep, cfg, inc)
		inc.verify = verified.view
		if verr != nil {
			runErr = fmt.Errorf("verifying the sync: %w", verr)
		}
	}

	s := &Summary{Source: o.src.path, Mapping: o.mapping, Target: ep.describe(), Mode: string(o.parsedMode), DryRun: o.dryRun,
		StartedAt: started.UTC(), FinishedAt: time.Now().UTC(), RejectFile: rejectPath, State: o.statePath,
		DiffFile: filepath.Join(o.out, "diff.csv"), ReportFile: filepath.Join(o.out, "report.html"), Warnings: run.Warnings()}
	c := run.Progress()
	s.Rows.Read, s.Rows.Created, s.Rows.Updated, s.Rows.Unchanged, s.Rows.Rejected, s.Rows.Pending = c.Read, c.Created, c.Updated, c.Unchanged, c.Rejected, c.Pending
	s.Rows.UnchangedBySource = c.UnchangedBySource
	s.Rows.Deleted = c.Deleted
	s.RejectsByStage, s.RejectsByCode = run.RejectsBy()
	st := sink.Stats()
	s.API.Calls, s.API.Retries, s.API.RateLimited = st.Calls.Load(), st.Retries.Load(), st.RateLimited.Load()
	s.Timings.TotalSeconds = time.Since(started).Seconds()
	if s.Timings.TotalSeconds > 0 {
		s.Timings.RowsPerSec = float64(c.Read) / s.Timings.TotalSeconds
	}
	code, status := exitFor(ctx, runErr, c)
	if verified != nil {
		v := verified.counts
		s.Verify = &VerifySummary{Checked: v.Checked, Agree: v.Agree, Differ: v.Differ, Missing: v.Missing, NotCompared: v.Rejected, File: verified.file}
		if verified.differs() && (code == ExitOK || code == ExitRejects) {
			code, status = ExitDiffer, "differs"
		}
	}
	s.Status, s.ExitCode = status, code
	if runErr != nil {
		s.Error = runErr.Error()
	}
	summarized = true
	if werr := writeJSON(filepath.Join(o.out, "summary.json"), s); werr != nil && runErr == nil {
		runErr, code = pipeline.Fatalf("writing summary.json: %w", werr), ExitFatal
	}
	if merr := o.writeMetrics(s); merr != nil && runErr == nil {
		runErr, code = pipeline.Fatal(merr), ExitFatal
	}
	if ferr := inc.finish(ctx, s, run, started, o.out); ferr != nil && runErr == nil {
		runErr, code = pipeline.Fatalf("recording the run: %w", ferr), ExitFatal
	}
	printSummary(o.stdout, s)
	log.Info("sync finished", "status", status, "read", c.Read, "created", c.Created, "updated", c.Updated,
		"unchanged", c.Unchanged, "rejected", c.Rejected, "pending", c.Pending, "seconds", fmt.Sprintf("%.1f", s.Timings.TotalSeconds))
	if code == ExitOK {
		return nil
	}
	switch {
	case runErr != nil:
	case code == ExitDiffer:
		runErr = fmt.Errorf("the CRM differs from the source: %d customers differ, %d missing; see %s", s.Verify.Differ, s.Verify.Missing, s.Verify.File)
	default:
		runErr = fmt.Errorf("%d rows rejected: see %s", c.Rejected, rejectPath)
	}
	return &exitError{code: code, err: runErr}
}

// exitFor maps a run's end to its exit code and summary status.
func exitFor(ctx context.Context, err error, c pipeline.Counts) (int, string) {
	switch {
	case err == nil && c.Rejected == 0:
		return ExitOK, "done"
	case err == nil:
		return ExitRejects, "done_with_rejects"
	case errors.Is(err, pipeline.ErrAborted):
		return ExitAborted, "aborted"
	case ctx.Err() != nil:
		return ExitInterrupted, "interrupted"
	}
	return ExitFatal, "failed"
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(data, '\n'))
}

func printSummary(w io.Writer, s *Summary) {
	verb := "synced"
	if s.DryRun {
		verb = "would sync (dry run)"
	}
	fmt.Fprintf(w, "%s: %d rows read: %d created, %d updated, %d unchanged, %d rejected", verb,
		s.Rows.Read, s.Rows.Created, s.Rows.Updated, s.Rows.Unchanged, s.Rows.Rejected)
	if s.Rows.Pending > 0 {
		fmt.Fprintf(w, ", %d pending", s.Rows.Pending)
	}
	if s.Rows.Deleted > 0 {
		fmt.Fprintf(w, "; %d customers deleted (mirror)", s.Rows.Deleted)
	}
	fmt.Fprintf(w, " in %.1fs (%.0f rows/s); %d API calls, %d retries, %d answered 429\n",
		s.Timings.TotalSeconds, s.Timings.RowsPerSec, s.API.Calls, s.API.Retries, s.API.RateLimited)
	if s.Rows.Rejected > 0 {
		fmt.Fprintf(w, "rejects: %s\n", s.RejectFile)
	}
	for _, msg := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
	if v := s.Verify; v != nil {
		fmt.Fprintf(w, "verified: %d customers checked: %d agree, %d differ, %d missing; %d rows not compared (rejected)\n",
			v.Checked, v.Agree, v.Differ, v.Missing, v.NotCompared)
		if v.Differ+v.Missing > 0 {
			fmt.Fprintf(w, "differences: %s\n", v.File)
		}
	}
	fmt.Fprintf(w, "report: %s\n", s.ReportFile)
	fmt.Fprintf(w, "status: %s\n", s.Status)
}

// syncExitCodesHelp is the commands' exit statuses with sync's own: 5
// when its verification found differences.
var syncExitCodesHelp = strings.Replace(exitCodesHelp, "\n  130", "\n  5    done, but the verification (--verify) found the CRM differing from the source:\n       see verify.csv\n  130", 1)

// verifies reports whether the sync ends with a verification pass: as
// --verify says, or when it is not given, when the source is a CRM.
func (o *syncOptions) verifies(src *openedSource) bool {
	if o.dryRun {
		return false
	}
	if o.verify.set {
		return o.verify.on
	}
	return src.format == "crm"
}

// verifyAfterSync reads the source again and compares it with the CRM
// the sync wrote, through the state when the sync kept one.
func (o *syncOptions) verifyAfterSync(ctx context.Context, log *slog.Logger, synced *openedSource, m *mappings.Mapping, ep *endpoint, cfg crm.Config, inc *incremental) (*verifyResult, error) {
	empty := &verifyResult{view: &report.Verification{}}
	src, err := o.src.reopen(ctx, synced, m)
	if err != nil {
		empty.view.Error = err.Error()
		return empty, err
	}
	defer src.Close()
	prog, err := src.bind(m)
	if err != nil {
		empty.view.Error = err.Error()
		return empty, err
	}
	var st pipeline.State
	if inc.store != nil {
		st = inc.store
	}
	log.Info("verification starting")
	return verifyTarget(ctx, log, verifyParams{src: src, prog: prog, m: m, ep: ep, cfg: cfg, state: st,
		out: o.out, concurrency: o.concurrency, progress: o.progress, stderr: o.stderr})
}
