package tiquo

import (
	"crmsync/pipeline/rowsink"
)

// New returns the sink for tiquo: rowsink on the API, one request per
// customer (tiquo has no bulk endpoints), Concurrency at a time, paced by
// tiquo's rate limit headers. Nothing is called before Prepare.
func New(opts Options) (*rowsink.Sink, error) {
	api, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	return rowsink.New(api, rowsink.Options{Concurrency: api.concurrency, Rate: opts.Rate, Logger: api.log}), nil
}
