// Package tamio is the sink for tamio's customers API: it matches rows to
// customers by email, creates new ones through bulk/create (confirmed by
// listing, since tamio answers a bulk create without ids), updates changed
// ones one by one, and moves teammate changes through
// bulk/assign-to-teammate grouped by teammate.
package tamio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"crmsync/pipeline"
)

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Deleter = (*Sink)(nil)
)

// Options configures a Sink.
type Options struct {
	BaseURL string // ending in /v2
	APIKey  string
	// HTTPClient defaults to httpapi.NewHTTPClient(0): keep-alive, no
	// redirects, httpapi.DefaultTimeout for a whole request.
	HTTPClient *http.Client
	// Rate is the most calls per second (0: unlimited until a 429).
	Rate float64
	// Concurrency bounds the parallel calls the sink makes on its own
	// (index pages, single creates after an unconfirmed bulk job);
	// default 8.
	Concurrency int
	// ConfirmTimeout is how long a bulk create job may take to show its
	// customers in the list before they are created one by one; default
	// 60 s.
	ConfirmTimeout time.Duration
	// PollInterval is how often the list is read while bulk jobs are
	// awaited; default 250 ms.
	PollInterval time.Duration
	// BulkChunk is the most customers in one bulk/create body (≤ 1000).
	BulkChunk int
	// MaxRetries per call; default 8.
	MaxRetries int
	Logger     *slog.Logger
}

// Sink writes customers to tamio. See the package documentation.
type Sink struct {
	opts   Options
	client *Client
	pacer  *pipeline.Pacer
	plan   pipeline.Plan
	log    *slog.Logger
	seed   maphash.Seed

	mu    sync.RWMutex
	index map[uint64]int32 // hash of the lower-cased email → entry
	ids   [][16]byte       // per entry: the customer's UUID
	sums  []uint32         // per entry, per mapped field: a hash of its value
	odd   map[int32]string // ids that are not UUIDs (other tamio builds)
	// shared marks the entries whose id the account listed under another
	// email too (see markSharedIDs).
	shared map[int32]bool
	width  int   // mapped fields per entry in sums
	slot   []int // schema field → its place in an entry's sums, or -1
	// mapped lists the fields the plan maps.
	mapped []int
	// createCheck is ValidateCreate for the plan's mapping.
	createCheck *pipeline.CreateChecker
	// createOnly lists the mapped CreateOnly fields, whose differences
	// no update sends (see readOld).
	createOnly []int
	// bodySize is the number of keys a create body may have.
	bodySize int
	// byID finds an entry by customer id, built the first time a change
	// that carries an id must be compared with the account (--reconcile).
	byID map[[16]byte]int32
	// indexed is set once the index holds the account. Without it the
	// customers of changes without an id are looked up one by one, until
	// lookupBudget (the account's pages) is spent.
	indexed      atomic.Bool
	indexMu      sync.Mutex
	lookupBudget atomic.Int64

	confirm *confirmer
	slots   chan struct{} // one per request in flight; see inFlight
}

// indexed is what the sink knows of a customer the account holds: its id
// and, per mapped field, a 32-bit hash of its value, so a record can be
// compared without keeping the account's values in memory (about 70 bytes
// a customer). A changed value hashing like the old one goes unnoticed
// with odds of 1 in 4 billion; two emails sharing a 64-bit hash, with odds
// below 1 in 10^7 for a million rows against a million customers.
type indexed struct {
	id   string
	sums []uint32
	// ambiguous is set when the account lists the id under another email
	// too: a broken or hostile answer that must bind no key.
	ambiguous bool
}

