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
// goroutines at once. The strings it puts in the record are never written
// afterwards: validation remembers the values that passed by address.
//
// The engine hands Apply a record whose Values has length 0 and room for
// every schema field, all of them empty: Apply sets its length to the
// number of fields and fills the mapped ones, and need not clear the
// others (a schema of many fields a mapping leaves alone then costs a row
// no memory traffic for them).
type Mapper interface {
	Apply(row *Row, rec *Record) *Reject
}

// SourceDigester is implemented by mappers that can tell a row they mapped
// before without mapping it again. With a state, a row whose source digest
// equals the one recorded with its last confirmed write maps to the values
// the CRM holds, so it is unchanged: the run skips its mapping and
// validation, most of the work of a nightly run in which little changed.
// Its methods are called from several goroutines at once.
type SourceDigester interface {
	// SourceDigest is a stable hash of everything Apply's result depends
	// on: the values of the columns the mapping reads, and the mapping
	// itself (its file, its lookup tables, the version of crmsync). It is
	// 0, never to be matched, for a row Apply would reject as too short.
	SourceDigest(row *Row) uint64
	// Key returns what Apply would set as rec.Key.
	Key(row *Row) string
	// MapField maps schema field f alone, as Apply would; ok is false
	// when Apply would reject the row for it.
	MapField(row *Row, f int) (v string, ok bool)
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

	// State, when set, makes the run incremental: a row whose mapped
	// values equal what was last confirmed for its key is unchanged
	// without a call, a changed row sends only its changed fields to the
	// customer the key became, and every outcome is recorded (not on a
	// dry run).
	State State
	// FullResync ignores what the state knows (it is still written):
	// every row is matched and compared against the CRM.
	FullResync bool
	// Reconcile keeps the state's key → customer links but compares every
	// row with what the CRM holds now, catching edits made in the CRM.
	Reconcile bool
	// KeyColumn is the source column of the mapping's key, used to tell
	// which keys a row the source could not parse belonged to; -1 when
	// unknown.
	KeyColumn int
	// MaxBlank aborts the run before it blanks a field that holds a value
	// in the CRM on more customers than this (a share of the customers the
	// state holds); a dry run warns instead. Zero allows no blanking at
	// all. It needs a State.
	MaxBlank Threshold
	// MaxDelete bounds the deletes of a mirror run, and how far the
	// source may shrink since PreviousRead; zero allows none.
	MaxDelete Threshold
	// PreviousRead is how many rows the last complete run read (0: none).
	PreviousRead int64
	// OnWritten, when set, sees what each batch wrote (or, on a dry run,
	// would write), from one goroutine at a time. An error from it is
	// fatal.
	OnWritten func([]Written) error
	Logger    *slog.Logger
}

// Written is one customer a run created, updated or deleted, for the
// diff report.
type Written struct {
	Key, CRMID string
	// Action is "create", "update" or "delete".
	Action string
	// Changes are the fields an update sent, with the values before (when
	// known) and after; creates and deletes have none.
	Changes []FieldChange
	// MatchField and Match name the customer by its match value (email).
	MatchField, Match string
}

// FieldChange is one field a write set.
type FieldChange struct {
	Field    string
	Old, New string
}

// defaultSeenInMemory keeps up to about 12 MiB of hashes per set in
// memory: a run's memory then stays flat from one million rows to many
// more.
const defaultSeenInMemory = 1 << 20

// Counts are the running totals of a run; they always add up:
// Read = Created + Updated + Unchanged + Rejected + Pending.
type Counts struct {
	Read, Created, Updated, Unchanged, Rejected, Pending int64
	// Deleted counts the customers a mirror run deleted (or would
	// delete); they are not rows of the source.
	Deleted int64
	// UnchangedBySource counts the unchanged rows recognised by their
	// source digest, which the run did not need to map (see
	// SourceDigester); they are counted in Unchanged too.
	UnchangedBySource int64
}

