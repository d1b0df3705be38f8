package counttest_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"crmsync/sinks/count/counttest"
)

// names lists the customer names of a list answer.
func names(a *answer) []string {
	var out []string
	for _, c := range a.items() {
		out = append(out, c["customer"].(string))
	}
	return out
}

// page checks a list answer's pagination and returns its names.
func page(t *testing.T, c *client, query string, wantPage, wantLimit, wantTotal int) []string {
	t.Helper()
	a := c.ok(200, "GET", "/customers"+query, nil)
	pg, _ := a.Body["pagination"].(map[string]any)
	if pg["page"] != float64(wantPage) || pg["limit"] != float64(wantLimit) || pg["total"] != float64(wantTotal) || len(pg) != 3 {
		t.Errorf("%s: pagination %v, want page %d limit %d total %d", query, pg, wantPage, wantLimit, wantTotal)
	}
	return names(a)
}

// TestListPaging pages through 45 customers: the default limit, pages in
// creation order without gaps or repeats, a page past the end, and the
// bounds of limit and page.
func TestListPaging(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	var all []string
	for i := range 45 {
		n := fmt.Sprintf("C%02d", i)
		all = append(all, n)
		c.create(company(n, fmt.Sprintf("c%02d@example.com", i)))
	}
	if got := page(t, c, "", 1, 20, 45); !slices.Equal(got, all[:20]) {
		t.Errorf("default page: %v", got)
	}
	var paged []string
	for p := 1; p <= 3; p++ {
		paged = append(paged, page(t, c, fmt.Sprintf("?page=%d&limit=20", p), p, 20, 45)...)
	}
	if !slices.Equal(paged, all) {
		t.Errorf("pages 1 to 3: %v", paged)
	}
	if got := page(t, c, "?page=4&limit=20", 4, 20, 45); len(got) != 0 {
		t.Errorf("past the end: %v", got)
	}
	if got := page(t, c, "?limit=100", 1, 100, 45); !slices.Equal(got, all) {
		t.Errorf("limit 100: %v", got)
	}
	if got := page(t, c, "?page=&limit=&search=&orderBy=", 1, 20, 45); !slices.Equal(got, all[:20]) {
		t.Errorf("empty parameters: %v", got)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=-1", "limit=%2B5", "limit=ten", "limit=1.5",
		"page=0", "page=-1", "page=1000000001", "orderBy=name", "orderBy=createdAt:desc", "orderBy=--email"} {
		if a := c.do("GET", "/customers?"+q, nil); a.Status != 400 || a.code() != "validation_error" || len(a.fields()) != 1 {
			t.Errorf("%s: %v, want a 400 naming it", q, a)
		}
	}
}

// TestListSearchAndOrder checks search (a case-insensitive substring of
// the name or the email) and each orderBy, ties kept in creation order.
func TestListSearchAndOrder(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	for _, p := range [][2]string{
		{"Beta GmbH", "info@beta.de"},
		{"alpha AG", "hello@alpha.ch"},
		{"Gamma Ltd", "ALPHA.fan@gamma.co.uk"},
		{"Ölwerke", "kontakt@oel.de"},
		{"alpha AG", "second@alpha.ch"},
	} {
		c.create(company(p[0], p[1]))
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"search=ALPHA", []string{"alpha AG", "Gamma Ltd", "alpha AG"}},
		{"search=" + url.QueryEscape("@alpha.CH"), []string{"alpha AG", "alpha AG"}},
		{"search=" + url.QueryEscape("ölw"), []string{"Ölwerke"}},
		{"search=nobody", nil},
		{"orderBy=customer", []string{"alpha AG", "alpha AG", "Beta GmbH", "Gamma Ltd", "Ölwerke"}},
		{"orderBy=-customer", []string{"Ölwerke", "Gamma Ltd", "Beta GmbH", "alpha AG", "alpha AG"}},
		{"orderBy=email", []string{"Gamma Ltd", "alpha AG", "Beta GmbH", "Ölwerke", "alpha AG"}},
		{"orderBy=-createdAt", []string{"alpha AG", "Ölwerke", "Gamma Ltd", "alpha AG", "Beta GmbH"}},
		{"orderBy=createdAt&search=de", []string{"Beta GmbH", "Ölwerke"}},
		{"orderBy=customer&limit=1&page=2", []string{"alpha AG"}},
	} {
		if got := names(c.ok(200, "GET", "/customers?"+tc.query, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	// Ties: the two "alpha AG" come in creation order either way up.
	a := c.ok(200, "GET", "/customers?orderBy=customer", nil).items()
	d := c.ok(200, "GET", "/customers?orderBy=-customer", nil).items()
	if a[0]["email"] != "hello@alpha.ch" || d[3]["email"] != "second@alpha.ch" {
		t.Errorf("ties: %v / %v", a[:2], d[3:])
	}
	if got := page(t, c, "?search=alpha&limit=1&page=3", 3, 1, 3); !slices.Equal(got, []string{"alpha AG"}) {
		t.Errorf("search total: %v", got)
	}
	// updatedAt: the customer changed last comes last.
	beta := c.ok(200, "GET", "/customers?search=beta", nil).items()[0]
	c.put(beta["id"].(string), company("Beta GmbH", "new@beta.de"))
	if got := names(c.ok(200, "GET", "/customers?orderBy=updatedAt", nil)); got[len(got)-1] != "Beta GmbH" {
		t.Errorf("orderBy=updatedAt: %v", got)
	}
}
