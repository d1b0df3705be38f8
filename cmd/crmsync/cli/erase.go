package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/internal/outdir"
	"crmsync/pipeline"
	"crmsync/state"
)

func init() { commands = append(commands, newEraseCommand) }

// eraseOptions are the flags of `crmsync erase`.
type eraseOptions struct {
	g *globals

	tgt         targetFlags
	subjects    string
	dryRun      bool
	maxDelete   int
	state       string
	out         string
	concurrency int
	rate        float64

	stdout io.Writer
	stderr *os.File
}

// The erase command's files in --out.
const (
	erasureLogName  = "erasure-log.csv"
	erasurePlanName = "erasure-dry-run.csv"
)

// defaultMaxDelete is how many customers one erase deletes unless
// --max-delete says more: erasure requests name people one by one, and a
// subjects file naming hundreds is more likely the wrong file.
const defaultMaxDelete = 100

// eraseChunkSize is how many customers an erase logs as deleting, removes
// from the state and hands to the API's eraser at a time: what a run
// killed at the worst moment leaves for the next to account for. An
// eraser deleting in bulk sends them in as few calls as it can, one
// deleting one by one sends them concurrently.
const eraseChunkSize = 50

const eraseExitCodesHelp = `
EXIT STATUS
  0    all done, including nothing left to erase (the log says already_absent
       or already_anonymised); an anonymised customer may still hold what the
       API gives no way to clear: the summary and the log's left_to_clear
       name it, for you to clear by hand
  1    fatal error (unreachable target, 401/403, an API crmsync can neither
       delete from nor anonymise in, a match value several customers share:
       name them by id), or a customer still held after its delete, or whose
       anonymisation the API refused (outcome failed in the log)
  2    usage error (bad flags, a subjects file without an id or match column,
       a --state file that does not exist)
  4    aborted: more customers to delete or anonymise than --max-delete;
       nothing written
  130  interrupted by SIGINT or SIGTERM; the log holds what was done, and
       running the same command again finishes the job`

