package tiquotest_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"crmsync/sinks/tiquo/tiquotest"
)

func ids(cs []map[string]any) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i], _ = c["id"].(string)
	}
	return out
}

// page asks for one page and returns its ids, hasMore and nextCursor.
func (c *client) page(query string) ([]string, bool, any) {
	c.T.Helper()
	a := c.ok(200, "GET", "/customers?"+query, nil)
	pg, ok := a.Body["pagination"].(map[string]any)
	if !ok {
		c.T.Fatalf("no pagination: %v", a)
	}
	if _, ok := pg["nextCursor"]; !ok {
		c.T.Fatalf("pagination without nextCursor: %v", a)
	}
	more, _ := pg["hasMore"].(bool)
	return ids(a.items()), more, pg["nextCursor"]
}

// TestPaging walks the list with the default and explicit limits: the
// customers come in creation order, nextCursor is the page's last id while
// hasMore, and null on the last page, a full one included.
func TestPaging(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	var created []string
	add := func(n int) {
		for range n {
			created = append(created, c.create(person(fmt.Sprintf("p%03d@example.com", len(created))))["id"].(string))
		}
	}
	add(50)
	got, more, next := c.page("")
	if !slices.Equal(got, created[:25]) || !more || next != created[24] {
		t.Fatalf("first page: %d ids, hasMore %v, nextCursor %v", len(got), more, next)
	}
	// Exactly two full pages: the second says there is nothing more.
	got, more, next = c.page("cursor=" + created[24])
	if !slices.Equal(got, created[25:50]) || more || next != nil {
		t.Fatalf("second page: %d ids, hasMore %v, nextCursor %v", len(got), more, next)
	}
	// Customers created since land after the pages read.
	add(10)
	got, more, next = c.page("cursor=" + created[49])
	if !slices.Equal(got, created[50:]) || more || next != nil {
		t.Fatalf("page after new customers: %v, hasMore %v, nextCursor %v", got, more, next)
	}
	if all := ids(c.all()); !slices.Equal(all, created) {
		t.Errorf("walking with limit 100: %d ids, not the creation order", len(all))
	}
	got, more, next = c.page("limit=7&cursor=" + created[10])
	if !slices.Equal(got, created[11:18]) || !more || next != created[17] {
		t.Errorf("limit 7: %v, hasMore %v, nextCursor %v", got, more, next)
	}
	if got, _, _ := c.page("limit=100"); len(got) != 60 {
		t.Errorf("limit 100 gave %d of 60", len(got))
	}
	if got, _, _ := c.page("limit="); len(got) != 25 {
		t.Errorf("empty limit gave %d, want the default 25", len(got))
	}
}

// TestPagingDeletedCursor deletes the customer a client holds as its
// cursor: the next page still starts right after it.
func TestPagingDeletedCursor(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	var created []string
	for i := range 12 {
		created = append(created, c.create(person(fmt.Sprintf("d%02d@example.com", i)))["id"].(string))
	}
	_, _, next := c.page("limit=5")
	if next != created[4] {
		t.Fatalf("nextCursor %v", next)
	}
	c.ok(200, "DELETE", "/customers/"+created[4], nil)
	c.ok(200, "DELETE", "/customers/"+created[5], nil)
	got, more, _ := c.page("limit=5&cursor=" + created[4])
	if !slices.Equal(got, created[6:11]) || !more {
		t.Errorf("after a deleted cursor: %v, hasMore %v; want %v", got, more, created[6:11])
	}
	// The cursor of the last customer, deleted: an empty last page.
	c.ok(200, "DELETE", "/customers/"+created[11], nil)
	if got, more, next := c.page("cursor=" + created[11]); len(got) != 0 || more || next != nil {
		t.Errorf("after the deleted last customer: %v, %v, %v", got, more, next)
	}
}

// TestListParameters checks the bounds of limit and the cursor: every
// refusal is a 400 validation_error naming the parameter.
func TestListParameters(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("one@example.com"))["id"].(string)
	for _, tc := range []struct {
		query string
		field string // "" = accepted
	}{
		{"limit=1", ""},
		{"limit=100", ""},
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=101", "limit"},
		{"limit=1000", "limit"},
		{"limit=abc", "limit"},
		{"limit=1.5", "limit"},
		{"limit=1e2", "limit"},
		{"limit=%2B5", "limit"}, // digits only, no sign
		{"limit=050", ""},
		{"limit=%205", "limit"},
		{"limit=99999999999999999999", "limit"},
		{"cursor=" + id, ""},
		{"cursor=cust_unknown", "cursor"},
		{"cursor=" + url.QueryEscape("' OR 1=1 --"), "cursor"},
		{"email=", "email"},
		{"email=a@example.com&email=b@example.com", "email"},
		{"unknown=1", ""},
	} {
		a := c.do("GET", "/customers?"+tc.query, nil)
		switch {
		case tc.field == "" && a.Status != 200:
			t.Errorf("%s: %v", tc.query, a)
		case tc.field != "" && (a.Status != 400 || a.code() != "validation_error" || a.field() != tc.field):
			t.Errorf("%s: %v, want 400 validation_error on %s", tc.query, a, tc.field)
		}
	}
}

// TestEmailFilter checks the emulator's decision GET /customers?email=:
// the customers whose email equals the value case-insensitively, never a
// near match, in the list envelope.
func TestEmailFilter(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	ann := c.create(person("Ann@Example.com"))["id"].(string)
	c.create(person("ann@example.co"))
	c.create(person("xann@example.com"))
	c.create(person("ann@example.com.au"))
	kate := c.create(person("kate@example.com"))["id"].(string)
	gone := c.create(person("gone@example.com"))["id"].(string)
	c.ok(200, "DELETE", "/customers/"+gone, nil)
	moved := c.create(person("old@example.com"))["id"].(string)
	c.patch(moved, map[string]any{"email": "new@example.com"})

	for _, tc := range []struct {
		email string
		want  []string
	}{
		{"ann@example.com", []string{ann}},
		{"ANN@EXAMPLE.COM", []string{ann}},
		{"Ann@Example.com", []string{ann}},
		{"\u212Aate@example.com", []string{kate}}, // Kelvin sign folds to k
		{"nn@example.com", nil},
		{"ann@example", nil},
		{"a_n@example.com", nil}, // no LIKE wildcards
		{"a%@example.com", nil},
		{"%", nil},
		{"gone@example.com", nil},
		{"old@example.com", nil},
		{"new@example.com", []string{moved}},
		{"not an email", nil},
	} {
		items := c.byEmail(tc.email)
		if got := ids(items); !slices.Equal(got, tc.want) {
			t.Errorf("email=%q: %v, want %v", tc.email, got, tc.want)
		}
		a := c.ok(200, "GET", "/customers?email="+url.QueryEscape(tc.email), nil)
		if pg := a.Body["pagination"].(map[string]any); pg["hasMore"] != false || pg["nextCursor"] != nil {
			t.Errorf("email=%q: pagination %v", tc.email, pg)
		}
	}
	// With a cursor and a limit, the filter keeps to the page after it.
	if got, _, _ := c.page("limit=1&email=ann@example.com&cursor=" + ann); len(got) != 0 {
		t.Errorf("email after its own cursor: %v", got)
	}
	if got, _, _ := c.page("limit=1&email=kate@example.com&cursor=" + ann); !slices.Equal(got, []string{kate}) {
		t.Errorf("email after an earlier cursor: %v", got)
	}
}
