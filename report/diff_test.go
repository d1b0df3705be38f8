package report_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"crmsync/report"
)

// unescape undoes the formula quoting diff.csv documents: a leading quote
// is dropped when what follows would have needed it. It is written from
// the documented rule, not from the package's code.
func unescape(s string) string {
	if !strings.HasPrefix(s, "'") {
		return s
	}
	rest := s[1:]
	t := strings.TrimLeft(rest, "'")
	if t == "" {
		return s
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if !isPlainNumber(t) {
			return rest
		}
	}
	return s
}

func isPlainNumber(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	return strings.Trim(s, "0123456789 ().-") == ""
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := strings.CutPrefix(string(b), "\uFEFF")
	if !ok {
		t.Fatalf("%s does not start with a UTF-8 byte order mark", path)
	}
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv cannot read %s: %v", path, err)
	}
	return recs
}

var header = []string{"key", "crm_id", "action", "field", "old_value", "new_value"}

// TestDiffRoundTrip writes values a spreadsheet would run as formulas,
// and values that only look like them, and reads them back through
// encoding/csv: each raw cell is quoted exactly when it must be, and
// undoing the quoting gives back the value written.
func TestDiffRoundTrip(t *testing.T) {
	tests := []struct {
		value, raw string // raw: as the cell holds it
	}{
		{`=HYPERLINK("http://evil.example","click")`, `'=HYPERLINK("http://evil.example","click")`},
		{"=1+1", "'=1+1"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-", "'-"},
		{"'=already quoted", "''=already quoted"},
		{"''@x", "'''@x"},
		{"-12.5", "-12.5"},
		{"+49 (30) 1234-567", "+49 (30) 1234-567"},
		{"'plain", "'plain"},
		{"'", "'"},
		{"a=b", "a=b"},
		{"", ""},
		{"two\nlines, \"quoted\"", "two\nlines, \"quoted\""},
		{"Zoë Ångström ☃", "Zoë Ångström ☃"},
	}
	path := filepath.Join(t.TempDir(), "diff.csv")
	w, err := report.CreateDiff(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []report.DiffRow
	// Several batches, as the engine writes them.
	for i, tt := range tests {
		row := report.DiffRow{Key: tt.value, CRMID: tt.value, Action: report.ActionUpdate, Field: tt.value, OldValue: tt.value, NewValue: tt.value}
		want = append(want, row)
		if err := w.Write([]report.DiffRow{row}); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	del := report.DiffRow{Key: "C-1", CRMID: "cus_1", Action: report.ActionDelete, OldValue: "=gone@example.com"}
	if err := w.Write([]report.DiffRow{del}); err != nil {
		t.Fatal(err)
	}
	want = append(want, del)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	recs := readCSV(t, path)
	if strings.Join(recs[0], ",") != strings.Join(header, ",") {
		t.Fatalf("header %q, want %q", recs[0], header)
	}
	recs = recs[1:]
	if len(recs) != len(want) {
		t.Fatalf("%d rows, want %d", len(recs), len(want))
	}
	for i, tt := range tests {
		for j, cell := range recs[i] {
			if j == 2 {
				continue // action
			}
			if cell != tt.raw {
				t.Errorf("row %d column %s holds %q, want %q", i, header[j], cell, tt.raw)
			}
		}
	}
	for i, rec := range recs {
		got := report.DiffRow{Key: unescape(rec[0]), CRMID: unescape(rec[1]), Action: unescape(rec[2]),
			Field: unescape(rec[3]), OldValue: unescape(rec[4]), NewValue: unescape(rec[5])}
		if got != want[i] {
			t.Errorf("row %d reads back as %+v, want %+v", i, got, want[i])
		}
	}
}

func TestCreateDiff(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "diff.csv")
	// A diff left by an earlier run, readable by all, with rows.
	if err := os.WriteFile(path, []byte("old,rows\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := report.CreateDiff(path)
	if err != nil {
		t.Fatal(err)
	}
	// The header is on disk before any row and before Close, so a run
	// killed now still leaves a readable file.
	if recs := readCSV(t, path); len(recs) != 1 || strings.Join(recs[0], ",") != strings.Join(header, ",") {
		t.Errorf("after CreateDiff the file holds %q, want the header alone", recs)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %o, want 600", mode)
	}
	if err := w.Write(nil); err != nil {
		t.Errorf("Write(nil): %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if err := w.Write([]report.DiffRow{{Key: "k"}}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if recs := readCSV(t, path); len(recs) != 1 {
		t.Errorf("the file holds %d records, want the header alone", len(recs))
	}

	if _, err := report.CreateDiff(filepath.Join(dir, "missing", "diff.csv")); err == nil {
		t.Error("CreateDiff in a missing directory succeeded")
	}
}

// TestDiffManyBatches writes more than the buffer holds, in batches, and
// checks every row arrives once, in order.
func TestDiffManyBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "diff.csv")
	w, err := report.CreateDiff(path)
	if err != nil {
		t.Fatal(err)
	}
	const batches, size = 12, 2_500
	batch := make([]report.DiffRow, size)
	for b := range batches {
		for i := range batch {
			n := b*size + i
			batch[i] = report.DiffRow{Key: "K" + strconv.Itoa(n), CRMID: "cus_" + strconv.Itoa(n), Action: report.ActionUpdate,
				Field: "email", OldValue: "old" + strconv.Itoa(n) + "@example.com", NewValue: "new" + strconv.Itoa(n) + "@example.com"}
		}
		if err := w.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, path)[1:]
	if len(recs) != batches*size {
		t.Fatalf("%d rows, want %d", len(recs), batches*size)
	}
	for n, rec := range recs {
		if rec[0] != "K"+strconv.Itoa(n) || rec[5] != "new"+strconv.Itoa(n)+"@example.com" {
			t.Fatalf("row %d is %q", n, rec)
		}
	}
}

func BenchmarkDiffWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "diff.csv")
	w, err := report.CreateDiff(path)
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]report.DiffRow, 10_000)
	for i := range batch {
		batch[i] = report.DiffRow{Key: "C-" + strconv.Itoa(1_000_000+i), CRMID: "cus_8fk2Lw" + strconv.Itoa(i), Action: report.ActionUpdate,
			Field: "email", OldValue: "anna.schmidt" + strconv.Itoa(i) + "@example.de", NewValue: "anna.schmidt+new@example.de"}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := w.Write(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
