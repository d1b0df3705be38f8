package gdpr_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/gdpr"
	"crmsync/gdpr/layout"
)

func TestEraseLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erasure-log.csv")
	if e, err := gdpr.ReadErased(path); err != nil || len(e.IDs) != 0 {
		t.Fatalf("a missing log: %+v, %v", e, err)
	}
	l, err := gdpr.OpenErasureLog(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ada, bob := gdpr.EmailHash("ada@example.com"), gdpr.EmailHash("bob@example.com")
	err = l.Append(
		gdpr.ErasureEntry{Time: now, Run: "r1", CRMID: "id-ada", MatchSHA256: ada, Outcome: gdpr.OutcomeDeleting},
		gdpr.ErasureEntry{Time: now, Run: "r1", CRMID: "id-ada", MatchSHA256: ada, Outcome: gdpr.OutcomeDeleted},
		gdpr.ErasureEntry{Time: now, Run: "r1", CRMID: "id-bob", MatchSHA256: bob, Outcome: gdpr.OutcomeDeleting},
		gdpr.ErasureEntry{Time: now, Run: "r1", MatchSHA256: gdpr.EmailHash("cy@example.com"), Outcome: gdpr.OutcomeNotFound},
	)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	checkMode(t, path, 0o600)

	// A crash in the middle of a row: the next open drops the partial
	// row and appends after the whole ones.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`2024-01-01T00:00:00Z,r2,id-dee,"abc`)
	f.Close()
	e, err := gdpr.ReadErased(path)
	if err != nil {
		t.Fatal(err)
	}
	if !e.IDs["id-ada"] || !e.IDs["id-bob"] || e.IDs["id-dee"] || len(e.IDs) != 2 {
		t.Errorf("erased ids %v; want ada (deleted) and bob (deleting)", e.IDs)
	}
	if e.Matches[ada] != "id-ada" || e.Matches[bob] != "id-bob" || len(e.Matches) != 2 {
		t.Errorf("erased match hashes %v", e.Matches)
	}
	l, err = gdpr.OpenErasureLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(gdpr.ErasureEntry{Time: now, Run: "r2", CRMID: "id-ada", MatchSHA256: ada, Outcome: gdpr.OutcomeAlreadyAbsent}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 6 || lines[0] != strings.Join(gdpr.ErasureColumns, ",") || strings.Contains(string(data), "id-dee") {
		t.Errorf("log after repair and append:\n%s", data)
	}
	if strings.Contains(string(data), "@") {
		t.Error("the log holds an email")
	}

	other := filepath.Join(t.TempDir(), "other.csv")
	os.WriteFile(other, []byte("name,email\n"), 0o600)
	if _, err := gdpr.OpenErasureLog(other); err == nil {
		t.Error("appended to a file that is not an erasure log")
	}
	if _, err := gdpr.ReadErased(other); err == nil {
		t.Error("read a file that is not an erasure log")
	}
}

// TestEraseLogNeverThroughALink checks that a symbolic link under the
// log's name is refused, its target neither written nor chmodded.
func TestEraseLogNeverThroughALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim.csv")
	content := strings.Join(gdpr.ErasureColumns, ",") + "\n"
	if err := os.WriteFile(victim, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "erasure-log.csv")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if _, err := gdpr.OpenErasureLog(path); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("OpenErasureLog through a link: %v", err)
	}
	if _, err := gdpr.ReadErased(path); err == nil {
		t.Error("ReadErased read through a link")
	}
	checkMode(t, victim, 0o644)
	if data, _ := os.ReadFile(victim); string(data) != content {
		t.Errorf("the link's target holds %q", data)
	}
}

