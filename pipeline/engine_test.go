package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"crmsync/pipeline"
)

// TestEngineJournalsBeforeSending: when Sink.Apply is entered, every key
// of its batch is already journalled, with the match value and the CRM id
// it is sent with, so a run killed mid-call leaves a record of what may
// have reached the CRM.
func TestEngineJournalsBeforeSending(t *testing.T) {
	var rows, known [][]string
	for n := range 40 {
		v := fakeValues(n)
		if n < 20 {
			known = append(known, slices.Clone(v))
			v[2] = "Renamed " + v[0] // an update of a known customer
		}
		rows = append(rows, v)
	}
	st := newMemState()
	st.seed(known...)
	sink := &fakeSink{MaxBatch: 7}
	var checked atomic.Int64
	sink.ApplyFn = func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
		for _, ch := range changes {
			w, ok := st.journalled(ch.Record.Key)
			switch {
			case !ok:
				t.Errorf("key %s reached Sink.Apply before it was journalled", ch.Record.Key)
			case w.Match != ch.Record.Values[0] || w.CRMID != ch.ID:
				t.Errorf("key %s journalled with match %q and id %q, sent with %q and %q", ch.Record.Key, w.Match, w.CRMID, ch.Record.Values[0], ch.ID)
			}
			checked.Add(1)
		}
		createOrUpdate(changes, results)
		return nil
	}
	e := newEngine(t, sink, 5, rows...)
	e.opts.State = st
	e.opts.Concurrency = 3
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if checked.Load() != 40 || c.Created != 20 || c.Updated != 20 {
		t.Errorf("checked %d changes, counts %+v; want 40 sent, 20 created and 20 updated", checked.Load(), c)
	}
	if open := st.openJournal(); len(open) > 0 {
		t.Errorf("journal entries left open after a complete run: %s", join(open))
	}
}

// TestEngineRejectsRepeatsAtTheirSecondRow: the second row of a key, and
// of a match value (email, whatever its case) under another key, is
// rejected with its own row number, and only the first row is sent;
// whether the key is known to the state or not, and whether the two rows
// are in one source batch or two.
func TestEngineRejectsRepeatsAtTheirSecondRow(t *testing.T) {
	rows := [][]string{
		{"k1", "ann@example.com", "Ann", "", ""},
		{"k2", "bob@example.com", "Bob", "", ""},
		{"k1", "ann.other@example.com", "Ann again", "", ""}, // row 3: key k1 again
		{"k3", "Bob@Example.com", "Robert", "", ""},          // row 4: bob's email again
		{"k4", "cy@example.com", "Cy", "", ""},
		{"k2", "bob2@example.com", "Bob 2", "", ""}, // row 6: key k2 again
		{"k5", "dee@example.com", "Dee", "", ""},
	}
	want := []string{"3:duplicate_key", "4:duplicate_email", "6:duplicate_key"}
	for _, withState := range []bool{false, true} {
		for _, batch := range []int{2, 100} {
			t.Run(fmt.Sprintf("state=%v/batch=%d", withState, batch), func(t *testing.T) {
				e := newEngine(t, &fakeSink{MaxBatch: 3}, batch, rows...)
				if withState {
					st := newMemState()
					// k1 and k2 known, with other names: their first rows
					// are updates.
					st.seed([]string{"k1", "ann@example.com", "Old", "", ""}, []string{"k2", "bob@example.com", "Old", "", ""})
					e.opts.State = st
				}
				c, err := e.execute(t, context.Background())
				if err != nil {
					t.Fatal(err)
				}
				rejects := e.rejects.all()
				if got := rejectCodes(rejects); !slices.Equal(got, want) {
					t.Errorf("rejects (row:code) = %v, want %v", got, want)
				}
				for _, r := range rejects {
					if r.Reject.Stage != pipeline.StageValidate {
						t.Errorf("row %d rejected at stage %q, want validate", r.Row, r.Reject.Stage)
					}
				}
				sent := e.sink.sent()
				var got []string
				for _, ch := range sent {
					got = append(got, ch.Record.Key+"="+ch.Record.Values[0])
				}
				slices.Sort(got)
				wantSent := []string{"k1=ann@example.com", "k2=bob@example.com", "k4=cy@example.com", "k5=dee@example.com"}
				if !slices.Equal(got, wantSent) {
					t.Errorf("sent %v, want the first row of each key: %v", got, wantSent)
				}
				if c.Read != 7 || c.Rejected != 3 || c.Created+c.Updated != 4 {
					t.Errorf("counts %+v, want 7 read, 3 rejected, 4 written", c)
				}
			})
		}
	}
}