// Run is one execution of the engine.
type Run struct {
	opts RunOptions
	// rowMapper maps, validates and normalises the rows.
	rowMapper

	read, created, updated, unchanged, rejected, deleted atomic.Int64
	unchangedBySource                                    atomic.Int64

	// idx is the state's keys (nil without a state); synced counts those
	// with a confirmed write, the base of the --max-blank and
	// --max-delete shares. keyless counts rejected rows whose key could
	// not be read, which a mirror run must not take as gone.
	idx     *stateIndex
	synced  int64
	keyless int64
	// failed collects the dispatcher's rejects of known keys, for the
	// state's failure counts.
	failed []StateOutcome
	// digester, when the mapper is one and the run has a state, gives
	// each row its source digest, recorded with confirmed writes; with
	// skipBySource (the run may take rows as unchanged) mapBatch skips
	// the rows whose digest the state holds.
	// newSourceKeys and newSources collect, for SetSources, rows found
	// unchanged by their mapped values whose source digest the state
	// did not hold.
	digester      SourceDigester
	skipBySource  bool
	newSourceKeys []string
	newSources    []uint64

	// held are the changes that would blank a CRM value, sent only once
	// the source is read and the blanking stayed under MaxBlank.
	heldMu       sync.Mutex
	held         []sinkItem
	blanked      int64
	blankByField map[string]int64
	blankStop    bool

	warnMu   sync.Mutex
	warnings []string
	phases   []Phase

	// seenKeys and seenMatch detect repeated keys and match values (the
	// email); the mapping workers hash with keyHash and matchHash, copies
	// of the sets' hashers. matchField is the schema index of the match
	// field, or -1 when the mapping does not fill it.
	seenKeys, seenMatch *spillSet
	keyHash, matchHash  hasher
	matchField          int
	// owners names the row that claimed each match value, for the reject
	// of a later row that repeats it; seenMatch keeps its tags.
	owners *ownerLog

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
	if mf := opts.Sink.Properties().MaxInFlight; mf > 0 && opts.Concurrency > mf {
		opts.Concurrency = mf
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
	if _, ok := opts.Sink.(Deleter); opts.Mode == ModeMirror && (!ok || !opts.Sink.Properties().CanDelete) {
		return nil, Fatalf("--mode mirror deletes the customers missing from the source, and %s cannot delete customers: use --mode upsert", s.API)
	}
	if opts.Mode == ModeMirror && opts.State == nil {
		return nil, Fatalf("--mode mirror needs a state (--state): only customers crmsync synced before can be told gone")
	}
	if opts.Reconcile && opts.FullResync {
		return nil, Fatalf("--reconcile and --full-resync do not go together: reconcile keeps the state's links, a full resync ignores them")
	}
	r := &Run{opts: opts, rowMapper: newRowMapper(s, opts.Mapper, opts.Mapped), byStage: map[string]int64{}, byCode: map[string]int64{}, blankByField: map[string]int64{},
		seenKeys:   newSpillSet(opts.SeenInMemory, opts.TempDir),
		seenMatch:  newTaggedSpillSet(opts.SeenInMemory, opts.TempDir),
		owners:     &ownerLog{dir: opts.TempDir},
		matchField: s.Index(s.MatchField)}
	r.keyHash, r.matchHash = r.seenKeys.hasher, r.seenMatch.hasher
	if r.matchField >= 0 && !opts.Mapped[r.matchField] {
		r.matchField = -1
	}
	if d, ok := opts.Mapper.(SourceDigester); ok && opts.State != nil {
		r.digester, r.skipBySource = d, r.takesUnchanged()
	}
	return r, nil
}

// takesUnchanged reports whether the run may take a known row as unchanged
// from the state alone, without the sink: not when it must compare with
// the CRM (--reconcile), ignore the state (--full-resync), or hand every
// row to the sink, which refuses existing ones (create mode).
func (r *Run) takesUnchanged() bool {
	return !r.opts.FullResync && !r.opts.Reconcile && r.opts.Mode != ModeCreate
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
		Deleted:           r.deleted.Load(),
		UnchangedBySource: r.unchangedBySource.Load(),
		Read:              r.read.Load(),
		Created:           r.created.Load(),
		Updated:           r.updated.Load(),
		Unchanged:         r.unchanged.Load(),
		Rejected:          r.rejected.Load(),
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
	// stableKey and digest are, with a state, each row's KeyHash (0: no
	// key) and each valid record's Digest; source its source digest (0:
	// none), and skipped marks the rows found unchanged by it, which were
	// not mapped (their record holds the key and match value alone).
	stableKey, digest, source []uint64
	skipped                   []bool
	// slot is, with a state, where each row's key is in the state index:
	// the mapping workers probe it, in parallel, so the dispatcher need
	// not (-1: not there or no key).
	slot []int32
	// estimatedRows is, on the first batch only, how many rows the source
	// expects in all (0: unknown).
	estimatedRows int64
	ready         chan struct{}
}

// sinkItem is one change on its way to the sink.
type sinkItem struct {
	ch             Change
	digest, source uint64
}

// Phase is how long one part of a run took.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Phases returns how long each part of the run took, once Execute
// returned.
func (r *Run) Phases() []Phase { return append([]Phase(nil), r.phases...) }

func (r *Run) phase(name string, since time.Time) time.Time {
	now := time.Now()
	r.phases = append(r.phases, Phase{Name: name, Duration: now.Sub(since)})
	return now
}

// Warnings returns what the run warned about (blanking over the limit on
// a dry run, mirror deletes refused).
func (r *Run) Warnings() []string {
	r.warnMu.Lock()
	defer r.warnMu.Unlock()
	return append([]string(nil), r.warnings...)
}

func (r *Run) warn(msg string) {
	r.warnMu.Lock()
	r.warnings = append(r.warnings, msg)
	r.warnMu.Unlock()
	r.opts.Logger.Warn(msg)
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
	mark := time.Now()
	if r.opts.State != nil {
		if err := r.loadState(ctx); err != nil {
			return err
		}
		mark = r.phase("load state", mark)
	}
	plan := Plan{Mapped: r.opts.Mapped, Mode: r.opts.Mode, DryRun: r.opts.DryRun,
		IndexAccount: r.idx == nil || r.synced == 0 || r.opts.FullResync || r.opts.Reconcile}
	if r.opts.State != nil {
		plan.Claim = r.claim
	}
	if err := r.opts.Sink.Prepare(ctx, plan); err != nil {
		return err
	}
	mark = r.phase("prepare target", mark)
	defer r.seenKeys.Close()
	defer r.seenMatch.Close()
	defer r.owners.Close()

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
			seen := make(passed, len(r.schema.Fields))
			for b := range toMap {
				r.mapBatch(b, seen)
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
	if err := r.flushFailed(work); err != nil {
		r.halt(err, true)
	}
	if err := r.flushSources(work); err != nil {
		r.halt(err, true)
	}
	complete := stopping.Err() == nil && readErr == nil
	mark = r.phase("read and send", mark)
	if r.releaseHeld(ctx, work, complete) {
		mark = r.phase("blanking writes", mark)
	}

	r.stopMu.Lock()
	stopErr := r.stopErr
	r.stopMu.Unlock()
	if stopErr == nil && complete && r.opts.Mode == ModeMirror {
		err := r.mirror(work)
		r.phase("mirror deletes", mark)
		if err != nil {
			return err
		}
	}
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
	first := true
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
		if first {
			if e, ok := r.opts.Source.(RowEstimator); ok {
				b.estimatedRows = e.EstimatedRows()
			}
			first = false
		}
		select {
		case ordered <- b:
		case <-stopping.Done():
			return nil
		}
		toMap <- b
	}
}

func (r *Run) mapBatch(b *sourceBatch, seen passed) {
	n := len(b.rows)
	width := len(r.schema.Fields)
	b.recs = make([]Record, n)
	b.rejects = make([]*Reject, n)
	b.keyHash = make([]uint64, n)
	b.matchHash = make([]uint64, n)
	withState := r.idx != nil
	if withState {
		b.stableKey = make([]uint64, n)
		b.digest = make([]uint64, n)
		b.slot = make([]int32, n)
		if r.digester != nil {
			b.source = make([]uint64, n)
			b.skipped = make([]bool, n)
		}
	}
	// One allocation holds every record's values for the batch.
	values := make([]string, n*width)
	defer func() {
		if withState {
			for i, h := range b.stableKey {
				if b.skipped != nil && b.skipped[i] {
					continue // skipUnchanged found it
				}
				b.slot[i] = -1
				if h != 0 {
					b.slot[i] = int32(r.idx.find(h))
				}
			}
		}
	}()
	for i := range b.rows {
		row := &b.rows[i]
		if row.Reject != nil {
			b.rejects[i] = row.Reject
			if withState {
				b.stableKey[i] = r.recoveredKey(row)
			}
			continue
		}
		rec := &b.recs[i]
		rec.Values = values[i*width : (i+1)*width : (i+1)*width]
		if r.digester != nil && r.skipUnchanged(b, i, row, rec) {
			continue
		}
		rej := r.mapRow(row, rec, values[i*width:(i+1)*width:(i+1)*width], seen)
		// A rejected row's key still counts as seen: "a key that appears
		// twice is rejected at its second row" whatever became of the
		// first, so a fixed first row fed back later cannot make a second
		// customer for the same key.
		if rec.Key != "" {
			b.keyHash[i] = r.keyHash.hash(rec.Key)
			if withState {
				b.stableKey[i] = KeyHash(rec.Key)
			}
		}
		if rej != nil {
			b.rejects[i] = rej
			// The first row that carries a match value owns it, whatever
			// becomes of the row: a later row with the same value is a
			// repeat even when this one is rejected.
			if r.matchField >= 0 && rec.Values != nil && strings.TrimSpace(rec.Values[r.matchField]) != "" {
				b.matchHash[i] = r.matchHashOf(rec.Values[r.matchField])
			}
			continue
		}
		if withState {
			b.digest[i] = Digest(r.schema, r.opts.Mapped, rec.Values)
		}
		if r.matchField >= 0 && strings.TrimSpace(rec.Values[r.matchField]) != "" {
			b.matchHash[i] = r.matchHashOf(rec.Values[r.matchField])
		}
	}
}

// skipUnchanged takes row i as unchanged, without mapping it, when its
// source digest is the one the state recorded with its key's last
// confirmed write. It fills what the dispatcher needs of the record: the
// key, the match value for repeat detection, and their hashes.
func (r *Run) skipUnchanged(b *sourceBatch, i int, row *Row, rec *Record) bool {
	src := r.digester.SourceDigest(row)
	b.source[i] = src
	if src == 0 || !r.skipBySource {
		return false
	}
	key := r.digester.Key(row)
	if key == "" {
		return false
	}
	stable := KeyHash(key)
	slot := r.idx.find(stable)
	if slot < 0 || r.idx.source(slot) != src || r.idx.digest(slot) == 0 {
		return false
	}
	var match string
	if r.matchField >= 0 {
		v, ok := r.digester.MapField(row, r.matchField)
		if !ok {
			return false
		}
		match = r.canonical(r.matchField, trimSpaceFast(v))
		rec.Values[r.matchField] = match
	}
	rec.Row, rec.Key = row, key
	b.stableKey[i], b.keyHash[i], b.slot[i] = stable, r.keyHash.hash(key), int32(slot)
	if match != "" {
		b.matchHash[i] = r.matchHashOf(match)
	}
	b.skipped[i] = true
	return true
}

// dispatch takes mapped batches in source order, rejects repeated keys
// and match values, and hands full sink batches to the sink, each once a
// slot is free. It sends nothing once stopping is done.
func (r *Run) dispatch(ctx, stopping, work context.Context, g *errgroup.Group, ordered <-chan *sourceBatch) {
	maxBatch := max(r.opts.Sink.Properties().MaxBatch, 1)
	// Sink batches are recycled once applied: made afresh, they were a
	// twentieth of what a dry run allocated. Nothing keeps a batch's slice
	// after applyBatch (the blanking guard keeps copies of its items).
	free := sync.Pool{New: func() any { s := make([]sinkItem, 0, maxBatch); return &s }}
	pending := *free.Get().(*[]sinkItem)
	slots := make(chan struct{}, r.opts.Concurrency)
	// Rows of a known key whose values did not change since the last
	// confirmed write need no call; create mode still hands them to the
	// sink, which refuses them.
	shortcut := r.idx != nil && !r.opts.FullResync && !r.opts.Reconcile && r.opts.Mode != ModeCreate

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
		pending = *free.Get().(*[]sinkItem)
		g.Go(func() error {
			defer func() { <-slots }()
			err := r.applyBatch(ctx, work, batch, true)
			clear(batch)
			batch = batch[:0]
			free.Put(&batch)
			return err
		})
	}
	rejectRow := func(row *Row, rej *Reject, key string) bool {
		if err := r.reject(row, rej); err != nil {
			r.halt(err, true)
			return false
		}
		if key != "" && r.opts.State != nil && !r.opts.DryRun {
			r.failed = append(r.failed, StateOutcome{Key: key, Outcome: OutcomeRejected, Reject: rej})
			if len(r.failed) >= 1000 {
				if err := r.flushFailed(work); err != nil {
					r.halt(err, true)
					return false
				}
			}
		}
		return r.checkAbort()
	}

	var repeats repeatScratch
	for b := range ordered {
		select {
		case <-b.ready:
		case <-stopping.Done():
			return
		}
		if b.estimatedRows > 0 {
			r.reserveRepeats(b.estimatedRows)
		}
		if err := r.detectRepeats(b, &repeats); err != nil {
			r.halt(Fatal(err), true)
			return
		}
		for i := range b.rows {
			if stopping.Err() != nil {
				return
			}
			r.read.Add(1)
			slot := -1
			if r.idx != nil {
				// A key in the source, valid or not, is not gone: a mirror
				// run must not delete its customer.
				if h := b.stableKey[i]; h != 0 {
					if slot = int(b.slot[i]); slot >= 0 {
						r.idx.markSeen(slot)
					}
				} else {
					r.keyless++
				}
			}
			if rej := b.rejects[i]; rej != nil {
				if !rejectRow(&b.rows[i], rej, b.recs[i].Key) {
					return
				}
				continue
			}
			rec := &b.recs[i]
			if !repeats.keyNew[i] {
				if !rejectRow(&b.rows[i], &Reject{Stage: StageValidate, Code: CodeDuplicateKey, Message: fmt.Sprintf("key %q appears earlier in the input; only its first row is synced", rec.Key)}, "") {
					return
				}
				continue
			}
			if !repeats.matchNew[i] {
				if !rejectRow(&b.rows[i], r.repeatReject(rec, repeats.owner[i]), rec.Key) {
					return
				}
				continue
			}
			var digest, source uint64
			if r.idx != nil {
				if b.skipped != nil && b.skipped[i] {
					r.unchanged.Add(1)
					r.unchangedBySource.Add(1)
					continue
				}
				digest = b.digest[i]
				if b.source != nil {
					source = b.source[i]
				}
				if shortcut && slot >= 0 && r.idx.digest(slot) == digest {
					r.unchanged.Add(1)
					if source != 0 && r.idx.source(slot) != source && !r.opts.DryRun {
						r.newSourceKeys = append(r.newSourceKeys, rec.Key)
						r.newSources = append(r.newSources, source)
						if len(r.newSourceKeys) >= 1000 {
							if err := r.flushSources(work); err != nil {
								r.halt(err, true)
								return
							}
						}
					}
					continue
				}
			}
			pending = append(pending, sinkItem{ch: Change{Record: rec}, digest: digest, source: source})
			if len(pending) == maxBatch {
				flush()
			}
		}
	}
	flush()
}

