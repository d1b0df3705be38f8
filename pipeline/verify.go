package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// The kinds of a Difference.
const (
	// DiffValue: the customer holds another value in a field than the
	// mapping makes of the source.
	DiffValue = "value"
	// DiffMissing: the target holds no customer for the row's key.
	DiffMissing = "missing"
	// DiffAmbiguous: without a state, the row's match value finds several
	// customers, so none can be told the row's.
	DiffAmbiguous = "ambiguous"
)

// Difference is one way a source row and its customer in the target
// disagree. It holds personal data: it goes to verify.csv and report.html,
// never to a log.
type Difference struct {
	// Key is the row's source key, Row its number in the source.
	Key string
	Row int64
	// CRMID is the customer's id; "" when none was found.
	CRMID string
	// Kind is DiffValue, DiffMissing or DiffAmbiguous.
	Kind string
	// Field names the target field that differs (the match field for a
	// missing or ambiguous customer); Expected is what the mapping makes
	// of the source (null for an explicit null), Found what the target
	// holds.
	Field, Expected, Found string
}

// VerifyCounts are the running totals of a verification; they add up:
// Read = Rejected + Checked + Pending, Checked = Agree + Differ + Missing.
type VerifyCounts struct {
	// Read counts source rows; Rejected those a sync would not send (the
	// mapping or validation refuses them, or they repeat a key or match
	// value), which are not compared.
	Read, Rejected int64
	// Checked counts the rows compared with the target: Agree those whose
	// customer holds every compared field as expected, Differ those whose
	// customer differs in one field or more (or cannot be told apart),
	// Missing those without a customer.
	Checked, Agree, Differ, Missing int64
	// Pending counts rows read but not yet compared.
	Pending int64
}

// VerifyOptions configure a verification pass.
type VerifyOptions struct {
	Source Source
	Mapper Mapper
	// Mapped marks the schema fields the mapping fills; only those are
	// compared.
	Mapped []bool
	// Reader reads the target; its schema is the one the mapping fills.
	Reader Reader
	// State, when set, says which customer each key is bound to; without
	// it a row's customer is found by its match value (Reader.Find), and
	// create-only fields and empty values of fields that cannot be
	// cleared, whose CRM value only the state knows, are not compared.
	State State
	// Concurrency bounds the batches read from the target at once;
	// default 8.
	Concurrency int
	// BatchSize is how many rows are looked up together; default 100.
	BatchSize int
	// OnDifference sees every difference, from one goroutine at a time.
	// An error from it stops the pass.
	OnDifference func(d *Difference) error
	// TempDir and SeenInMemory are as in RunOptions: repeated keys and
	// match values are found as a sync finds them.
	TempDir      string
	SeenInMemory int
}

// batchCurrent is an API that reads many customers in fewer calls than a
// Get each (a list page); the row sink's BatchReader has the same method.
// cur[i] is nil for an id it did not read, which is then read with Get.
type batchCurrent interface {
	Current(ctx context.Context, ids []string) (cur []*Customer, err error)
}

// valueHolder is an API whose reader gives some values in another text
// than the record that wrote them carries (the row sink's Holder).
type valueHolder interface {
	Held(f int, v string) string
}

// readerPreparer is a reader with something to read before its answers
// can be compared (an account's custom field definitions); the row sink's
// Preparer has the same method.
type readerPreparer interface {
	Prepare(ctx context.Context, plan Plan) error
}

// Verification compares every row of a source, mapped as a sync maps it,
// with its customer in the target.
type Verification struct {
	opts VerifyOptions
	rowMapper
	matchField int
	creates    *CreateChecker
	holder     valueHolder
	batch      batchCurrent

	read, rejected, agree, differ, missing atomic.Int64

	diffMu sync.Mutex
}

