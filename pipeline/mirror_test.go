package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
)

// mirrorRun returns a mirror run, with --max-delete 5%, over a state of
// 200 synced customers (k0 to k199) and a source of as many rows, in which
// the last replaced of those keys are replaced by new ones (k1000 on): the
// shrink guard has nothing to say, only the count of keys gone does.
func mirrorRun(t *testing.T, replaced int) (*engine, *memState) {
	var seeded, rows [][]string
	for n := range 200 {
		seeded = append(seeded, fakeValues(n))
		if n < 200-replaced {
			rows = append(rows, fakeValues(n))
		} else {
			rows = append(rows, fakeValues(1000+n))
		}
	}
	st := newMemState()
	st.seed(seeded...)
	e := newEngine(t, &fakeSink{MaxBatch: 10}, 30, rows...)
	e.opts.State = st
	e.opts.Mode = pipeline.ModeMirror
	e.opts.MaxDelete = pipeline.Threshold{Percent: 5}
	e.opts.PreviousRead = 200
	return e, st
}

// TestMirrorRefusesWhenManyKeysAreReplaced: the source has as many rows
// as last time but 20 of the 200 keys (10%) are new ones: a broken key
// column looks like this. Over --max-delete 5%, the run aborts (exit 4)
// and deletes nothing.
func TestMirrorRefusesWhenManyKeysAreReplaced(t *testing.T) {
	e, st := mirrorRun(t, 20)
	var mu sync.Mutex
	var deleted []string
	e.sink.DeleteFn = func(ctx context.Context, ids []string, gone []bool) error {
		mu.Lock()
		defer mu.Unlock()
		deleted = append(deleted, ids...)
		for i := range gone {
			gone[i] = true
		}
		return nil
	}
	c, err := e.execute(t, context.Background())
	if !errors.Is(err, pipeline.ErrAborted) {
		t.Errorf("err = %v, want the run aborted (ErrAborted, exit 4)", err)
	}
	if len(deleted) > 0 || c.Deleted != 0 || len(st.forgot) > 0 {
		t.Errorf("deleted %d customers (%s), counted %d, forgot %d keys; want none", len(deleted), join(deleted), c.Deleted, len(st.forgot))
	}
	if c.Created != 20 || c.Unchanged != 180 {
		t.Errorf("counts %+v, want the 20 new keys created and 180 unchanged before the guard", c)
	}
}

// TestMirrorDeletesExactlyTheGoneKeys: 5 of 200 keys replaced (2.5%) is
// under --max-delete 5%: the customers of exactly those 5 keys are
// deleted and forgotten, and the new ones are not.
func TestMirrorDeletesExactlyTheGoneKeys(t *testing.T) {
	e, st := mirrorRun(t, 5)
	var mu sync.Mutex
	var deleted []string
	e.sink.DeleteFn = func(ctx context.Context, ids []string, gone []bool) error {
		mu.Lock()
		defer mu.Unlock()
		deleted = append(deleted, ids...)
		for i := range gone {
			gone[i] = true
		}
		return nil
	}
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"id-k195", "id-k196", "id-k197", "id-k198", "id-k199"}
	slices.Sort(deleted)
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	forgot := slices.Sorted(slices.Values(st.forgot))
	if !slices.Equal(forgot, []string{"k195", "k196", "k197", "k198", "k199"}) {
		t.Errorf("state forgot %v, want the 5 gone keys", forgot)
	}
	if c.Deleted != 5 || c.Created != 5 || c.Unchanged != 195 {
		t.Errorf("counts %+v, want 5 deleted, 5 created, 195 unchanged", c)
	}
}

// TestMirrorRefusesASinkThatCannotDelete: a mirror run against a target
// that cannot delete must refuse before anything is sent, not after the
// upsert half has written.
func TestMirrorRefusesASinkThatCannotDelete(t *testing.T) {
	sink := &fakeSink{MaxBatch: 10, NoDelete: true}
	st := newMemState()
	st.seed(fakeValues(0))
	e := newEngine(t, sink, 30, fakeValues(1), fakeValues(2))
	e.opts.State = st
	e.opts.Mode = pipeline.ModeMirror
	_, err := pipeline.NewRun(e.opts)
	if err == nil || !strings.Contains(err.Error(), "cannot delete") {
		t.Fatalf("NewRun = %v, want a refusal naming that the target cannot delete", err)
	}
	if n := len(sink.sent()); n != 0 {
		t.Errorf("%d changes sent to a sink that cannot delete under --mode mirror", n)
	}
}