// reserveRepeats makes room in the repeat-detection sets for the rows a
// source expects, so they need not grow: growing a set copies it, and
// the new table lives beside the old one for a moment. Keys the state
// knows are marked in the state index instead of a set.
func (r *Run) reserveRepeats(rows int64) {
	keys := rows
	if r.idx != nil {
		keys -= int64(r.idx.len())
	}
	r.seenKeys.reserve(int(max(keys, 0)))
	r.seenMatch.reserve(int(rows))
}

// repeatScratch is the dispatcher's memory for detectRepeats, reused
// from batch to batch.
type repeatScratch struct {
	keyNew, matchNew []bool
	hashes           []uint64
	at               []int
	isNew            []bool
	// owner is, per row whose match value was not new, the owners tag of
	// the row that claimed it; tags and prev are the probe's.
	owner      []uint32
	tags, prev []uint32
}

// detectRepeats records the keys and match values of batch b as seen, in
// source order, and sets sc.keyNew[i] to whether row i's key was new and
// sc.matchNew[i] to whether its match value was new (true when it has
// none, or the row is not checked for one). A rejected row's key counts
// as seen; only a valid row with a new key claims its match value. Each
// set is probed once for the whole batch (see hashSet for why).
//
// A key the state knows (a slot in the state index) is marked there
// instead, which spares the larger set a probe on every row of a nightly
// run.
func (r *Run) detectRepeats(b *sourceBatch, sc *repeatScratch) error {
	n := len(b.rows)
	if cap(sc.keyNew) < n {
		*sc = repeatScratch{keyNew: make([]bool, n), matchNew: make([]bool, n),
			hashes: make([]uint64, 0, n), at: make([]int, 0, n), isNew: make([]bool, n),
			owner: make([]uint32, n), tags: make([]uint32, 0, n), prev: make([]uint32, n)}
	}
	sc.keyNew, sc.matchNew, sc.owner = sc.keyNew[:n], sc.matchNew[:n], sc.owner[:n]
	sc.hashes, sc.at = sc.hashes[:0], sc.at[:0]
	for i := range n {
		sc.keyNew[i] = false
		if b.rejects[i] != nil && b.keyHash[i] == 0 {
			continue
		}
		if r.idx != nil && b.stableKey[i] != 0 && b.slot[i] >= 0 {
			sc.keyNew[i] = r.idx.markKeyed(int(b.slot[i]))
			continue
		}
		sc.hashes, sc.at = append(sc.hashes, b.keyHash[i]), append(sc.at, i)
	}
	if err := sc.probe(r.seenKeys, sc.keyNew); err != nil {
		return err
	}
	// Every row that carries a match value claims it, in source order,
	// whatever else becomes of the row: the first one owns it.
	sc.tags = sc.tags[:0]
	for i := range n {
		sc.matchNew[i] = true
		if r.matchField < 0 || b.matchHash[i] == 0 {
			continue
		}
		tag := r.owners.add(b.rows[i].Num, b.recs[i].Key)
		sc.hashes, sc.at, sc.tags = append(sc.hashes, b.matchHash[i]), append(sc.at, i), append(sc.tags, tag)
	}
	if err := r.owners.flush(); err != nil {
		return err
	}
	m := len(sc.hashes)
	if cap(sc.prev) < m {
		sc.prev = make([]uint32, m)
	}
	if err := r.seenMatch.addTagged(sc.hashes, sc.tags, sc.isNew[:m], sc.prev[:m]); err != nil {
		return err
	}
	for j, i := range sc.at {
		sc.matchNew[i] = sc.isNew[j]
		sc.owner[i] = sc.prev[j]
	}
	sc.hashes, sc.at = sc.hashes[:0], sc.at[:0]
	return nil
}

