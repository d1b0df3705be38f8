package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"crmsync/crm"
	"crmsync/mappings"
	"crmsync/pipeline"
)

// loadMapping reads a mapping file against the schema of the API it names,
// and returns the schema the mapping fills (see mappings.Mapping.Schema).
func loadMapping(path string) (*mappings.Mapping, *pipeline.Schema, error) {
	api, err := peekAPI(path)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: err}
	}
	if api == "" {
		return nil, nil, &exitError{code: ExitUsage, err: fmt.Errorf("%s names no api: add a line such as \"api: %s\" saying which CRM it maps onto (crmsync knows: %s)",
			path, firstAPI(), strings.Join(crm.Names(), ", "))}
	}
	if api == unreadableAPI {
		// Any schema lets mappings.Load report what is wrong with the
		// file, with its line.
		api = firstAPI()
	}
	schema, err := schemaFor(api)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: fmt.Errorf("%s: %w", path, err)}
	}
	m, err := mappings.Load(path, schema)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: err}
	}
	// The connector's schema with the open fields the mapping names.
	return m, m.Schema(), nil
}

// peekAPI reads only the api key of a mapping file, to pick the schema the
// whole file is then checked against. A file that is not YAML is left for
// mappings.Load to report with its position.
// It reads no more than a mapping may hold, so that --mapping /dev/zero
// or a huge file costs no memory: an oversized file is mappings.Load's to
// refuse.
func peekAPI(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading mapping: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, mappings.MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading mapping %s: %w", path, err)
	}
	if len(data) > mappings.MaxFileSize {
		return unreadableAPI, nil
	}
	var head struct {
		API string `yaml:"api"`
	}
	if yaml.Unmarshal(data, &head) != nil {
		return unreadableAPI, nil
	}
	return strings.TrimSpace(head.API), nil
}

// unreadableAPI is what peekAPI returns for a file it cannot read the api
// of, which mappings.Load then explains.
const unreadableAPI = "\x00unreadable"

// firstAPI names a registered API, for examples in messages.
func firstAPI() string {
	if names := crm.Names(); len(names) > 0 {
		return names[0]
	}
	return ""
}