// NewVerification checks the options and returns a pass ready to Execute.
func NewVerification(opts VerifyOptions) (*Verification, error) {
	if opts.Source == nil || opts.Mapper == nil || opts.Reader == nil {
		return nil, Fatalf("verify: source, mapper and reader are all required")
	}
	s := opts.Reader.Schema()
	if len(opts.Mapped) != len(s.Fields) {
		return nil, Fatalf("verify: the mapping fills %d fields, the %s schema has %d", len(opts.Mapped), s.API, len(s.Fields))
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.SeenInMemory <= 0 {
		opts.SeenInMemory = defaultSeenInMemory
	}
	if opts.OnDifference == nil {
		opts.OnDifference = func(*Difference) error { return nil }
	}
	v := &Verification{opts: opts, rowMapper: newRowMapper(s, opts.Mapper, opts.Mapped),
		matchField: s.Index(s.MatchField), creates: s.CreateChecker(opts.Mapped)}
	if v.matchField >= 0 && !opts.Mapped[v.matchField] {
		v.matchField = -1
	}
	if opts.State == nil && v.matchField < 0 {
		return nil, Fatalf("verifying without a state finds each customer by %s, which the mapping does not fill: give the state of the syncs", s.MatchField)
	}
	v.holder, _ = opts.Reader.(valueHolder)
	v.batch, _ = opts.Reader.(batchCurrent)
	return v, nil
}

// Progress returns the counts so far; safe to call at any time.
func (v *Verification) Progress() VerifyCounts {
	c := VerifyCounts{Read: v.read.Load(), Rejected: v.rejected.Load(),
		Agree: v.agree.Load(), Differ: v.differ.Load(), Missing: v.missing.Load()}
	c.Checked = c.Agree + c.Differ + c.Missing
	c.Pending = c.Read - c.Rejected - c.Checked
	return c
}

// verifyItem is one valid row on its way to be compared.
type verifyItem struct {
	row    int64
	rec    Record
	values []string
}

// Execute reads the whole source and compares each row it would sync with
// the target. Memory stays flat: rows are mapped as they are read, and at
// most Concurrency batches of BatchSize rows are held while the target is
// read. It returns nil once every row is compared (differences are not
// errors), ctx's error, or the first error of the source, the target, the
// state or OnDifference.
func (v *Verification) Execute(ctx context.Context) error {
	if p, ok := v.opts.Reader.(readerPreparer); ok {
		if err := p.Prepare(ctx, Plan{Mapped: v.opts.Mapped, Mode: ModeUpsert, DryRun: true}); err != nil {
			return err
		}
	}
	seenKeys := newSpillSet(v.opts.SeenInMemory, v.opts.TempDir)
	defer seenKeys.Close()
	seenMatch := newSpillSet(v.opts.SeenInMemory, v.opts.TempDir)
	defer seenMatch.Close()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.opts.Concurrency)
	seen := make(passed, len(v.schema.Fields))
	width := len(v.schema.Fields)
	pending := make([]verifyItem, 0, v.opts.BatchSize)
	flush := func() {
		if len(pending) == 0 {
			return
		}
		batch := pending
		pending = make([]verifyItem, 0, v.opts.BatchSize)
		g.Go(func() error { return v.check(gctx, batch) })
	}
	readErr := func() error {
		for {
			if gctx.Err() != nil {
				return nil
			}
			rows, err := v.opts.Source.Next(gctx)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				if gctx.Err() != nil {
					return nil
				}
				return err
			}
			values := make([]string, len(rows)*width)
			for i := range rows {
				row := &rows[i]
				v.read.Add(1)
				if row.Reject != nil {
					v.rejected.Add(1)
					continue
				}
				it := verifyItem{row: row.Num, values: values[i*width : (i+1)*width : (i+1)*width]}
				rej := v.mapRow(row, &it.rec, it.values, seen)
				keyNew, matchNew, err := v.firstSeen(seenKeys, seenMatch, &it.rec, rej == nil)
				if err != nil {
					return Fatal(err)
				}
				if rej != nil || !keyNew || !matchNew {
					v.rejected.Add(1)
					continue
				}
				// The row itself is not needed past here; the record's
				// values are, until the batch is compared.
				it.rec.Row = nil
				pending = append(pending, it)
				if len(pending) == v.opts.BatchSize {
					flush()
				}
			}
		}
	}()
	if readErr == nil {
		flush()
	}
	err := g.Wait()
	switch {
	case readErr != nil:
		return readErr
	case err != nil:
		return err
	}
	return ctx.Err()
}

// firstSeen records a mapped row's key and match value as a sync's repeat
// detection does, in source order: every key read counts as seen, even a
// rejected row's, and the first row that carries a match value owns it.
// It reports whether the key and the match value were new.
func (v *Verification) firstSeen(keys, matches *spillSet, rec *Record, valid bool) (keyNew, matchNew bool, err error) {
	keyNew, matchNew = true, true
	if rec.Key != "" {
		if keyNew, err = keys.addHash(keys.hash(rec.Key)); err != nil {
			return false, false, err
		}
	}
	if v.matchField >= 0 && rec.Values != nil {
		if m := rec.Values[v.matchField]; strings.TrimSpace(m) != "" {
			h := matches.hash(strings.TrimSpace(m))
			if v.schema.MatchFold {
				h = matches.hashFold(m)
			}
			if matchNew, err = matches.addHash(h); err != nil {
				return false, false, err
			}
		}
	}
	if !valid {
		return true, true, nil
	}
	return keyNew, matchNew, nil
}