// repeatReject is the reject of a valid row whose match value an earlier
// row owns (see detectRepeats), naming that row and its key.
func (r *Run) repeatReject(rec *Record, owner uint32) *Reject {
	mf := r.schema.MatchField
	first := "an earlier row"
	if row, key, ok := r.owners.owner(owner); ok {
		if key != "" {
			first = fmt.Sprintf("row %d (key %q)", row, key)
		} else {
			first = fmt.Sprintf("row %d (whose key could not be read)", row)
		}
	}
	return &Reject{Stage: StageValidate, Code: DuplicateCode(mf), Field: mf,
		Message: fmt.Sprintf("%s %q is %s's: the first row that carries a %s owns it, whatever becomes of that row, and one %s customer cannot hold two rows",
			mf, rec.Values[r.matchField], first, mf, r.schema.API)}
}

// probe adds the gathered hashes to set, in order, and sets each one's
// answer in isNew at its row; it leaves nothing gathered.
func (sc *repeatScratch) probe(set *spillSet, isNew []bool) error {
	if err := set.addHashes(sc.hashes, sc.isNew[:len(sc.hashes)]); err != nil {
		return err
	}
	for j, i := range sc.at {
		isNew[i] = sc.isNew[j]
	}
	sc.hashes, sc.at = sc.hashes[:0], sc.at[:0]
	return nil
}