// New returns a sink; nothing is called before Prepare.
func New(opts Options) (*Sink, error) {
	if opts.BaseURL == "" {
		return nil, pipeline.Fatalf("tamio: no base URL")
	}
	if opts.APIKey == "" {
		return nil, pipeline.Fatalf("tamio: no API key")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.ConfirmTimeout <= 0 {
		opts.ConfirmTimeout = 60 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.BulkChunk <= 0 || opts.BulkChunk > maxBulkCreate {
		opts.BulkChunk = maxBulkCreate
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pacer := pipeline.NewPacer(pipeline.PacerOptions{Rate: opts.Rate, MaxRetries: opts.MaxRetries, Logger: opts.Logger})
	return &Sink{
		opts:   opts,
		client: NewClient(opts.BaseURL, opts.APIKey, opts.HTTPClient, pacer),
		pacer:  pacer,
		log:    opts.Logger,
		seed:   maphash.MakeSeed(),
		index:  make(map[uint64]int32),
		odd:    make(map[int32]string),
		slots:  make(chan struct{}, opts.Concurrency),
	}, nil
}

// Schema implements pipeline.Sink.
func (s *Sink) Schema() *pipeline.Schema { return &schema }

// Properties implements pipeline.Sink: one Apply takes at most one bulk
// body.
func (s *Sink) Properties() pipeline.Properties {
	return pipeline.Properties{BulkCreate: true, MaxBatch: s.opts.BulkChunk, Rate: s.opts.Rate,
		CanDelete: true, FindByMatch: true}
}

// Stats implements pipeline.Sink.
func (s *Sink) Stats() *pipeline.CallStats { return &s.pacer.Stats }

// Client returns the sink's API client, for commands that read the CRM.
func (s *Sink) Client() *Client { return s.client }

// Prepare checks the key and, when the plan asks, indexes the whole
// account by email.
func (s *Sink) Prepare(ctx context.Context, plan pipeline.Plan) error {
	if len(plan.Mapped) != len(schema.Fields) {
		return pipeline.Fatalf("tamio: plan maps %d fields, the schema has %d", len(plan.Mapped), len(schema.Fields))
	}
	s.plan = plan
	s.slot = make([]int, len(schema.Fields))
	s.width, s.mapped, s.createOnly, s.bodySize = 0, nil, nil, 0
	s.createCheck = schema.CreateChecker(plan.Mapped)
	groups := map[string]bool{}
	for f := range schema.Fields {
		s.slot[f] = -1
		if !plan.Mapped[f] {
			continue
		}
		s.slot[f] = s.width
		s.width++
		s.mapped = append(s.mapped, f)
		if schema.Fields[f].CreateOnly {
			s.createOnly = append(s.createOnly, f)
		}
		if g := schema.Fields[f].Group(); g == "" {
			s.bodySize++
		} else if !groups[g] {
			groups[g] = true
			s.bodySize++
		}
	}
	if _, err := s.client.Teammates(ctx); err != nil {
		return asFatal(fmt.Errorf("tamio: checking the API key: %w", err))
	}
	if !plan.DryRun {
		s.confirm = newConfirmer(s.client, s.opts.PollInterval, s.log)
	}
	if !plan.IndexAccount {
		// Looking customers up one by one pays while they are fewer than
		// the pages of the account; past that, findUnknown indexes it.
		_, total, err := s.client.List(ctx, ListQuery{Page: 1, PerPage: 1, IncludeLeads: true})
		if err != nil {
			return asFatal(fmt.Errorf("tamio: reading the account's size: %w", err))
		}
		s.lookupBudget.Store(int64((total + maxPerPage - 1) / maxPerPage))
		return nil
	}
	return s.indexAccount(ctx)
}

// indexAccount reads the whole account into the index (see Client.Walk).
func (s *Sink) indexAccount(ctx context.Context) error {
	started := time.Now()
	pages := 0
	err := s.client.Walk(ctx, func(cs []Customer, _ int) error {
		pages++
		s.addToIndex(cs)
		return nil
	})
	if err != nil {
		return asFatal(fmt.Errorf("tamio: %w", err))
	}
	s.markSharedIDs()
	s.indexed.Store(true)
	s.log.Info("indexed the account", "customers", len(s.index), "pages", pages, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// asFatal makes a listing error fatal whatever its class: a run that
// cannot read the account cannot match rows.
func asFatal(err error) error {
	if pipeline.ClassOf(err) == pipeline.ClassFatal || errors.Is(err, context.Canceled) {
		return err
	}
	return pipeline.Fatal(err)
}

func (s *Sink) addToIndex(cs []Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range cs {
		c := &cs[i]
		n := int32(len(s.ids))
		var id [16]byte
		if u, err := uuid.Parse(c.ID); err == nil {
			id = u
		} else {
			s.odd[n] = c.ID
		}
		s.ids = append(s.ids, id)
		for f := range schema.Fields {
			if s.slot[f] >= 0 {
				s.sums = append(s.sums, s.sum(f, crmValue(c, f)))
			}
		}
		s.index[s.emailHash(c.Email)] = n
	}
}

// markSharedIDs finds the customer ids the account listed under more than
// one email. tamio's ids are unique, so that is a broken or hostile
// answer, and a row matching any of those emails must not be bound to the
// id. Sorting entry numbers costs 4 bytes a customer, for a moment.
func (s *Sink) markSharedIDs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	idOf := func(n int32) string {
		if id, odd := s.odd[n]; odd {
			return "\x00" + id
		}
		return string(s.ids[n][:])
	}
	order := make([]int32, len(s.ids))
	for n := range order {
		order[n] = int32(n)
	}
	slices.SortFunc(order, func(a, b int32) int {
		_, oddA := s.odd[a]
		_, oddB := s.odd[b]
		if !oddA && !oddB {
			return bytes.Compare(s.ids[a][:], s.ids[b][:])
		}
		return strings.Compare(idOf(a), idOf(b))
	})
	for j := 1; j < len(order); j++ {
		if idOf(order[j]) == idOf(order[j-1]) {
			if s.shared == nil {
				s.shared = map[int32]bool{}
			}
			s.shared[order[j]], s.shared[order[j-1]] = true, true
		}
	}
	if len(s.shared) > 0 {
		s.log.Warn("tamio lists some customer ids under several emails; rows matching them are rejected", "customers", len(s.shared))
	}
}

// lookup returns what the index holds for an email, or nil.
func (s *Sink) lookup(email string) *indexed {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.index) == 0 || trimSpace(email) == "" {
		return nil
	}
	n, ok := s.index[s.emailHash(email)]
	if !ok {
		return nil
	}
	ix := &indexed{sums: s.sums[int(n)*s.width : int(n+1)*s.width], ambiguous: s.shared[n]}
	if id, odd := s.odd[n]; odd {
		ix.id = id
	} else {
		ix.id = uuid.UUID(s.ids[n]).String()
	}
	return ix
}

// lookupID returns what the index holds for a customer id, or nil.
func (s *Sink) lookupID(id string) *indexed {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	if s.byID == nil {
		s.byID = make(map[[16]byte]int32, len(s.ids))
		for n, id := range s.ids {
			if _, odd := s.odd[int32(n)]; !odd {
				s.byID[id] = int32(n)
			}
		}
	}
	n, ok := s.byID[u]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return &indexed{id: id, sums: s.sums[int(n)*s.width : int(n+1)*s.width]}
}

// indexedFrom is what the sink knows of a customer it looked up.
func (s *Sink) indexedFrom(c *Customer) (*indexed, []string) {
	ix := &indexed{id: c.ID, sums: make([]uint32, s.width)}
	old := make([]string, len(schema.Fields))
	for f := range schema.Fields {
		old[f] = normalize(f, crmValue(c, f))
		if s.slot[f] >= 0 {
			ix.sums[s.slot[f]] = s.sum(f, old[f])
		}
	}
	return ix, old
}

func (s *Sink) emailHash(e string) uint64 {
	e = trimSpace(e)
	for i := 0; i < len(e); i++ {
		if c := e[i]; 'A' <= c && c <= 'Z' {
			var buf [128]byte
			b := append(buf[:0], e...)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return maphash.Bytes(s.seed, b)
		}
	}
	return maphash.String(s.seed, e)
}

// trimSpace is strings.TrimSpace with a fast answer for the usual value,
// which starts and ends with a printable ASCII byte.
func trimSpace(v string) string {
	if n := len(v); n == 0 || (v[0] > ' ' && v[0] < utf8.RuneSelf && v[n-1] > ' ' && v[n-1] < utf8.RuneSelf) {
		return v
	}
	return strings.TrimSpace(v)
}

func (s *Sink) sum(field int, v string) uint32 {
	return uint32(maphash.String(s.seed, normalize(field, v)))
}

// normalize puts a value in the form tamio stores it, so an unchanged
// value compares equal.
func normalize(field int, v string) string {
	v = trimSpace(v)
	if field == fieldCountry || field >= fieldBilling && schema.Fields[field].Lower {
		return lowerCountry(v)
	}
	return v
}

// lowerCountry is strings.ToLower for a country code, without allocating
// for the two-letter codes every row holds.
func lowerCountry(v string) string {
	if len(v) == 2 && 'A' <= v[0] && v[0] <= 'Z' && 'A' <= v[1] && v[1] <= 'Z' {
		return lowerAlpha2[int(v[0]-'A')*26+int(v[1]-'A')]
	}
	return strings.ToLower(v)
}

var lowerAlpha2 = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{byte('a' + i/26), byte('a' + i%26)})
	}
	return t
}()

