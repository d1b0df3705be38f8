package cli

import (
	"log/slog"

	"crmsync/crm"
	"crmsync/pipeline"
)

// newSink returns the sink of the endpoint's API. It is how the commands
// that read reference tables (check, preview, teammates) reach a
// connector; they use the sink through pipeline's interfaces.
func newSink(ep *endpoint, log *slog.Logger) (pipeline.Sink, error) {
	return ep.api.NewSink(ep.config(log, 0, 0))
}

// defaultAPI is the API a command that reads a target without a mapping
// assumes when only one is known; "" when the user must say.
func defaultAPI() string {
	if names := crm.Names(); len(names) == 1 {
		return names[0]
	}
	return ""
}
