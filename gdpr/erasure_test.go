package gdpr_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/gdpr"
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
		gdpr.ErasureEntry{Time: now, Run: "r1", CRMID: "id-ada", EmailSHA256: ada, Outcome: gdpr.OutcomeDeleting},
		gdpr.ErasureEntry{Time: now, Run: "r1", CRMID: "id-ada", EmailSHA256: ada, Outcome: gdpr.OutcomeDeleted},
		gdpr.ErasureEntry{Time: now, Run: "r1", CRMID: "id-bob", EmailSHA256: bob, Outcome: gdpr.OutcomeDeleting},
		gdpr.ErasureEntry{Time: now, Run: "r1", EmailSHA256: gdpr.EmailHash("cy@example.com"), Outcome: gdpr.OutcomeNotFound},
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
	if e.Emails[ada] != "id-ada" || e.Emails[bob] != "id-bob" || len(e.Emails) != 2 {
		t.Errorf("erased emails %v", e.Emails)
	}
	l, err = gdpr.OpenErasureLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(gdpr.ErasureEntry{Time: now, Run: "r2", CRMID: "id-ada", EmailSHA256: ada, Outcome: gdpr.OutcomeAlreadyAbsent}); err != nil {
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
