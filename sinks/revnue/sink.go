package revnue

import (
	"context"

	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

var (
	_ pipeline.Sink            = (*Sink)(nil)
	_ pipeline.ReferenceReader = (*Sink)(nil)
)

// Sink is the sink for Revnue: rowsink on the API, one request per
// customer (Revnue has no bulk endpoints), Concurrency at a time, paced
// to Options.Rate (Revnue's 100 a minute by default), each update the
// whole customer with the customers of a batch read a list page at a
// time (see API.Current); and the categories as a reference table.
//
// It cannot delete: Properties say CanDelete false, the engine refuses
// --mode mirror before the run starts, and the Sink does not implement
// pipeline.Deleter (which rowsink's sink does whatever its API), which is
// why it forwards the methods of pipeline.Sink one by one rather than
// embed rowsink's.
type Sink struct {
	rs  *rowsink.Sink
	api *API
}

// New returns the sink for Revnue; nothing is called before Prepare (or
// ReadReference).
func New(opts Options) (*Sink, error) {
	api, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	return &Sink{rs: rowsink.New(api, rowsink.Options{Concurrency: api.concurrency, Rate: api.rate, Logger: api.log}), api: api}, nil
}

// API returns the API the sink writes through.
func (s *Sink) API() *API { return s.api }

// Schema implements pipeline.Sink: the schema the run's mapping fills.
func (s *Sink) Schema() *pipeline.Schema { return s.rs.Schema() }

// Properties implements pipeline.Sink (see rowsink.Sink.Properties).
func (s *Sink) Properties() pipeline.Properties { return s.rs.Properties() }

// Prepare implements pipeline.Sink (see rowsink.Sink.Prepare and
// API.Prepare).
func (s *Sink) Prepare(ctx context.Context, plan pipeline.Plan) error { return s.rs.Prepare(ctx, plan) }

// Apply implements pipeline.Sink (see rowsink.Sink.Apply).
func (s *Sink) Apply(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
	return s.rs.Apply(ctx, changes, results)
}

// Stats implements pipeline.Sink: the API's calls.
func (s *Sink) Stats() *pipeline.CallStats { return s.rs.Stats() }

// Close implements pipeline.Sink.
func (s *Sink) Close() error { return s.rs.Close() }
