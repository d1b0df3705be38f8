package cli

import (
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"crmsync/mappings"
	"crmsync/pipeline"
)

// loadMapping reads a mapping file against the schema of the API it names.
func loadMapping(path string) (*mappings.Mapping, *pipeline.Schema, error) {
	api, err := peekAPI(path)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: err}
	}
	schema, err := schemaFor(api)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: fmt.Errorf("%s: %w", path, err)}
	}
	m, err := mappings.Load(path, schema)
	if err != nil {
		return nil, nil, &exitError{code: ExitUsage, err: err}
	}
	return m, schema, nil
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
		return "tamio", nil
	}
	var head struct {
		API string `yaml:"api"`
	}
	if yaml.Unmarshal(data, &head) != nil || head.API == "" {
		return "tamio", nil
	}
	return head.API, nil
}
