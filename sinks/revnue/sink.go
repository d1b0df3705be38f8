package revnue

import (
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
// time (see API.Current); and the categories as a reference table. It
// cannot delete: Properties say CanDelete false, and the engine refuses
// --mode mirror before the run starts.
type Sink struct {
	*rowsink.Sink
	api *API
}

// New returns the sink for Revnue; nothing is called before Prepare (or
// ReadReference).
func New(opts Options) (*Sink, error) {
	api, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	return &Sink{Sink: rowsink.New(api, rowsink.Options{Concurrency: api.concurrency, Rate: api.rate, Logger: api.log}), api: api}, nil
}

// API returns the API the sink writes through.
func (s *Sink) API() *API { return s.api }
