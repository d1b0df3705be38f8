// Package sinktest is the conformance suite every sink passes, in the
// spirit of rclone's fstests: one set of behaviours, run against each
// sink and the emulator of its API, so all sinks keep the same contract.
//
// A sink's test calls Run with a Harness:
//
//	func TestConformance(t *testing.T) { sinktest.Run(t, harness) }
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"crmsync/pipeline"
)

// Harness tells the suite how to reach a sink and what its target holds.
type Harness struct {
	// New returns a sink, not yet prepared, on a fresh, empty account, and
	// a view of that account. Each subtest calls it once. The sink must be
	// usable by a second New... call on the same account: see Reopen.
	New func(t *testing.T) (pipeline.Sink, Target)
	// Reopen returns a new sink on the account of an earlier New, as the
	// next run of a sync would.
	Reopen func(t *testing.T, target Target) pipeline.Sink
	// Unauthorized returns a sink on the same account whose credentials the
	// target refuses.
	Unauthorized func(t *testing.T, target Target) pipeline.Sink
	// Valid returns the values, by schema field, of a record the target
	// accepts; distinct n give distinct records (distinct match values).
	Valid func(n int) []string
	// Refused, when set, returns a record that passes the schema's own
	// validation but that the target refuses (for example a teammate id
	// the account does not have); the suite checks it is rejected alone.
	Refused func(n int) []string
	// Change returns a copy of values with one field changed in a way the
	// target accepts, and the name of that field.
	Change func(values []string, n int) ([]string, string)
}

// Target is the suite's view of what the CRM holds.
type Target interface {
	// Get returns the values the target holds for the record with the
	// given id, by schema field name, and whether it exists.
	Get(t *testing.T, id string) (map[string]string, bool)
	// Count returns how many records the account holds.
	Count(t *testing.T) int
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("CreateThenUnchanged", func(t *testing.T) { testCreateThenUnchanged(t, h) })
	t.Run("UpdateSendsOnlyWhatChanged", func(t *testing.T) { testUpdate(t, h) })
	t.Run("ModeCreateRejectsExisting", func(t *testing.T) { testModeCreate(t, h) })
	t.Run("ModeUpdateRejectsMissing", func(t *testing.T) { testModeUpdate(t, h) })
	t.Run("DryRunWritesNothing", func(t *testing.T) { testDryRun(t, h) })
	t.Run("RefusedRowRejectedAlone", func(t *testing.T) { testRefused(t, h) })
	t.Run("ConcurrentApply", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("UnauthorizedIsFatal", func(t *testing.T) { testUnauthorized(t, h) })
}

func allMapped(s *pipeline.Schema) []bool {
	m := make([]bool, len(s.Fields))
	for i := range m {
		m[i] = true
	}
	return m
}

// changes builds one change per values slice, as the engine would.
func changes(values [][]string) []pipeline.Change {
	out := make([]pipeline.Change, len(values))
	for i, v := range values {
		rec := &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)}, Key: fmt.Sprintf("k%d", i), Values: append([]string(nil), v...)}
		out[i] = pipeline.Change{Record: rec}
	}
	return out
}

func apply(t *testing.T, s pipeline.Sink, plan pipeline.Plan, values [][]string) []pipeline.Result {
	t.Helper()
	ctx := context.Background()
	if err := s.Prepare(ctx, plan); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	chs := changes(values)
	res := make([]pipeline.Result, len(chs))
	for start := 0; start < len(chs); start += s.Properties().MaxBatch {
		end := min(start+s.Properties().MaxBatch, len(chs))
		if err := s.Apply(ctx, chs[start:end], res[start:end]); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return res
}

func valid(h Harness, from, n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = h.Valid(from + i)
	}
	return out
}

func upsert(s pipeline.Sink) pipeline.Plan {
	return pipeline.Plan{Mapped: allMapped(s.Schema()), Mode: pipeline.ModeUpsert}
}

