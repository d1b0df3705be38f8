package count

import "crmsync/pipeline/rowsink"

// New returns the sink for COUNT: rowsink on the API, one request per
// customer (COUNT has no bulk endpoints), Concurrency at a time, paced to
// Options.Rate (COUNT's 100 a minute by default). It cannot delete, so
// its Properties say CanDelete false and the engine refuses --mode
// mirror before the run starts. Nothing is called before Prepare.
func New(opts Options) (*rowsink.Sink, error) {
	api, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	return rowsink.New(api, rowsink.Options{Concurrency: api.concurrency, Rate: api.rate, Logger: api.log}), nil
}
