package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
)

// The fakes below let the engine be tested in seconds, without a CRM
// emulator or a SQLite state: a slice source, a mapper that copies
// columns, an in-memory reject writer, a sink whose behaviour is given by
// function fields (as restic's mock backend) and an in-memory state.

// fakeSchema has a match field, a required name, and two fields that an
// update may clear, which the blanking guard watches.
var fakeSchema = &pipeline.Schema{
	API:        "fake",
	MatchField: "email",
	MatchFold:  true,
	Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true},
		{Name: "name", Kind: pipeline.KindString, RequiredOnCreate: true},
		{Name: "team", Kind: pipeline.KindString, Clear: pipeline.ClearEmpty},
		{Name: "note", Kind: pipeline.KindString, Clear: pipeline.ClearEmpty},
	},
}

// fakeColumns are the source's columns: the key, then one per schema
// field, in schema order.
var fakeColumns = []string{"key", "email", "name", "team", "note"}

// allMapped marks every field of fakeSchema as filled by the mapping.
func allMapped() []bool { return []bool{true, true, true, true} }

// fakeValues returns a row's values for key n: a distinct email, and a
// team and note that a test may blank.
func fakeValues(n int) []string {
	return []string{fmt.Sprintf("k%d", n), fmt.Sprintf("c%d@example.com", n), fmt.Sprintf("Customer %d", n), "sales", "vip"}
}

// sliceSource yields rows in batches of size.
type sliceSource struct {
	rows []pipeline.Row
	size int
	mu   sync.Mutex
	next int
}

// newSliceSource numbers the rows from 1, as a source does.
func newSliceSource(size int, values ...[]string) *sliceSource {
	s := &sliceSource{size: size}
	for i, v := range values {
		s.rows = append(s.rows, pipeline.Row{Num: int64(i + 1), Line: int64(i + 2), Values: v})
	}
	return s
}

func (s *sliceSource) Columns() []string { return fakeColumns }

func (s *sliceSource) Next(ctx context.Context) ([]pipeline.Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= len(s.rows) {
		return nil, io.EOF
	}
	end := min(s.next+s.size, len(s.rows))
	batch := slices.Clone(s.rows[s.next:end])
	s.next = end
	return batch, nil
}

func (s *sliceSource) Close() error { return nil }

// copyMapper takes the key from column 0 and field f from column f+1.
type copyMapper struct{}

func (copyMapper) Apply(row *pipeline.Row, rec *pipeline.Record) *pipeline.Reject {
	if len(row.Values) != len(fakeColumns) {
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: "field_count", Message: "wrong number of values"}
	}
	rec.Values = rec.Values[:len(fakeSchema.Fields)]
	rec.Key = row.Values[0]
	if rec.Key == "" {
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: pipeline.CodeRequired, Column: "key", Message: "no key"}
	}
	copy(rec.Values, row.Values[1:])
	return nil
}

// rejected is one line of a reject file.
type rejected struct {
	Row    int64
	Key    string
	Reject pipeline.Reject
}

// memRejects is a RejectWriter that keeps what it is given.
type memRejects struct {
	mu   sync.Mutex
	rows []rejected
}

func (w *memRejects) Write(row *pipeline.Row, rej *pipeline.Reject) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var key string
	if len(row.Values) > 0 {
		key = row.Values[0]
	}
	w.rows = append(w.rows, rejected{Row: row.Num, Key: key, Reject: *rej})
	return nil
}

func (w *memRejects) Close() error { return nil }

func (w *memRejects) all() []rejected {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.rows)
}

// fakeSink is a Sink and Deleter whose behaviour is its function fields.
// A nil ApplyFn answers as a CRM would (see createOrUpdate); a nil
// DeleteFn fails the run, so a test that expects no delete need not say
// so. calls records, per Apply, the keys it was given.
type fakeSink struct {
	MaxBatch  int
	PrepareFn func(ctx context.Context, plan pipeline.Plan) error
	ApplyFn   func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error
	DeleteFn  func(ctx context.Context, ids []string, deleted []bool) error
	// NoDelete makes the sink say it cannot delete (Properties.CanDelete).
	NoDelete bool

	stats pipeline.CallStats
	mu    sync.Mutex
	calls [][]pipeline.Change
}

var _ pipeline.Deleter = (*fakeSink)(nil)

func (s *fakeSink) Schema() *pipeline.Schema { return fakeSchema }

func (s *fakeSink) Properties() pipeline.Properties {
	return pipeline.Properties{MaxBatch: s.MaxBatch, CanDelete: !s.NoDelete}
}

func (s *fakeSink) Prepare(ctx context.Context, plan pipeline.Plan) error {
	if s.PrepareFn != nil {
		return s.PrepareFn(ctx, plan)
	}
	return nil
}

