package cli

// export --targets: one request answered across several CRMs, each in a
// folder of its own, under one manifest and one not_found.csv.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"crmsync/gdpr"
	"crmsync/gdpr/sar"
	"crmsync/internal/outdir"
	"crmsync/internal/remotes"
	"crmsync/pipeline"
)

// ExportTargetsManifest is the header of the manifest.json of an export
// across several CRMs (--targets), which gdpr.WriteManifest follows with
// "files": path, bytes and SHA-256 of every file written, those of every
// CRM's folder included.
type ExportTargetsManifest struct {
	Kind       string         `json:"kind"` // "crmsync export", as an export of one CRM
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Scope      string         `json:"scope"` // "subjects" or "all"
	Format     string         `json:"format"`
	Encrypted  bool           `json:"encrypted"`
	Recipients []string       `json:"recipients,omitempty"` // age public keys
	Targets    []ExportTarget `json:"targets"`
	Counts     struct {
		Subjects int   `json:"subjects"` // distinct subjects named (--subjects)
		Exported int64 `json:"customers_exported"`
		// NotFoundSomewhere counts the subjects one CRM or more does not
		// hold; NotFoundAnywhere those no CRM read holds.
		NotFoundSomewhere int `json:"not_found_somewhere"`
		NotFoundAnywhere  int `json:"not_found_anywhere"`
		// TargetsNotRead counts the CRMs --keep-going went on without.
		TargetsNotRead int `json:"targets_not_read"`
		Files          int `json:"files"` // listed below; the manifest not counted
	} `json:"counts"`
}

// ExportTarget is one CRM of an export across several.
type ExportTarget struct {
	Name           string `json:"name"`             // as --targets names it
	Folder         string `json:"folder,omitempty"` // of its files, under --out
	API            string `json:"api"`
	Target         string `json:"target"`
	KeyFingerprint string `json:"key_fingerprint"`
	Counts         struct {
		Found    int64 `json:"subjects_found"`
		Exported int64 `json:"customers_exported"`
		NotFound int64 `json:"not_found"`
		Files    int   `json:"files"`
	} `json:"counts"`
	Calls apiCalls `json:"api_calls"`
	// NotRead says why the CRM could not be read (--keep-going); its
	// folder and counts are then absent.
	NotRead string `json:"not_read,omitempty"`
}

// reservedFolders are the names a CRM's folder may not take: the
// export's own top-level files, and those its reports write.
var reservedFolders = []string{gdpr.ManifestName, notFoundName, "subjects", "report.html", outdir.LockName}

const notFoundName = "not_found.csv"

// targetFolders returns the folder of each target: its name with every
// character but letters, digits, '.', '_' and '-' made '-' (sandbox:API
// becomes sandbox-API), and a leading dot made '_'. Targets named twice,
// or whose folders would be one (on a file system that ignores case
// too), or a reserved name, are a usage error.
func targetFolders(targets []string) ([]string, error) {
	folders := make([]string, len(targets))
	byFolder := map[string]string{}
	for i, name := range targets {
		// "NAME:" as --source takes it names the remote too.
		name = strings.TrimSuffix(strings.TrimSpace(name), ":")
		targets[i] = name
		if name == "" {
			return nil, usageError("--targets: an empty name; give remote names or sandbox:API, comma-separated")
		}
		f := []rune(name)
		for k, r := range f {
			if !(r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				f[k] = '-'
			}
		}
		if f[0] == '.' {
			f[0] = '_'
		}
		folder := string(f)
		for _, r := range reservedFolders {
			if strings.EqualFold(folder, r) {
				return nil, usageError("--targets: %s would be written in a folder %s, a name the export's own files take: give the remote another name", name, folder)
			}
		}
		key := strings.ToLower(folder)
		if other, ok := byFolder[key]; ok {
			if other == name {
				return nil, usageError("--targets names %s twice", name)
			}
			return nil, usageError("--targets: %s and %s would be written in one folder (%s): give one of the remotes another name", other, name, folder)
		}
		byFolder[key] = name
		folders[i] = folder
	}
	return folders, nil
}

