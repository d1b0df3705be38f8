package cli

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"crmsync/pipeline"
	"crmsync/report"
	"crmsync/state"
)

// incremental is what a sync keeps beside the engine: the state file,
// the diff report, and what report.html needs.
type incremental struct {
	store *state.Store
	runID int64
	diff  *report.DiffWriter
	// diffRows is onWritten's scratch, reused from batch to batch.
	diffRows []report.DiffRow

	mu           sync.Mutex
	fieldChanges map[string]int64
	rejects      map[[2]string]*report.RejectGroup
	// verify is the verification pass that followed the sync, for
	// report.html; nil when none ran.
	verify *report.Verification
}

// openIncremental opens the state (when --state is set) and records the
// run as started, then opens diff.csv.
func (o *syncOptions) openIncremental(ctx context.Context, api, keyColumn, target string) (*incremental, error) {
	inc := &incremental{fieldChanges: map[string]int64{}, rejects: map[[2]string]*report.RejectGroup{}}
	if o.statePath != "" {
		st, err := state.Open(ctx, o.statePath)
		if err != nil {
			return nil, pipeline.Fatal(err)
		}
		if err := st.Bind(ctx, api, keyColumn); err != nil {
			st.Close()
			return nil, err
		}
		schema, err := schemaFor(api)
		if err != nil {
			st.Close()
			return nil, pipeline.Fatal(err)
		}
		if err := st.BindMatch(ctx, schema.MatchField, schema.MatchFold); err != nil {
			st.Close()
			return nil, pipeline.Fatal(err)
		}
		inc.store = st
		if n := st.Unbound(); n > 0 {
			o.log.Warn("the state bound some customers to several keys; those keys were unbound and are matched again in this run", "keys", n)
		}
		id, unconfirmed, err := st.BeginRun(ctx, state.RunInfo{Mode: string(o.parsedMode), Source: o.src.path, Mapping: o.mapping, Target: target, DryRun: o.dryRun})
		if err != nil {
			st.Close()
			return nil, pipeline.Fatal(err)
		}
		inc.runID = id
		if unconfirmed > 0 {
			o.log.Warn("an earlier run was stopped before it could confirm some writes; they are checked against the CRM in this run", "writes", unconfirmed)
		}
	}
	d, err := report.CreateDiff(filepath.Join(o.out, "diff.csv"))
	if err != nil {
		inc.close()
		return nil, pipeline.Fatalf("creating diff.csv: %w", err)
	}
	inc.diff = d
	return inc, nil
}

// onWritten streams a batch's writes to diff.csv; the engine calls it from
// one goroutine at a time.
func (inc *incremental) onWritten(ws []pipeline.Written) error {
	rows := inc.diffRows[:0]
	inc.mu.Lock()
	for i := range ws {
		w := &ws[i]
		switch w.Action {
		case "create":
			rows = append(rows, report.DiffRow{Key: w.Key, CRMID: w.CRMID, Action: w.Action, Field: w.MatchField, NewValue: w.Match})
			continue
		case "delete":
			rows = append(rows, report.DiffRow{Key: w.Key, CRMID: w.CRMID, Action: w.Action, Field: w.MatchField, OldValue: w.Match})
			continue
		}
		for _, c := range w.Changes {
			rows = append(rows, report.DiffRow{Key: w.Key, CRMID: w.CRMID, Action: w.Action, Field: c.Field, OldValue: c.Old, NewValue: c.New})
			if w.Action == "update" {
				inc.fieldChanges[c.Field]++
			}
		}
	}
	inc.mu.Unlock()
	inc.diffRows = rows[:0]
	return inc.diff.Write(rows)
}

// maxExamples is how many rejects of each code report.html shows.
const maxExamples = 3

// rejectRecorder passes rejects on to the reject file and keeps a few
// examples of each code for report.html.
type rejectRecorder struct {
	pipeline.RejectWriter
	inc *incremental
}

func (rr rejectRecorder) Write(row *pipeline.Row, rej *pipeline.Reject) error {
	if err := rr.RejectWriter.Write(row, rej); err != nil {
		return err
	}
	inc := rr.inc
	inc.mu.Lock()
	defer inc.mu.Unlock()
	k := [2]string{string(rej.Stage), rej.Code}
	g := inc.rejects[k]
	if g == nil {
		g = &report.RejectGroup{Stage: k[0], Code: k[1]}
		inc.rejects[k] = g
	}
	g.Count++
	if len(g.Examples) < maxExamples {
		ex := report.RejectExample{Column: rej.Column, Field: rej.Field, Message: rej.Message}
		if row != nil {
			ex.Row, ex.Line = row.Num, row.Line
		}
		g.Examples = append(g.Examples, ex)
	}
	return nil
}

