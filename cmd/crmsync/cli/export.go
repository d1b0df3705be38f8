package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/gdpr/sar"
	"crmsync/internal/outdir"
	"crmsync/pipeline"
)

func init() { commands = append(commands, newExportCommand) }

// exportOptions are the flags of `crmsync export`.
type exportOptions struct {
	g *globals

	tgt         targetFlags
	targets     []string
	subjects    string
	all         bool
	out         string
	format      string
	recipients  []string
	concurrency int
	rate        float64
	progress    string
	sar         sarFlags
	keepGoing   bool

	// resolved by check
	recips []age.Recipient
	// folders are the targets' folders (--targets), in their order.
	folders []string
	// oneTargetFlags are the flags of one target given beside --targets.
	oneTargetFlags []string
	stdout         io.Writer
	stderr         *os.File
}

const exportExitCodesHelp = `
EXIT STATUS
  0    all done (subjects the CRM does not hold are listed in not_found.csv)
  1    fatal error (unreachable target, 401/403, disk, another run using --out,
       a match value several customers share: name them by id); --out is left
       as it was
  2    usage error (bad flags, a subjects file without an id, match or email
       column, an id column with --targets, two targets sharing a folder, or
       an --out holding files that no crmsync export wrote)
  6    exported and published, but a CRM of --targets could not be read
       (--keep-going): the answer lacks it; manifest.json says why
  130  interrupted by SIGINT or SIGTERM; --out is left as it was`