func (s *fakeSink) Apply(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
	s.mu.Lock()
	// The engine recycles its batches: keep copies.
	kept := make([]pipeline.Change, len(changes))
	for i, ch := range changes {
		rec := *ch.Record
		rec.Values = slices.Clone(rec.Values)
		kept[i] = ch
		kept[i].Record = &rec
		kept[i].Send = slices.Clone(ch.Send)
	}
	s.calls = append(s.calls, kept)
	s.mu.Unlock()
	s.stats.Calls.Add(1)
	if s.ApplyFn != nil {
		return s.ApplyFn(ctx, changes, results)
	}
	// A sink's calls fail once its context ends.
	if err := ctx.Err(); err != nil {
		return err
	}
	createOrUpdate(changes, results)
	return nil
}

// createOrUpdate answers a change with a known id updated, and any other
// created with the id "id-<key>".
func createOrUpdate(changes []pipeline.Change, results []pipeline.Result) {
	for i, ch := range changes {
		if ch.ID != "" {
			results[i] = pipeline.Result{Outcome: pipeline.OutcomeUpdated, ID: ch.ID}
			continue
		}
		results[i] = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: "id-" + ch.Record.Key}
	}
}

func (s *fakeSink) Delete(ctx context.Context, ids []string, deleted []bool) error {
	if s.DeleteFn == nil {
		return pipeline.Fatalf("fake sink: Delete called on %d ids, and the test expects none", len(ids))
	}
	return s.DeleteFn(ctx, ids, deleted)
}

func (s *fakeSink) Stats() *pipeline.CallStats { return &s.stats }

func (s *fakeSink) Close() error { return nil }

// sent returns every change handed to Apply, in the order of the calls.
func (s *fakeSink) sent() []pipeline.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []pipeline.Change
	for _, c := range s.calls {
		all = append(all, c...)
	}
	return all
}

// sentKeys returns the keys of every change handed to Apply.
func (s *fakeSink) sentKeys() []string {
	var keys []string
	for _, ch := range s.sent() {
		keys = append(keys, ch.Record.Key)
	}
	return keys
}

// memEntry is what memState holds for one key.
type memEntry struct {
	crmID          string
	fields         map[string]string
	digest, source uint64
	failures       int
}

// memState is an in-memory State. BeginFn and CommitFn, when set, are
// called first and may fail the call, for tests that observe or break
// the journal. Like a state on SQLite, it fails once its context ends.
type memState struct {
	BeginFn  func(ctx context.Context, writes []pipeline.PlannedWrite) error
	CommitFn func(ctx context.Context, outcomes []pipeline.StateOutcome) error

	mu      sync.Mutex
	entries map[string]*memEntry
	// journal holds every write ever journalled, by key (the last one);
	// open those not committed since.
	journal map[string]pipeline.PlannedWrite
	open    map[string]bool
	forgot  []string
}

func newMemState() *memState {
	return &memState{entries: map[string]*memEntry{}, journal: map[string]pipeline.PlannedWrite{}, open: map[string]bool{}}
}

// seed records values (as fakeValues returns them, key first) as
// confirmed in the CRM under the id "id-<key>", as a complete earlier run
// would leave them.
func (s *memState) seed(values ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		fields := map[string]string{}
		for f, field := range fakeSchema.Fields {
			fields[field.Name] = v[f+1]
		}
		s.entries[v[0]] = &memEntry{crmID: "id-" + v[0], fields: fields,
			digest: pipeline.Digest(fakeSchema, allMapped(), v[1:])}
	}
}

func (s *memState) Scan(ctx context.Context, size func(int), fn func(keyHash, digest, source uint64)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size(len(s.entries))
	for k, e := range s.entries {
		fn(pipeline.KeyHash(k), e.digest, e.source)
	}
	return nil
}

func (s *memState) Entries(ctx context.Context, keys []string) (map[string]*pipeline.StateEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*pipeline.StateEntry{}
	for _, k := range keys {
		if e, ok := s.entries[k]; ok {
			out[k] = &pipeline.StateEntry{CRMID: e.crmID, Fields: maps.Clone(e.fields), Failures: e.failures}
		}
	}
	return out, nil
}

func (s *memState) Begin(ctx context.Context, writes []pipeline.PlannedWrite) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.BeginFn != nil {
		if err := s.BeginFn(ctx, writes); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		s.journal[w.Key] = w
		s.open[w.Key] = true
	}
	return nil
}

