package cli

import (
	"log/slog"
	"slices"
	"sort"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
)

// newSink returns the sink of api on ep. It is the only place the
// commands that read reference tables (check, preview, teammates) name a
// connector; they use the sink through pipeline's interfaces.
func newSink(api string, ep *endpoint, log *slog.Logger) (pipeline.Sink, error) {
	switch api {
	case "tamio":
		s, err := tamio.New(tamio.Options{BaseURL: ep.baseURL, APIKey: ep.apiKey, HTTPClient: ep.http, Logger: log})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, usageError("unknown api %q (crmsync knows: %s)", api, pipeline.QuoteList(apiNames()))
}

// apiNames lists the APIs crmsync can write, sorted.
func apiNames() []string {
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// defaultAPI is the API a command that reads a target without a mapping
// assumes: the first crmsync knows.
func defaultAPI() string {
	if names := apiNames(); len(names) > 0 {
		return names[0]
	}
	return ""
}

func knownAPI(api string) bool { return slices.Contains(apiNames(), api) }