func newExportCommand(g *globals) *cobra.Command {
	o := &exportOptions{g: g, stdout: os.Stdout, stderr: os.Stderr}
	cmd := &cobra.Command{
		Use:   "export (--api API --target sandbox|URL|REMOTE | --targets REMOTE,...) (--subjects FILE | --all) --out DIR",
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

Where the API's match value is not an email (` + nonEmailMatchHelp() + `), a subjects file may
also have an "email" column: the API cannot find a customer by email, so the
export reads the account's list once, for every person the file names by
email, and exports each customer whose email fields hold one of them (a
person who is the contact of two customers is found in both).

ACROSS SEVERAL CRMS
--targets answers one request in every CRM it names, at once: remotes of the
remotes file (crmsync remotes --help) or sandbox:API. The subjects file names
people by email (an "email" column; ids are each CRM's own and are refused),
and each person is looked up in every CRM. --out then holds:

  <target>/subjects/<customer id>.json   per CRM, in a folder named after the
  <target>/customers.jsonl|csv|parquet   target (sandbox:API becomes
                                         sandbox-API): its people's files and
                                         its table, as above; each file also
                                         names the target
  not_found.csv                 per person one CRM or more does not hold: the
                                row, the email, the CRMs not holding them,
                                those that could not be read (--keep-going)
                                and those that do (names separated by ";")
  manifest.json                 one over all of them: per CRM its API, where it
                                is, a fingerprint of its key, its counts and
                                API calls; the SHA-256 of every file

A CRM that cannot be read (unreachable, its credentials refused, failing
after every retry) stops the export, and --out is left as it was: an answer
must not look complete when it is not. With --keep-going the other CRMs are
exported and published without it; manifest.json ("not_read"), not_found.csv
and the reports name it with the reason, and the export exits 6, so that the
missing CRM is exported on its own when it is back.

The API's credentials come from environment variables (each API's own, or
those --api-key-env and --credential-env name; a remote names its own).` + credentialsHelp(),
		Example: `  # Answer a request for two people, encrypted to the DPO's age key:
  printf '` + firstMatchField() + `\nada@example.com\nbob@example.org\n' > request-0117.csv
  ` + firstCredentialEnv() + `=... crmsync export --api ` + firstAPI() + ` --target ` + firstBaseURL() + ` \
      --subjects request-0117.csv --out /secure/sar-0117 \
      --age-recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p

  # One request across several CRMs: two remotes and a sandbox:
  printf 'email\nada@example.com\n' > request-0118.csv
  crmsync export --targets shop,billing,sandbox:` + firstAPI() + ` --subjects request-0118.csv \
      --out /secure/sar-0118

  # Everything the account holds, as Parquet:
  crmsync export --api ` + firstAPI() + ` --target sandbox --all --format parquet --out export-all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, name := range []string{"api", "target", "api-key-env", "credential-env"} {
				if cmd.Flags().Changed(name) {
					o.oneTargetFlags = append(o.oneTargetFlags, "--"+name)
				}
			}
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + sarHelp() + "\n" + exportExitCodesHelp
	f := cmd.Flags()
	registerTargetFlags(f, &o.tgt)
	f.StringSliceVar(&o.targets, "targets", nil, `answer one request across several CRMs: remote names or sandbox:API, comma-separated (instead of --api and --target)`)
	f.BoolVar(&o.keepGoing, "keep-going", false, "with --targets: a CRM that cannot be read does not stop the others; the export is published without it, names it and exits 6")
	f.StringVar(&o.subjects, "subjects", "", `CSV file naming the people, with an "id" column, a column of the API's match value (`+subjectColumnsHelp()+`), or both (the id decides)`)
	f.BoolVar(&o.all, "all", false, "export every customer of the account (leads included)")
	f.StringVar(&o.out, "out", "", "directory for the export (created 0700)")
	f.StringVar(&o.format, "format", "jsonl", "format of the combined table: jsonl, csv or parquet")
	f.StringArrayVar(&o.recipients, "age-recipient", nil, "encrypt every file but the manifest to this age public key, age1… (repeatable)")
	f.IntVar(&o.concurrency, "concurrency", 4, "API reads in flight at once")
	f.Float64Var(&o.rate, "rate", 0, "most API calls per second (0: as fast as the API allows; 429s slow it down)")
	o.sar.register(f)
	f.StringVar(&o.progress, "progress", "auto", "progress display: auto (a bar on a terminal, log lines otherwise), bar, log, none")
	return cmd
}

// registerTargetFlags declares the flags naming the CRM of a command
// without a mapping: its API, where it is and how to reach it.
func registerTargetFlags(f *pflag.FlagSet, t *targetFlags) {
	f.StringVar(&t.api, "api", defaultAPI(), "the target's API: "+strings.Join(crm.Names(), ", ")+" (a remote or sandbox:API names its own)")
	f.StringVar(&t.target, "target", "", targetFlagHelp)
	t.registerCredentialFlags(f)
	f.StringVar(&t.sandboxDB, "sandbox-db", defaultSandboxDB, sandboxDBFlagHelp)
	t.registerSandboxConfigFlag(f)
	t.registerSafetyFlags(f)
}

func (o *exportOptions) check() error {
	if len(o.targets) > 0 {
		if len(o.oneTargetFlags) > 0 {
			return usageError("%s names one CRM: with --targets each target is a remote (its API, URL and credential variables come from the remotes file) or sandbox:API", strings.Join(o.oneTargetFlags, ", "))
		}
		folders, err := targetFolders(o.targets)
		if err != nil {
			return err
		}
		o.folders = folders
	} else if o.keepGoing {
		return usageError("--keep-going goes with --targets: an export of one CRM that cannot be read has nothing to publish")
	}
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
	if o.sar.enabled() && o.all {
		return usageError("--controller answers a request: give --subjects, not --all")
	}
	return o.sar.load()
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
	Calls apiCalls `json:"api_calls"`
}

// exportKind is the "kind" of an export's manifest: how a later export
// knows the files beside it are an export's, which it may replace.
const exportKind = "crmsync export"

// writes are the entries this run writes at the top of --out, under the
// names Dir gives them (with .age when encrypted).
func (o *exportOptions) writes() []string {
	d := &gdpr.Dir{Recipients: o.recips}
	names := []string{"subjects", d.Name("customers." + o.format)}
	if o.sar.enabled() {
		names = append(names, d.Name(sarCover))
	}
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
	if os.Getenv("GOMEMLIMIT") == "" {
		// Restored after: Main may run in a process that goes on (tests).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(exportMemoryLimit))
	}
	if len(o.targets) > 0 {
		return o.runTargets(ctx)
	}
	log := o.g.log.newLogger(o.stderr)
	started := time.Now()
	// The subjects file is read by the API's columns before the target is
	// resolved, so that a bad file is refused before a sandbox starts or
	// anything is called.
	api, err := o.tgt.targetAPI()
	if err != nil {
		return err
	}
	conn, err := connectorOf(api)
	if err != nil {
		return err
	}
	cols := gdpr.SubjectColumnsOf(conn.Schema)
	var subjects []gdpr.Subject
	if !o.all {
		if subjects, err = o.readSubjects(cols); err != nil {
			return err
		}
	}
	ep, err := o.tgt.resolve(log, api)
	if err != nil {
		return err
	}
	defer ep.Close()
	if err := o.sar.covers(sar.Target{Name: publicTarget(ep), API: ep.api.Name}); err != nil {
		return err
	}
	stage, unlock, err := o.openOut(log, o.writes())
	if err != nil {
		return err
	}
	defer unlock()
	defer stage.Discard()

	reader, err := newReader(ep, log, o.rate, o.concurrency)
	if err != nil {
		return err
	}
	defer closeQuietly(reader)
	dir := &gdpr.Dir{Root: stage.Path(), Recipients: o.recips, InPlace: true}
	x := o.newExporter(ep, reader, log, dir, started)
	log.Info("export starting", "target", publicTarget(ep), "scope", o.scope(), "subjects", len(subjects), "format", o.format, "encrypted", len(o.recips) > 0)

	stopProgress := startCountProgress(o.progress, o.stderr, log, o.noun(), x.progress)
	err = x.export(ctx, subjects)
	stopProgress()
	if err == nil && !o.all {
		var e gdpr.FileEntry
		if e, err = writeNotFound(dir, subjects, x.found, matchName(reader.Schema()), cols.Email); err == nil {
			err = x.files.Add(e)
		}
	}
	if err == nil && o.sar.enabled() {
		err = o.sar.writeReports(dir, answersOf(subjects, []*exporter{x}), started, nil, x.files, x.files)
	}
	if err != nil {
		x.abort()
		return o.stopped(ctx, err)
	}

	m := &ExportManifest{Kind: exportKind, StartedAt: started.UTC(), API: ep.api.Name, Target: publicTarget(ep),
		KeyFingerprint: ep.keyFingerprint(), Scope: o.scope(), Format: o.format, Encrypted: len(o.recips) > 0, Recipients: o.recipientKeys()}
	m.Counts.Subjects, m.Counts.Exported, m.Counts.NotFound = len(subjects), x.exported.Load(), x.notFound.Load()
	m.Counts.Files = x.files.Len()
	m.Calls = callsOf(reader)
	m.FinishedAt = time.Now().UTC()
	err = gdpr.WriteManifest(dir, m, x.files)
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

// readSubjects reads --subjects by the columns given; any problem with
// it is a usage error.
func (o *exportOptions) readSubjects(cols gdpr.MatchColumn) ([]gdpr.Subject, error) {
	f, err := os.Open(o.subjects)
	if err != nil {
		return nil, usageError("--subjects: %v", err)
	}
	defer f.Close()
	s, err := gdpr.ReadSubjects(f, cols)
	if err != nil {
		return nil, usageError("--subjects %s: %v", o.subjects, err)
	}
	return s, nil
}

// openOut locks --out and prepares its staging directory for a run
// writing the top-level entries names.
func (o *exportOptions) openOut(log *slog.Logger, names []string) (*gdpr.Staging, func(), error) {
	warnLooseDir(log, o.out)
	lock, err := outdir.Lock(o.out, "export")
	if err != nil {
		return nil, nil, pipeline.Fatalf("--out: %w", err)
	}
	stage, err := gdpr.NewStaging(o.out, exportKind, names)
	var foreign *gdpr.ForeignError
	if errors.As(err, &foreign) {
		lock.Unlock()
		return nil, nil, usageError("--out: %v. An export replaces only what an earlier export wrote (its manifest lists it) and leaves the rest alone: give --out a new or empty directory, or move those files away", err)
	}
	if err != nil {
		lock.Unlock()
		return nil, nil, pipeline.Fatalf("preparing --out %s: %w", o.out, err)
	}
	return stage, func() { lock.Unlock() }, nil
}

// newExporter returns the exporter of one CRM into dir.
func (o *exportOptions) newExporter(ep *endpoint, r pipeline.Reader, log *slog.Logger, dir *gdpr.Dir, started time.Time) *exporter {
	return &exporter{format: o.format, all: o.all, concurrency: o.concurrency, reader: r, target: publicTarget(ep),
		api: ep.api.Name, layout: ep.api.ExportLayout(), log: log, now: started.UTC(), dir: dir}
}

// stopped is the error of a run that failed before it published.
func (o *exportOptions) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted; %s is left as it was: %w", o.out, err)}
	}
	return pipeline.Fatalf("export stopped, %s is left as it was: %w", o.out, err)
}

