package cli

import (
	"context"
	"io"
	"sync"

	"crmsync/pipeline"
)

// predictSink is the sink of `crmsync check --source`: it lets the real
// engine apply every rule a dry run applies before the API (read, map,
// validate, repeated keys and emails), so check cannot drift from sync,
// and it calls no API. It answers every change that reaches it as one a
// dry run on an empty account without a state would create, which is
// what the source and the mapping alone decide; check labels its figures
// a prediction and names what it cannot know (see predictionLeavesOut).
type predictSink struct {
	schema *pipeline.Schema
	stats  pipeline.CallStats
}

var _ pipeline.Sink = (*predictSink)(nil)

func (s *predictSink) Schema() *pipeline.Schema { return s.schema }

// Properties give a batch size of a real bulk endpoint; the reject counts
// do not depend on it.
func (s *predictSink) Properties() pipeline.Properties {
	return pipeline.Properties{BulkCreate: true, MaxBatch: 500}
}

func (s *predictSink) Prepare(context.Context, pipeline.Plan) error { return nil }

func (s *predictSink) Apply(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range changes {
		// Every sink checks a create before sending it; on an empty
		// account every row is one.
		if rej := s.schema.ValidateCreate(changes[i].Record); rej != nil {
			results[i] = pipeline.Result{Outcome: pipeline.OutcomeRejected, Reject: rej}
			continue
		}
		results[i] = pipeline.Result{Outcome: pipeline.OutcomeCreated}
	}
	return nil
}

// Stats reports no calls: the sink makes none.
func (s *predictSink) Stats() *pipeline.CallStats { return &s.stats }

func (s *predictSink) Close() error { return nil }

// predictionLeavesOut says what a prediction from the source and the
// mapping alone cannot tell; check prints it under its figures.
func predictionLeavesOut(api string) string {
	return "not predicted (a sync --dry-run against the target tells them):\n" +
		"  - what the " + api + " API itself rejects (stage api, such as an unknown teammate)\n" +
		"  - which rows match customers " + api + " already holds: created or updated, email_owned, --mode create or update\n" +
		"  - which rows a --state finds unchanged\n"
}

// rejectTally counts rejects by stage and code; it writes no file.
type rejectTally struct {
	mu     sync.Mutex
	byCode map[string]int64
}

var _ pipeline.RejectWriter = (*rejectTally)(nil)

func (t *rejectTally) Write(_ *pipeline.Row, rej *pipeline.Reject) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byCode == nil {
		t.byCode = map[string]int64{}
	}
	t.byCode[string(rej.Stage)+"/"+rej.Code]++
	return nil
}

func (t *rejectTally) Close() error { return nil }

// firstRows passes on the first n rows of a source (all when n is 0).
type firstRows struct {
	*openedSource
	n, read int
}

func (f *firstRows) Next(ctx context.Context) ([]pipeline.Row, error) {
	if f.n > 0 && f.read >= f.n {
		return nil, io.EOF
	}
	rows, err := f.openedSource.Next(ctx)
	if err != nil {
		return rows, err
	}
	if f.n > 0 && len(rows) > f.n-f.read {
		rows = rows[:f.n-f.read]
	}
	f.read += len(rows)
	return rows, nil
}

func (f *firstRows) EstimatedRows() int64 {
	n := f.openedSource.EstimatedRows()
	if f.n > 0 && n > int64(f.n) {
		return int64(f.n)
	}
	return n
}