func emailKey(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// applyScratch is the memory of one Apply call. It is pooled: made afresh
// for each batch, it was a sixteenth of what a dry run allocated, and the
// collector's work grows with that. Nothing Apply starts outlives it.
type applyScratch struct {
	works            []work
	creates, updates []*work
	found            []*Customer
}

var scratchPool = sync.Pool{New: func() any { return new(applyScratch) }}

// getScratch returns scratch for n changes: works and found of length n,
// creates and updates empty.
func getScratch(n int) *applyScratch {
	sc := scratchPool.Get().(*applyScratch)
	if cap(sc.works) < n {
		*sc = applyScratch{works: make([]work, n), found: make([]*Customer, n),
			creates: make([]*work, 0, n), updates: make([]*work, 0, n)}
	}
	sc.works, sc.found = sc.works[:n], sc.found[:n]
	return sc
}

// putScratch clears sc, so a pooled scratch keeps no batch's records
// alive, and pools it.
func putScratch(sc *applyScratch) {
	clear(sc.works)
	clear(sc.found)
	// Apply appended to copies of creates and updates, within capacity.
	clear(sc.creates[:cap(sc.creates)])
	clear(sc.updates[:cap(sc.updates)])
	scratchPool.Put(sc)
}

// work is one change on its way through Apply.
type work struct {
	i      int
	rec    *pipeline.Record
	id     string
	ex     *indexed // what the sink knows of the customer, when it does
	send   []bool   // fields to update, teammate excluded
	assign bool     // the teammate changes
	old    []string // what the CRM held, when the sink read it
	// matched is set when id was found by email for a change that came
	// without one: the key is bound to the customer only through
	// Plan.Claim.
	matched bool
}

// claim asks the engine whether the customers matched by email may be
// bound to their rows' keys, and rejects the rows whose customer belongs
// to another key before anything is written to it.
func (s *Sink) claim(ctx context.Context, works []work, results []pipeline.Result) error {
	if s.plan.Claim == nil {
		return nil
	}
	var keys, ids []string
	var at []int
	for i := range works {
		w := &works[i]
		if w.matched && results[i].Outcome != pipeline.OutcomeRejected {
			keys, ids, at = append(keys, w.rec.Key), append(ids, w.id), append(at, i)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	owners, err := s.plan.Claim(ctx, keys, ids)
	if err != nil {
		return err
	}
	for j, i := range at {
		if owners[j] != "" {
			results[i] = rejected(pipeline.OwnedReject(&schema, owners[j]))
		}
	}
	return nil
}

func ambiguousReject() *pipeline.Reject {
	return &pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeAmbiguousMatch, Field: "email",
		Message: "tamio lists the customer this email matches under another email too, so it cannot be told whose it is; nothing was written or bound. Fix the duplicate in tamio and rerun"}
}

// Apply implements pipeline.Sink.
func (s *Sink) Apply(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
	for i := range changes {
		rec := changes[i].Record
		if n := len(rec.Values); n < numFields {
			// Made for the schema before the addresses were appended:
			// the fields it lacks hold no value.
			rec.Values = append(rec.Values[:n:n], make([]string, numFields-n)...)
		}
		// Only the mapped fields hold values (pipeline.Record).
		for _, f := range s.mapped {
			v := rec.Values[f]
			if v == "" {
				continue
			}
			// Written only when it changes: a string stored while the
			// collector runs costs a write barrier.
			if n := normalize(f, v); n != v {
				rec.Values[f] = n
			}
		}
	}
	sc := getScratch(len(changes))
	defer putScratch(sc)
	found, err := s.findUnknown(ctx, changes, results, sc.found)
	if err != nil {
		return err
	}
	creates, updates, works := sc.creates, sc.updates, sc.works
	for i := range changes {
		if results[i].Outcome == pipeline.OutcomeRejected {
			continue
		}
		ch := &changes[i]
		w := &works[i]
		*w = work{i: i, rec: ch.Record, id: ch.ID}
		switch {
		case found[i] != nil:
			w.ex, w.old = s.indexedFrom(found[i])
		case !s.indexed.Load():
		case ch.ID != "":
			if ch.Send == nil {
				w.ex = s.lookupID(ch.ID)
			}
		default:
			if w.ex = s.lookup(ch.Record.Values[fieldEmail]); w.ex == nil && ch.AltMatch != "" {
				w.ex = s.lookup(ch.AltMatch)
			}
		}
		if w.ex != nil && w.ex.ambiguous {
			results[i] = rejected(ambiguousReject())
			continue
		}
		if w.id == "" && w.ex != nil {
			w.id = w.ex.id
			// A create-mode run refuses existing customers, so it binds
			// none of them either.
			w.matched = s.plan.Mode != pipeline.ModeCreate
		}
	}
	if err := s.claim(ctx, works, results); err != nil {
		return err
	}
	var needOld []*work
	for i := range changes {
		if results[i].Outcome == pipeline.OutcomeRejected {
			continue
		}
		ch := &changes[i]
		rec := ch.Record
		w := &works[i]
		ex := w.ex
		if w.id == "" {
			switch {
			case s.plan.Mode == pipeline.ModeUpdate:
				results[i] = rejected(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeNotFound, Field: "email", Message: "no customer with this email, and --mode update creates none"})
			default:
				if rej := s.createCheck.Check(rec); rej != nil {
					results[i] = rejected(rej)
				} else {
					creates = append(creates, w)
				}
			}
			continue
		}
		if s.plan.Mode == pipeline.ModeCreate {
			results[i] = rejected(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeExists, Field: "email", Message: "a customer with this email exists, and --mode create updates none"})
			continue
		}
		w.send = s.fieldsToSend(ch, ex)
		if w.send[fieldTeammateID] {
			w.send[fieldTeammateID] = false
			w.assign = true
		}
		if w.old == nil && ex != nil && s.createOnlyDiffers(rec, ex) {
			needOld = append(needOld, w)
		}
		if !w.assign && !anyTrue(w.send) {
			results[i] = pipeline.Result{Outcome: pipeline.OutcomeUnchanged, ID: w.id, Old: w.old}
			continue
		}
		updates = append(updates, w)
	}
	if err := s.readOld(ctx, needOld, results); err != nil {
		return err
	}
	if s.plan.DryRun {
		for _, w := range creates {
			results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeCreated}
		}
		for _, w := range updates {
			s.updated(w, results)
		}
		return nil
	}
	recreate, err := s.applyUpdates(ctx, updates, results)
	if err != nil {
		return err
	}
	return s.applyCreates(ctx, append(creates, recreate...), results)
}