func (o *exportOptions) scope() string {
	if o.all {
		return "all"
	}
	return "subjects"
}

// noun is what the progress counts.
func (o *exportOptions) noun() string {
	if o.all {
		return "customers"
	}
	return "subjects"
}

// recipientKeys are the age public keys, for the manifest.
func (o *exportOptions) recipientKeys() []string {
	var keys []string
	for _, r := range o.recips {
		if s, ok := r.(fmt.Stringer); ok {
			keys = append(keys, s.String())
		}
	}
	return keys
}

// apiCalls are a reader's calls, for the manifest.
type apiCalls struct {
	Calls       int64 `json:"calls"`
	Retries     int64 `json:"retries"`
	RateLimited int64 `json:"rate_limited"`
}

func callsOf(r pipeline.Reader) apiCalls {
	c := r.Stats()
	return apiCalls{c.Calls.Load(), c.Retries.Load(), c.RateLimited.Load()}
}

// writeNotFound writes not_found.csv of an export of one CRM: the row,
// id and match value (and email, when the file has an email column beside
// the match column) of each subject the CRM does not hold.
func writeNotFound(dir *gdpr.Dir, subjects []gdpr.Subject, found [][]gdpr.Holding, match, email string) (gdpr.FileEntry, error) {
	f, err := dir.Create("not_found.csv")
	if err != nil {
		return gdpr.FileEntry{}, err
	}
	defer f.Abort()
	w := gdpr.NewCSVWriter(f)
	head := []string{"row", "id", match}
	if email != "" {
		head = append(head, email)
	}
	if err := w.Write(head); err != nil {
		return gdpr.FileEntry{}, err
	}
	for i, s := range subjects {
		if len(found[i]) > 0 {
			continue
		}
		rec := []string{strconv.Itoa(s.Row), s.ID, s.Match}
		if email != "" {
			rec = append(rec, s.Email)
		}
		if err := w.Write(rec); err != nil {
			return gdpr.FileEntry{}, err
		}
	}
	if err := w.Flush(); err != nil {
		return gdpr.FileEntry{}, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Commit(true)
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
