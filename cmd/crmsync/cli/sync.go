package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
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

	// resolved by check
	parsedMode pipeline.Mode
	threshold  pipeline.Threshold
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

Outputs in --out: rejects.csv or rejects.parquet, and summary.json with the
counts (read = created + updated + unchanged + rejected), API calls, retries,
429s and timings.

The API key comes from the environment variable named by --api-key-env; it is
never taken from a flag value and never logged. --target sandbox runs the
embedded tamio emulator on a local SQLite file (--sandbox-db), needing no key.`,
		Example: `  # Rehearse on the embedded sandbox with the shipped sample:
  crmsync sync --source samples/customers.csv --mapping samples/customers.tamio.yaml --target sandbox --out out

  # Nightly, from cron, against the real API:
  TAMIO_API_KEY=... crmsync sync --source /exports/customers.csv.gz \
      --mapping customers.tamio.yaml --target https://api.tamio.com/v2 \
      --out /var/lib/crmsync/$(date +%F) --max-rejects 2% --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + exitCodesHelp
	f := cmd.Flags()
	f.StringVar(&o.src.path, "source", "", "CSV (.csv, .csv.gz, - for standard input) or Parquet file")
	o.src.register(f)
	f.StringVar(&o.mapping, "mapping", "", "mapping file (YAML)")
	f.StringVar(&o.tgt.target, "target", "", `"sandbox" or the API's base URL (https://api.tamio.com/v2)`)
	f.StringVar(&o.tgt.apiKeyEnv, "api-key-env", "TAMIO_API_KEY", "environment variable holding the API key")
	f.StringVar(&o.tgt.sandboxDB, "sandbox-db", defaultSandboxDB, "SQLite file of the embedded sandbox (--target sandbox)")
	f.StringVar(&o.mode, "mode", "upsert", "upsert, create (never update) or update (never create)")
	f.BoolVar(&o.dryRun, "dry-run", false, "read and compare, but write nothing to the CRM; report what would change")
	f.StringVar(&o.out, "out", "crmsync-out", "directory for the reject file and summary.json")
	f.IntVar(&o.concurrency, "concurrency", 8, "batches written to the CRM at once")
	f.Float64Var(&o.rate, "rate", 0, "most API calls per second (0: as fast as the API allows; 429s slow it down)")
	f.StringVar(&o.maxRejects, "max-rejects", "", "abort (exit 4) when rejects go over N rows or P% (e.g. 100 or 2%)")
	f.StringVar(&o.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log, none")
	f.DurationVar(&o.grace, "grace", 15*time.Second, "after Ctrl-C, how long writes already sent may finish")
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
	Rows       struct {
		Read      int64 `json:"read"`
		Created   int64 `json:"created"`
		Updated   int64 `json:"updated"`
		Unchanged int64 `json:"unchanged"`
		Rejected  int64 `json:"rejected"`
		// Pending rows were read but had no outcome when the run stopped
		// early; a complete run has none.
		Pending int64 `json:"pending"`
	} `json:"rows"`
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
	ExitCode   int    `json:"exit_code"`
}

// syncMemoryLimit is the Go heap size a sync steers towards unless
// GOMEMLIMIT says otherwise. The live data of a run is small and flat (a
// few batches, and about 20 bytes per row read for repeat detection);
// without a limit the collector lets the heap double past it.
const syncMemoryLimit = 96 << 20

func (o *syncOptions) run(ctx context.Context) (err error) {
	log := o.g.log.newLogger(o.stderr)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(syncMemoryLimit)
	}
	started := time.Now()
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return pipeline.Fatalf("creating --out %s: %w", o.out, err)
	}
	src, err := o.src.open(0)
	if err != nil {
		return err
	}
	defer src.Close()

	m, _, err := loadMapping(o.mapping)
	if err != nil {
		return err
	}
	prog, err := m.Bind(src.Columns(), src.nested)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("mapping %s does not fit source %s: %w", o.mapping, o.src.path, err)}
	}

	ep, err := o.tgt.resolve(log)
	if err != nil {
		return err
	}
	defer ep.Close()
	sink, err := tamio.New(tamio.Options{BaseURL: ep.baseURL, APIKey: ep.apiKey, Rate: o.rate, Concurrency: o.concurrency, Logger: log})
	if err != nil {
		return err
	}
	defer sink.Close()

	rejects, rejectPath, err := src.newRejects(o.out)
	if err != nil {
		return pipeline.Fatalf("opening the reject file: %w", err)
	}
	run, err := pipeline.NewRun(pipeline.RunOptions{
		Source: src, Mapper: prog, Mapped: m.Mapped(), Sink: sink, Rejects: rejects,
		Mode: o.parsedMode, DryRun: o.dryRun, Concurrency: o.concurrency,
		MaxRejects: o.threshold, Grace: o.grace, Logger: log,
	})
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

	s := &Summary{Source: o.src.path, Mapping: o.mapping, Target: ep.describe(), Mode: string(o.parsedMode), DryRun: o.dryRun,
		StartedAt: started.UTC(), FinishedAt: time.Now().UTC(), RejectFile: rejectPath}
	c := run.Progress()
	s.Rows.Read, s.Rows.Created, s.Rows.Updated, s.Rows.Unchanged, s.Rows.Rejected, s.Rows.Pending = c.Read, c.Created, c.Updated, c.Unchanged, c.Rejected, c.Pending
	s.RejectsByStage, s.RejectsByCode = run.RejectsBy()
	st := sink.Stats()
	s.API.Calls, s.API.Retries, s.API.RateLimited = st.Calls.Load(), st.Retries.Load(), st.RateLimited.Load()
	s.Timings.TotalSeconds = time.Since(started).Seconds()
	if s.Timings.TotalSeconds > 0 {
		s.Timings.RowsPerSec = float64(c.Read) / s.Timings.TotalSeconds
	}
	code, status := exitFor(ctx, runErr, c)
	s.Status, s.ExitCode = status, code
	if runErr != nil {
		s.Error = runErr.Error()
	}
	if werr := writeJSON(filepath.Join(o.out, "summary.json"), s); werr != nil && runErr == nil {
		runErr, code = pipeline.Fatalf("writing summary.json: %w", werr), ExitFatal
	}
	printSummary(o.stdout, s)
	log.Info("sync finished", "status", status, "read", c.Read, "created", c.Created, "updated", c.Updated,
		"unchanged", c.Unchanged, "rejected", c.Rejected, "pending", c.Pending, "seconds", fmt.Sprintf("%.1f", s.Timings.TotalSeconds))
	if code == ExitOK {
		return nil
	}
	if runErr == nil {
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
	return writeFileSync(path, append(data, '\n'))
}

// writeFileSync writes a file with owner-only permissions, through a
// temporary file renamed into place, so a crash never leaves half a file.
func writeFileSync(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
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
	fmt.Fprintf(w, " in %.1fs (%.0f rows/s); %d API calls, %d retries, %d answered 429\n",
		s.Timings.TotalSeconds, s.Timings.RowsPerSec, s.API.Calls, s.API.Retries, s.API.RateLimited)
	if s.Rows.Rejected > 0 {
		fmt.Fprintf(w, "rejects: %s\n", s.RejectFile)
	}
	fmt.Fprintf(w, "status: %s\n", s.Status)
}
