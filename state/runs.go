package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RunInfo describes a run as it starts.
type RunInfo struct {
	Mode, Source, Mapping, Target string
	DryRun                        bool
}

// RunCounts are a run's totals.
type RunCounts struct {
	Read, Created, Updated, Unchanged, Rejected, Deleted, Pending, APICalls int64
}

// Run is one row of the runs table.
type Run struct {
	ID         int64
	StartedAt  time.Time
	FinishedAt time.Time // zero for a run that was killed or still runs
	Status     string
	DryRun     bool
	Mode       string
	Counts     RunCounts
}

// BeginRun records a run as started; the Store's journal entries and
// outcomes belong to it from now on. It also returns how many writes
// earlier runs journaled but never confirmed (they were killed).
func (s *Store) BeginRun(ctx context.Context, info RunInfo) (id int64, unconfirmed int64, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs(started_at, status, dry_run, mode, source, mapping, target) VALUES (?, 'running', ?, ?, ?, ?, ?)`,
			nowText(), info.DryRun, info.Mode, info.Source, info.Mapping, info.Target)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		// Runs killed before they could say so.
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'killed' WHERE status = 'running' AND finished_at IS NULL AND id <> ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM journal WHERE run_id < (SELECT coalesce(min(id), 0) FROM (SELECT id FROM runs ORDER BY id DESC LIMIT 20))`); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM journal WHERE confirmed_at IS NULL AND run_id <> ?`, id).Scan(&unconfirmed)
	})
	if err == nil {
		s.run, s.finished = id, false
	}
	return id, unconfirmed, err
}

// FinishRun records how a run ended.
func (s *Store) FinishRun(ctx context.Context, id int64, status string, c RunCounts) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, read = ?, created = ?, updated = ?, unchanged = ?,
			rejected = ?, deleted = ?, pending = ?, api_calls = ? WHERE id = ?`,
			nowText(), status, c.Read, c.Created, c.Updated, c.Unchanged, c.Rejected, c.Deleted, c.Pending, c.APICalls, id)
		return err
	})
	if err == nil && id == s.run {
		s.finished = true
	}
	return err
}

// LastComplete returns the last run that read its whole source and wrote
// (not a dry run), or nil when there is none.
func (s *Store) LastComplete(ctx context.Context) (*Run, error) {
	runs, err := s.runs(ctx, `WHERE dry_run = 0 AND status IN ('done', 'done_with_rejects') ORDER BY id DESC LIMIT 1`)
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return &runs[0], nil
}

// History returns the last n runs before the run id, newest first.
func (s *Store) History(ctx context.Context, before int64, n int) ([]Run, error) {
	return s.runs(ctx, `WHERE id < ? ORDER BY id DESC LIMIT ?`, before, n)
}

func (s *Store) runs(ctx context.Context, where string, args ...any) ([]Run, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, started_at, coalesce(finished_at, ''), status, dry_run, mode,
		read, created, updated, unchanged, rejected, deleted, pending, api_calls FROM runs `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var started, finished string
		c := &r.Counts
		if err := rows.Scan(&r.ID, &started, &finished, &r.Status, &r.DryRun, &r.Mode,
			&c.Read, &c.Created, &c.Updated, &c.Unchanged, &c.Rejected, &c.Deleted, &c.Pending, &c.APICalls); err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
		r.StartedAt, _ = time.Parse(time.RFC3339Nano, started)
		r.FinishedAt, _ = time.Parse(time.RFC3339Nano, finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Failing is a key rejected by several runs in a row.
type Failing struct {
	Key, CRMID, Code, Stage, Field, Message string
	Runs                                    int
}

// Failing returns up to n keys that failed at least minRuns runs in a
// row, the longest streaks first.
func (s *Store) Failing(ctx context.Context, minRuns, n int) ([]Failing, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, coalesce(crm_id, ''), coalesce(last_code, ''), coalesce(last_stage, ''),
		coalesce(last_field, ''), coalesce(last_message, ''), failures
		FROM records WHERE failures > 0 AND failures >= ? ORDER BY failures DESC, key LIMIT ?`, minRuns, n)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []Failing
	for rows.Next() {
		var f Failing
		if err := rows.Scan(&f.Key, &f.CRMID, &f.Code, &f.Stage, &f.Field, &f.Message, &f.Runs); err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
