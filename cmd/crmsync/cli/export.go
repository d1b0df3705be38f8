package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/gdpr/layout"
	"crmsync/internal/outdir"
	"crmsync/pipeline"
)

func init() { commands = append(commands, newExportCommand) }

// exportOptions are the flags of `crmsync export`.
type exportOptions struct {
	g *globals

	tgt         targetFlags
	subjects    string
	all         bool
	out         string
	format      string
	recipients  []string
	concurrency int
	rate        float64
	progress    string

	// resolved by check
	recips []age.Recipient
	stdout io.Writer
	stderr *os.File
}

const exportExitCodesHelp = `
EXIT STATUS
  0    all done (subjects the CRM does not hold are listed in not_found.csv)
  1    fatal error (unreachable target, 401/403, disk, another run using --out,
       a match value several customers share: name them by id); --out is left
       as it was
  2    usage error (bad flags, a subjects file without an id or match column,
       or an --out holding files that no crmsync export wrote)
  130  interrupted by SIGINT or SIGTERM; --out is left as it was`

func newExportCommand(g *globals) *cobra.Command {
	o := &exportOptions{g: g, stdout: os.Stdout, stderr: os.Stderr}
	cmd := &cobra.Command{
		Use:   "export --api API --target sandbox|URL (--subjects FILE | --all) --out DIR",
		Short: "Export what the CRM holds on people (GDPR subject access)",
		Long: `Export answers a subject-access request (GDPR Art. 15): it reads from the CRM
everything it holds on the people named in --subjects (a CSV file with an
"id" column, a column of the API's match value, or both: ` + subjectColumnsHelp() + `),
or on every customer of the account with --all, and writes to --out:

  subjects/<customer id>.json   per person: the customer object exactly as the
                                API answered it (nested objects and lists
                                included), and the records the API keeps
                                apart that belong to it (such as the teammate
                                a customer is assigned to, where the API has
                                teammates)
  customers.jsonl|csv|parquet   one row per person: the API's fields, nested
                                objects flattened into columns such as
                                address_city, and other_fields, a JSON object
                                of whatever else the API sent
  not_found.csv                 the subjects the CRM does not hold (--subjects)
  manifest.json                 when, which target, a fingerprint of the API key
                                (never the key), the counts, and the SHA-256
                                of every file as written

Exports hold personal data: directories are created 0700 and files 0600, and
the logs hold counts only. With --age-recipient every file but the manifest is
encrypted to those age public keys and named with .age; the manifest's hashes
are of the encrypted files.

The files are written to a hidden directory inside --out and moved into place
when all are complete, replacing the previous export's files (those of people
since erased included). Only files an earlier export's manifest lists are ever
replaced or removed: --out must be new, empty or an earlier export, and files
of your own beside an export are left alone. One run at a time may use an
--out (it is locked while the run lasts). A run that fails or is interrupted
leaves the previous export as it was; running it again starts over. --all
pages through the account in constant memory.

The API's credentials come from environment variables (each API's own, or
those --api-key-env and --credential-env name).` + credentialsHelp(),
		Example: `  # Answer a request for two people, encrypted to the DPO's age key:
  printf '` + firstMatchField() + `\nada@example.com\nbob@example.org\n' > request-0117.csv
  ` + firstCredentialEnv() + `=... crmsync export --api ` + firstAPI() + ` --target ` + firstBaseURL() + ` \
      --subjects request-0117.csv --out /secure/sar-0117 \
      --age-recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p

  # Everything the account holds, as Parquet:
  crmsync export --api ` + firstAPI() + ` --target sandbox --all --format parquet --out export-all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + exportExitCodesHelp
	f := cmd.Flags()
	registerTargetFlags(f, &o.tgt)
	f.StringVar(&o.subjects, "subjects", "", `CSV file naming the people, with an "id" column, a column of the API's match value (`+subjectColumnsHelp()+`), or both (the id decides)`)
	f.BoolVar(&o.all, "all", false, "export every customer of the account (leads included)")
	f.StringVar(&o.out, "out", "", "directory for the export (created 0700)")
	f.StringVar(&o.format, "format", "jsonl", "format of the combined table: jsonl, csv or parquet")
	f.StringArrayVar(&o.recipients, "age-recipient", nil, "encrypt every file but the manifest to this age public key, age1… (repeatable)")
	f.IntVar(&o.concurrency, "concurrency", 4, "API reads in flight at once")
	f.Float64Var(&o.rate, "rate", 0, "most API calls per second (0: as fast as the API allows; 429s slow it down)")
	f.StringVar(&o.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log, none")
	return cmd
}

// registerTargetFlags declares the flags naming the CRM of a command
// without a mapping: its API, where it is and how to reach it.
func registerTargetFlags(f *pflag.FlagSet, t *targetFlags) {
	f.StringVar(&t.api, "api", defaultAPI(), "the target's API: "+strings.Join(crm.Names(), ", "))
	f.StringVar(&t.target, "target", "", `"sandbox" or the API's base URL (`+exampleURLs()+`)`)
	t.registerCredentialFlags(f)
	f.StringVar(&t.sandboxDB, "sandbox-db", defaultSandboxDB, "SQLite file of the embedded sandbox (--target sandbox)")
	t.registerSandboxConfigFlag(f)
	t.registerSafetyFlags(f)
}

func (o *exportOptions) check() error {
	if (o.subjects == "") == !o.all {
		return usageError("give either --subjects FILE or --all")
	}
	if o.out == "" {
		return usageError("--out must name a directory")
	}
	if !validFormat(o.format) {
		return usageError("--format %q: use jsonl, csv or parquet", o.format)
	}
	if o.concurrency < 1 || o.concurrency > 32 {
		return usageError("--concurrency %d: use 1 to 32", o.concurrency)
	}
	if o.rate < 0 {
		return usageError("--rate %v: must not be negative", o.rate)
	}
	switch o.progress {
	case "auto", "bar", "log", "none":
	default:
		return usageError("--progress %q: use auto, bar, log or none", o.progress)
	}
	if len(o.recipients) > 0 {
		r, err := gdpr.ParseRecipients(o.recipients)
		if err != nil {
			return usageError("--age-recipient: %v", err)
		}
		o.recips = r
	}
	return nil
}

func validFormat(f string) bool {
	for _, v := range gdpr.Formats {
		if f == v {
			return true
		}
	}
	return false
}

// ExportManifest is the header of an export's manifest.json, which
// gdpr.WriteManifest follows with "files": path, bytes and SHA-256 of
// every file written.
type ExportManifest struct {
	Kind           string    `json:"kind"` // "crmsync export"
	StartedAt      time.Time `json:"started_at"`
	FinishedAt     time.Time `json:"finished_at"`
	API            string    `json:"api"`
	Target         string    `json:"target"`
	KeyFingerprint string    `json:"key_fingerprint"`
	Scope          string    `json:"scope"` // "subjects" or "all"
	Format         string    `json:"format"`
	Encrypted      bool      `json:"encrypted"`
	Recipients     []string  `json:"recipients,omitempty"` // age public keys
	Counts         struct {
		Subjects int   `json:"subjects"` // distinct subjects named (--subjects)
		Exported int64 `json:"customers_exported"`
		NotFound int64 `json:"not_found"`
		Files    int   `json:"files"` // listed below; the manifest not counted
	} `json:"counts"`
	Calls struct {
		Calls       int64 `json:"calls"`
		Retries     int64 `json:"retries"`
		RateLimited int64 `json:"rate_limited"`
	} `json:"api_calls"`
}

// exportKind is the "kind" of an export's manifest: how a later export
// knows the files beside it are an export's, which it may replace.
const exportKind = "crmsync export"

// writes are the entries this run writes at the top of --out, under the
// names Dir gives them (with .age when encrypted).
func (o *exportOptions) writes() []string {
	d := &gdpr.Dir{Recipients: o.recips}
	names := []string{"subjects", d.Name("customers." + o.format)}
	if !o.all {
		names = append(names, d.Name("not_found.csv"))
	}
	return names
}

// exportMemoryLimit is the Go heap an export steers towards unless
// GOMEMLIMIT says otherwise: its live data is a few pages of customers
// and one Parquet row group.
const exportMemoryLimit = 96 << 20

func (o *exportOptions) run(ctx context.Context) error {
	log := o.g.log.newLogger(o.stderr)
	if os.Getenv("GOMEMLIMIT") == "" {
		// Restored after: Main may run in a process that goes on (tests).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(exportMemoryLimit))
	}
	started := time.Now()
	conn, err := connectorOf(o.tgt.api)
	if err != nil {
		return err
	}
	var subjects []gdpr.Subject
	if !o.all {
		if subjects, err = readSubjects(o.subjects, conn); err != nil {
			return err
		}
	}
	ep, err := o.tgt.resolve(log, o.tgt.api)
	if err != nil {
		return err
	}
	defer ep.Close()
	warnLooseDir(log, o.out)
	lock, err := outdir.Lock(o.out, "export")
	if err != nil {
		return pipeline.Fatalf("--out: %w", err)
	}
	defer lock.Unlock()
	stage, err := gdpr.NewStaging(o.out, exportKind, o.writes())
	var foreign *gdpr.ForeignError
	if errors.As(err, &foreign) {
		return usageError("--out: %v. An export replaces only what an earlier export wrote (its manifest lists it) and leaves the rest alone: give --out a new or empty directory, or move those files away", err)
	}
	if err != nil {
		return pipeline.Fatalf("preparing --out %s: %w", o.out, err)
	}
	defer stage.Discard()

	reader, err := newReader(ep, log, o.rate, o.concurrency)
	if err != nil {
		return err
	}
	defer closeQuietly(reader)
	x := &exporter{o: o, reader: reader, api: ep.api.Name, layout: ep.api.ExportLayout(), log: log, now: started.UTC(),
		dir: &gdpr.Dir{Root: stage.Path(), Recipients: o.recips, InPlace: true}}
	scope := "all"
	if !o.all {
		scope = "subjects"
	}
	log.Info("export starting", "target", publicTarget(ep), "scope", scope, "subjects", len(subjects), "format", o.format, "encrypted", len(o.recips) > 0)

	noun := "customers"
	if !o.all {
		noun = "subjects"
	}
	stopProgress := startCountProgress(o.progress, o.stderr, log, noun, x.progress)
	err = x.export(ctx, subjects)
	stopProgress()
	if err != nil {
		x.abort()
		if ctx.Err() != nil {
			return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted; %s is left as it was: %w", o.out, err)}
		}
		return pipeline.Fatalf("export stopped, %s is left as it was: %w", o.out, err)
	}

	m := &ExportManifest{Kind: exportKind, StartedAt: started.UTC(), API: ep.api.Name, Target: publicTarget(ep),
		KeyFingerprint: ep.keyFingerprint(), Scope: scope, Format: o.format, Encrypted: len(o.recips) > 0}
	for _, r := range o.recips {
		if s, ok := r.(fmt.Stringer); ok {
			m.Recipients = append(m.Recipients, s.String())
		}
	}
	m.Counts.Subjects, m.Counts.Exported, m.Counts.NotFound = len(subjects), x.exported.Load(), x.notFound.Load()
	m.Counts.Files = x.files.Len()
	calls := reader.Stats()
	m.Calls.Calls, m.Calls.Retries, m.Calls.RateLimited = calls.Calls.Load(), calls.Retries.Load(), calls.RateLimited.Load()
	m.FinishedAt = time.Now().UTC()
	err = gdpr.WriteManifest(x.dir, m, x.files)
	if cerr := x.files.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = stage.Publish()
	}
	if err != nil {
		return pipeline.Fatalf("writing the export to %s: %w", o.out, err)
	}
	took := time.Since(started)
	fmt.Fprintf(o.stdout, "exported %d customers", m.Counts.Exported)
	if !o.all {
		fmt.Fprintf(o.stdout, " (%d subjects, %d not found)", m.Counts.Subjects, m.Counts.NotFound)
	}
	fmt.Fprintf(o.stdout, " to %s in %.1fs; %d files; %d API calls, %d retries, %d answered 429\nmanifest: %s\n",
		o.out, took.Seconds(), m.Counts.Files, m.Calls.Calls, m.Calls.Retries, m.Calls.RateLimited, filepath.Join(o.out, gdpr.ManifestName))
	log.Info("export finished", "exported", m.Counts.Exported, "not_found", m.Counts.NotFound, "files", m.Counts.Files,
		"seconds", fmt.Sprintf("%.1f", took.Seconds()))
	return nil
}

// warnLooseDir warns when out exists and others may read it. It is not
// changed: --out may be a shared directory (/tmp) that must stay as it is,
// and what the run writes in it is 0700 and 0600 anyway.
func warnLooseDir(log *slog.Logger, out string) {
	if fi, err := os.Stat(out); err == nil && fi.IsDir() && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("--out is readable by others; the files written in it are not", "dir", out, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
}

// publicTarget names the target for logs and manifests, without a user
// or password the URL may carry.
func publicTarget(ep *endpoint) string {
	if ep.sandbox == nil {
		if u, err := url.Parse(ep.baseURL); err == nil && u.User != nil {
			u.User = nil
			return u.String()
		}
	}
	return ep.describe()
}

// exporter writes one export into the staging directory.
type exporter struct {
	o      *exportOptions
	reader pipeline.Reader
	api    string
	layout *layout.Layout
	log    *slog.Logger
	dir    *gdpr.Dir
	now    time.Time

	// related gives a customer's related records, when the reader
	// keeps any (layout.RelatedReader).
	related  func(context.Context, *pipeline.Customer) (map[string]json.RawMessage, error)
	files    *gdpr.FileList
	table    *gdpr.File
	tw       gdpr.TableWriter
	notFound atomic.Int64
	exported atomic.Int64
	total    atomic.Int64    // customers expected, for the progress; 0 while unknown
	seen     map[string]bool // CRM ids exported
	nf       *gdpr.File
	nfw      *gdpr.CSVWriter
}

// progress counts customers exported with --all, subjects looked up
// with --subjects.
func (x *exporter) progress() (int64, int64) {
	return x.exported.Load() + x.notFound.Load(), x.total.Load()
}

// abort drops the files still open; the staging directory goes with
// them when the run returns.
func (x *exporter) abort() {
	if x.table != nil {
		x.table.Abort()
	}
	if x.nf != nil {
		x.nf.Abort()
	}
	if x.files != nil {
		x.files.Close()
	}
}

func (x *exporter) export(ctx context.Context, subjects []gdpr.Subject) error {
	var err error
	if rr, ok := x.reader.(layout.RelatedReader); ok {
		if x.related, err = rr.Related(ctx); err != nil {
			return err
		}
	}
	if x.files, err = gdpr.NewFileList(x.dir.Root); err != nil {
		return err
	}
	if err := x.dir.MkdirAll("subjects"); err != nil {
		return err
	}
	if x.table, err = x.dir.Create("customers." + x.o.format); err != nil {
		return err
	}
	if x.tw, err = gdpr.NewTableWriter(x.o.format, x.table, x.layout.Table()); err != nil {
		return err
	}
	if x.o.all {
		err = x.exportAll(ctx)
	} else {
		err = x.exportSubjects(ctx, subjects)
	}
	if err != nil {
		return err
	}
	if err := x.tw.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", x.table.Name(), err)
	}
	e, err := x.table.Commit(true)
	if err != nil {
		return err
	}
	if err := x.files.Add(e); err != nil {
		return err
	}
	if x.nf != nil {
		if err := x.nfw.Flush(); err != nil {
			return fmt.Errorf("writing %s: %w", x.nf.Name(), err)
		}
		e, err := x.nf.Commit(true)
		if err != nil {
			return err
		}
		if err := x.files.Add(e); err != nil {
			return err
		}
	}
	return gdpr.SyncDir(filepath.Join(x.dir.Root, "subjects"))
}

// subjectDoc is a subject's own file: when and from which API, the
// customer object as the API answered it, then each of the layout's
// related records, null when the customer has none.
type subjectDoc struct {
	exportedAt time.Time
	api        string
	customer   json.RawMessage
	names      []string
	related    map[string]json.RawMessage
}

// MarshalJSON writes the keys in their order. The encoder checks and
// compacts what it returns, and indents it.
func (d subjectDoc) MarshalJSON() ([]byte, error) {
	b := []byte(`{"exported_at":`)
	t, err := d.exportedAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, t...)
	b = appendKey(b, "api")
	q, err := json.Marshal(d.api)
	if err != nil {
		return nil, err
	}
	b = append(b, q...)
	b = append(appendKey(b, "customer"), d.customer...)
	for _, name := range d.names {
		b = appendKey(b, name)
		if v := d.related[name]; len(v) > 0 {
			b = append(b, v...)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}'), nil
}

func appendKey(b []byte, key string) []byte {
	q, _ := json.Marshal(key) // a string always marshals
	return append(append(append(b, ','), q...), ':')
}

// written is one customer made ready for the table: its row, and the
// entry of its own file.
type written struct {
	row   layout.Row
	entry gdpr.FileEntry
}

// prepare writes one customer's own file and returns its table row. It
// runs on several goroutines at once.
func (x *exporter) prepare(ctx context.Context, c *pipeline.Customer) (written, error) {
	if c.ID == "" {
		return written{}, errors.New("the CRM answered a customer without an id")
	}
	if len(c.Raw) == 0 || string(c.Raw) == "null" {
		return written{}, fmt.Errorf("the CRM answered customer %s without its object", c.ID)
	}
	var related map[string]json.RawMessage
	if x.related != nil {
		var err error
		if related, err = x.related(ctx, c); err != nil {
			return written{}, fmt.Errorf("customer %s: %w", c.ID, err)
		}
	}
	row, err := x.layout.Flatten(c.Raw, related)
	if err != nil {
		return written{}, fmt.Errorf("customer %s, %w", c.ID, err)
	}
	f, err := x.dir.Create("subjects/" + gdpr.SubjectFileName(c.ID))
	if errors.Is(err, fs.ErrExist) {
		return written{}, fmt.Errorf("the CRM listed customer %s twice: the account changed during the export; run it again", c.ID)
	}
	if err != nil {
		return written{}, err
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	doc := subjectDoc{exportedAt: x.now, api: x.api, customer: c.Raw, names: x.layout.Related, related: related}
	if err := enc.Encode(doc); err != nil {
		f.Abort()
		return written{}, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	// Not synced one by one: see gdpr.File.Commit.
	e, err := f.Commit(false)
	return written{row, e}, err
}

// write writes customers: their own files, a few at once (creating a
// file costs a disk round trip, which overlaps), then their rows and file
// entries in order.
func (x *exporter) write(ctx context.Context, cs []pipeline.Customer) error {
	out := make([]written, len(cs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fileWriters)
	for i := range cs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			var err error
			out[i], err = x.prepare(gctx, &cs[i])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, w := range out {
		if err := x.files.Add(w.entry); err != nil {
			return err
		}
		if err := x.tw.Write(w.row); err != nil {
			return fmt.Errorf("writing %s: %w", x.table.Name(), err)
		}
		x.exported.Add(1)
	}
	return nil
}

// fileWriters is how many per-customer files are written at once.
const fileWriters = 4

// exportAll reads the account page by page, in the order the reader's
// Walk keeps while it walks, so that no customer is listed twice or
// skipped by the account changing under it.
func (x *exporter) exportAll(ctx context.Context) error {
	return x.reader.Walk(ctx, func(page []pipeline.Customer) error {
		return x.write(ctx, page)
	})
}

// found is a subject looked up: its customer, or nil.
type found struct {
	s gdpr.Subject
	c *pipeline.Customer
}

func (x *exporter) exportSubjects(ctx context.Context, subjects []gdpr.Subject) error {
	x.total.Store(int64(len(subjects)))
	x.seen = make(map[string]bool, len(subjects))
	var err error
	if x.nf, err = x.dir.Create("not_found.csv"); err != nil {
		return err
	}
	x.nfw = gdpr.NewCSVWriter(x.nf)
	if err := x.nfw.Write([]string{"row", "id", matchName(x.reader.Schema())}); err != nil {
		return err
	}
	jobs := func(yield func(gdpr.Subject) bool) {
		for _, s := range subjects {
			if !yield(s) {
				return
			}
		}
	}
	fetch := func(ctx context.Context, s gdpr.Subject) (found, error) {
		c, err := lookupSubject(ctx, x.reader, s)
		return found{s, c}, err
	}
	emit := func(f found) (bool, error) {
		if f.c == nil {
			x.notFound.Add(1)
			return false, x.nfw.Write([]string{strconv.Itoa(f.s.Row), f.s.ID, f.s.Match})
		}
		// Named twice (by id and by match value): one file, one row.
		if x.seen[f.c.ID] {
			return false, nil
		}
		x.seen[f.c.ID] = true
		return false, x.write(ctx, []pipeline.Customer{*f.c})
	}
	return inOrder(ctx, x.o.concurrency, jobs, fetch, emit)
}