// fieldsToSend returns the mapped fields whose value differs from what the
// CRM holds, or what the caller asked for. An empty value of a field that
// cannot be cleared means "no value to send", never "blank it"; a
// CreateOnly field is never sent, whatever the caller asked.
func (s *Sink) fieldsToSend(ch *pipeline.Change, ex *indexed) []bool {
	send := make([]bool, len(schema.Fields))
	for f, field := range schema.Fields {
		if !s.plan.Mapped[f] || field.CreateOnly {
			continue
		}
		v := ch.Record.Values[f]
		if v == "" && !field.CanClear() {
			continue
		}
		switch {
		case ch.Send != nil:
			send[f] = ch.Send[f]
		case ex != nil:
			send[f] = s.sum(f, v) != ex.sums[s.slot[f]]
		default:
			send[f] = true
		}
	}
	return send
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}

func rejected(r *pipeline.Reject) pipeline.Result {
	return pipeline.Result{Outcome: pipeline.OutcomeRejected, Reject: r}
}

// apiReject turns a permanent API error into a reject of the row whose
// record is rec (nil when none is at hand).
func apiReject(err error, rec *pipeline.Record) *pipeline.Reject {
	r := &pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeAPI, Message: err.Error()}
	if e, ok := AsAPIError(err); ok {
		n := e.Code
		if n == 0 {
			n = e.Status
		}
		r.Code = pipeline.KnownCode(pipeline.StageAPI, strconv.Itoa(n), pipeline.CodeAPI)
		r.Field, r.Message = e.Field, e.Error()
		if e.Message != "" {
			r.Field, r.Message = rowMessage(e, rec)
		}
		if r.Code == pipeline.CodeAPI {
			// The code is one APICodes does not explain: the reason
			// keeps it, for the user to look up.
			r.Message = fmt.Sprintf("tamio error %d: %s", n, r.Message)
		}
	}
	return r
}