// runTargets answers the request in every CRM --targets names, at once.
func (o *exportOptions) runTargets(ctx context.Context) error {
	log := o.g.log.newLogger(o.stderr)
	started := time.Now()
	var subjects []gdpr.Subject
	if !o.all {
		var err error
		if subjects, err = o.readSubjects(gdpr.AcrossColumns); err != nil {
			return err
		}
	}
	// Every name is looked up before any sandbox starts.
	file, err := o.tgt.loadRemotes()
	if err != nil {
		return err
	}
	for _, name := range o.targets {
		n, ok := namedTarget(name)
		if !ok {
			return usageError("--targets: %q is neither a remote's name nor %sAPI", name, remotes.SandboxPrefix)
		}
		if _, err := file.Lookup(n); err != nil {
			return usageError("--targets: %v", err)
		}
	}
	eps := make([]*endpoint, len(o.targets))
	for i, name := range o.targets {
		ep, err := o.tgt.resolveNamed(log, name)
		if err != nil {
			return err
		}
		defer ep.Close()
		eps[i] = ep
	}
	targets := make([]sar.Target, len(eps))
	for i, ep := range eps {
		targets[i] = sar.Target{Name: o.targets[i], API: ep.api.Name}
	}
	if err := o.sar.covers(targets...); err != nil {
		return err
	}
	names := append([]string(nil), o.folders...)
	dir := &gdpr.Dir{Recipients: o.recips, InPlace: true}
	if o.sar.enabled() {
		names = append(names, "subjects", dir.Name(sarCover))
	}
	if !o.all {
		names = append(names, dir.Name(notFoundName))
	}
	stage, unlock, err := o.openOut(log, names)
	if err != nil {
		return err
	}
	defer unlock()
	defer stage.Discard()
	dir.Root = stage.Path()

	xs := make([]*exporter, len(eps))
	for i, ep := range eps {
		tlog := log.With("target", o.targets[i])
		r, err := newReader(ep, tlog, o.rate, o.concurrency)
		if err != nil {
			return err
		}
		defer closeQuietly(r)
		x := o.newExporter(ep, r, tlog, dir, started)
		x.target, x.named, x.base = o.targets[i], true, o.folders[i]+"/"
		xs[i] = x
		if err := dir.MkdirAll(o.folders[i]); err != nil {
			return pipeline.Fatalf("preparing --out %s: %w", o.out, err)
		}
	}
	log.Info("export starting", "targets", strings.Join(o.targets, ","), "scope", o.scope(), "subjects", len(subjects),
		"format", o.format, "encrypted", len(o.recips) > 0)

	progress := func() (done, total int64) {
		for _, x := range xs {
			d, t := x.progress()
			done, total = done+d, total+t
		}
		return done, total
	}
	noun := o.noun()
	if !o.all {
		noun = "lookups"
	}
	stopProgress := startCountProgress(o.progress, o.stderr, log, noun, progress)
	g, gctx := errgroup.WithContext(ctx)
	for _, x := range xs {
		g.Go(func() error {
			err := x.export(gctx, subjects)
			if err == nil {
				return nil
			}
			if o.keepGoing && ctx.Err() == nil {
				x.notRead = err
				x.log.Warn("the CRM could not be read; the export goes on without it (--keep-going)", "reason", notReadReason(err))
				return nil
			}
			return fmt.Errorf("%s: %w", x.target, err)
		})
	}
	err = g.Wait()
	stopProgress()
	if err == nil {
		err = o.dropNotRead(dir, xs)
	}
	var answers []gdpr.Answer
	top, lerr := gdpr.NewFileList(dir.Root)
	if err == nil {
		err = lerr
	}
	if err == nil && !o.all {
		answers = answersOf(subjects, xs)
		var e gdpr.FileEntry
		if e, err = writeNotFoundAcross(dir, answers); err == nil {
			err = top.Add(e)
		}
	}
	if err != nil {
		for _, x := range xs {
			x.abort()
		}
		if top != nil {
			top.Close()
		}
		return o.stopped(ctx, err)
	}

	m := &ExportTargetsManifest{Kind: exportKind, StartedAt: started.UTC(), Scope: o.scope(), Format: o.format,
		Encrypted: len(o.recips) > 0, Recipients: o.recipientKeys()}
	m.Counts.Subjects = len(subjects)
	lists := make([]*gdpr.FileList, 0, len(xs)+1)
	var problems []string
	for i, x := range xs {
		t := ExportTarget{Name: o.targets[i], Folder: o.folders[i], API: eps[i].api.Name, Target: publicTarget(eps[i]),
			KeyFingerprint: eps[i].keyFingerprint(), Calls: callsOf(x.reader)}
		if x.notRead != nil {
			t.Folder, t.NotRead = "", notReadReason(x.notRead)
			m.Targets = append(m.Targets, t)
			m.Counts.TargetsNotRead++
			problems = append(problems, fmt.Sprintf("%s (%s): %v", x.target, x.api, x.notRead))
			continue
		}
		t.Counts.Exported, t.Counts.NotFound, t.Counts.Files = x.exported.Load(), x.notFound.Load(), x.files.Len()
		if !o.all {
			t.Counts.Found = int64(len(subjects)) - t.Counts.NotFound
		}
		m.Targets = append(m.Targets, t)
		m.Counts.Exported += t.Counts.Exported
		m.Counts.Files += t.Counts.Files
		lists = append(lists, x.files)
	}
	lists = append(lists, top)
	if o.sar.enabled() {
		if err := o.sar.writeReports(dir, answers, started, problems, top, lists...); err != nil {
			return pipeline.Fatalf("writing the reports: %w", err)
		}
	}
	m.Counts.Files += top.Len()
	for _, a := range answers {
		if len(a.NotFoundIn) > 0 {
			m.Counts.NotFoundSomewhere++
		}
		if len(a.Holdings) == 0 {
			m.Counts.NotFoundAnywhere++
		}
	}
	m.FinishedAt = time.Now().UTC()
	err = gdpr.WriteManifest(dir, m, lists...)
	for _, l := range lists {
		if cerr := l.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = stage.Publish()
	}
	if err != nil {
		return pipeline.Fatalf("writing the export to %s: %w", o.out, err)
	}
	o.reportTargets(m, time.Since(started))
	log.Info("export finished", "targets", len(m.Targets), "targets_not_read", m.Counts.TargetsNotRead, "exported", m.Counts.Exported,
		"not_found_somewhere", m.Counts.NotFoundSomewhere, "not_found_anywhere", m.Counts.NotFoundAnywhere, "files", m.Counts.Files,
		"seconds", fmt.Sprintf("%.1f", time.Since(started).Seconds()))
	if m.Counts.TargetsNotRead > 0 {
		return &exitError{code: ExitPartial, err: fmt.Errorf("%d of %d CRMs could not be read; the export in %s lacks them (see manifest.json)",
			m.Counts.TargetsNotRead, len(m.Targets), o.out)}
	}
	return nil
}