// check finds each row's customer, reads it and compares it.
func (v *Verification) check(ctx context.Context, batch []verifyItem) error {
	known := make([]map[string]string, len(batch))
	ids := make([]string, len(batch))
	custs := make([]*Customer, len(batch))
	// done marks the rows already told apart (ambiguous).
	done := make([]bool, len(batch))
	if v.opts.State != nil {
		keys := make([]string, len(batch))
		for i := range batch {
			keys[i] = batch[i].rec.Key
		}
		entries, err := v.opts.State.Entries(ctx, keys)
		if err != nil {
			return Fatal(err)
		}
		for i := range batch {
			if e := entries[keys[i]]; e != nil {
				ids[i], known[i] = e.CRMID, e.Fields
			}
		}
		if err := v.readCustomers(ctx, ids, custs); err != nil {
			return err
		}
	} else {
		for i := range batch {
			c, n, err := v.find(ctx, batch[i].rec.Values[v.matchField])
			if err != nil {
				return err
			}
			if n > 1 {
				if err := v.report(&Difference{Key: batch[i].rec.Key, Row: batch[i].row, Kind: DiffAmbiguous,
					Field: v.schema.MatchField, Expected: batch[i].rec.Values[v.matchField],
					Found: fmt.Sprintf("%d customers", n)}); err != nil {
					return err
				}
				v.differ.Add(1)
				done[i] = true
				continue
			}
			custs[i] = c
		}
	}
	for i := range batch {
		it := &batch[i]
		c := custs[i]
		switch {
		case done[i]:
			continue
		case c == nil:
			if v.creates.Check(&it.rec) != nil {
				// A row the target cannot create is a reject of the
				// sync, not a difference.
				v.rejected.Add(1)
				continue
			}
			d := &Difference{Key: it.rec.Key, Row: it.row, CRMID: ids[i], Kind: DiffMissing, Field: v.schema.MatchField}
			if v.matchField >= 0 {
				d.Expected = it.rec.Values[v.matchField]
			}
			if err := v.report(d); err != nil {
				return err
			}
			v.missing.Add(1)
			continue
		}
		differs := false
		for _, f := range v.mappedIdx {
			want, ok := v.expected(&it.rec, f, known[i])
			if !ok {
				continue
			}
			var found string
			if f < len(c.Values) {
				found = c.Values[f]
			}
			if v.same(f, want, found) {
				continue
			}
			differs = true
			if err := v.report(&Difference{Key: it.rec.Key, Row: it.row, CRMID: c.ID, Kind: DiffValue,
				Field: v.schema.Fields[f].Name, Expected: DisplayValue(want), Found: found}); err != nil {
				return err
			}
		}
		if differs {
			v.differ.Add(1)
		} else {
			v.agree.Add(1)
		}
	}
	return nil
}

// readCustomers reads the customers of ids (none for ""), in one batch read where
// the reader offers one and with a Get each otherwise; custs[i] stays nil
// for a customer the target does not hold.
func (v *Verification) readCustomers(ctx context.Context, ids []string, custs []*Customer) error {
	if v.batch != nil {
		var want []string
		var at []int
		for i, id := range ids {
			if id != "" {
				want, at = append(want, id), append(at, i)
			}
		}
		if len(want) > 0 {
			cur, err := v.batch.Current(ctx, want)
			if err != nil {
				return err
			}
			for j, i := range at {
				if j < len(cur) {
					custs[i] = cur[j]
				}
			}
		}
	}
	for i, id := range ids {
		if id == "" || custs[i] != nil {
			continue
		}
		c, err := v.opts.Reader.Get(ctx, id)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		custs[i] = c
	}
	return nil
}

// find looks a customer up by its match value: the one found, and how
// many the target holds under it.
func (v *Verification) find(ctx context.Context, match string) (*Customer, int, error) {
	if strings.TrimSpace(match) == "" {
		return nil, 0, nil
	}
	found, err := v.opts.Reader.Find(ctx, match)
	if err != nil {
		return nil, 0, err
	}
	if len(found) != 1 {
		return nil, len(found), nil
	}
	return &found[0], 1, nil
}

// expected is what the customer should hold in mapped field f after a
// sync of rec, and false when that cannot be told: a create-only field,
// which an update leaves as the customer was created, and an empty value
// of a field that cannot be cleared, which a sync never sends, hold what
// the CRM held, which only the state knows (known, as last confirmed).
// Each part of a nested object is compared alone; under either group
// rule an empty part that cannot be cleared is one of those.
func (v *Verification) expected(rec *Record, f int, known map[string]string) (string, bool) {
	field := &v.schema.Fields[f]
	val := rec.Values[f]
	if field.CreateOnly || (IsEmpty(val) && !field.CanClear()) {
		was, ok := known[field.Name]
		return was, ok
	}
	return val, true
}

// same reports whether the target's value found for field f is the value
// want, as a sync compares them: in canonical text (an empty list is no
// value), as the target gives back what was written (Holder), and without
// regard to case for the match value of a target that folds it and for
// fields it stores in lower case. want is a normalised record's value, in
// which an explicit null is "": the target must hold nothing.
func (v *Verification) same(f int, want, found string) bool {
	field := &v.schema.Fields[f]
	if v.holder != nil && want != "" {
		want = v.holder.Held(f, want)
	}
	if want == found {
		return true
	}
	if (f == v.matchField && v.schema.MatchFold) || field.Lower {
		return strings.EqualFold(strings.TrimSpace(want), strings.TrimSpace(found))
	}
	if field.Kind >= KindBool && found != "" {
		if c, ok := Canonical(field.Kind, found); ok {
			return c == want
		}
	}
	return false
}

// report hands a difference to OnDifference, one at a time.
func (v *Verification) report(d *Difference) error {
	v.diffMu.Lock()
	defer v.diffMu.Unlock()
	return v.opts.OnDifference(d)
}