// applyUpdates sends the updates in parallel, then the teammate changes
// grouped by teammate. A row is updated only when every call it needed
// succeeded.
//
// An update answered "not found" means the customer was deleted in tamio
// since it was bound: the row is matched by email again (an existing
// customer free to take is updated instead) or returned to be created
// anew, so a customer deleted by hand comes back on the next run that
// writes its row, and is never counted as updated.
func (s *Sink) applyUpdates(ctx context.Context, updates []*work, results []pipeline.Result) (recreate []*work, err error) {
	failed := make([]bool, len(updates))
	gone := make([]bool, len(updates))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for n, w := range updates {
		if !anyTrue(w.send) {
			continue
		}
		g.Go(func() error {
			body := map[string]any{}
			for f, on := range w.send {
				if on {
					body[schema.Fields[f].Name] = w.rec.Values[f]
				}
			}
			// tamio requires name on every update, changed or not.
			body["name"] = w.rec.Values[fieldName]
			var err error
			if serr := s.inFlight(gctx, func() { _, err = s.client.Update(gctx, w.id, body) }); serr != nil {
				return serr
			}
			if err != nil {
				if pipeline.ClassOf(err) != pipeline.ClassPermanent {
					return err
				}
				failed[n] = true
				if e, ok := AsAPIError(err); ok && (e.Status == http.StatusNotFound || e.Code == CodeNotFound) && !w.matched {
					gone[n] = true
					return nil
				}
				results[w.i] = rejected(apiReject(err, w.rec))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var again []*work
	for n, w := range updates {
		if !gone[n] {
			continue
		}
		re, err := s.rematch(ctx, w, results)
		if err != nil {
			return nil, err
		}
		switch {
		case re == nil:
		case re.id == "":
			recreate = append(recreate, re)
		default:
			again = append(again, re)
		}
	}
	if len(again) > 0 {
		more, err := s.applyUpdates(ctx, again, results)
		if err != nil {
			return nil, err
		}
		recreate = append(recreate, more...)
	}
	assignTo := map[string][]*work{}
	for n, w := range updates {
		switch {
		case failed[n]:
		case w.assign:
			tm := w.rec.Values[fieldTeammateID]
			assignTo[tm] = append(assignTo[tm], w)
		default:
			s.updated(w, results)
		}
	}
	for tm, ws := range assignTo {
		for start := 0; start < len(ws); start += maxBulkSmall {
			chunk := ws[start:min(start+maxBulkSmall, len(ws))]
			if err := s.assign(ctx, tm, chunk, results); err != nil {
				return nil, err
			}
		}
	}
	return recreate, nil
}

// rematch finds the customer of a row whose bound customer is gone, as
// for a new key: by email, claimed through the engine. It returns the
// work to update (id set, every mapped field sent), to create (id ""), or
// nil when the row was rejected.
func (s *Sink) rematch(ctx context.Context, w *work, results []pipeline.Result) (*work, error) {
	email := w.rec.Values[fieldEmail]
	var c *Customer
	var err error
	if trimSpace(email) != "" {
		if serr := s.inFlight(ctx, func() { c, err = s.client.FindByEmail(ctx, email) }); serr != nil {
			return nil, serr
		}
	}
	if err != nil {
		if pipeline.ClassOf(err) != pipeline.ClassPermanent {
			return nil, err
		}
		results[w.i] = rejected(apiReject(err, w.rec))
		return nil, nil
	}
	re := &work{i: w.i, rec: w.rec}
	if c == nil || c.ID == "" {
		if s.plan.Mode == pipeline.ModeUpdate {
			results[w.i] = rejected(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeNotFound, Field: "email",
				Message: "the customer this key was bound to was deleted in tamio, and --mode update creates none"})
			return nil, nil
		}
		if rej := s.createCheck.Check(w.rec); rej != nil {
			results[w.i] = rejected(rej)
			return nil, nil
		}
		return re, nil
	}
	if !strings.EqualFold(trimSpace(c.Email), trimSpace(email)) {
		results[w.i] = rejected(ambiguousReject())
		return nil, nil
	}
	re.id, re.matched = c.ID, true
	re.ex, re.old = s.indexedFrom(c)
	one := []work{*re}
	if err := s.claim(ctx, one, results[w.i:w.i+1:w.i+1]); err != nil {
		return nil, err
	}
	if results[w.i].Outcome == pipeline.OutcomeRejected {
		return nil, nil
	}
	re.send = s.fieldsToSend(&pipeline.Change{Record: w.rec}, re.ex)
	if re.send[fieldTeammateID] {
		re.send[fieldTeammateID] = false
		re.assign = true
	}
	if !re.assign && !anyTrue(re.send) {
		results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeUnchanged, ID: re.id, Old: re.old}
		return nil, nil
	}
	return re, nil
}

// inFlight runs call holding one of the sink's request slots, which all
// Apply calls share, so the requests in flight never pass Concurrency
// however many batches the engine runs at once. It returns ctx's error,
// without calling, when ctx ends while it waits for a slot.
func (s *Sink) inFlight(ctx context.Context, call func()) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	call()
	return nil
}

func (s *Sink) updated(w *work, results []pipeline.Result) {
	sent := append([]bool(nil), w.send...)
	sent[fieldTeammateID] = w.assign
	results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeUpdated, ID: w.id, Sent: sent, Old: w.old}
}

