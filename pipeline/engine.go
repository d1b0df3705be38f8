package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Mapper turns a source row into a record. Apply is called from several
// goroutines at once.
type Mapper interface {
	Apply(row *Row, rec *Record) *Reject
}

// Threshold is a limit given as a count or a share: "100" or "5%".
type Threshold struct {
	Count   int64
	Percent float64
}

// ParseThreshold reads "N" or "P%"; "" is no limit.
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Threshold{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 {
			return Threshold{}, fmt.Errorf("%q is not a percentage from 0%% to 100%%", s)
		}
		return Threshold{Percent: v}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return Threshold{}, fmt.Errorf("%q is neither a count nor a percentage (like 100 or 5%%)", s)
	}
	return Threshold{Count: n}, nil
}

// IsZero reports whether no limit is set.
func (t Threshold) IsZero() bool { return t.Count == 0 && t.Percent == 0 }

// Exceeded reports whether n out of total goes over the limit.
func (t Threshold) Exceeded(n, total int64) bool {
	switch {
	case t.Count > 0:
		return n > t.Count
	case t.Percent > 0:
		return float64(n) > t.Percent/100*float64(total)
	}
	return false
}

func (t Threshold) String() string {
	if t.Percent > 0 {
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(t.Count, 10)
}

// ErrAborted is returned when rejects go over RunOptions.MaxRejects.
var ErrAborted = errors.New("aborted")

// minRowsForShare is how many rows must be read before a percentage
// limit can abort a run, so the first few rows do not decide for all.
const minRowsForShare = 1000

// RunOptions configures one run of the engine.
type RunOptions struct {
	Source Source
	Mapper Mapper
	// Mapped marks the schema fields the mapping fills.
	Mapped  []bool
	Sink    Sink
	Rejects RejectWriter
	Mode    Mode
	DryRun  bool
	// Concurrency bounds the sink batches in flight; default 8.
	Concurrency int
	// MaxRejects aborts the run when rejects go over it; zero for none.
	MaxRejects Threshold
	// Grace is how long batches already handed to the sink may finish
	// after ctx is cancelled; default 15 s.
	Grace time.Duration
	// OnResult, when set, sees every change the sink answered, from one
	// goroutine at a time, before the run's counts include it. An error
	// from it is fatal.
	OnResult func(ch *Change, res *Result) error
	Logger   *slog.Logger
}

// Counts are the running totals of a run; they always add up:
// Read = Created + Updated + Unchanged + Rejected + Pending.
type Counts struct {
	Read, Created, Updated, Unchanged, Rejected, Pending int64
}

// Run is one execution of the engine.
type Run struct {
	opts   RunOptions
	schema *Schema

	read, created, updated, unchanged, rejected atomic.Int64

	// seenKeys and seenMatch detect repeated keys and match values (the
	// email); matchField is the schema index of the match field, or -1
	// when the mapping does not fill it.
	seenKeys, seenMatch *hashSet
	matchField          int

	rejMu     sync.Mutex
	byStage   map[string]int64
	byCode    map[string]int64
	rejectErr error
}

// NewRun checks the options and returns a run ready to Execute.
func NewRun(opts RunOptions) (*Run, error) {
	if opts.Source == nil || opts.Mapper == nil || opts.Sink == nil || opts.Rejects == nil {
		return nil, Fatalf("engine: source, mapper, sink and reject writer are all required")
	}
	s := opts.Sink.Schema()
	if len(opts.Mapped) != len(s.Fields) {
		return nil, Fatalf("engine: the mapping fills %d fields, the %s schema has %d", len(opts.Mapped), s.API, len(s.Fields))
	}
	if err := checkMappedRequired(s, opts.Mapped, opts.Mode); err != nil {
		return nil, err
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Grace <= 0 {
		opts.Grace = 15 * time.Second
	}
	if opts.Mode == "" {
		opts.Mode = ModeUpsert
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Run{opts: opts, schema: s, byStage: map[string]int64{}, byCode: map[string]int64{},
		seenKeys: newHashSet(), seenMatch: newHashSet(), matchField: s.Index(s.MatchField)}
	if r.matchField >= 0 && !opts.Mapped[r.matchField] {
		r.matchField = -1
	}
	return r, nil
}

// checkMappedRequired refuses a mapping that leaves out a field the
// target requires for the writes the mode allows: every row would fail.
func checkMappedRequired(s *Schema, mapped []bool, mode Mode) error {
	for i, f := range s.Fields {
		if mapped[i] {
			continue
		}
		if f.RequiredOnCreate && mode != ModeUpdate {
			return Fatalf("the mapping does not fill %q, which %s requires to create a customer", f.Name, s.API)
		}
		if f.RequiredOnUpdate && mode != ModeCreate {
			return Fatalf("the mapping does not fill %q, which %s requires on every update", f.Name, s.API)
		}
	}
	return nil
}

// Progress returns the counts so far; safe to call at any time.
func (r *Run) Progress() Counts {
	c := Counts{
		Read:      r.read.Load(),
		Created:   r.created.Load(),
		Updated:   r.updated.Load(),
		Unchanged: r.unchanged.Load(),
		Rejected:  r.rejected.Load(),
	}
	c.Pending = c.Read - c.Created - c.Updated - c.Unchanged - c.Rejected
	return c
}

// RejectsBy returns copies of the reject counts by stage and by code.
func (r *Run) RejectsBy() (byStage, byCode map[string]int64) {
	r.rejMu.Lock()
	defer r.rejMu.Unlock()
	byStage, byCode = make(map[string]int64, len(r.byStage)), make(map[string]int64, len(r.byCode))
	for k, v := range r.byStage {
		byStage[k] = v
	}
	for k, v := range r.byCode {
		byCode[k] = v
	}
	return byStage, byCode
}

// sourceBatch travels from the reader through a mapping worker to the
// dispatcher, which takes batches in source order.
type sourceBatch struct {
	rows    []Row
	recs    []Record
	rejects []*Reject
	// keyHash and matchHash are the repeat-detection hashes of each
	// record's key and match value (0: no match value), computed by the
	// parallel mapping workers so the dispatcher only probes.
	keyHash, matchHash []uint64
	ready              chan struct{}
}

// Execute runs the pipeline to the end of the source, a fatal error, the
// rejects limit, or ctx's end. It returns nil, an error wrapping
// ErrAborted, ctx's error (interrupted: what was handed to the sink has
// been given Grace to finish), or the fatal error. The reject writer is
// left open for the caller to close.
func (r *Run) Execute(ctx context.Context) error {
	plan := Plan{Mapped: r.opts.Mapped, Mode: r.opts.Mode, DryRun: r.opts.DryRun}
	if err := r.opts.Sink.Prepare(ctx, plan); err != nil {
		return err
	}

	// Work already handed to the sink outlives ctx by Grace, so an
	// interrupted run ends with every row it sent accounted for.
	work, stopWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopWork(nil)
	go func() {
		select {
		case <-work.Done():
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(r.opts.Grace)
		defer t.Stop()
		select {
		case <-work.Done():
		case <-t.C:
			stopWork(fmt.Errorf("grace period of %s after interruption ran out: %w", r.opts.Grace, ctx.Err()))
		}
	}()

	workers := runtime.GOMAXPROCS(0)
	ordered := make(chan *sourceBatch, 2*workers)
	toMap := make(chan *sourceBatch, 2*workers)
	var readErr error
	go func() {
		defer close(ordered)
		defer close(toMap)
		readErr = r.readAll(ctx, work, ordered, toMap)
	}()
	var mappers sync.WaitGroup
	for range workers {
		mappers.Add(1)
		go func() {
			defer mappers.Done()
			for b := range toMap {
				r.mapBatch(b)
				close(b.ready)
			}
		}()
	}

	var g errgroup.Group
	g.SetLimit(r.opts.Concurrency)
	dispatchErr := r.dispatch(ctx, work, stopWork, &g, ordered)
	// Drain what the reader queued so it can finish, then wait for the
	// sink batches in flight.
	for b := range ordered {
		<-b.ready
	}
	mappers.Wait()
	sinkErr := g.Wait()

	switch {
	case sinkErr != nil:
		return sinkErr
	case dispatchErr != nil:
		return dispatchErr
	case readErr != nil:
		return readErr
	case ctx.Err() != nil:
		return ctx.Err()
	}
	c := r.Progress()
	if r.opts.MaxRejects.Exceeded(c.Rejected, c.Read) {
		return fmt.Errorf("%w: %d of %d rows rejected, over --max-rejects %s", ErrAborted, c.Rejected, c.Read, r.opts.MaxRejects)
	}
	return nil
}

func (r *Run) readAll(ctx, work context.Context, ordered, toMap chan<- *sourceBatch) error {
	for {
		if ctx.Err() != nil || work.Err() != nil {
			return nil
		}
		rows, err := r.opts.Source.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		b := &sourceBatch{rows: rows, ready: make(chan struct{})}
		select {
		case ordered <- b:
		case <-work.Done():
			return nil
		}
		toMap <- b
	}
}

func (r *Run) mapBatch(b *sourceBatch) {
	n := len(b.rows)
	width := len(r.schema.Fields)
	b.recs = make([]Record, n)
	b.rejects = make([]*Reject, n)
	b.keyHash = make([]uint64, n)
	b.matchHash = make([]uint64, n)
	// One allocation holds every record's values for the batch.
	values := make([]string, n*width)
	for i := range b.rows {
		row := &b.rows[i]
		if row.Reject != nil {
			b.rejects[i] = row.Reject
			continue
		}
		rec := &b.recs[i]
		rec.Values = values[i*width : (i+1)*width : (i+1)*width]
		if rej := r.opts.Mapper.Apply(row, rec); rej != nil {
			b.rejects[i] = rej
			continue
		}
		rec.Row = row
		if rej := r.schema.Validate(rec, r.opts.Mapped); rej != nil {
			b.rejects[i] = rej
			continue
		}
		b.keyHash[i] = r.seenKeys.hash(rec.Key)
		if r.matchField >= 0 {
			if v := strings.TrimSpace(rec.Values[r.matchField]); v != "" {
				b.matchHash[i] = r.seenMatch.hash(strings.ToLower(v))
			}
		}
	}
}

// dispatch takes mapped batches in source order, rejects repeated keys
// and match values, and hands full sink batches to the sink.
func (r *Run) dispatch(ctx, work context.Context, stopWork context.CancelCauseFunc, g *errgroup.Group, ordered <-chan *sourceBatch) error {
	matchField := r.matchField
	maxBatch := max(r.opts.Sink.Limits().MaxBatch, 1)
	pending := make([]Change, 0, maxBatch)

	flush := func() {
		if len(pending) == 0 {
			return
		}
		batch := pending
		pending = make([]Change, 0, maxBatch)
		g.Go(func() error {
			if err := r.applyBatch(work, batch); err != nil {
				stopWork(err)
				return err
			}
			return nil
		})
	}

	for b := range ordered {
		select {
		case <-b.ready:
		case <-work.Done():
			return nil
		}
		if ctx.Err() != nil || work.Err() != nil {
			break
		}
		for i := range b.rows {
			r.read.Add(1)
			if rej := b.rejects[i]; rej != nil {
				if err := r.reject(&b.rows[i], rej); err != nil {
					stopWork(err)
					return err
				}
				continue
			}
			rec := &b.recs[i]
			if !r.seenKeys.addHash(b.keyHash[i]) {
				if err := r.reject(&b.rows[i], &Reject{Stage: StageValidate, Code: "duplicate_key", Message: fmt.Sprintf("key %q appears earlier in the input; only its first row is synced", rec.Key)}); err != nil {
					stopWork(err)
					return err
				}
				continue
			}
			if matchField >= 0 {
				if h := b.matchHash[i]; h != 0 && !r.seenMatch.addHash(h) {
					if err := r.reject(&b.rows[i], &Reject{Stage: StageValidate, Code: "duplicate_" + r.schema.MatchField, Field: r.schema.MatchField, Message: fmt.Sprintf("%s %q is used by an earlier row with another key; one %s customer cannot hold two rows", r.schema.MatchField, rec.Values[matchField], r.schema.API)}); err != nil {
						stopWork(err)
						return err
					}
					continue
				}
			}
			pending = append(pending, Change{Record: rec})
			if len(pending) == maxBatch {
				flush()
			}
		}
		if err := r.checkAbort(); err != nil {
			stopWork(err)
			return err
		}
		if work.Err() != nil {
			return nil
		}
	}
	flush()
	return nil
}

func (r *Run) applyBatch(ctx context.Context, batch []Change) error {
	results := make([]Result, len(batch))
	if err := r.opts.Sink.Apply(ctx, batch, results); err != nil {
		return err
	}
	for i := range batch {
		res := &results[i]
		if r.opts.OnResult != nil {
			r.rejMu.Lock()
			err := r.opts.OnResult(&batch[i], res)
			r.rejMu.Unlock()
			if err != nil {
				return Fatal(err)
			}
		}
		switch res.Outcome {
		case OutcomeCreated:
			r.created.Add(1)
		case OutcomeUpdated:
			r.updated.Add(1)
		case OutcomeUnchanged:
			r.unchanged.Add(1)
		case OutcomeRejected:
			rej := res.Reject
			if rej == nil {
				rej = &Reject{Stage: StageAPI, Code: "unknown", Message: "the sink rejected the row without a reason"}
			}
			if err := r.reject(batch[i].Record.Row, rej); err != nil {
				return err
			}
		default:
			// A sink that leaves a result empty has lost track of a row;
			// the row must not vanish from the counts.
			if err := r.reject(batch[i].Record.Row, &Reject{Stage: StageAPI, Code: "no_outcome", Message: "the sink returned no outcome for this row"}); err != nil {
				return err
			}
		}
	}
	return r.checkAbort()
}

func (r *Run) reject(row *Row, rej *Reject) error {
	r.rejMu.Lock()
	defer r.rejMu.Unlock()
	if r.rejectErr != nil {
		return r.rejectErr
	}
	if err := r.opts.Rejects.Write(row, rej); err != nil {
		r.rejectErr = Fatalf("writing the reject file: %w", err)
		return r.rejectErr
	}
	r.byStage[string(rej.Stage)]++
	r.byCode[rej.Code]++
	r.rejected.Add(1)
	return nil
}

func (r *Run) checkAbort() error {
	t := r.opts.MaxRejects
	if t.IsZero() {
		return nil
	}
	n, read := r.rejected.Load(), r.read.Load()
	if t.Percent > 0 && read < minRowsForShare {
		return nil
	}
	if t.Exceeded(n, read) {
		return fmt.Errorf("%w: %d of %d rows rejected so far, over --max-rejects %s", ErrAborted, n, read, t)
	}
	return nil
}
