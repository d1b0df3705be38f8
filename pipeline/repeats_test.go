package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// failingNameMapper maps as copyMapper does, then rejects the rows whose
// name is "!" at the map stage, with their values mapped.
type failingNameMapper struct{}

func (failingNameMapper) Apply(row *pipeline.Row, rec *pipeline.Record) *pipeline.Reject {
	if rej := (copyMapper{}).Apply(row, rec); rej != nil {
		return rej
	}
	if rec.Values[1] == "!" {
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: "expr", Field: "name", Message: "the name expression failed"}
	}
	return nil
}

// TestEngineFirstRowOwnsItsEmail holds one rule for repeated match values,
// whatever became of the first row: rejected at map (row 1), by the API
// (row 3) or written (row 5), the first row carrying an email owns it,
// and the later row's reject names that row and its key. With the
// repeat-detection set spilled to disk the rule holds the same.
func TestEngineFirstRowOwnsItsEmail(t *testing.T) {
	rows := [][]string{
		{"k1", "x@example.com", "!", "", ""},   // 1: rejected at map, owns x
		{"k2", "X@example.com", "Bob", "", ""}, // 2: x again
		{"k3", "y@example.com", "Yan", "", ""}, // 3: the API refuses it, owns y
		{"k4", "y@example.com", "Yve", "", ""}, // 4: y again
		{"k5", "z@example.com", "Zoe", "", ""}, // 5: written, owns z
		{"k6", "z@example.com", "Zed", "", ""}, // 6: z again
	}
	for _, batch := range []int{1, 100} {
		for _, inMemory := range []int{0, 2} {
			t.Run(fmt.Sprintf("batch=%d/memory=%d", batch, inMemory), func(t *testing.T) {
				sink := &fakeSink{MaxBatch: 1, ApplyFn: func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
					createOrUpdate(changes, results)
					for i, ch := range changes {
						if ch.Record.Key == "k3" {
							results[i] = pipeline.Result{Outcome: pipeline.OutcomeRejected, Reject: &pipeline.Reject{Stage: pipeline.StageAPI, Code: "1001", Message: "refused"}}
						}
					}
					return nil
				}}
				e := newEngine(t, sink, batch, rows...)
				e.opts.Mapper = failingNameMapper{}
				e.opts.SeenInMemory = inMemory
				if _, err := e.execute(t, context.Background()); err != nil {
					t.Fatal(err)
				}
				rejects := e.rejects.all()
				want := []string{"1:expr", "2:duplicate_email", "3:1001", "4:duplicate_email", "6:duplicate_email"}
				if got := rejectCodes(rejects); !slices.Equal(got, want) {
					t.Fatalf("rejects = %v, want %v", got, want)
				}
				got := e.sink.sentKeys()
				slices.Sort(got)
				if !slices.Equal(got, []string{"k3", "k5"}) {
					t.Errorf("sent %v, want only the first rows k3 and k5", got)
				}
				owners := map[int64]string{2: `row 1 (key "k1")`, 4: `row 3 (key "k3")`, 6: `row 5 (key "k5")`}
				for _, r := range rejects {
					o, ok := owners[r.Row]
					if !ok {
						continue
					}
					if inMemory == 0 && !strings.Contains(r.Reject.Message, o) {
						t.Errorf("row %d's reject does not name its owner %s: %q", r.Row, o, r.Reject.Message)
					}
				}
			})
		}
	}
}