// applyBatch writes one batch and accounts for each of its rows. With a
// state it first decides, from what was last confirmed, which fields each
// known row changes (unchanged rows stop here) and holds back those that
// would blank a CRM value (when guard is set), journals the writes, and
// records the outcomes after. A sink error stops the run; after an
// interruption whose grace ran out it is only the interruption, and the
// batch's rows stay pending.
func (r *Run) applyBatch(ctx, work context.Context, batch []sinkItem, guard bool) error {
	sc := getScratch(len(batch))
	defer putScratch(sc)
	results, done := sc.results, sc.done
	var entries map[string]*StateEntry
	if r.opts.State != nil && !r.opts.FullResync {
		keys := make([]string, len(batch))
		for i := range batch {
			keys[i] = batch[i].ch.Record.Key
		}
		var err error
		if entries, err = r.opts.State.Entries(work, keys); err != nil {
			r.halt(Fatal(err), true)
			return err
		}
		for i := range batch {
			it := &batch[i]
			e := entries[it.ch.Record.Key]
			if e == nil {
				continue
			}
			it.ch.AltMatch = e.UnconfirmedMatch
			if e.CRMID == "" {
				continue
			}
			it.ch.ID = e.CRMID
			if r.opts.Reconcile {
				continue
			}
			send, blanks := r.changedFields(it.ch.Record, e.Fields)
			if e.Failures > 0 {
				// The last attempt failed, so what the state holds may not
				// be what the CRM holds (the customer may even be gone):
				// the row is written again, whole, and never taken as
				// unchanged.
				send = nil
			} else if !anyTrue(send) {
				results[i], done[i] = Result{Outcome: OutcomeUnchanged, ID: e.CRMID}, true
				continue
			}
			it.ch.Send = send
			if guard && len(blanks) > 0 && r.holdBlanking(it, blanks) {
				results[i], done[i] = Result{Outcome: OutcomePending}, true
			}
		}
	}

	send, at := sc.send, sc.at
	for i := range batch {
		if !done[i] {
			send = append(send, batch[i].ch)
			at = append(at, i)
		}
	}
	if len(send) > 0 {
		if r.opts.State != nil && !r.opts.DryRun {
			planned := make([]PlannedWrite, len(send))
			for j := range send {
				planned[j] = PlannedWrite{Key: send[j].Record.Key, CRMID: send[j].ID}
				if r.matchField >= 0 {
					planned[j].Match = send[j].Record.Values[r.matchField]
				}
			}
			if err := r.opts.State.Begin(work, planned); err != nil {
				r.halt(Fatal(err), true)
				return err
			}
		}
		sub := sc.sub[:len(send)]
		if err := r.opts.Sink.Apply(work, send, sub); err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				return err
			}
			r.halt(err, true)
			return err
		}
		for j, i := range at {
			results[i] = sub[j]
			batch[i].ch = send[j]
			if sub[j].Outcome == OutcomePending {
				// A sink that leaves a result empty has lost track of a
				// row; the row must not vanish from the counts.
				results[i] = Result{Outcome: OutcomeRejected, Reject: &Reject{Stage: StageAPI, Code: CodeNoOutcome, Message: "the sink returned no outcome for this row"}}
			}
		}
	}
	return r.account(work, batch, results, entries, sc)
}