// findUnknown looks up, one call each, the customers of changes that come
// without an id on a run that did not index the account: the new keys of
// an incremental run. A create is sent only for emails found nowhere, so
// a customer made by an interrupted run (or by hand) is never made twice.
func (s *Sink) findUnknown(ctx context.Context, changes []pipeline.Change, results []pipeline.Result, found []*Customer) ([]*Customer, error) {
	if s.indexed.Load() {
		return found, nil
	}
	unknown := 0
	for i := range changes {
		if changes[i].ID == "" {
			unknown++
		}
	}
	if unknown == 0 {
		return found, nil
	}
	if s.lookupBudget.Add(-int64(unknown)) < 0 {
		s.indexMu.Lock()
		defer s.indexMu.Unlock()
		if !s.indexed.Load() {
			s.log.Info("more new keys than the account has pages: indexing the account instead of looking each up")
			if err := s.indexAccount(ctx); err != nil {
				return nil, err
			}
		}
		return found, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for i := range changes {
		ch := &changes[i]
		if ch.ID != "" {
			continue
		}
		g.Go(func() error {
			var c *Customer
			var err error
			for _, email := range []string{ch.Record.Values[fieldEmail], ch.AltMatch} {
				if email == "" || c != nil {
					continue
				}
				if serr := s.inFlight(gctx, func() { c, err = s.client.FindByEmail(gctx, email) }); serr != nil {
					return serr
				}
				if err != nil {
					if pipeline.ClassOf(err) != pipeline.ClassPermanent {
						return err
					}
					results[i] = rejected(apiReject(err, ch.Record))
					return nil
				}
				if c != nil && !strings.EqualFold(trimSpace(c.Email), trimSpace(email)) {
					results[i] = rejected(ambiguousReject())
					return nil
				}
			}
			found[i] = c
			return nil
		})
	}
	return found, g.Wait()
}

// assign moves a chunk to a teammate; a refused chunk is halved until the
// refused customers are found.
func (s *Sink) assign(ctx context.Context, teammate string, chunk []*work, results []pipeline.Result) error {
	ids := make([]string, len(chunk))
	for i, w := range chunk {
		ids[i] = w.id
	}
	err := s.client.BulkAssign(ctx, ids, teammate)
	switch {
	case err == nil:
		for _, w := range chunk {
			s.updated(w, results)
		}
		return nil
	case pipeline.ClassOf(err) != pipeline.ClassPermanent:
		return err
	case len(chunk) == 1:
		rej := apiReject(err, chunk[0].rec)
		if rej.Field == "" {
			rej.Field = "teammate_id"
		}
		results[chunk[0].i] = rejected(rej)
		return nil
	}
	half := len(chunk) / 2
	if err := s.assign(ctx, teammate, chunk[:half], results); err != nil {
		return err
	}
	return s.assign(ctx, teammate, chunk[half:], results)
}

// applyCreates sends the new customers in one bulk body, learns their ids
// by listing, and creates one by one whatever the job did not confirm in
// time, so every row learns its own outcome.
func (s *Sink) applyCreates(ctx context.Context, creates []*work, results []pipeline.Result) error {
	if len(creates) == 0 {
		return nil
	}
	waits := make(map[string]*pending, len(creates))
	for _, w := range creates {
		waits[emailKey(w.rec.Values[fieldEmail])] = s.confirm.expect(emailKey(w.rec.Values[fieldEmail]))
	}
	defer func() {
		for key := range waits {
			s.confirm.forget(key)
		}
	}()
	queued, err := s.bulkCreate(ctx, creates, results)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(s.opts.ConfirmTimeout)
	defer deadline.Stop()
	var unconfirmed []*work
	for _, w := range queued {
		p := waits[emailKey(w.rec.Values[fieldEmail])]
		select {
		case <-p.done:
			if p.id != "" {
				results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: p.id}
			} else {
				unconfirmed = append(unconfirmed, w)
			}
			continue
		default:
		}
		select {
		case <-p.done:
			if p.id != "" {
				results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: p.id}
			} else {
				unconfirmed = append(unconfirmed, w)
			}
		case <-deadline.C:
			deadline.Reset(0)
			unconfirmed = append(unconfirmed, w)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(unconfirmed) > 0 {
		s.log.Warn("bulk create job not confirmed in time; creating its customers one by one", "customers", len(unconfirmed), "waited", s.opts.ConfirmTimeout)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, w := range unconfirmed {
		g.Go(func() error {
			var err error
			if serr := s.inFlight(gctx, func() { err = s.createOne(gctx, w, results) }); serr != nil {
				return serr
			}
			return err
		})
	}
	return g.Wait()
}

// bulkCreate queues the creates and returns those the API accepted. A
// refused body is cut around the index the API names, or halved when it
// names none, until every refused row is isolated and rejected.
func (s *Sink) bulkCreate(ctx context.Context, ws []*work, results []pipeline.Result) ([]*work, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	bodies := make([]map[string]any, len(ws))
	for i, w := range ws {
		bodies[i] = s.createBody(w.rec)
	}
	err := s.client.BulkCreate(ctx, bodies)
	switch {
	case err == nil:
		return ws, nil
	case pipeline.ClassOf(err) != pipeline.ClassPermanent:
		return nil, err
	case len(ws) == 1:
		results[ws[0].i] = rejected(apiReject(err, ws[0].rec))
		return nil, nil
	}
	if e, ok := AsAPIError(err); ok && e.Index >= 0 && e.Index < len(ws) {
		results[ws[e.Index].i] = rejected(apiReject(err, ws[e.Index].rec))
		rest := append(append([]*work{}, ws[:e.Index]...), ws[e.Index+1:]...)
		return s.bulkCreate(ctx, rest, results)
	}
	half := len(ws) / 2
	left, err := s.bulkCreate(ctx, ws[:half], results)
	if err != nil {
		return nil, err
	}
	right, err := s.bulkCreate(ctx, ws[half:], results)
	if err != nil {
		return nil, err
	}
	return append(left, right...), nil
}

// createOne creates a customer with the single endpoint. "Already exists"
// is the answer after a bulk job that ran late or a create whose answer was
// lost: the customer is then looked up, never created twice.
func (s *Sink) createOne(ctx context.Context, w *work, results []pipeline.Result) error {
	c, err := s.client.Create(ctx, s.createBody(w.rec))
	if err == nil && c.ID != "" {
		results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: c.ID}
		return nil
	}
	if err != nil && pipeline.ClassOf(err) != pipeline.ClassPermanent {
		return err
	}
	// An answer without an id is read back by email, like "already
	// exists": a customer is created only once its id is known.
	if e, ok := AsAPIError(err); err == nil || ok && e.Code == CodeCustomerExists {
		found, ferr := s.client.FindByEmail(ctx, w.rec.Values[fieldEmail])
		if ferr != nil {
			if pipeline.ClassOf(ferr) != pipeline.ClassPermanent {
				return ferr
			}
			results[w.i] = rejected(apiReject(ferr, w.rec))
			return nil
		}
		if found != nil && found.ID != "" && strings.EqualFold(trimSpace(found.Email), trimSpace(w.rec.Values[fieldEmail])) {
			results[w.i] = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: found.ID}
			return nil
		}
	}
	if err == nil {
		results[w.i] = rejected(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeNoID, Field: "email",
			Message: "tamio answered the create without a customer id, and no customer with this email could be read back; the next run looks it up again"})
		return nil
	}
	results[w.i] = rejected(apiReject(err, w.rec))
	return nil
}