// ExitPartial is export's status when --keep-going published an answer
// without a CRM that could not be read.
const ExitPartial = 6

// dropNotRead removes from the staging directory the files of every CRM
// that could not be read, so that nothing of a partial read is delivered.
// With none read, the export stops: there is nothing to publish.
func (o *exportOptions) dropNotRead(dir *gdpr.Dir, xs []*exporter) error {
	var errs []error
	for i, x := range xs {
		if x.notRead == nil {
			continue
		}
		x.abort()
		if err := os.RemoveAll(filepath.Join(dir.Root, o.folders[i])); err != nil {
			return pipeline.Fatalf("preparing --out %s: %w", o.out, err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", x.target, x.notRead))
	}
	if len(errs) == len(xs) {
		return errors.Join(errs...)
	}
	return nil
}

// notReadReason says why a CRM could not be read in words that quote no
// server's text, for the manifest, which is never encrypted: the answer's
// status or the network's failure, else the error's class.
func notReadReason(err error) string {
	var r interface{ RetryReason() string }
	if errors.As(err, &r) {
		return r.RetryReason()
	}
	return pipeline.ClassOf(err).String() + " error"
}

// reportTargets prints the summary of an export across several CRMs:
// counts only.
func (o *exportOptions) reportTargets(m *ExportTargetsManifest, took time.Duration) {
	fmt.Fprintf(o.stdout, "exported %d customers from %d CRMs", m.Counts.Exported, len(m.Targets))
	if !o.all {
		fmt.Fprintf(o.stdout, " (%d subjects: %d not found in some CRM, %d in none)", m.Counts.Subjects, m.Counts.NotFoundSomewhere, m.Counts.NotFoundAnywhere)
	}
	fmt.Fprintf(o.stdout, " to %s in %.1fs; %d files\n", o.out, took.Seconds(), m.Counts.Files)
	for _, t := range m.Targets {
		if t.NotRead != "" {
			fmt.Fprintf(o.stdout, "  %s: NOT READ (%s); %d API calls, %d retries\n", t.Name, t.NotRead, t.Calls.Calls, t.Calls.Retries)
			continue
		}
		fmt.Fprintf(o.stdout, "  %s (%s): %d customers", t.Name, t.Folder, t.Counts.Exported)
		if !o.all {
			fmt.Fprintf(o.stdout, ", %d subjects not found", t.Counts.NotFound)
		}
		fmt.Fprintf(o.stdout, "; %d API calls, %d retries, %d answered 429\n", t.Calls.Calls, t.Calls.Retries, t.Calls.RateLimited)
	}
	fmt.Fprintf(o.stdout, "manifest: %s\n", filepath.Join(o.out, gdpr.ManifestName))
}

// answersOf gathers what each exporter found of each subject, in the
// subjects' order and the exporters'.
func answersOf(subjects []gdpr.Subject, xs []*exporter) []gdpr.Answer {
	out := make([]gdpr.Answer, len(subjects))
	for i, s := range subjects {
		out[i].Subject = s
		for _, x := range xs {
			if x.notRead != nil {
				out[i].NotReadIn = append(out[i].NotReadIn, x.target)
				continue
			}
			if len(x.found[i]) == 0 {
				out[i].NotFoundIn = append(out[i].NotFoundIn, x.target)
			}
			out[i].Holdings = append(out[i].Holdings, x.found[i]...)
		}
	}
	return out
}

// targetSep separates target names in a cell of not_found.csv: no name
// holds it (a remote's name is letters, digits, '_' and '-').
const targetSep = ";"

// writeNotFoundAcross writes the top-level not_found.csv of an export
// across several CRMs: for each subject one CRM or more does not hold or
// could not be asked, its row and email, the CRMs not holding it, those
// not read and those holding it.
func writeNotFoundAcross(dir *gdpr.Dir, answers []gdpr.Answer) (gdpr.FileEntry, error) {
	f, err := dir.Create(notFoundName)
	if err != nil {
		return gdpr.FileEntry{}, err
	}
	defer f.Abort()
	w := gdpr.NewCSVWriter(f)
	if err := w.Write([]string{"row", gdpr.EmailColumn, "not_found_in", "not_read_in", "found_in"}); err != nil {
		return gdpr.FileEntry{}, err
	}
	for _, a := range answers {
		if len(a.NotFoundIn) == 0 && len(a.NotReadIn) == 0 {
			continue
		}
		var in []string
		for _, h := range a.Holdings {
			if len(in) == 0 || in[len(in)-1] != h.Target {
				in = append(in, h.Target)
			}
		}
		rec := []string{strconv.Itoa(a.Subject.Row), a.Subject.Email, strings.Join(a.NotFoundIn, targetSep), strings.Join(a.NotReadIn, targetSep), strings.Join(in, targetSep)}
		if err := w.Write(rec); err != nil {
			return gdpr.FileEntry{}, err
		}
	}
	if err := w.Flush(); err != nil {
		return gdpr.FileEntry{}, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Commit(true)
}