// checkHeld verifies each created or updated result's record is held by
// the target with the values sent, which also proves results are aligned
// with their changes.
func checkHeld(t *testing.T, s pipeline.Sink, tgt Target, values [][]string, res []pipeline.Result) {
	t.Helper()
	schema := s.Schema()
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated && r.Outcome != pipeline.OutcomeUpdated && r.Outcome != pipeline.OutcomeUnchanged {
			continue
		}
		got, ok := tgt.Get(t, r.ID)
		if !ok {
			t.Errorf("change %d: %v with id %q, which the target does not hold", i, r.Outcome, r.ID)
			continue
		}
		for f, field := range schema.Fields {
			if want := values[i][f]; want != "" && !equalFold(got[field.Name], want) {
				t.Errorf("change %d (id %s): target holds %s=%q, sent %q", i, r.ID, field.Name, got[field.Name], want)
			}
		}
	}
}

// equalFold compares values as targets store them: case may be
// normalised (country codes, email domains).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func wantOutcomes(t *testing.T, res []pipeline.Result, want pipeline.Outcome, idx ...int) {
	t.Helper()
	if len(idx) == 0 {
		for i := range res {
			idx = append(idx, i)
		}
	}
	for _, i := range idx {
		if res[i].Outcome != want {
			t.Errorf("change %d: outcome %v (%v), want %v", i, res[i].Outcome, res[i].Reject, want)
		}
	}
}

func testCreateThenUnchanged(t *testing.T, h Harness) {
	s, tgt := h.New(t)
	values := valid(h, 0, 25)
	res := apply(t, s, upsert(s), values)
	wantOutcomes(t, res, pipeline.OutcomeCreated)
	ids := map[string]bool{}
	for i, r := range res {
		if r.ID == "" || ids[r.ID] {
			t.Errorf("change %d: id %q is empty or repeated", i, r.ID)
		}
		ids[r.ID] = true
	}
	if n := tgt.Count(t); n != len(values) {
		t.Fatalf("target holds %d records after creating %d", n, len(values))
	}
	checkHeld(t, s, tgt, values, res)

	s2 := h.Reopen(t, tgt)
	res2 := apply(t, s2, upsert(s2), values)
	wantOutcomes(t, res2, pipeline.OutcomeUnchanged)
	for i := range res2 {
		if res2[i].ID != res[i].ID {
			t.Errorf("change %d: second run matched id %q, first run created %q", i, res2[i].ID, res[i].ID)
		}
	}
	if n := tgt.Count(t); n != len(values) {
		t.Errorf("target holds %d records after a second run of the same %d", n, len(values))
	}
}

func testUpdate(t *testing.T, h Harness) {
	s, tgt := h.New(t)
	values := valid(h, 100, 10)
	apply(t, s, upsert(s), values)
	changedIdx := []int{1, 4, 7}
	for _, i := range changedIdx {
		values[i], _ = h.Change(values[i], i)
	}
	s2 := h.Reopen(t, tgt)
	res := apply(t, s2, upsert(s2), values)
	wantOutcomes(t, res, pipeline.OutcomeUpdated, changedIdx...)
	wantOutcomes(t, res, pipeline.OutcomeUnchanged, 0, 2, 3, 5, 6, 8, 9)
	checkHeld(t, s2, tgt, values, res)
	if n := tgt.Count(t); n != len(values) {
		t.Errorf("target holds %d records; updates must not create", n)
	}
}

func testModeCreate(t *testing.T, h Harness) {
	s, tgt := h.New(t)
	apply(t, s, upsert(s), valid(h, 200, 3))
	s2 := h.Reopen(t, tgt)
	plan := upsert(s2)
	plan.Mode = pipeline.ModeCreate
	values := valid(h, 200, 5) // the first 3 exist
	res := apply(t, s2, plan, values)
	for i := 0; i < 3; i++ {
		if res[i].Outcome != pipeline.OutcomeRejected || res[i].Reject == nil || res[i].Reject.Code != "exists" {
			t.Errorf("change %d: %v %v, want rejected with code exists", i, res[i].Outcome, res[i].Reject)
		}
	}
	wantOutcomes(t, res, pipeline.OutcomeCreated, 3, 4)
	if n := tgt.Count(t); n != 5 {
		t.Errorf("target holds %d records, want 5", n)
	}
}

