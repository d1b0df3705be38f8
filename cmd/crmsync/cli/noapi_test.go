package cli_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"crmsync/crm"
)

// coreDirs are the packages that must name no API, relative to the
// module's root, each with the packages below it: the commands, the
// engine, the state, the GDPR files, the reports and the mappings reach an
// API only through the registry (package crm) and pipeline's contracts.
var coreDirs = []string{"cmd/crmsync/cli", "pipeline", "state", "gdpr", "report", "mappings"}

// namedByCapitals are connectors whose name is an everyday word of Go
// code ("count"): they are found by their name in capitals, as the API's
// own documents write it, besides their credential variables and host.
var namedByCapitals = map[string]bool{"count": true}

// apiMentionAllowed lists, relative to the module's root, files that
// still name an API, each with who is to clean it.
//
// TEMPORARY: the coordinator empties this list as the files are cleaned
// (a file listed here that names no API fails the test, so that the list
// only shrinks).
var apiMentionAllowed = map[string]string{}

// TestCoreNamesNoAPI lists the imports and reads the text of every
// non-test Go file of coreDirs, and fails on an import of a connector
// package (crmsync/sinks/...) or a mention of a registered connector:
// its name as a word in any case (capitals only for namedByCapitals), or
// its emulator's package, its credential variables or its API's host.
func TestCoreNamesNoAPI(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root at %s: %v", root, err)
	}
	type mention struct {
		api string
		re  *regexp.Regexp
	}
	var mentions []mention
	for _, c := range crm.All() {
		word := `(?i)(^|[^\pL\pN])` + regexp.QuoteMeta(c.Name) + `(test)?($|[^\pL\pN])`
		if namedByCapitals[c.Name] {
			word = `(^|[^\pL\pN])` + regexp.QuoteMeta(strings.ToUpper(c.Name)) + `($|[^\pL\pN(])`
		}
		mentions = append(mentions, mention{c.Name, regexp.MustCompile(word)})
		for _, env := range c.CredentialEnvs() {
			mentions = append(mentions, mention{c.Name, regexp.MustCompile(regexp.QuoteMeta(env))})
		}
		if i := strings.Index(c.BaseURL, "://"); i >= 0 {
			host, _, _ := strings.Cut(c.BaseURL[i+3:], "/")
			mentions = append(mentions, mention{c.Name, regexp.MustCompile(`(?i)` + regexp.QuoteMeta(host))})
		}
	}
	if len(mentions) == 0 {
		t.Fatal("no connector is registered: the test would find nothing")
	}

	clean := map[string]bool{}
	scanned := 0
	for _, dir := range coreDirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			scanned++
			var found []string
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "crmsync/sinks" || strings.HasPrefix(p, "crmsync/sinks/") {
					found = append(found, "imports "+p)
				}
			}
			for n, line := range strings.Split(string(src), "\n") {
				for _, m := range mentions {
					if m.re.MatchString(line) {
						found = append(found, "line "+strconv.Itoa(n+1)+" names "+m.api+": "+strings.TrimSpace(line))
						break
					}
				}
			}
			if _, allowed := apiMentionAllowed[rel]; allowed {
				clean[rel] = len(found) == 0
				return nil
			}
			for _, f := range found {
				t.Errorf("%s %s", rel, f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if scanned < 50 {
		t.Errorf("scanned %d files: the walk missed the packages", scanned)
	}
	var stale []string
	for rel := range apiMentionAllowed {
		if c, seen := clean[rel]; !seen || c {
			stale = append(stale, rel)
		}
	}
	slices.Sort(stale)
	for _, rel := range stale {
		t.Errorf("%s is allowed to name an API but names none (or is gone): take it off apiMentionAllowed", rel)
	}
}