// Delete implements pipeline.Deleter through bulk/delete. An id the API
// does not return was absent already (deleted by hand, or by this call
// whose first answer was lost), which counts as deleted.
func (s *Sink) Delete(ctx context.Context, ids []string, deleted []bool) error {
	for start := 0; start < len(ids); start += maxBulkSmall {
		end := min(start+maxBulkSmall, len(ids))
		if err := s.deleteChunk(ctx, ids[start:end], deleted[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) deleteChunk(ctx context.Context, ids []string, deleted []bool) error {
	_, err := s.client.BulkDelete(ctx, ids)
	switch {
	case err == nil:
		for i := range deleted {
			deleted[i] = true
		}
		return nil
	case pipeline.ClassOf(err) != pipeline.ClassPermanent:
		return err
	case len(ids) == 1:
		s.log.Warn("tamio refused to delete a customer", "id", ids[0], "error", err)
		return nil
	}
	half := len(ids) / 2
	if err := s.deleteChunk(ctx, ids[:half], deleted[:half]); err != nil {
		return err
	}
	return s.deleteChunk(ctx, ids[half:], deleted[half:])
}

// Close implements pipeline.Sink.
func (s *Sink) Close() error {
	if s.confirm != nil {
		s.confirm.close()
	}
	s.client.CloseIdleConnections()
	return nil
}
