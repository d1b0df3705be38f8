package tiquotest_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"crmsync/sinks/tiquo/tiquotest"
)

// TestRestartKeepsData stops a server and starts another on the same
// file: customers, their order, the uniqueness of emails and the cursors
// of deleted customers survive.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "tiquo.db")
	first, err := tiquotest.NewServer(tiquotest.Options{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, first)
	a := c.create(full("a@example.com"))
	b := c.create(person("b@example.com"))
	gone := c.create(person("gone@example.com"))["id"].(string)
	b = c.patch(b["id"].(string), map[string]any{"address": map[string]any{"city": "Berlin"}, "tags": []any{"x", "y"}, "marketingConsent": false})
	c.ok(200, "DELETE", "/customers/"+gone, nil)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	s := start(t, tiquotest.Options{DBPath: db})
	c = newClient(t, s)
	for _, want := range []map[string]any{a, b} {
		if got := c.get(want["id"].(string)); !reflect.DeepEqual(got, want) {
			t.Errorf("after restart\n got %v\nwant %v", got, want)
		}
	}
	if a := c.do("POST", "/customers", person("A@example.com")); a.Status != 409 {
		t.Errorf("a taken email after restart: %v", a)
	}
	d := c.create(person("gone@example.com"))["id"].(string)
	want := []string{a["id"].(string), b["id"].(string), d}
	if got := ids(c.all()); !slices.Equal(got, want) {
		t.Errorf("order after restart %v, want %v", got, want)
	}
	if got, _, _ := c.page("cursor=" + gone); !slices.Equal(got, []string{d}) {
		t.Errorf("the cursor of a customer deleted before the restart: %v", got)
	}
}
