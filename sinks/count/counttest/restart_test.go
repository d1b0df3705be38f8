package counttest_test

import (
	"path/filepath"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/count/counttest"
)

// TestRestartKeepsData stops a server and starts another on its file: the
// customers, their addresses and contacts, and email uniqueness survive,
// and new customers list after the old ones.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "count.db")
	s1, err := counttest.NewServer(counttest.Options{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	c1 := newClient(t, s1)
	before := c1.create(map[string]any{"customer": "Kept", "email": "kept@example.com",
		"billingAddress": map[string]any{"city": "Bern"}, "contacts": []any{map[string]any{"name": "Ann"}}})
	id := before["id"].(string)
	before = c1.put(id, emutest.With(company("Kept", "kept@example.com"), "website", "kept.example"))
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := start(t, counttest.Options{DBPath: db})
	c2 := newClient(t, s2)
	if got := c2.get(id); !sameJSON(got, before) {
		t.Errorf("after restart\n%v\nwant\n%v", got, before)
	}
	if a := c2.do("POST", "/customers", company("Again", "KEPT@example.com")); a.Status != 409 {
		t.Errorf("email uniqueness after restart: %v", a)
	}
	c2.create(company("New", "new@example.com"))
	if got := names(c2.ok(200, "GET", "/customers", nil)); len(got) != 2 || got[0] != "Kept" || got[1] != "New" {
		t.Errorf("list after restart: %v", got)
	}
}
