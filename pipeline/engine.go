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
	// TempDir is where repeat detection keeps what does not fit in memory
	// ("" for the system's temporary directory).
	TempDir string
	// SeenInMemory is how many key (and match value) hashes repeat
	// detection keeps in memory before moving them to a file in TempDir;
	// default defaultSeenInMemory.
	SeenInMemory int
	Logger       *slog.Logger
}

// defaultSeenInMemory keeps about 16 MiB of hashes per set in memory: a
// run's memory then stays flat from one million rows to many more.
const defaultSeenInMemory = 1 << 20

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
	// email); the mapping workers hash with keyHash and matchHash, copies
	// of the sets' hashers. matchField is the schema index of the match
	// field, or -1 when the mapping does not fill it.
	seenKeys, seenMatch *spillSet
	keyHash, matchHash  hasher
	matchField          int

	// halt stops the run (see Execute); stopErr is the first reason.
	halt    func(err error, fatal bool)
	stopMu  sync.Mutex
	stopErr error

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
	if opts.SeenInMemory <= 0 {
		opts.SeenInMemory = defaultSeenInMemory
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Run{opts: opts, schema: s, byStage: map[string]int64{}, byCode: map[string]int64{},
		seenKeys:   newSpillSet(opts.SeenInMemory, opts.TempDir),
		seenMatch:  newSpillSet(opts.SeenInMemory, opts.TempDir),
		matchField: s.Index(s.MatchField)}
	r.keyHash, r.matchHash = r.seenKeys.hasher, r.seenMatch.hasher
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
// ErrAborted, ctx's error (interrupted), or the fatal error.
//
// A stop of any kind stops reading and sends no further batch at once;
// batches already handed to the sink finish (after an interruption,
// within Grace), so every row sent has its outcome, and the rows read but
// not sent are counted as pending. The reject writer is left open for the
// caller to close.
func (r *Run) Execute(ctx context.Context) error {
	plan := Plan{Mapped: r.opts.Mapped, Mode: r.opts.Mode, DryRun: r.opts.DryRun}
	if err := r.opts.Sink.Prepare(ctx, plan); err != nil {
		return err
	}
	defer r.seenKeys.Close()
	defer r.seenMatch.Close()

	// stopping ends reading and sending; work is the sink's context and
	// outlives an interruption by Grace.
	stopping, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	work, stopWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopWork(nil)
	r.halt = func(err error, fatal bool) {
		r.stopMu.Lock()
		if r.stopErr == nil {
			r.stopErr = err
		}
		r.stopMu.Unlock()
		stop(err)
		if fatal {
			stopWork(err)
		}
	}
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
		readErr = r.readAll(stopping, ordered, toMap)
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
	r.dispatch(ctx, stopping, work, &g, ordered)
	// Drain what the reader queued so it can finish, then wait for the
	// sink batches in flight.
	for b := range ordered {
		<-b.ready
	}
	mappers.Wait()
	_ = g.Wait() // batch errors reach r.stopErr through r.halt

	r.stopMu.Lock()
	stopErr := r.stopErr
	r.stopMu.Unlock()
	switch {
	case stopErr != nil && !errors.Is(stopErr, context.Canceled):
		return stopErr
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

func (r *Run) readAll(stopping context.Context, ordered, toMap chan<- *sourceBatch) error {
	for {
		if stopping.Err() != nil {
			return nil
		}
		rows, err := r.opts.Source.Next(stopping)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if stopping.Err() != nil {
				return nil
			}
			return err
		}
		b := &sourceBatch{rows: rows, ready: make(chan struct{})}
		select {
		case ordered <- b:
		case <-stopping.Done():
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
		rej := r.opts.Mapper.Apply(row, rec)
		if rej == nil {
			rec.Row = row
			rej = r.schema.Validate(rec, r.opts.Mapped)
		}
		// A rejected row's key still counts as seen: "a key that appears
		// twice is rejected at its second row" whatever became of the
		// first, so a fixed first row fed back later cannot make a second
		// customer for the same key.
		if rec.Key != "" {
			b.keyHash[i] = r.keyHash.hash(rec.Key)
		}
		if rej != nil {
			b.rejects[i] = rej
			continue
		}
		if r.matchField >= 0 && strings.TrimSpace(rec.Values[r.matchField]) != "" {
			b.matchHash[i] = r.matchHash.hashFold(rec.Values[r.matchField])
		}
	}
}

// dispatch takes mapped batches in source order, rejects repeated keys
// and match values, and hands full sink batches to the sink, each once a
// slot is free. It sends nothing once stopping is done.
func (r *Run) dispatch(ctx, stopping, work context.Context, g *errgroup.Group, ordered <-chan *sourceBatch) {
	matchField := r.matchField
	maxBatch := max(r.opts.Sink.Limits().MaxBatch, 1)
	pending := make([]Change, 0, maxBatch)
	slots := make(chan struct{}, r.opts.Concurrency)

	flush := func() {
		if len(pending) == 0 {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-stopping.Done():
			return
		}
		if stopping.Err() != nil {
			<-slots
			return
		}
		batch := pending
		pending = make([]Change, 0, maxBatch)
		g.Go(func() error {
			defer func() { <-slots }()
			return r.applyBatch(ctx, work, batch)
		})
	}
	rejectRow := func(row *Row, rej *Reject) bool {
		if err := r.reject(row, rej); err != nil {
			r.halt(err, true)
			return false
		}
		return r.checkAbort()
	}

	for b := range ordered {
		select {
		case <-b.ready:
		case <-stopping.Done():
			return
		}
		for i := range b.rows {
			if stopping.Err() != nil {
				return
			}
			r.read.Add(1)
			if rej := b.rejects[i]; rej != nil {
				if h := b.keyHash[i]; h != 0 {
					if _, err := r.seenKeys.addHash(h); err != nil {
						r.halt(Fatal(err), true)
						return
					}
				}
				if !rejectRow(&b.rows[i], rej) {
					return
				}
				continue
			}
			rec := &b.recs[i]
			isNew, err := r.seenKeys.addHash(b.keyHash[i])
			if err != nil {
				r.halt(Fatal(err), true)
				return
			}
			if !isNew {
				if !rejectRow(&b.rows[i], &Reject{Stage: StageValidate, Code: "duplicate_key", Message: fmt.Sprintf("key %q appears earlier in the input; only its first row is synced", rec.Key)}) {
					return
				}
				continue
			}
			if matchField >= 0 && b.matchHash[i] != 0 {
				isNew, err := r.seenMatch.addHash(b.matchHash[i])
				if err != nil {
					r.halt(Fatal(err), true)
					return
				}
				if !isNew {
					if !rejectRow(&b.rows[i], &Reject{Stage: StageValidate, Code: "duplicate_" + r.schema.MatchField, Field: r.schema.MatchField, Message: fmt.Sprintf("%s %q is used by an earlier row with another key; one %s customer cannot hold two rows", r.schema.MatchField, rec.Values[matchField], r.schema.API)}) {
						return
					}
					continue
				}
			}
			pending = append(pending, Change{Record: rec})
			if len(pending) == maxBatch {
				flush()
			}
		}
	}
	flush()
}

// applyBatch writes one batch and accounts for each of its rows. A sink
// error stops the run; after an interruption whose grace ran out it is
// only the interruption, and the batch's rows stay pending.
func (r *Run) applyBatch(ctx, work context.Context, batch []Change) error {
	results := make([]Result, len(batch))
	if err := r.opts.Sink.Apply(work, batch, results); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return err
		}
		r.halt(err, true)
		return err
	}
	for i := range batch {
		res := &results[i]
		if r.opts.OnResult != nil {
			r.rejMu.Lock()
			err := r.opts.OnResult(&batch[i], res)
			r.rejMu.Unlock()
			if err != nil {
				r.halt(Fatal(err), true)
				return err
			}
		}
		switch res.Outcome {
		case OutcomeCreated:
			r.created.Add(1)
		case OutcomeUpdated:
			r.updated.Add(1)
		case OutcomeUnchanged:
			r.unchanged.Add(1)
		default:
			rej := res.Reject
			switch {
			case res.Outcome != OutcomeRejected:
				// A sink that leaves a result empty has lost track of a
				// row; the row must not vanish from the counts.
				rej = &Reject{Stage: StageAPI, Code: "no_outcome", Message: "the sink returned no outcome for this row"}
			case rej == nil:
				rej = &Reject{Stage: StageAPI, Code: "unknown", Message: "the sink rejected the row without a reason"}
			}
			if err := r.reject(batch[i].Record.Row, rej); err != nil {
				r.halt(err, true)
				return err
			}
			r.checkAbort()
		}
	}
	return nil
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

// checkAbort stops the run when rejects went over --max-rejects, and
// reports whether the run may go on.
func (r *Run) checkAbort() bool {
	t := r.opts.MaxRejects
	if t.IsZero() {
		return true
	}
	n, read := r.rejected.Load(), r.read.Load()
	if t.Percent > 0 && read < minRowsForShare {
		return true
	}
	if t.Exceeded(n, read) {
		r.halt(fmt.Errorf("%w: %d of %d rows rejected so far, over --max-rejects %s", ErrAborted, n, read, t), false)
		return false
	}
	return true
}
