package count

import (
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

// New returns the sink for COUNT: rowsink on the API, one request per
// customer (COUNT has no bulk endpoints), Concurrency at a time, paced to
// Options.Rate (COUNT's 100 a minute by default). Nothing is called
// before Prepare.
//
// COUNT cannot delete: the sink does not implement pipeline.Deleter and
// its Properties say CanDelete false, so the engine refuses --mode mirror
// before the run starts.
func New(opts Options) (pipeline.Sink, error) {
	api, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	s := rowsink.New(api, rowsink.Options{Concurrency: api.concurrency, Rate: api.rate, Logger: api.log})
	// rowsink.Sink has a Delete for every API; embedding the interface
	// keeps only pipeline.Sink's methods.
	return struct{ pipeline.Sink }{s}, nil
}
