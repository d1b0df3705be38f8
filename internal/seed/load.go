package seed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"crmsync/pipeline"
)

// Counts are what a Load did.
type Counts struct {
	Created, Updated, Unchanged int64
}

// Load writes customers 0 to n-1 of g to the CRM behind sink, through the
// sink as a sync would: each is created, or updated when the account holds
// its match value already (so a second Load of the same records changes
// nothing and duplicates no one). The records are made as they are sent,
// a batch at a time, so that a large load holds no more than the batches
// in flight. progress, when not nil, is called with the customers written
// so far, from one goroutine at a time.
//
// A record the sink rejects is an error naming its number, field and
// reason code; it stops the load. Load closes the sink.
func Load(ctx context.Context, sink pipeline.Sink, g *Generator, n int, progress func(done int64)) (Counts, error) {
	var c Counts
	schema := sink.Schema()
	if len(schema.Fields) != len(g.fields) {
		sink.Close()
		return c, fmt.Errorf("seed: the sink's schema has %d fields, the generator's %d", len(schema.Fields), len(g.fields))
	}
	mapped := g.Filled()
	plan := pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert, IndexAccount: true}
	if err := sink.Prepare(ctx, plan); err != nil {
		sink.Close()
		return c, err
	}
	err := apply(ctx, sink, g, n, mapped, &c, progress)
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	return c, err
}

// apply sends the records in batches of the sink's MaxBatch from as many
// goroutines as it sustains.
func apply(ctx context.Context, sink pipeline.Sink, g *Generator, n int, mapped []bool, c *Counts, progress func(int64)) error {
	props := sink.Properties()
	batch := max(1, props.MaxBatch)
	workers := 8
	if props.MaxInFlight > 0 {
		workers = min(workers, props.MaxInFlight)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	check := g.schema.CreateChecker(mapped)
	starts := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for lo := range starts {
				hi := min(lo+batch, n)
				changes := make([]pipeline.Change, hi-lo)
				for k := range changes {
					i := lo + k
					rec := &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)}, Key: fmt.Sprintf("seed-%d", i+1), Values: g.Record(i)}
					if r := g.schema.Validate(rec, mapped); r != nil {
						cancel(fmt.Errorf("seed: record %d fails %s's checks: %s: %s", i+1, g.schema.API, r.Field, r.Code))
						return
					}
					if r := check.Check(rec); r != nil {
						cancel(fmt.Errorf("seed: record %d fails %s's checks on create: %s: %s", i+1, g.schema.API, r.Field, r.Code))
						return
					}
					changes[k] = pipeline.Change{Record: rec}
				}
				results := make([]pipeline.Result, len(changes))
				if err := sink.Apply(ctx, changes, results); err != nil {
					cancel(err)
					return
				}
				for k, r := range results {
					switch r.Outcome {
					case pipeline.OutcomeCreated:
						atomic.AddInt64(&c.Created, 1)
					case pipeline.OutcomeUpdated:
						atomic.AddInt64(&c.Updated, 1)
					case pipeline.OutcomeUnchanged:
						atomic.AddInt64(&c.Unchanged, 1)
					default:
						// The reject's message may quote the value;
						// its field and code say enough.
						why := "no outcome"
						if r.Reject != nil {
							why = r.Reject.Field + ": " + r.Reject.Code
						}
						cancel(fmt.Errorf("seed: %s refused record %d (%s)", g.schema.API, lo+k+1, why))
						return
					}
				}
				d := done.Add(int64(len(changes)))
				if progress != nil {
					mu.Lock()
					progress(d)
					mu.Unlock()
				}
			}
		})
	}
	go func() {
		defer close(starts)
		for lo := 0; lo < n; lo += batch {
			select {
			case starts <- lo:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