func (s *memState) Commit(ctx context.Context, outcomes []pipeline.StateOutcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.CommitFn != nil {
		if err := s.CommitFn(ctx, outcomes); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range outcomes {
		delete(s.open, o.Key)
		e := s.entries[o.Key]
		if e == nil {
			e = &memEntry{}
			s.entries[o.Key] = e
		}
		switch o.Outcome {
		case pipeline.OutcomeCreated, pipeline.OutcomeUpdated, pipeline.OutcomeUnchanged:
			e.crmID, e.digest, e.source, e.failures = o.CRMID, o.Digest, o.Source, 0
			if o.Fields != nil {
				e.fields = maps.Clone(o.Fields)
			}
		case pipeline.OutcomeRejected:
			e.failures++
		}
	}
	return nil
}

func (s *memState) Synced(ctx context.Context, fn func(key, crmID, match string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	type synced struct{ key, id, match string }
	var all []synced
	for k, e := range s.entries {
		if e.crmID != "" {
			all = append(all, synced{k, e.crmID, e.fields["email"]})
		}
	}
	s.mu.Unlock()
	for _, x := range all {
		if err := fn(x.key, x.id, x.match); err != nil {
			return err
		}
	}
	return nil
}

func (s *memState) SetSources(ctx context.Context, keys []string, sources []uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range keys {
		if e := s.entries[k]; e != nil {
			e.source = sources[i]
		}
	}
	return nil
}

func (s *memState) Forget(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.entries, k)
	}
	s.forgot = append(s.forgot, keys...)
	return nil
}

// engine is one test run: its options, with the fakes above filled in
// where the test left them out.
type engine struct {
	opts    pipeline.RunOptions
	sink    *fakeSink
	rejects *memRejects
	run     *pipeline.Run
}

// newEngine returns a run over rows (values as fakeValues returns them)
// read in source batches of batch rows; edit opts before Execute.
func newEngine(t *testing.T, sink *fakeSink, batch int, rows ...[]string) *engine {
	t.Helper()
	if sink == nil {
		sink = &fakeSink{MaxBatch: 10}
	}
	e := &engine{sink: sink, rejects: &memRejects{}}
	e.opts = pipeline.RunOptions{
		Source:    newSliceSource(batch, rows...),
		Mapper:    copyMapper{},
		Mapped:    allMapped(),
		Sink:      sink,
		Rejects:   e.rejects,
		KeyColumn: 0,
		TempDir:   t.TempDir(),
	}
	return e
}

// execute runs the engine and checks that its counts add up, whatever
// the run's end.
func (e *engine) execute(t *testing.T, ctx context.Context) (pipeline.Counts, error) {
	t.Helper()
	run, err := pipeline.NewRun(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.run = run
	err = run.Execute(ctx)
	c := run.Progress()
	checkCounts(t, c)
	if got := int64(len(e.rejects.all())); got != c.Rejected {
		t.Errorf("the reject file holds %d rows, the counts say %d rejected", got, c.Rejected)
	}
	return c, err
}

// checkCounts checks Read = Created + Updated + Unchanged + Rejected +
// Pending, with none negative. Progress derives Pending from the others,
// so a row counted twice shows as a negative Pending.
func checkCounts(t *testing.T, c pipeline.Counts) {
	t.Helper()
	if c.Created < 0 || c.Updated < 0 || c.Unchanged < 0 || c.Rejected < 0 || c.Pending < 0 ||
		c.Read != c.Created+c.Updated+c.Unchanged+c.Rejected+c.Pending {
		t.Errorf("counts do not add up: %+v", c)
	}
}

// rejectCodes returns "row:code" for each rejected row, in row order.
func rejectCodes(rs []rejected) []string {
	slices.SortFunc(rs, func(a, b rejected) int { return int(a.Row - b.Row) })
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d:%s", r.Row, r.Reject.Code))
	}
	return out
}

var errTest = errors.New("test failure")

// join is for messages: a short list of keys.
func join(keys []string) string {
	if len(keys) > 12 {
		return strings.Join(keys[:12], ",") + fmt.Sprintf(",… (%d)", len(keys))
	}
	return strings.Join(keys, ",")
}

// journalled returns the last write journalled for key.
func (s *memState) journalled(key string) (pipeline.PlannedWrite, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.journal[key]
	return w, ok
}

// openJournal returns the keys journalled and not committed since.
func (s *memState) openJournal() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.open {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// crmID returns the id the state holds for key.
func (s *memState) Claim(ctx context.Context, keys, ids []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owners := make([]string, len(keys))
	for i, id := range ids {
		if o := s.ownerLocked(id); o != "" && o != keys[i] {
			owners[i] = o
			continue
		}
		e := s.entries[keys[i]]
		if e == nil {
			e = &memEntry{}
			s.entries[keys[i]] = e
		}
		if e.crmID != id {
			*e = memEntry{crmID: id}
		}
	}
	return owners, nil
}

func (s *memState) Owners(ctx context.Context, ids []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		if o := s.ownerLocked(id); o != "" {
			out[id] = o
		}
	}
	return out, nil
}

// ownerLocked returns the key bound to id, or "".
func (s *memState) ownerLocked(id string) string {
	for k, e := range s.entries {
		if e.crmID == id && id != "" {
			return k
		}
	}
	return ""
}

func (s *memState) crmID(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[key]; e != nil {
		return e.crmID
	}
	return ""
}