// previousRead is how many rows the last complete run read, for the
// mirror's shrink guard.
func (inc *incremental) previousRead(ctx context.Context) (int64, error) {
	if inc.store == nil {
		return 0, nil
	}
	last, err := inc.store.LastComplete(ctx)
	if err != nil || last == nil {
		return 0, err
	}
	return last.Counts.Read, nil
}

// finish records the run's end in the state and writes report.html.
func (inc *incremental) finish(ctx context.Context, s *Summary, run *pipeline.Run, started time.Time, outDir string) error {
	ctx = context.WithoutCancel(ctx)
	rep := &report.Run{ID: inc.runID, Source: s.Source, Mapping: s.Mapping, Target: s.Target, Mode: s.Mode, DryRun: s.DryRun,
		Status: s.Status, Error: s.Error, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, Warnings: s.Warnings, Verify: inc.verify}
	rep.Counts = report.Counts{Read: s.Rows.Read, Created: s.Rows.Created, Updated: s.Rows.Updated, Unchanged: s.Rows.Unchanged,
		Rejected: s.Rows.Rejected, Deleted: s.Rows.Deleted, Pending: s.Rows.Pending}
	rep.API.Calls, rep.API.Retries, rep.API.RateLimited = s.API.Calls, s.API.Retries, s.API.RateLimited
	if run != nil {
		for _, p := range run.Phases() {
			rep.Phases = append(rep.Phases, report.Phase{Name: p.Name, Seconds: p.Duration.Seconds()})
		}
	}
	inc.mu.Lock()
	for f, n := range inc.fieldChanges {
		rep.FieldChanges = append(rep.FieldChanges, report.FieldCount{Field: f, Count: n})
	}
	for _, g := range inc.rejects {
		rep.Rejects = append(rep.Rejects, *g)
	}
	inc.mu.Unlock()
	sort.Slice(rep.FieldChanges, func(i, j int) bool {
		a, b := rep.FieldChanges[i], rep.FieldChanges[j]
		return a.Count > b.Count || (a.Count == b.Count && a.Field < b.Field)
	})
	sort.Slice(rep.Rejects, func(i, j int) bool {
		a, b := rep.Rejects[i], rep.Rejects[j]
		return a.Count > b.Count || (a.Count == b.Count && a.Code < b.Code)
	})

	var errs []error
	if inc.store != nil {
		c := state.RunCounts{Read: s.Rows.Read, Created: s.Rows.Created, Updated: s.Rows.Updated, Unchanged: s.Rows.Unchanged,
			Rejected: s.Rows.Rejected, Deleted: s.Rows.Deleted, Pending: s.Rows.Pending, APICalls: s.API.Calls}
		if err := inc.store.FinishRun(ctx, inc.runID, s.Status, c); err != nil {
			errs = append(errs, err)
		}
		if err := inc.store.RefreshIndexCache(ctx); err != nil {
			errs = append(errs, err)
		}
		if failing, err := inc.store.Failing(ctx, 2, 50); err == nil {
			for _, f := range failing {
				rep.Failing = append(rep.Failing, report.FailingRow{Key: f.Key, CRMID: f.CRMID, Runs: f.Runs, Code: f.Code, Message: f.Message})
			}
		} else {
			errs = append(errs, err)
		}
		if hist, err := inc.store.History(ctx, inc.runID, 10); err == nil {
			for _, h := range hist {
				rep.History = append(rep.History, report.HistoryRun{ID: h.ID, StartedAt: h.StartedAt, Status: h.Status,
					Counts: report.Counts{Read: h.Counts.Read, Created: h.Counts.Created, Updated: h.Counts.Updated, Unchanged: h.Counts.Unchanged,
						Rejected: h.Counts.Rejected, Deleted: h.Counts.Deleted, Pending: h.Counts.Pending}})
			}
		} else {
			errs = append(errs, err)
		}
	}
	if len(rep.Phases) == 0 {
		rep.Phases = append(rep.Phases, report.Phase{Name: "run", Seconds: time.Since(started).Seconds()})
	}
	if err := report.WriteHTMLFile(filepath.Join(outDir, "report.html"), rep); err != nil {
		errs = append(errs, err)
	}
	return firstErr(errs)
}

func firstErr(errs []error) error {
	errs = slices.DeleteFunc(errs, func(e error) bool { return e == nil })
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// closeDiff closes diff.csv, returning its error (disk full).
func (inc *incremental) closeDiff() error {
	if inc.diff == nil {
		return nil
	}
	err := inc.diff.Close()
	inc.diff = nil
	return err
}

// close closes diff.csv and the state.
func (inc *incremental) close() error {
	err := inc.closeDiff()
	if inc.store != nil {
		inc.store.Close()
		inc.store = nil
	}
	return err
}
