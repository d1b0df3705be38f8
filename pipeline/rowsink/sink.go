package rowsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"crmsync/pipeline"
)

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Deleter = (*Sink)(nil)
)

// Options configures a Sink.
type Options struct {
	// Concurrency bounds the calls in flight at once, across every Apply
	// the engine runs concurrently; default 8.
	Concurrency int
	// Rate is the request rate the connector paces to, in requests a
	// second, reported in Properties (0 when unknown).
	Rate float64
	// Logger gets counts and decisions, never personal data; nil logs
	// nothing.
	Logger *slog.Logger
}

// Sink is a pipeline.Sink writing one customer per call through an API.
// See the package documentation for what it promises.
type Sink struct {
	api API
	// createCheck is ValidateCreate for the plan's mapping.
	createCheck *pipeline.CreateChecker
	del         Deleter // nil when the API cannot delete
	// batch reads a batch's customers in one call per Apply under
	// Schema.UpdateReplaces; nil when the API cannot (a Get each).
	batch  BatchReader
	holder Holder // nil: the CRM holds values as records carry them
	schema *pipeline.Schema
	opts   Options
	log    *slog.Logger
	match  int // the match field's index in the schema, or -1

	plan pipeline.Plan
	idx  *index // set by Prepare when the plan asks for the account

	// slots holds one token per call in flight, shared by every Apply,
	// so the calls never pass Concurrency however many batches run.
	slots chan struct{}
}

// New returns a sink writing through api; nothing is called before
// Prepare. When api implements Deleter the sink can delete (mirror runs).
func New(api API, opts Options) *Sink {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{api: api, schema: api.Schema(), opts: opts, log: opts.Logger, slots: make(chan struct{}, opts.Concurrency)}
	s.match = s.schema.Index(s.schema.MatchField)
	s.del, _ = api.(Deleter)
	s.holder, _ = api.(Holder)
	if s.schema.UpdateReplaces {
		s.batch, _ = api.(BatchReader)
	}
	return s
}

// Schema implements pipeline.Sink.
func (s *Sink) Schema() *pipeline.Schema { return s.schema }

// maxBatch caps Properties.MaxBatch: past it, a batch only delays the
// state's record of the rows written first.
const maxBatch = 100

// Properties implements pipeline.Sink. An Apply takes twice as many
// changes as there are request slots: enough to fill every slot by
// itself, with as many again queued, so that a slow answer never leaves
// slots idle while the engine hands over its next batch; and few enough
// that the state records outcomes every few dozen calls and an
// interruption leaves few rows pending. MaxInFlight is left to
// --concurrency: the slots bound the calls whatever the batches.
//
// An API whose updates are read in batches (BatchReader) takes maxBatch
// changes an Apply: the batch read costs a call per list page, so the
// fewer batches a run's updates come in, the fewer pages are read (a
// hundred updates in one batch read one or two pages; in six batches of
// sixteen, six to twelve).
func (s *Sink) Properties() pipeline.Properties {
	n := min(2*s.opts.Concurrency, maxBatch)
	if s.batch != nil {
		n = maxBatch
	}
	return pipeline.Properties{
		BulkCreate:  false,
		MaxBatch:    n,
		Rate:        s.opts.Rate,
		CanDelete:   s.del != nil,
		FindByMatch: true,
	}
}

// Stats implements pipeline.Sink with the API's counters.
func (s *Sink) Stats() *pipeline.CallStats { return s.api.Stats() }

// Prepare implements pipeline.Sink: it lets the API check what it needs
// (its key) and, when the plan asks, indexes the whole account. Its
// errors are fatal.
func (s *Sink) Prepare(ctx context.Context, plan pipeline.Plan) error {
	if len(plan.Mapped) != len(s.schema.Fields) {
		return pipeline.Fatalf("%s: the plan maps %d fields, the schema has %d", s.schema.API, len(plan.Mapped), len(s.schema.Fields))
	}
	if s.match < 0 {
		return pipeline.Fatalf("%s: the schema's match field %q is not one of its fields", s.schema.API, s.schema.MatchField)
	}
	s.plan = plan
	s.createCheck = s.schema.CreateChecker(plan.Mapped)
	if p, ok := s.api.(Preparer); ok {
		if err := p.Prepare(ctx, plan); err != nil {
			return asFatal(err)
		}
	}
	if !plan.IndexAccount {
		return nil
	}
	started := time.Now()
	ix, err := s.walk(ctx)
	if err != nil {
		return err
	}
	s.idx = ix
	s.log.Info("indexed the account", "customers", len(ix.ids), "ambiguous", len(ix.ambiguous), "took", time.Since(started).Round(time.Millisecond))
	if len(ix.ambiguous) > 0 {
		s.log.Warn("the account lists some customers under several match values, or several under one; rows matching them are rejected", "customers", len(ix.ambiguous), "match_field", s.schema.MatchField)
	}
	return nil
}

// Apply implements pipeline.Sink. It may run from several goroutines at
// once. The changes are worked on concurrently, each call holding one of
// the sink's slots: first each change's customer is located (the index,
// a Find, or a Get to compare with), then the matched customers are
// claimed in one Plan.Claim, then (under Schema.UpdateReplaces, with a
// BatchReader) the customers to update are read in one Current, then each
// change is written. A row-level
// failure is a rejected result; an error return is fatal or the
// context's, and leaves the batch's results undecided.
func (s *Sink) Apply(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
	ws := make([]work, len(changes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for i := range changes {
		w := &ws[i]
		*w = work{ch: &changes[i], rec: changes[i].Record, res: &results[i]}
		*w.res = pipeline.Result{}
		g.Go(func() error { return s.locate(gctx, w) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := s.claim(ctx, ws); err != nil {
		return err
	}
	if err := s.readCurrent(ctx, ws); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for i := range ws {
		w := &ws[i]
		if w.decided() {
			continue
		}
		g.Go(func() error { return s.write(gctx, w) })
	}
	return g.Wait()
}

// Close implements pipeline.Sink; it closes the API when it is an
// io.Closer (its idle connections).
func (s *Sink) Close() error {
	if c, ok := s.api.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// call runs fn holding one of the sink's slots. It returns ctx's error,
// without calling, when ctx ends while it waits for a slot.
func (s *Sink) call(ctx context.Context, fn func() error) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	return fn()
}

// asFatal makes an error fatal whatever its class: in Prepare a run
// that cannot read the account or prove its key cannot match rows.
func asFatal(err error) error {
	if pipeline.ClassOf(err) == pipeline.ClassFatal || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return pipeline.Fatal(err)
}

// rowError says whether err belongs to the row (a permanent error the
// API's Reject explains) rather than to the run.
func rowError(err error) bool { return pipeline.ClassOf(err) == pipeline.ClassPermanent }

// filterIgnored is the error of a Find that answered a customer whose
// match value is not the one asked for. It quotes neither value: both
// are personal data.
func (s *Sink) filterIgnored() error {
	return pipeline.Fatal(fmt.Errorf("%s answered a lookup by %s with a customer whose %s is another: the target ignores the lookup's filter, and matching by it could bind or create the wrong customers; stopped",
		s.schema.API, s.schema.MatchField, s.schema.MatchField))
}
