package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
)

// editedMapping copies the sample mapping and its lookup table into a new
// directory, with the line starting with prefix replaced by line, and
// returns its path and the 1-based number of the line replaced.
func editedMapping(t *testing.T, prefix, line string) (string, int) {
	t.Helper()
	path := mappingIn(t, t.TempDir())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = line
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			return path, i + 1
		}
	}
	t.Fatalf("the sample mapping has no line starting with %q", prefix)
	return "", 0
}

var position = regexp.MustCompile(`(?m)^(?:crmsync: )?(\S+\.yaml):(\d+)(?::(\d+))?: (.*)$`)

// TestCheck runs `crmsync check` on sound and broken mappings, with and
// without a source.
func TestCheck(t *testing.T) {
	t.Parallel()
	type want struct {
		code int
		line int    // of the first problem reported; 0: none
		col  [2]int // the column reported is in this range; {0, 0}: no column
		text string // in the output
	}
	mk := func(prefix, line string) func(t *testing.T) (string, int) {
		return func(t *testing.T) (string, int) { return editedMapping(t, prefix, line) }
	}
	cases := []struct {
		name    string
		mapping func(t *testing.T) (string, int) // path, line edited
		want    want
	}{
		{"samples", func(t *testing.T) (string, int) { return mappingIn(t, t.TempDir()), 0 },
			want{cli.ExitOK, 0, [2]int{}, "mapping for tamio, key column \"customer_id\", 10 fields mapped"}},
		// The expression ends on column 21 of "  phone: phone(phone".
		{"expression syntax error", mk("  phone:", "  phone: phone(phone"),
			want{cli.ExitUsage, -1, [2]int{10, 21}, `field "phone"`}},
		{"unknown field", mk("  name:", "  nmae: first_word(full_name)"),
			want{cli.ExitUsage, -1, [2]int{3, 3}, `did you mean "name"?`}},
		{"unknown function", mk("  phone:", "  phone: phnoe(phone)"),
			want{cli.ExitUsage, -1, [2]int{10, 14}, "phnoe"}},
		{"missing lookup file", mk("    file:", "    file: no-such-teammates.csv"),
			want{cli.ExitUsage, -1, [2]int{11, 11}, "no-such-teammates.csv"}},
		// YAML reports a syntax error by line only (mappings.Error says so).
		{"YAML syntax error", mk("  email:", "  email: [lower(trim(email))"),
			want{cli.ExitUsage, -1, [2]int{}, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path, line := tc.mapping(t)
			r := runBinary(t, "", "check", "--mapping", path)
			output := r.stdout + r.stderr
			if r.code != tc.want.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.want.code, output)
			}
			if !strings.Contains(output, tc.want.text) {
				t.Errorf("output does not hold %q:\n%s", tc.want.text, output)
			}
			if tc.want.line == 0 {
				if r.stderr != "" {
					t.Errorf("stderr: %s", r.stderr)
				}
				return
			}
			m := position.FindStringSubmatch(r.stderr)
			if m == nil {
				t.Fatalf("no file:line:column in stderr:\n%s", r.stderr)
			}
			if m[1] != path {
				t.Errorf("error names file %q, want %q", m[1], path)
			}
			if got, _ := strconv.Atoi(m[2]); got != line {
				t.Errorf("error at line %d, want %d: %s", got, line, m[0])
			}
			col, _ := strconv.Atoi(m[3])
			if c := tc.want.col; col < c[0] || col > c[1] {
				t.Errorf("error at column %d, want %d to %d: %s", col, c[0], c[1], m[0])
			}
		})
	}
}

