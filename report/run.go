package report

import "time"

// Run is what report.html shows: one sync run, as the state store records
// it, with the details the page breaks down.
type Run struct {
	ID int64
	// Source, Mapping and Target are as given on the command line (a
	// target may be "sandbox" or a URL); Mode is upsert, create, update or
	// mirror.
	Source, Mapping, Target, Mode string
	DryRun                        bool
	// Status is the summary's: done, done_with_rejects, aborted,
	// interrupted or failed; Error is the fatal error, if any.
	Status, Error string
	// FinishedAt is zero while a run is still going.
	StartedAt, FinishedAt time.Time
	Counts                Counts
	API                   struct{ Calls, Retries, RateLimited int64 }
	// Phases are the run's timings, in the order they ran.
	Phases []Phase
	// FieldChanges counts, per target field, the customers whose value
	// changed, most first.
	FieldChanges []FieldCount
	// Rejects groups the rejected rows by stage and code.
	Rejects []RejectGroup
	// Failing lists rows that have failed for several runs in a row.
	Failing []FailingRow
	// Warnings are things a person must read even on a run that went
	// well: mirror deletes skipped by the guard, a field about to be
	// blanked on many customers.
	Warnings []string
	// History holds earlier runs, newest first, for a trend table.
	History []HistoryRun
	// Verify is the verification pass that followed the sync, or that was
	// the whole run when Mode is "verify"; nil when none ran.
	Verify *Verification
}

// Counts are a run's row outcomes. Read counts source rows; every one of
// them ends created, updated, unchanged, rejected or, when the run was
// stopped, pending. Deleted counts CRM customers removed in mirror mode,
// which are not source rows.
type Counts struct {
	Read, Created, Updated, Unchanged, Rejected, Deleted, Pending int64
}

// Phase is one timed step of a run, such as "load state" or "read and
// send".
type Phase struct {
	Name    string
	Seconds float64
}

// FieldCount is how many customers had a field changed.
type FieldCount struct {
	Field string
	Count int64
}

// RejectGroup is the rejected rows sharing a stage and code, with a few
// of them as examples.
type RejectGroup struct {
	Stage, Code string
	Count       int64
	Examples    []RejectExample
}

// RejectExample is one rejected row: its number in the source (as the
// reject file's _row), its line, and the reason.
type RejectExample struct {
	Row, Line              int64
	Column, Field, Message string
}

// FailingRow is a source row that has failed on each of the last Runs runs.
type FailingRow struct {
	Key, CRMID    string
	Runs          int
	Code, Message string
}

// HistoryRun is an earlier run, for the trend table.
type HistoryRun struct {
	ID        int64
	StartedAt time.Time
	Status    string
	Counts    Counts
}
