package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// smallStack lowers the goroutine stack limit for one test, so that a
// parser recursing without bound dies at once rather than after growing
// a stack of 1 GB. A stack overflow is fatal: the test binary crashes.
func smallStack(t *testing.T) {
	prev := debug.SetMaxStack(64 << 20)
	t.Cleanup(func() { debug.SetMaxStack(prev) })
}

// loadErr loads yaml as a mapping file and returns its first error.
func loadErr(t *testing.T, yaml string) *Error {
	t.Helper()
	if len(yaml) > maxMappingFile {
		t.Fatalf("the mapping is %d bytes, over the cap of %d", len(yaml), maxMappingFile)
	}
	_, err := Load(writeMapping(t, yaml), tamioSchema())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Load: %v, want an *Error", err)
	}
	return e
}

func TestLoadDeepExpression(t *testing.T) {
	smallStack(t)
	const head = "api: tamio\nkey: customer_id\nfields:\n"
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "full_name" + strings.Repeat(close, n)
	}
	cases := []struct {
		name, field string
		line, col   int
		msg         string
	}{
		// The file of the report: 2,000,000 brackets, 4 MB.
		{"parentheses", "  name: " + deep("(", ")", 2_000_000), 4, 9 + maxNesting, `field "name": the expression is nested more than 100 brackets deep`},
		{"lists", "  name: '" + deep("[", "]", 100_000) + "'", 4, 10 + maxNesting, `field "name": the expression is nested more than 100 brackets deep`},
		{"calls", "  name: " + deep("trim(", ")", 100_000), 4, 9 + 5*maxNesting + 4, `field "name": the expression is nested more than 100 brackets deep`},
		// Prefix operators nest without brackets.
		{"minus signs", "  name: '" + strings.Repeat("-", 100_000) + "full_name'", 4, 10 + maxTokens, `field "name": the expression holds more than 20000 tokens`},
		{"not", "  name: " + strings.Repeat("not ", 50_000) + "full_name", 4, 9 + 4*maxTokens, `field "name": the expression holds more than 20000 tokens`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := loadErr(t, head+c.field+"\n")
			if e.Line != c.line || e.Column != c.col || !strings.Contains(e.Msg, c.msg) {
				t.Errorf("got %d:%d %q, want %d:%d %q", e.Line, e.Column, e.Msg, c.line, c.col, c.msg)
			}
			if len(e.Error()) > 300 {
				t.Errorf("the error is %d bytes long", len(e.Error()))
			}
		})
	}

	// Up to the cap, and brackets inside text, are fine.
	p := bindYAML(t, head+"  name: "+deep("(", ")", maxNesting)+"\n"+
		"  company: 'concat(\""+strings.Repeat("(", 1000)+"\", "+deep("trim(", ")", maxNesting-1)+")'\n")
	rec := applySample(t, p)
	if rec.Values[1] != "Ana María López" || rec.Values[10] != strings.Repeat("(", 1000)+"Ana María López" {
		t.Errorf("got %q", rec.Values)
	}
}

func TestLoadDeepYAML(t *testing.T) {
	smallStack(t)
	// yaml.v3 stops at a depth of 10000 on its own; the 4 MB cap keeps a
	// block structure (nested by indentation) far shallower.
	const head = "api: tamio\nkey: customer_id\nfields:\n"
	n := 2_000_000
	e := loadErr(t, head+"  name: "+strings.Repeat("[", n)+strings.Repeat("]", n)+"\n")
	if e.Line != 4 || !strings.Contains(e.Msg, "exceeded max depth of 10000") {
		t.Errorf("flow: got %v", e)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < maxMappingFile-4096; i++ {
		b.WriteString(strings.Repeat(" ", i+2) + "-\n")
	}
	e = loadErr(t, b.String())
	if !strings.Contains(e.Msg, "fields must map tamio fields") {
		t.Errorf("block: got %v", e)
	}
}

func TestLookupTooLarge(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "big.csv")
	if err := os.WriteFile(table, []byte("email,id\na@example.com,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A sparse file: the size is what counts, not what is in it.
	if err := os.Truncate(table, maxLookupFile+1); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.yaml")
	yaml := "api: tamio\nkey: customer_id\nlookups:\n  teammates: {file: big.csv, key: email, value: id}\nfields:\n  name: full_name\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, tamioSchema())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Load: %v", err)
	}
	if want := `lookup "teammates": ` + table + ` is larger than 16 MiB, the most a lookup table may hold`; e.Line != 4 || e.Column != 21 || !strings.Contains(e.Msg, want) {
		t.Errorf("got %v, want 4:21 %q", e, want)
	}
}

func TestLookupHugeHeader(t *testing.T) {
	// A million columns, the first named with 100,000 characters, and no
	// key column: the message lists a few, cut short.
	var b strings.Builder
	b.WriteString(strings.Repeat("x", 100_000))
	for i := 1; i < 1_000_000; i++ {
		b.WriteString(",c")
		b.WriteString(strconv.Itoa(i))
	}
	b.WriteString("\n")
	m, err := lookupMapping(t, "{file: t.csv, key: "+strings.Repeat("k", 10_000)+", value: c1}", b.String())
	if m != nil || err == nil {
		t.Fatal("Load accepted a lookup without its key column")
	}
	msg := err.Error()
	want := `has no column "` + strings.Repeat("k", pipeline.QuoteMax) + `"… (its columns: "` + strings.Repeat("x", pipeline.QuoteMax) + `"…, "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" and 999990 more)`
	if !strings.Contains(msg, want) || len(msg) > 600 {
		t.Errorf("the message is %d bytes: %.1000q; want it to hold %q", len(msg), msg, want)
	}
}