// TestCheckSource runs `crmsync check --source` on a generated file: it
// must count, by stage and code, the rows the mapping and validation would
// reject, and exit 3; on a clean file 0; on a file without a column the
// mapping reads, 2 with the mapping's line and column.
func TestCheckSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	dirty := filepath.Join(dir, "dirty.csv")
	defects, err := fixtures.WriteCSV(dirty, fixtures.Options{Rows: 300, Seed: 71, BadShare: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	clean, _ := generate(t, dir, "clean.csv", fixtures.Options{Rows: 300, Seed: 72})
	stageOf := map[string]string{"email": "validate", "required": "validate", "offset": "validate", "duplicate_key": "validate",
		"unknown_country": "map", "bad_phone": "map", "lookup_miss": "map"}
	// The generator repeats the key of the row before, or, after a row
	// that repeated one, a key no row holds: a repeat is told from the
	// keys of the file.
	dirtyRows := readCSVFile(t, dirty)
	keyCol := column(t, dirtyRows[0], "customer_id")
	wantCodes := func(n int) map[string]int {
		out := map[string]int{}
		seen := map[string]bool{}
		for i, d := range defects[:n] {
			key := dirtyRows[i+1][keyCol]
			if d == "repeated_key" && !seen[key] {
				d = ""
			}
			seen[key] = true
			if d != "" {
				c := codeOf[d]
				out[stageOf[c]+"/"+c]++
			}
		}
		return out
	}

	for _, tc := range []struct {
		source string
		rows   int
	}{{dirty, 300}, {dirty, 60}} {
		t.Run(fmt.Sprintf("%d rows", tc.rows), func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, "", "check", "--mapping", mapping, "--source", tc.source, "--rows", strconv.Itoa(tc.rows))
			if r.code != cli.ExitRejects {
				t.Fatalf("exit %d, want %d:\n%s%s", r.code, cli.ExitRejects, r.stdout, r.stderr)
			}
			want := wantCodes(tc.rows)
			total := 0
			for _, n := range want {
				total += n
			}
			if head := fmt.Sprintf("%s: %d rows tried, %d would be rejected\n", tc.source, tc.rows, total); !strings.Contains(r.stdout, head) {
				t.Errorf("stdout lacks %q:\n%s", head, r.stdout)
			}
			got := map[string]int{}
			for _, m := range regexp.MustCompile(`(?m)^  (\S+/\S+) +(\d+)$`).FindAllStringSubmatch(r.stdout, -1) {
				got[m[1]], _ = strconv.Atoi(m[2])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("counts by code %v, want %v; stdout:\n%s", got, want, r.stdout)
			}
		})
	}

	t.Run("clean", func(t *testing.T) {
		t.Parallel()
		r := runBinary(t, "", "check", "--mapping", mapping, "--source", clean)
		if r.code != cli.ExitOK || !strings.Contains(r.stdout, "300 rows tried, 0 would be rejected") {
			t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("column missing", func(t *testing.T) {
		t.Parallel()
		rows := readCSVFile(t, clean)
		rows[0][column(t, rows[0], "phone")] = "telephone"
		src := filepath.Join(t.TempDir(), "renamed.csv")
		writeCSVFile(t, src, rows)
		r := runBinary(t, "", "check", "--mapping", mapping, "--source", src)
		if r.code != cli.ExitUsage {
			t.Fatalf("exit %d, want %d:\n%s%s", r.code, cli.ExitUsage, r.stdout, r.stderr)
		}
		m := position.FindStringSubmatch(r.stderr)
		if m == nil || m[1] != mapping || m[3] == "" || !strings.Contains(m[4], `"phone"`) {
			t.Errorf("want %s:line:column naming column \"phone\"; stderr:\n%s", mapping, r.stderr)
		}
	})
}

// TestPreview runs `crmsync preview`: a header of _row, _key, the mapped
// fields and _reject, then one line per row tried, a rejected row with its
// reason.
func TestPreview(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source, rows := generate(t, dir, "in.csv", fixtures.Options{Rows: 20, Seed: 81})
	breakEmails(rows, 3)
	writeCSVFile(t, source, rows)

	data, err := os.ReadFile(mapping)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Fields map[string]any `yaml:"fields"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}

	r := runBinary(t, "", "preview", "--mapping", mapping, "--source", source, "--rows", "5", "--width", "100")
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want a header and 5 rows:\n%s", len(lines), r.stdout)
	}
	head := strings.Fields(lines[0])
	if len(head) != len(m.Fields)+3 || head[0] != "_row" || head[1] != "_key" || head[len(head)-1] != "_reject" {
		t.Fatalf("header %q; want _row, _key, the %d mapped fields, _reject", head, len(m.Fields))
	}
	for _, f := range head[2 : len(head)-1] {
		if _, ok := m.Fields[f]; !ok {
			t.Errorf("header column %q is not a field of the mapping", f)
		}
	}
	// tabwriter aligns every column on the header's.
	starts := make([]int, len(head))
	hr := []rune(lines[0])
	for i, pos := 0, 0; i < len(head); i++ {
		for string(hr[pos:pos+len([]rune(head[i]))]) != head[i] {
			pos++
		}
		starts[i] = pos
		pos += len([]rune(head[i]))
	}
	cell := func(line []rune, i int) string {
		end := len(line)
		if i+1 < len(starts) && starts[i+1] < end {
			end = starts[i+1]
		}
		if starts[i] >= len(line) {
			return ""
		}
		return strings.TrimSpace(string(line[starts[i]:end]))
	}
	emailCol := -1
	for i, h := range head {
		if h == "email" {
			emailCol = i
		}
	}
	for n := 1; n <= 5; n++ {
		line := []rune(lines[n])
		if got := cell(line, 0); got != strconv.Itoa(n) {
			t.Errorf("line %d: _row %q", n, got)
		}
		if got := cell(line, 1); got != rows[n][0] {
			t.Errorf("line %d: _key %q, want %q", n, got, rows[n][0])
		}
		reason := cell(line, len(head)-1)
		if n == 3 {
			if !strings.Contains(reason, "email") {
				t.Errorf("line 3: _reject %q, want the bad email's reason", reason)
			}
			continue
		}
		if reason != "" {
			t.Errorf("line %d: _reject %q for a valid row", n, reason)
		}
		if got := cell(line, emailCol); got != emailOf(rows[n]) {
			t.Errorf("line %d: email %q, want %q", n, got, emailOf(rows[n]))
		}
	}
}
