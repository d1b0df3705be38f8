package cli_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"crmsync/cmd/crmsync/cli"
	"crmsync/mappings"
	"crmsync/sinks/tamio"
)

// docExample is one example mapping found in the documentation.
type docExample struct {
	where string // file:line of its first line
	yaml  string
}

// looksLikeMapping tells a mapping from the other YAML of the documents
// (a sandbox configuration, say): a mapping has api and fields.
var looksLikeMapping = regexp.MustCompile(`(?m)^api:[\s\S]*^fields:|^fields:[\s\S]*^api:`)

// goDocExamples returns the code blocks of a Go file's comments (lines
// "//\t…", as gofmt keeps them) that are mappings.
func goDocExamples(t *testing.T, path string) []docExample {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	var block []string
	start := 0
	flush := func() {
		if text := strings.Join(block, "\n") + "\n"; looksLikeMapping.MatchString(text) {
			out = append(out, docExample{fmt.Sprintf("%s:%d", path, start), text})
		}
		block = nil
	}
	for i, line := range strings.Split(string(data), "\n") {
		if code, ok := strings.CutPrefix(line, "//\t"); ok {
			if block == nil {
				start = i + 1
			}
			block = append(block, code)
			continue
		}
		if block != nil {
			flush()
		}
	}
	if block != nil {
		flush()
	}
	return out
}

// markdownExamples returns the fenced yaml blocks of a Markdown file that
// are mappings.
func markdownExamples(t *testing.T, path string) []docExample {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	var block []string
	in, start := false, 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && (trimmed == "```yaml" || trimmed == "```yml"):
			in, start, block = true, i+2, nil
		case in && trimmed == "```":
			in = false
			if text := strings.Join(block, "\n") + "\n"; looksLikeMapping.MatchString(text) {
				out = append(out, docExample{fmt.Sprintf("%s:%d", path, start), text})
			}
		case in:
			block = append(block, line)
		}
	}
	return out
}

// writeExample writes an example mapping into a new directory, with each
// lookup file it declares made from the sample teammates table in the
// columns and delimiter the example gives, and returns its path.
func writeExample(t *testing.T, ex docExample) string {
	t.Helper()
	dir := t.TempDir()
	var head struct {
		API     string `yaml:"api"`
		Lookups map[string]struct {
			File, Key, Value, Delimiter string
		} `yaml:"lookups"`
	}
	if err := yaml.Unmarshal([]byte(ex.yaml), &head); err != nil {
		t.Fatalf("%s: not YAML: %v\n%s", ex.where, err, ex.yaml)
	}
	teammates := readCSVFile(t, sample("teammates.csv"))
	email, id := column(t, teammates[0], "email"), column(t, teammates[0], "id")
	for name, l := range head.Lookups {
		if l.File == "" {
			continue
		}
		delim := l.Delimiter
		if delim == "" {
			delim = ","
		}
		if l.Key == "" || l.Value == "" || filepath.IsAbs(l.File) || strings.Contains(l.File, "..") {
			t.Fatalf("%s: lookup %q: the test makes a file only for a relative file with key and value", ex.where, name)
		}
		lines := []string{l.Key + delim + l.Value}
		for _, rec := range teammates[1:] {
			lines = append(lines, rec[email]+delim+rec[id])
		}
		if err := os.WriteFile(filepath.Join(dir, l.File), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "example."+head.API+".yaml")
	if err := os.WriteFile(path, []byte(ex.yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDocExamplesLoad runs every example mapping of the package
// documentation of mappings and of the README through `crmsync check`,
// which loads it against the schema of the API it names, and, where the
// shipped sample export has the columns it reads, through `check
// --source` on that sample: documentation a new user copies must run.
func TestDocExamplesLoad(t *testing.T) {
	t.Parallel()
	fromDoc := goDocExamples(t, filepath.Join("..", "..", "..", "mappings", "doc.go"))
	if len(fromDoc) < 2 {
		t.Fatalf("found %d example mappings in mappings/doc.go, want its 2 or more: has the extraction broken?", len(fromDoc))
	}
	// The package names no API (TestCoreNamesNoAPI): its examples map
	// onto a made-up "acme" whose fields are tamio's, and are checked as
	// tamio's.
	for i := range fromDoc {
		fromDoc[i].yaml = strings.ReplaceAll(fromDoc[i].yaml, "acme", "tamio")
	}
	examples := append(fromDoc, markdownExamples(t, filepath.Join("..", "..", "..", "README.md"))...)
	// The sample holds broken rows on purpose: its header alone is read.
	f, err := os.Open(sample("customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	sampleColumns, err := csv.NewReader(f).Read()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		t.Run(filepath.Base(ex.where), func(t *testing.T) {
			t.Parallel()
			path := writeExample(t, ex)
			r := runBinary(t, "", "check", "--mapping", path)
			if r.code != cli.ExitOK {
				t.Fatalf("%s: the example mapping does not pass crmsync check (exit %d):\n%s%s\nthe example:\n%s",
					ex.where, r.code, r.stdout, r.stderr, ex.yaml)
			}
			if !strings.HasPrefix(filepath.Base(path), "example.tamio.") {
				return // only tamio has a sample export
			}
			m, err := mappings.Load(path, tamio.Schema())
			if err != nil {
				t.Fatalf("%s: %v", ex.where, err)
			}
			if _, err := m.Bind(sampleColumns, nil); err != nil {
				t.Logf("%s reads columns the sample lacks: not tried on it (%v)", ex.where, err)
				return
			}
			args := []string{"check", "--mapping", path, "--source", sample("customers.csv")}
			if len(m.References()) > 0 {
				// Tables read from the target: the embedded sandbox, set up
				// with the sample's teammates, serves them.
				args = append(args, "--target", "sandbox", "--sandbox-db", filepath.Join(t.TempDir(), "sandbox.db"),
					"--sandbox-config", sample("sandbox.yaml"))
			}
			r = runBinary(t, "", args...)
			if (r.code != cli.ExitOK && r.code != cli.ExitRejects) || !strings.Contains(r.stdout, "rows tried") {
				t.Errorf("%s: check --source %s: exit %d:\n%s%s", ex.where, sample("customers.csv"), r.code, r.stdout, r.stderr)
			}
		})
	}
}