// applyScratch holds the slices applyBatch and account need for one
// batch. They are pooled: made afresh per batch, they were a third of
// what a run allocated, and the collector's work grows with that.
type applyScratch struct {
	results, sub []Result
	done         []bool
	send         []Change
	at           []int
	written      []Written
}

var scratchPool = sync.Pool{New: func() any { return new(applyScratch) }}

// getScratch returns scratch for a batch of n.
func getScratch(n int) *applyScratch {
	sc := scratchPool.Get().(*applyScratch)
	if cap(sc.results) < n {
		*sc = applyScratch{results: make([]Result, n), sub: make([]Result, n), done: make([]bool, n),
			send: make([]Change, 0, n), at: make([]int, 0, n), written: make([]Written, 0, n)}
	}
	sc.results, sc.sub, sc.done = sc.results[:n], sc.sub[:n], sc.done[:n]
	return sc
}

// putScratch clears sc, so that a pooled scratch keeps no batch's records
// alive, and pools it.
func putScratch(sc *applyScratch) {
	clear(sc.results)
	clear(sc.sub)
	clear(sc.done)
	// send and written were filled by appends to local copies of the
	// slices, within their capacity.
	clear(sc.send[:cap(sc.send)])
	clear(sc.written[:cap(sc.written)])
	sc.send, sc.at, sc.written = sc.send[:0], sc.at[:0], sc.written[:0]
	scratchPool.Put(sc)
}