// TestCSVFilesEscapeFormulas checks that the CSV files of this package,
// the export's table and the erasure log, escape a cell a spreadsheet
// would run, as rejects.csv does, and that the log reads its ids back as
// they were.
func TestCSVFilesEscapeFormulas(t *testing.T) {
	formulas := []string{"=HYPERLINK(\"http://x.example/\",\"y\")", "@SUM(A1)", "+1+1", "-2+3", "\t=1", "\r=1"}
	var buf bytes.Buffer
	w := gdpr.NewCSVWriter(&buf)
	w.Write(formulas)
	w.Flush()
	rec, err := csv.NewReader(&buf).Read()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range formulas {
		if rec[i] != "'"+f {
			t.Errorf("%q written as %q, want it quoted", f, rec[i])
		}
	}

	cols := testLayout.Table()
	tw, err := gdpr.NewTableWriter("csv", &buf, cols)
	if err != nil {
		t.Fatal(err)
	}
	row := make(layout.Row, len(cols))
	for i := range row {
		row[i] = layout.Value{Null: true}
	}
	for i, c := range cols {
		if c.Kind == layout.String && (c.Name == "name" || c.Name == "email") {
			row[i] = layout.Value{Str: formulas[0]}
		}
	}
	buf.Reset()
	if err := tw.Write(row); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	if !strings.Contains(buf.String(), `"'=HYPERLINK(`) || strings.Contains(buf.String(), `,"=HYPERLINK(`) {
		t.Errorf("the CSV table holds a raw formula:\n%s", buf.String())
	}

	path := filepath.Join(t.TempDir(), "erasure-log.csv")
	l, err := gdpr.OpenErasureLog(path)
	if err != nil {
		t.Fatal(err)
	}
	id := "=HYPERLINK(\"http://x.example/\")"
	if err := l.Append(gdpr.ErasureEntry{Time: time.Now(), Run: "@SUM(A1)", CRMID: id, MatchSHA256: "h", Outcome: gdpr.OutcomeDeleted}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"'=HYPERLINK(`) || !strings.Contains(string(data), ",'@SUM(A1),") {
		t.Errorf("the erasure log holds a raw formula:\n%s", data)
	}
	e, err := gdpr.ReadErased(path)
	if err != nil {
		t.Fatal(err)
	}
	if !e.IDs[id] || e.Matches["h"] != id {
		t.Errorf("read back %+v, want the id as it was", e)
	}
}

// TestEraseLogAddsLeftToClear opens a log written before left_to_clear:
// it is read as it is, and opening it for appending adds the column,
// empty on its rows, before rows of anonymised customers name what is
// left. Anonymisations are read apart from deletions.
func TestEraseLogAddsLeftToClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erasure-log.csv")
	old := "time,run,crm_id,email_sha256,outcome\n" +
		"2024-01-01T00:00:00Z,r1,id-ada,h-ada,deleted\n" +
		"2024-01-01T00:00:00Z,r1,\"id,bob\",h-bob,not_found\n"
	if err := os.WriteFile(path, []byte(old+`2024-01-01T00:00:00Z,r1,id-cut,"h`), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := gdpr.ReadErased(path)
	if err != nil || !e.IDs["id-ada"] || e.Matches["h-ada"] != "id-ada" || len(e.IDs) != 1 {
		t.Fatalf("the old log read as %+v, %v", e, err)
	}
	l, err := gdpr.OpenErasureLog(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	err = l.Append(gdpr.ErasureEntry{Time: now, Run: "r2", CRMID: "id-cy", MatchSHA256: "h-cy", Outcome: gdpr.OutcomeAnonymising},
		gdpr.ErasureEntry{Time: now, Run: "r2", CRMID: "id-cy", MatchSHA256: "h-cy", Outcome: gdpr.OutcomeAnonymised, Left: []string{"contacts", "notes"}},
		gdpr.ErasureEntry{Time: now, Run: "r2", CRMID: "id-dee", MatchSHA256: "h-dee", Outcome: gdpr.OutcomeAlreadyAnonymised})
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
	data, _ := os.ReadFile(path)
	want := "time,run,crm_id,email_sha256,outcome,left_to_clear\n" +
		"2024-01-01T00:00:00Z,r1,id-ada,h-ada,deleted,\n" +
		"2024-01-01T00:00:00Z,r1,\"id,bob\",h-bob,not_found,\n" +
		"2025-02-03T04:05:06Z,r2,id-cy,h-cy,anonymising,\n" +
		"2025-02-03T04:05:06Z,r2,id-cy,h-cy,anonymised,contacts; notes\n" +
		"2025-02-03T04:05:06Z,r2,id-dee,h-dee,already_anonymised,\n"
	if string(data) != want {
		t.Errorf("the log:\n%s\nwant:\n%s", data, want)
	}
	e, err = gdpr.ReadErased(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.IDs) != 1 || !e.IDs["id-ada"] || len(e.Matches) != 1 {
		t.Errorf("deleted: %v %v", e.IDs, e.Matches)
	}
	if len(e.AnonymisedIDs) != 2 || !e.AnonymisedIDs["id-cy"] || !e.AnonymisedIDs["id-dee"] ||
		e.AnonymisedMatches["h-cy"] != "id-cy" || e.AnonymisedMatches["h-dee"] != "id-dee" || len(e.AnonymisedMatches) != 2 {
		t.Errorf("anonymised: %v %v", e.AnonymisedIDs, e.AnonymisedMatches)
	}
}