func newEraseCommand(g *globals) *cobra.Command {
	o := &eraseOptions{g: g, stdout: os.Stdout, stderr: os.Stderr}
	cmd := &cobra.Command{
		Use:   "erase --api API --target sandbox|URL --subjects FILE --out DIR",
		Short: "Erase people from the CRM and the sync state (GDPR erasure)",
		Long: `Erase answers erasure requests (GDPR Art. 17): it finds the customers named in
--subjects (a CSV file with an "id" column, a column of the API's match value,
or both: ` + subjectColumnsHelp() + `; where the match value is no email,
an "email" column too, which finds every customer holding the email in an
email field by reading the account's list) and deletes them for good, 50 at a
time: in bulk where the API deletes in bulk, one by one otherwise. With
--state it also removes them from crmsync's sync state, so no later sync holds
or re-creates them from memory (remove them from the sync's source too).

Where the API documents no delete (` + anonymisingAPIsHelp() + `), erase anonymises
instead, through the API's own update: every personal field it lets a client
change is overwritten or cleared, and the name and the match value are
replaced by placeholders made from the customer's id (erased-… and
erased-…@erased.invalid), which say nothing of the person. What the API gives
no way to clear is named in the log and the summary: clear it by hand.

Every subject gets a row in --out/erasure-log.csv, a log kept across runs
(one erase at a time may use an --out; a second fails at once):
time, run, the CRM's id, the SHA-256 of the match value (lower-cased first
when the API compares match values without regard to case; the column is
email_sha256), the outcome, and left_to_clear. The outcome is deleted or
anonymised, failed, not_found (the CRM does not hold them), already_absent
(not held, and erased by an earlier run in this log) or already_anonymised
(the customer holds the placeholders already: nothing was written).
left_to_clear names, for an anonymised customer, what the API could not
clear. Before a delete or an anonymisation is sent its rows are logged as
deleting or anonymising, so an interrupted run can be run again: customers
already gone are reported already_absent, those already anonymised
already_anonymised, and the rest are erased. The log holds no other personal
data, and no match value ever reaches the logs on standard error.

More than --max-delete customers to delete or anonymise aborts the run (exit
4) before anything is written. --dry-run writes nothing to the CRM and writes
what it would do to --out/erasure-dry-run.csv.

The API's credentials come from environment variables (each API's own, or
those --api-key-env and --credential-env name).` + credentialsHelp(),
		Example: `  # See what would go, then erase:
  ` + firstCredentialEnv() + `=... crmsync erase --api ` + firstAPI() + ` --target ` + firstBaseURL() + ` \
      --subjects erasure-0117.csv --state /var/lib/crmsync/state.db \
      --out /secure/erasures --dry-run
  ` + firstCredentialEnv() + `=... crmsync erase --api ` + firstAPI() + ` --target ` + firstBaseURL() + ` \
      --subjects erasure-0117.csv --state /var/lib/crmsync/state.db \
      --out /secure/erasures`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + eraseExitCodesHelp
	f := cmd.Flags()
	registerTargetFlags(f, &o.tgt)
	f.StringVar(&o.subjects, "subjects", "", `CSV file naming the people, with an "id" column, a column of the API's match value (`+subjectColumnsHelp()+`), an "email" column where the match value is no email, or several (the id decides, then the match value)`)
	f.BoolVar(&o.dryRun, "dry-run", false, "delete or anonymise nothing; write what would be done to erasure-dry-run.csv")
	f.IntVar(&o.maxDelete, "max-delete", defaultMaxDelete, "abort (exit 4), writing nothing, when more customers than this are to be deleted or anonymised")
	f.StringVar(&o.state, "state", "", "sync state file to remove the erased customers from")
	f.StringVar(&o.out, "out", "", "directory for erasure-log.csv (created 0700)")
	f.IntVar(&o.concurrency, "concurrency", 4, "API calls in flight at once: subjects looked up, and deletes or anonymisations where the API writes one customer a call")
	f.Float64Var(&o.rate, "rate", 0, "most API calls per second (0: as fast as the API allows; 429s slow it down)")
	return cmd
}

func (o *eraseOptions) check() error {
	if o.subjects == "" {
		return usageError("--subjects is required")
	}
	if o.out == "" {
		return usageError("--out must name a directory, for the erasure log")
	}
	if o.maxDelete < 0 {
		return usageError("--max-delete %d: must not be negative", o.maxDelete)
	}
	if o.concurrency < 1 || o.concurrency > 32 {
		return usageError("--concurrency %d: use 1 to 32", o.concurrency)
	}
	if o.rate < 0 {
		return usageError("--rate %v: must not be negative", o.rate)
	}
	if o.state != "" {
		// state.Open creates a missing file: a mistyped path would
		// forget nothing, silently.
		if fi, err := os.Stat(o.state); err != nil || !fi.Mode().IsRegular() {
			return usageError("--state %s: no such state file", o.state)
		}
	}
	return nil
}

// erasure is one subject resolved against the CRM.
type erasure struct {
	s         gdpr.Subject
	crmID     string // "" when the CRM does not hold it and the log does not know it
	matchHash string // "" when no match value is known
	held      bool
	dup       bool // held, and named by an earlier row too (by id and by email)
	outcome   string
	left      []string // of an already anonymised customer: what the API cannot clear
}

func (o *eraseOptions) run(ctx context.Context) (err error) {
	log := o.g.log.newLogger(o.stderr)
	started := time.Now()
	run := started.UTC().Format(time.RFC3339Nano) // two runs within one second stay apart
	api, err := o.tgt.targetAPI()
	if err != nil {
		return err
	}
	conn, err := connectorOf(api)
	if err != nil {
		return err
	}
	if conn.NewEraser == nil && conn.NewAnonymiser == nil && !o.dryRun {
		return pipeline.Fatalf("crmsync can neither delete nor anonymise %s customers, so it cannot erase them (--dry-run shows whom the subjects name)", conn.Name)
	}
	// An API that deletes is erased from by deleting; the others, when
	// they can, by anonymising.
	anonymising := conn.NewEraser == nil && conn.NewAnonymiser != nil
	verb := "delete"
	if anonymising {
		verb = "anonymise"
	}
	subjects, err := readEraseSubjects(o.subjects, conn)
	if err != nil {
		return err
	}
	ep, err := o.tgt.resolve(log, api)
	if err != nil {
		return err
	}
	defer ep.Close()
	warnLooseDir(log, o.out)
	// Two erases on one log would interleave their rows and each trust a
	// log the other is changing.
	lock, err := outdir.Lock(o.out, "erase")
	if err != nil {
		return pipeline.Fatalf("--out: %w", err)
	}
	defer lock.Unlock()
	logPath := filepath.Join(o.out, erasureLogName)
	erased, err := gdpr.ReadErased(logPath)
	if err != nil {
		return pipeline.Fatalf("%w", err)
	}
	reader, err := newReader(ep, log, o.rate, o.concurrency)
	if err != nil {
		return err
	}
	defer closeQuietly(reader)
	var eraser pipeline.Eraser
	var anonymiser pipeline.Anonymiser
	switch {
	case anonymising:
		// A dry run too: it tells the customers anonymised already.
		if anonymiser, err = ep.api.NewAnonymiser(ep.config(log, o.rate, o.concurrency)); err != nil {
			return pipeline.Fatalf("anonymising in %s: %w", ep.api.Name, err)
		}
		defer closeQuietly(anonymiser)
	case !o.dryRun:
		if eraser, err = ep.api.NewEraser(ep.config(log, o.rate, o.concurrency)); err != nil {
			return pipeline.Fatalf("erasing from %s: %w", ep.api.Name, err)
		}
		defer closeQuietly(eraser)
	}
	log.Info("erase starting", "target", publicTarget(ep), "subjects", len(subjects), "dry_run", o.dryRun, "state", o.state != "", "anonymise", anonymising)
	interrupted := func(err error) error {
		if ctx.Err() != nil {
			return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted; %s holds what was done, and running the same command again finishes the job: %w", logPath, err)}
		}
		return pipeline.Fatal(err)
	}

	list, err := resolveErasures(ctx, reader, anonymiser, o.concurrency, subjects, erased)
	if err != nil {
		return interrupted(err)
	}
	var held []*erasure
	var absent []gdpr.ErasureEntry
	counts := map[string]int{}
	for _, e := range list {
		if e.held {
			if !e.dup {
				held = append(held, e)
			}
			continue
		}
		counts[e.outcome]++
		absent = append(absent, gdpr.ErasureEntry{Time: time.Now(), Run: run, CRMID: e.crmID, MatchSHA256: e.matchHash, Outcome: e.outcome, Left: e.left})
	}

	if o.dryRun {
		return o.dryRunReport(log, held, absent, counts, run, anonymising)
	}
	if len(held) > o.maxDelete {
		return &exitError{code: ExitAborted, err: fmt.Errorf(
			"%d customers to %s, over --max-delete %d: nothing written (check the subjects file, then raise --max-delete to %d)",
			len(held), verb, o.maxDelete, len(held))}
	}

	var st *state.Store
	if o.state != "" {
		if st, err = state.Open(ctx, o.state); err != nil {
			return pipeline.Fatalf("opening --state: %w", err)
		}
		defer func() {
			if cerr := st.Close(); cerr != nil && err == nil {
				err = pipeline.Fatalf("closing --state: %w", cerr)
			}
		}()
	}
	elog, err := gdpr.OpenErasureLog(logPath)
	if err != nil {
		return pipeline.Fatalf("%w", err)
	}
	defer elog.Close()
	if err := elog.Append(absent...); err != nil {
		return pipeline.Fatalf("writing %s: %w", logPath, err)
	}
	forgotten := 0
	if st != nil {
		// Customers a killed run deleted or anonymised before it
		// reached the state, or that were deleted from the CRM some
		// other way.
		var ids []string
		for _, e := range list {
			if !e.held && e.crmID != "" {
				ids = append(ids, e.crmID)
			}
		}
		n, err := forget(ctx, st, ids)
		if err != nil {
			return interrupted(err)
		}
		forgotten += n
	}

	if anonymising {
		return o.anonymiseAll(ctx, log, anonymiser, st, elog, run, logPath, list, held, counts, forgotten, started, interrupted)
	}
	deleted, failed := 0, 0
	for chunk := range slices.Chunk(held, eraseChunkSize) {
		if err := ctx.Err(); err != nil {
			return interrupted(err)
		}
		d, f, n, err := eraseChunk(ctx, eraser, st, elog, run, chunk)
		deleted, failed, forgotten = deleted+d, failed+f, forgotten+n
		if err != nil {
			return interrupted(err)
		}
		log.Info("progress", "deleted", deleted, "failed", failed, "of", len(held))
	}

	fmt.Fprintf(o.stdout, "erase: %d subjects: %d customers deleted, %d failed; %d subjects already absent, %d not found",
		len(list), deleted, failed, counts[gdpr.OutcomeAlreadyAbsent], counts[gdpr.OutcomeNotFound])
	if st != nil {
		fmt.Fprintf(o.stdout, "; %d removed from the sync state", forgotten)
	}
	fmt.Fprintf(o.stdout, "\nlog: %s\n", logPath)
	if len(held) == 0 {
		fmt.Fprintln(o.stdout, "nothing to erase: the CRM holds none of the subjects")
	}
	log.Info("erase finished", "deleted", deleted, "failed", failed, "already_absent", counts[gdpr.OutcomeAlreadyAbsent],
		"not_found", counts[gdpr.OutcomeNotFound], "state_removed", forgotten, "seconds", fmt.Sprintf("%.1f", time.Since(started).Seconds()))
	if failed > 0 {
		return pipeline.Fatalf("%d customers are still held after their delete: see the rows marked failed in %s", failed, logPath)
	}
	return nil
}

// readEraseSubjects reads --subjects: an id column, the API's match
// column, and, where the match value is no email, an email column too;
// any problem with it is a usage error.
func readEraseSubjects(path string, conn *crm.Connector) ([]gdpr.Subject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError("--subjects: %v", err)
	}
	defer f.Close()
	s, err := gdpr.ReadSubjects(f, gdpr.SubjectColumnsOf(conn.Schema))
	if err != nil {
		return nil, usageError("--subjects %s: %v", path, err)
	}
	return s, nil
}