func (r *Run) account(work context.Context, batch []sinkItem, results []Result, entries map[string]*StateEntry, sc *applyScratch) error {
	var outcomes []StateOutcome
	written := sc.written
	for i := range batch {
		it, res := &batch[i], &results[i]
		rec := it.ch.Record
		var old map[string]string
		if e := entries[rec.Key]; e != nil {
			old = e.Fields
		}
		if res.ID == "" && !r.opts.DryRun && (res.Outcome == OutcomeCreated || res.Outcome == OutcomeUpdated || res.Outcome == OutcomeUnchanged) {
			// A write the target confirmed without naming its customer
			// cannot be bound to the key: counted as done, the next run
			// would create the customer again.
			*res = Result{Outcome: OutcomeRejected, Reject: &Reject{Stage: StageAPI, Code: CodeNoID,
				Message: fmt.Sprintf("%s confirmed the write without a customer id, so crmsync cannot tell which customer holds this row; the next run looks it up by %s",
					r.schema.API, r.schema.MatchField)}}
		}
		switch res.Outcome {
		case OutcomeCreated, OutcomeUpdated, OutcomeUnchanged:
			if r.opts.State != nil {
				outcomes = append(outcomes, StateOutcome{Key: rec.Key, Outcome: res.Outcome, CRMID: res.ID,
					Digest: it.digest, Source: it.source, Fields: r.crmFields(rec, res.Outcome == OutcomeCreated, old, res.Old)})
			}
			if r.opts.OnWritten != nil && res.Outcome != OutcomeUnchanged {
				written = append(written, r.written(&it.ch, res, old))
			}
		case OutcomeRejected:
			if r.opts.State != nil {
				outcomes = append(outcomes, StateOutcome{Key: rec.Key, Outcome: OutcomeRejected, Reject: res.Reject})
			}
		}
	}
	if len(outcomes) > 0 && !r.opts.DryRun {
		// The target has answered these writes: they are recorded even
		// when another batch's fatal error is stopping the run, or the
		// next run would have to find again what this one knew.
		if err := r.opts.State.Commit(context.WithoutCancel(work), outcomes); err != nil {
			r.halt(Fatal(err), true)
			return err
		}
	}
	if len(written) > 0 {
		r.rejMu.Lock()
		err := r.opts.OnWritten(written)
		r.rejMu.Unlock()
		if err != nil {
			r.halt(Fatal(err), true)
			return err
		}
	}
	for i := range batch {
		res := &results[i]
		if r.opts.OnResult != nil && res.Outcome != OutcomePending {
			r.rejMu.Lock()
			err := r.opts.OnResult(&batch[i].ch, res)
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
		case OutcomePending:
			// Held back by the blanking guard; released or rejected at
			// the end of the run.
		default:
			rej := res.Reject
			if rej == nil {
				rej = &Reject{Stage: StageAPI, Code: CodeUnknown, Message: "the sink rejected the row without a reason"}
			}
			if err := r.reject(batch[i].ch.Record.Row, rej); err != nil {
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