func testModeUpdate(t *testing.T, h Harness) {
	s, tgt := h.New(t)
	apply(t, s, upsert(s), valid(h, 300, 2))
	s2 := h.Reopen(t, tgt)
	plan := upsert(s2)
	plan.Mode = pipeline.ModeUpdate
	values := valid(h, 300, 4)
	values[0], _ = h.Change(values[0], 0)
	res := apply(t, s2, plan, values)
	wantOutcomes(t, res, pipeline.OutcomeUpdated, 0)
	wantOutcomes(t, res, pipeline.OutcomeUnchanged, 1)
	for _, i := range []int{2, 3} {
		if res[i].Outcome != pipeline.OutcomeRejected || res[i].Reject == nil || res[i].Reject.Code != "not_found" {
			t.Errorf("change %d: %v %v, want rejected with code not_found", i, res[i].Outcome, res[i].Reject)
		}
	}
	if n := tgt.Count(t); n != 2 {
		t.Errorf("target holds %d records; --mode update created some", n)
	}
}

func testDryRun(t *testing.T, h Harness) {
	s, tgt := h.New(t)
	apply(t, s, upsert(s), valid(h, 400, 2))
	s2 := h.Reopen(t, tgt)
	plan := upsert(s2)
	plan.DryRun = true
	values := valid(h, 400, 4)
	values[0], _ = h.Change(values[0], 0)
	res := apply(t, s2, plan, values)
	wantOutcomes(t, res, pipeline.OutcomeUpdated, 0)
	wantOutcomes(t, res, pipeline.OutcomeUnchanged, 1)
	wantOutcomes(t, res, pipeline.OutcomeCreated, 2, 3)
	if n := tgt.Count(t); n != 2 {
		t.Errorf("a dry run changed the record count to %d", n)
	}
	got, _ := tgt.Get(t, res[0].ID)
	_, field := h.Change(values[0], 0)
	orig := h.Valid(400)
	if idx := s2.Schema().Index(field); idx >= 0 && !equalFold(got[field], orig[idx]) {
		t.Errorf("a dry run updated %s to %q", field, got[field])
	}
}

func testRefused(t *testing.T, h Harness) {
	if h.Refused == nil {
		t.Skip("the harness names no record the target refuses")
	}
	s, tgt := h.New(t)
	values := valid(h, 500, 9)
	values[4] = h.Refused(504)
	res := apply(t, s, upsert(s), values)
	if res[4].Outcome != pipeline.OutcomeRejected || res[4].Reject == nil || res[4].Reject.Stage != pipeline.StageAPI {
		t.Errorf("refused record: %v %v, want rejected at the api stage", res[4].Outcome, res[4].Reject)
	}
	wantOutcomes(t, res, pipeline.OutcomeCreated, 0, 1, 2, 3, 5, 6, 7, 8)
	if n := tgt.Count(t); n != 8 {
		t.Errorf("target holds %d records, want the 8 accepted", n)
	}
	checkHeld(t, s, tgt, values, res)
}

func testConcurrent(t *testing.T, h Harness) {
	s, tgt := h.New(t)
	ctx := context.Background()
	if err := s.Prepare(ctx, upsert(s)); err != nil {
		t.Fatal(err)
	}
	const workers, each = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chs := changes(valid(h, 600+w*each, each))
			res := make([]pipeline.Result, len(chs))
			if err := s.Apply(ctx, chs, res); err != nil {
				errs <- err
				return
			}
			for i, r := range res {
				if r.Outcome != pipeline.OutcomeCreated {
					errs <- fmt.Errorf("worker %d change %d: %v %v", w, i, r.Outcome, r.Reject)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := tgt.Count(t); n != workers*each {
		t.Errorf("target holds %d records, want %d", n, workers*each)
	}
}

func testUnauthorized(t *testing.T, h Harness) {
	_, tgt := h.New(t)
	s := h.Unauthorized(t, tgt)
	err := s.Prepare(context.Background(), upsert(s))
	if err == nil {
		t.Fatal("Prepare with refused credentials succeeded")
	}
	if c := pipeline.ClassOf(err); c != pipeline.ClassFatal {
		t.Errorf("error class %v, want fatal: %v", c, err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("error is a cancellation, want the target's refusal: %v", err)
	}
	s.Close()
}