// resolveErasures looks every subject up in the CRM, a few at a time, and
// names the outcome of those it does not hold from the log of earlier
// erasures. Of subjects resolving to one customer (named by id and by
// match value) the later are marked dup.
//
// With an anonymiser (an API that cannot delete), a customer found
// anonymised already is not held but already_anonymised; and a subject
// whose match value no customer holds any more, but whom the log names
// as anonymised (or being anonymised) by an earlier run, is looked up by
// that run's id: found anonymised it is already_anonymised, found
// holding anything else it is held again (the run before was killed, or
// the customer was written to since), and gone it is already_absent.
func resolveErasures(ctx context.Context, r pipeline.Reader, an pipeline.Anonymiser, workers int, subjects []gdpr.Subject, erased *gdpr.Erased) ([]*erasure, error) {
	schema := r.Schema()
	match := schema.Index(schema.MatchField)
	var out []*erasure
	seen := map[string]bool{}
	jobs := func(yield func(gdpr.Subject) bool) {
		for _, s := range subjects {
			if !yield(s) {
				return
			}
		}
	}
	finder, err := newSubjectFinder(ctx, r, subjects)
	if err != nil {
		return nil, err
	}
	fetch := func(ctx context.Context, s gdpr.Subject) ([]*erasure, error) {
		hash := ""
		// A subject named by email alone, where the match value is no
		// email, is logged by its email's hash: what a later request
		// names them by.
		byEmail := s.ID == "" && s.Match == "" && s.Email != ""
		switch {
		case s.Match != "":
			hash = gdpr.MatchHash(s.Match, schema.MatchFold)
		case s.Email != "":
			hash = gdpr.EmailHash(s.Email)
		}
		cs, err := finder.find(ctx, s)
		if err != nil {
			return nil, err
		}
		viaLog := false
		if len(cs) == 0 && an != nil {
			c, err := anonymisedBefore(ctx, r, s, hash, erased)
			if err != nil {
				return nil, err
			}
			if c != nil {
				// Its match value is no longer the subject's: the log
				// keeps the subject's hash.
				cs, viaLog = []pipeline.Customer{*c}, true
			}
		}
		var out []*erasure
		for _, c := range cs {
			e := &erasure{s: s, matchHash: hash, held: true, crmID: c.ID}
			out = append(out, e)
			if an != nil {
				if done, left := an.Check(&c); done {
					e.held, e.outcome, e.left = false, gdpr.OutcomeAlreadyAnonymised, left
					continue
				}
			}
			if !viaLog && !byEmail && match >= 0 && match < len(c.Values) && c.Values[match] != "" {
				e.matchHash = gdpr.MatchHash(c.Values[match], schema.MatchFold)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		e := &erasure{s: s, matchHash: hash, crmID: s.ID}
		if e.crmID == "" && e.matchHash != "" {
			e.crmID = erased.Matches[e.matchHash]
		}
		if e.crmID == "" && e.matchHash != "" {
			e.crmID = erased.AnonymisedMatches[e.matchHash]
		}
		e.outcome = gdpr.OutcomeNotFound
		if (e.crmID != "" && (erased.IDs[e.crmID] || erased.AnonymisedIDs[e.crmID])) ||
			(e.matchHash != "" && (erased.Matches[e.matchHash] != "" || erased.AnonymisedMatches[e.matchHash] != "")) {
			e.outcome = gdpr.OutcomeAlreadyAbsent
		}
		return []*erasure{e}, nil
	}
	emit := func(es []*erasure) (bool, error) {
		for _, e := range es {
			if e.held {
				e.dup = seen[e.crmID]
				seen[e.crmID] = true
			}
			out = append(out, e)
		}
		return false, nil
	}
	return out, inOrder(ctx, workers, jobs, fetch, emit)
}

// eraseChunk deletes a chunk of customers. The log's "deleting" rows are
// synced before the delete is sent, and the state forgets the customers
// before the CRM does: a run killed at any point leaves neither a state
// holding a deleted customer nor an erasure the next run cannot account
// for. A customer the eraser reports gone (deleted now, or absent
// already) is deleted; one it reports still held is failed.
func eraseChunk(ctx context.Context, eraser pipeline.Eraser, st *state.Store, elog *gdpr.ErasureLog, run string, chunk []*erasure) (deleted, failed, forgotten int, err error) {
	ids := make([]string, len(chunk))
	entries := make([]gdpr.ErasureEntry, len(chunk))
	now := time.Now()
	for i, e := range chunk {
		ids[i] = e.crmID
		entries[i] = gdpr.ErasureEntry{Time: now, Run: run, CRMID: e.crmID, MatchSHA256: e.matchHash, Outcome: gdpr.OutcomeDeleting}
	}
	if err := elog.Append(entries...); err != nil {
		return 0, 0, 0, fmt.Errorf("writing the erasure log: %w", err)
	}
	if st != nil {
		if forgotten, err = forget(ctx, st, ids); err != nil {
			return 0, 0, 0, err
		}
	}
	gone := make([]bool, len(ids))
	if err := eraser.Erase(ctx, ids, gone); err != nil {
		return 0, 0, forgotten, fmt.Errorf("deleting %d customers: %w", len(ids), err)
	}
	now = time.Now()
	for i := range chunk {
		outcome := gdpr.OutcomeDeleted
		if gone[i] {
			deleted++
		} else {
			outcome = gdpr.OutcomeFailed
			failed++
		}
		entries[i].Time, entries[i].Outcome = now, outcome
	}
	if err := elog.Append(entries...); err != nil {
		return deleted, failed, forgotten, fmt.Errorf("writing the erasure log: %w", err)
	}
	return deleted, failed, forgotten, nil
}

func forget(ctx context.Context, st *state.Store, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := st.ForgetCRMIDs(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("removing customers from the sync state: %w", err)
	}
	return n, nil
}

// dryRunReport writes what an erase would do to erasure-dry-run.csv,
// replacing the last one, and says it on standard output.
func (o *eraseOptions) dryRunReport(log *slog.Logger, held []*erasure, absent []gdpr.ErasureEntry, counts map[string]int, run string, anonymising bool) error {
	path := filepath.Join(o.out, erasurePlanName)
	d := &gdpr.Dir{Root: o.out}
	f, err := d.Create(erasurePlanName)
	if err != nil {
		return pipeline.Fatalf("writing %s: %w", path, err)
	}
	defer f.Abort()
	w := gdpr.NewCSVWriter(f)
	w.Write(gdpr.ErasureColumns)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	would, verb := gdpr.OutcomeWouldDelete, "delete"
	if anonymising {
		would, verb = gdpr.OutcomeWouldAnonymise, "anonymise"
	}
	for _, e := range held {
		w.Write([]string{now, run, e.crmID, e.matchHash, would, ""})
	}
	for _, e := range absent {
		w.Write([]string{now, run, e.CRMID, e.MatchSHA256, e.Outcome, strings.Join(e.Left, gdpr.LeftSeparator)})
	}
	if err := w.Flush(); err != nil {
		return pipeline.Fatalf("writing %s: %w", path, err)
	}
	if _, err := f.Commit(true); err != nil {
		return pipeline.Fatalf("%w", err)
	}
	already := ""
	if anonymising {
		already = fmt.Sprintf("%d already anonymised, ", counts[gdpr.OutcomeAlreadyAnonymised])
	}
	fmt.Fprintf(o.stdout, "dry run: would %s %d customers; %s%d subjects already absent, %d not found; nothing was written\nplan: %s\n",
		verb, len(held), already, counts[gdpr.OutcomeAlreadyAbsent], counts[gdpr.OutcomeNotFound], path)
	if len(held) > o.maxDelete {
		fmt.Fprintf(o.stdout, "note: that is over --max-delete %d: the erase itself needs --max-delete %d\n", o.maxDelete, len(held))
	}
	log.Info("erase dry run finished", "would_"+verb, len(held), "already_anonymised", counts[gdpr.OutcomeAlreadyAnonymised],
		"already_absent", counts[gdpr.OutcomeAlreadyAbsent], "not_found", counts[gdpr.OutcomeNotFound])
	return nil
}