// blankingRun returns a run over a state of 400 synced customers in which
// the rows of blank of them clear both clearable fields (team and note)
// and every other row is unchanged, with --max-blank 2% (8 customers).
func blankingRun(t *testing.T, blank int) (*engine, map[string]bool) {
	var seeded, rows [][]string
	blanking := map[string]bool{}
	for n := range 400 {
		v := fakeValues(n)
		seeded = append(seeded, slices.Clone(v))
		if n%20 == 0 && len(blanking) < blank {
			v[3], v[4] = "", ""
			blanking[v[0]] = true
		}
		rows = append(rows, v)
	}
	st := newMemState()
	st.seed(seeded...)
	e := newEngine(t, &fakeSink{MaxBatch: 4}, 50, rows...)
	e.opts.State = st
	e.opts.MaxBlank = pipeline.Threshold{Percent: 2}
	return e, blanking
}

// TestEngineBlankingGuardAborts: 20 of 400 customers would have two fields
// blanked each, over a 2% limit: the run aborts and no blanking write
// reaches the sink. The guard counts customers, not fields: 6 customers
// blanking 12 fields in all are under the limit, and are sent.
func TestEngineBlankingGuardAborts(t *testing.T) {
	t.Run("over", func(t *testing.T) {
		e, blanking := blankingRun(t, 20)
		c, err := e.execute(t, context.Background())
		if !errors.Is(err, pipeline.ErrAborted) {
			t.Errorf("err = %v, want the run aborted (20 of 400 customers blanked, over --max-blank 2%%)", err)
		}
		for _, ch := range e.sink.sent() {
			if blanking[ch.Record.Key] {
				t.Errorf("key %s, which blanks team and note, reached Sink.Apply", ch.Record.Key)
			}
		}
		// Every row but the blanking ones is unchanged: nothing at all
		// had a reason to be sent.
		if n := len(e.sink.sent()); n > 0 {
			t.Errorf("%d changes reached Sink.Apply, want none", n)
		}
		for _, r := range e.rejects.all() {
			if !blanking[r.Key] || r.Reject.Code != "max_blank" {
				t.Errorf("row %d (key %s) rejected %q, want only blanking rows, rejected max_blank", r.Row, r.Key, r.Reject.Code)
			}
		}
		if c.Rejected == 0 || c.Created+c.Updated != 0 {
			t.Errorf("counts %+v, want the held blanking rows rejected and nothing written", c)
		}
	})
	t.Run("under", func(t *testing.T) {
		e, blanking := blankingRun(t, 6)
		c, err := e.execute(t, context.Background())
		if err != nil {
			t.Fatalf("err = %v, want a complete run (6 of 400 customers blanked, under --max-blank 2%%, though 12 fields)", err)
		}
		var got []string
		for _, ch := range e.sink.sent() {
			if !blanking[ch.Record.Key] || ch.Record.Values[2] != "" || !ch.Send[2] || !ch.Send[3] {
				t.Errorf("key %s sent with values %q, send %v; want only the blanking rows, clearing team and note", ch.Record.Key, ch.Record.Values, ch.Send)
			}
			got = append(got, ch.Record.Key)
		}
		if len(got) != 6 || c.Updated != 6 || c.Unchanged != 394 {
			t.Errorf("sent %v, counts %+v; want the 6 blanking rows updated and 394 unchanged", got, c)
		}
	})
}

// TestEngineCountsAddUp: rows rejected by validation, by repeat detection
// and by the sink, and a sink that loses track of a row, all land in
// Rejected; nothing is counted twice or lost.
func TestEngineCountsAddUp(t *testing.T) {
	var rows [][]string
	wantRejected := 0
	for n := range 100 {
		v := fakeValues(n)
		switch {
		case n%10 == 3:
			v[1] = "not-an-email"
			wantRejected++
		case n%10 == 5:
			v[0] = "k1" // a repeated key
			wantRejected++
		case n%10 == 7 || n == 98:
			wantRejected++ // rejected by the sink below
		}
		rows = append(rows, v)
	}
	sink := &fakeSink{MaxBatch: 6}
	sink.ApplyFn = func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
		for i, ch := range changes {
			var n int
			fmt.Sscanf(ch.Record.Key, "k%d", &n)
			switch {
			case n%10 == 7:
				results[i] = pipeline.Result{Outcome: pipeline.OutcomeRejected, ID: "", Reject: &pipeline.Reject{Stage: pipeline.StageAPI, Code: "10142", Message: "refused"}}
			case n == 98:
				// left pending: the engine must not lose the row
			default:
				results[i] = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: "id-" + ch.Record.Key}
			}
		}
		return nil
	}
	e := newEngine(t, sink, 8, rows...)
	e.opts.Concurrency = 3
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 100 || c.Rejected != int64(wantRejected) || c.Created != int64(100-wantRejected) || c.Pending != 0 {
		t.Errorf("counts %+v, want 100 read, %d rejected, %d created, none pending", c, wantRejected, 100-wantRejected)
	}
	by := map[string]int{}
	for _, r := range e.rejects.all() {
		by[r.Reject.Code]++
	}
	if by["email"] != 10 || by["duplicate_key"] != 10 || by["10142"] != 10 || by["no_outcome"] != 1 {
		t.Errorf("rejects by code %v, want 10 email, 10 duplicate_key, 10 10142, 1 no_outcome", by)
	}
}

