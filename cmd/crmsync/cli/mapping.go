package cli

import (
	"fmt"
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
func peekAPI(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading mapping: %w", err)
	}
	var head struct {
		API string `yaml:"api"`
	}
	if yaml.Unmarshal(data, &head) != nil || head.API == "" {
		return "tamio", nil
	}
	return head.API, nil
}
