package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"crmsync/crm"
	"crmsync/internal/outdir"
	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/report"
	"crmsync/state"
)

func init() { commands = append(commands, newVerifyCommand) }

// ExitDiffer is the exit status of a verification that found the target
// differing from what the mapping makes of the source: a value changed,
// or a customer missing.
const ExitDiffer = 5

// verifyFileName is the file in --out that lists every difference.
const verifyFileName = "verify.csv"

const verifyExitCodesHelp = `
EXIT STATUS
  0    the two sides agree: every customer holds what the mapping makes of its row
  1    fatal error (unreachable target, 401/403, bad configuration, disk)
  2    usage error (bad flags or arguments)
  5    the two sides differ: see verify.csv and report.html
  130  interrupted by SIGINT or SIGTERM`

// verifyOptions are the flags of `crmsync verify`.
type verifyOptions struct {
	g *globals

	src         sourceFlags
	tgt         targetFlags
	mapping     string
	out         string
	statePath   string
	concurrency int
	rate        float64
	progress    string

	stdout io.Writer
	stderr *os.File
}

func newVerifyCommand(g *globals) *cobra.Command {
	o := &verifyOptions{g: g, stdout: os.Stdout, stderr: os.Stderr}
	cmd := &cobra.Command{
		Use:   "verify --source PATH|NAME: --mapping PATH --target sandbox|NAME|URL",
		Short: "Compare every customer in a CRM with what the mapping makes of the source",
		Long: `Verify reads the source again, maps and validates every row exactly as sync
does, reads each row's customer back from the target and compares it field by
field with what the mapping made of the row. It writes nothing to the CRM.

Only the fields the mapping fills are compared, in their canonical text (a
number without leading zeros, a list as its JSON array, an email without
regard to case when the API compares emails so). A field the mapping sets to
null() must be empty in the CRM. A create-only field, and an empty value of a
field the API cannot clear, hold whatever the CRM held before: they are
compared with what the state last confirmed, and not at all without --state.
Rows a sync rejects (mapping, validation, repeated keys or emails) are not
compared; sync's reject file lists them.

With --state (the state of the syncs) each row's customer is the one its key
is bound to; without it, the one its email (the API's match field) finds.

Outputs in --out: verify.csv (key, row, crm_id, kind, field, expected, found:
one line per field that differs, kind "value"; "missing" for a key without a
customer in the CRM; "ambiguous" when, without a state, several customers
hold the row's email) and report.html with the counts and the first
differences. Both hold personal data and are created 0600. The log holds
counts only.

sync runs the same pass at its end with --verify, the default when its
source is a CRM (a migration).` + credentialsHelp(),
		Example: `  # After a migration from a CRM, compare the two sides again:
  crmsync verify --source old-crm: --mapping migrate.yaml --target new-crm \
      --state migrate.db --out verify-out
  echo $?   # 0: the two sides agree; 5: see verify-out/verify.csv

  # A file synced to the sandbox:
  crmsync verify --source samples/customers.csv --mapping samples/customers.` + firstAPI() + `.yaml --target sandbox --out out`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + verifyExitCodesHelp
	f := cmd.Flags()
	f.StringVar(&o.src.path, "source", "", sourceFlagHelp)
	o.src.register(f)
	f.StringVar(&o.mapping, "mapping", "", "mapping file (YAML)")
	f.StringVar(&o.tgt.target, "target", "", targetFlagHelp)
	o.tgt.registerCredentialFlags(f)
	f.StringVar(&o.tgt.sandboxDB, "sandbox-db", defaultSandboxDB, sandboxDBFlagHelp)
	o.tgt.registerSandboxConfigFlag(f)
	o.tgt.registerSafetyFlags(f)
	f.StringVar(&o.out, "out", "crmsync-out", "directory for verify.csv and report.html")
	f.StringVar(&o.statePath, "state", "", "state file of the syncs (SQLite): which customer each key is bound to; read, never written")
	f.IntVar(&o.concurrency, "concurrency", 8, "batches of customers read from the CRM at once")
	f.Float64Var(&o.rate, "rate", 0, "most API calls per second (0: as fast as the API allows; 429s slow it down)")
	f.StringVar(&o.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log, none")
	return cmd
}

func (o *verifyOptions) check() error {
	if o.mapping == "" {
		return usageError("--mapping is required")
	}
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
	if o.statePath != "" {
		if _, err := os.Stat(o.statePath); err != nil {
			return usageError("--state %s: %v (verify reads the state of earlier syncs; it never makes one)", o.statePath, err)
		}
	}
	return nil
}

func (o *verifyOptions) run(ctx context.Context) error {
	log := o.g.log.newLogger(o.stderr)
	started := time.Now()
	lock, err := outdir.Lock(o.out, "verify")
	if err != nil {
		return pipeline.Fatalf("--out: %w", err)
	}
	defer lock.Unlock()
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
	if len(m.References()) > 0 {
		sink, err := ep.api.NewSink(cfg)
		if err != nil {
			return err
		}
		m, prog, err = bindReferences(ctx, log, m, prog, sink, src)
		sink.Close()
		if err != nil {
			return err
		}
	}
	var st pipeline.State
	if o.statePath != "" {
		store, err := openVerifyState(ctx, o.statePath, m)
		if err != nil {
			return err
		}
		defer store.Close()
		st = store
	}
	log.Info("verify starting", "source", o.src.path, "mapping", o.mapping, "target", ep.describe(), "state", o.statePath != "")
	res, verr := verifyTarget(ctx, log, verifyParams{src: src, prog: prog, m: m, ep: ep, cfg: cfg, state: st,
		out: o.out, concurrency: o.concurrency, progress: o.progress, stderr: o.stderr})

	rep := &report.Run{Source: o.src.path, Mapping: o.mapping, Target: ep.describe(), Mode: "verify",
		StartedAt: started.UTC(), FinishedAt: time.Now().UTC(), Verify: res.view}
	code := ExitOK
	switch {
	case verr != nil && ctx.Err() != nil:
		code, rep.Status = ExitInterrupted, "interrupted"
	case verr != nil:
		code, rep.Status = ExitFatal, "failed"
	case res.differs():
		code, rep.Status = ExitDiffer, "differs"
	default:
		rep.Status = "done"
	}
	if verr != nil {
		rep.Error = verr.Error()
	}
	if res.api != nil {
		rep.API.Calls, rep.API.Retries, rep.API.RateLimited = res.api.Calls.Load(), res.api.Retries.Load(), res.api.RateLimited.Load()
	}
	rep.Counts.Read = res.counts.Read
	rep.Phases = []report.Phase{{Name: "verify", Seconds: time.Since(started).Seconds()}}
	reportPath := filepath.Join(o.out, "report.html")
	if err := report.WriteHTMLFile(reportPath, rep); err != nil && verr == nil {
		verr, code = pipeline.Fatal(err), ExitFatal
	}
	res.print(o.stdout, reportPath)
	switch {
	case code == ExitOK:
		return nil
	case verr != nil:
		return &exitError{code: code, err: verr}
	}
	return &exitError{code: code, err: fmt.Errorf("the target differs from the source: %d customers differ, %d missing; see %s",
		res.counts.Differ, res.counts.Missing, res.file)}
}

// openVerifyState opens the state of earlier syncs of m and checks it is
// theirs; verify only reads it.
func openVerifyState(ctx context.Context, path string, m *mappings.Mapping) (*state.Store, error) {
	st, err := state.Open(ctx, path)
	if err != nil {
		return nil, pipeline.Fatal(err)
	}
	if err := st.Bind(ctx, m.API(), m.KeyColumn()); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// verifyParams are what a verification pass needs, from crmsync verify or
// from the end of a sync.
type verifyParams struct {
	src         *openedSource
	prog        *mappings.Program
	m           *mappings.Mapping
	ep          *endpoint
	cfg         crm.Config
	state       pipeline.State
	out         string
	concurrency int
	progress    string
	stderr      *os.File
}

// verifyResult is what a pass found.
type verifyResult struct {
	counts pipeline.VerifyCounts
	// view is report.html's section; file is verify.csv's path.
	view *report.Verification
	file string
	api  *pipeline.CallStats
}

func (r *verifyResult) differs() bool { return r.counts.Differ > 0 || r.counts.Missing > 0 }

// print writes the pass's counts for a person: no personal value.
func (r *verifyResult) print(w io.Writer, reportPath string) {
	c := r.counts
	fmt.Fprintf(w, "verified: %d rows read: %d customers checked: %d agree, %d differ, %d missing; %d rows not compared (a sync rejects them)\n",
		c.Read, c.Checked, c.Agree, c.Differ, c.Missing, c.Rejected)
	if r.differs() {
		fmt.Fprintf(w, "differences: %s\n", r.file)
	}
	fmt.Fprintf(w, "report: %s\n", reportPath)
}

// verifyTarget runs a verification pass of p.src against the target,
// writing verify.csv in p.out. The result holds what was counted and
// written even when the pass stopped with an error.
func verifyTarget(ctx context.Context, log *slog.Logger, p verifyParams) (*verifyResult, error) {
	res := &verifyResult{file: filepath.Join(p.out, verifyFileName), view: &report.Verification{}}
	reader, err := p.ep.api.NewReader(p.cfg)
	if err != nil {
		return res, pipeline.Fatalf("reading %s: %w", p.ep.describe(), err)
	}
	defer closeQuietly(reader)
	res.api = reader.Stats()
	w, err := report.CreateVerify(res.file)
	if err != nil {
		return res, pipeline.Fatal(err)
	}
	onDiff := func(d *pipeline.Difference) error {
		row := report.VerifyRow{Key: d.Key, Row: d.Row, CRMID: d.CRMID, Kind: d.Kind, Field: d.Field, Expected: d.Expected, Found: d.Found}
		if len(res.view.Differences) < report.MaxVerifyDifferences {
			res.view.Differences = append(res.view.Differences, row)
		}
		return w.Write(&row)
	}
	pass, err := pipeline.NewVerification(pipeline.VerifyOptions{Source: p.src, Mapper: p.prog, Mapped: p.m.Mapped(),
		Reader: reader, State: p.state, Concurrency: p.concurrency, OnDifference: onDiff})
	if err != nil {
		w.Close()
		return res, &exitError{code: ExitUsage, err: err}
	}
	stop := startCountProgress(p.progress, p.stderr, log, "rows verified", func() (int64, int64) {
		c := pass.Progress()
		return c.Read - c.Pending, 0
	})
	err = pass.Execute(ctx)
	stop()
	if cerr := w.Close(); cerr != nil && err == nil {
		err = pipeline.Fatal(cerr)
	}
	c := pass.Progress()
	res.counts = c
	v := res.view
	v.Checked, v.Agree, v.Differ, v.Missing, v.Rejected, v.Total = c.Checked, c.Agree, c.Differ, c.Missing, c.Rejected, w.Rows()
	if err != nil {
		v.Error = err.Error()
		if errors.Is(err, context.Canceled) {
			v.Error = "interrupted"
		}
	}
	log.Info("verification", "read", c.Read, "checked", c.Checked, "agree", c.Agree, "differ", c.Differ,
		"missing", c.Missing, "not_compared", c.Rejected, "api_calls", res.api.Calls.Load())
	return res, err
}

// autoBool is a bool flag whose default is decided later, from what the
// command is given: unset, it says "auto".
type autoBool struct{ set, on bool }

func (b *autoBool) String() string {
	if !b.set {
		return "auto"
	}
	return strconv.FormatBool(b.on)
}

func (b *autoBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.on = true, v
	return nil
}

func (b *autoBool) Type() string { return "bool" }