// TestEngineFatalSinkErrorStopsTheRun: a fatal error from the sink ends
// the run with that error; the rows the sink answered keep their outcomes
// and the rest are pending, so the counts still add up.
func TestEngineFatalSinkErrorStopsTheRun(t *testing.T) {
	var rows [][]string
	for n := range 300 {
		rows = append(rows, fakeValues(n))
	}
	sink := &fakeSink{MaxBatch: 10}
	var calls, answered atomic.Int64
	sink.ApplyFn = func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
		if calls.Add(1) == 4 {
			return pipeline.Fatal(fmt.Errorf("fake sink: %w", errTest))
		}
		createOrUpdate(changes, results)
		answered.Add(int64(len(changes)))
		return nil
	}
	e := newEngine(t, sink, 10, rows...)
	e.opts.Concurrency = 2
	st := newMemState()
	e.opts.State = st
	c, err := e.execute(t, context.Background())
	if !errors.Is(err, errTest) || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Fatalf("err = %v, want the sink's fatal error", err)
	}
	if c.Created != answered.Load() || c.Pending < 10 {
		t.Errorf("counts %+v with %d rows answered by the sink; want those created and the failed batch pending", c, answered.Load())
	}
	for _, ch := range sink.sent() {
		// Whatever the sink answered is recorded, and nothing else.
		if id := st.crmID(ch.Record.Key); id != "" && id != "id-"+ch.Record.Key {
			t.Errorf("state holds id %q for %s", id, ch.Record.Key)
		}
	}
}

// TestEngineAbortsOverMaxRejects: once rejects go over --max-rejects the
// run ends aborted, and no row after the one that crossed the limit is
// sent.
func TestEngineAbortsOverMaxRejects(t *testing.T) {
	var rows [][]string
	for n := range 100 {
		v := fakeValues(n)
		if n >= 50 && n < 60 {
			v[1] = "not-an-email"
		}
		rows = append(rows, v)
	}
	e := newEngine(t, &fakeSink{MaxBatch: 10}, 7, rows...)
	e.opts.MaxRejects = pipeline.Threshold{Count: 5}
	c, err := e.execute(t, context.Background())
	if !errors.Is(err, pipeline.ErrAborted) {
		t.Fatalf("err = %v, want ErrAborted", err)
	}
	// The sixth reject (row 56, key k55) crosses the limit.
	for _, k := range e.sink.sentKeys() {
		var n int
		fmt.Sscanf(k, "k%d", &n)
		if n >= 50 {
			t.Errorf("key %s, read after the limit was crossed, was sent", k)
		}
	}
	if c.Rejected != 6 || c.Read > 56 || c.Created != int64(len(e.sink.sentKeys())) {
		t.Errorf("counts %+v, want 6 rejected, at most 56 read, and every sent row created", c)
	}
}

// TestEngineInterrupted: a run whose context is cancelled mid-run returns
// the context's error; the batch in flight is answered and recorded, no
// batch is sent after, and the rows read but not sent are pending.
func TestEngineInterrupted(t *testing.T) {
	var rows [][]string
	for n := range 500 {
		rows = append(rows, fakeValues(n))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		cancelled bool
		calls     int
		lateCalls int
	)
	sink := &fakeSink{MaxBatch: 10}
	sink.ApplyFn = func(sinkCtx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
		mu.Lock()
		calls++
		if cancelled {
			lateCalls++
		}
		if calls == 3 {
			cancel()
			cancelled = true
		}
		mu.Unlock()
		// The batch in flight has the grace period to finish: the
		// sink's context outlives the run's.
		if err := sinkCtx.Err(); err != nil {
			return err
		}
		createOrUpdate(changes, results)
		return nil
	}
	st := newMemState()
	e := newEngine(t, sink, 10, rows...)
	e.opts.State = st
	e.opts.Concurrency = 1
	c, err := e.execute(t, ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's error", err)
	}
	if lateCalls > 0 {
		t.Errorf("%d batches were sent after the interruption", lateCalls)
	}
	if c.Created != 30 || c.Pending != c.Read-30 {
		t.Errorf("counts %+v, want the 3 batches sent (30 rows) created and every other row read pending", c)
	}
	for _, k := range sink.sentKeys() {
		if st.crmID(k) != "id-"+k {
			t.Errorf("key %s was created but the state does not hold its id", k)
		}
	}
	if open := st.openJournal(); len(open) > 0 {
		t.Errorf("journal entries left open for answered rows: %s", join(open))
	}
}
