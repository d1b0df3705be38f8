package revnuetest_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"crmsync/sinks/revnue/revnuetest"
)

// TestListPaging pages through a company's customers by following next
// and previous: the counts, the links and the order (by id, the order of
// creation) are DRF's page-number pagination; another company's
// customers are not in the list.
func TestListPaging(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{Companies: []int64{1, 2}})
	c := newClient(t, s)
	var want []int64
	for i := range 7 {
		want = append(want, idOf(c.create(minimal(fmt.Sprintf("Paged %d", i)))))
		c.create(map[string]any{"company": 2, "name": fmt.Sprintf("Other %d", i)})
	}
	var got []int64
	a := c.ok(200, "GET", "/customer/?company=1&page_size=3", nil)
	var pages []*answer
	for {
		pages = append(pages, a)
		if a.Body["count"] != float64(7) {
			t.Errorf("count %v", a.Body["count"])
		}
		got = append(got, ids(a.results())...)
		next, _ := a.Body["next"].(string)
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Host != strings.TrimPrefix(s.URL, "http://") || u.Path != "/api/v2/customer/" {
			t.Fatalf("next %q", next)
		}
		a = c.ok(200, "GET", strings.TrimPrefix(next, c.Base), nil)
	}
	if !slices.Equal(got, want) || len(pages) != 3 {
		t.Errorf("paged %v in %d pages, want %v in 3", got, len(pages), want)
	}
	if p := pages[0].Body["previous"]; p != nil {
		t.Errorf("first page's previous %v", p)
	}
	if p := pages[1].Body["previous"].(string); !strings.HasSuffix(p, "/api/v2/customer/?company=1&page_size=3") {
		t.Errorf("second page's previous %q: page 1 is named without page", p)
	}
	if p := pages[2].Body["previous"].(string); !strings.HasSuffix(p, "/api/v2/customer/?company=1&page=2&page_size=3") {
		t.Errorf("third page's previous %q", p)
	}
	if n := pages[1].Body["next"].(string); !strings.HasSuffix(n, "?company=1&page=3&page_size=3") {
		t.Errorf("second page's next %q", n)
	}
	if got := ids(c.all(2)); len(got) != 7 || slices.ContainsFunc(got, func(id int64) bool { return slices.Contains(want, id) }) {
		t.Errorf("company 2: %v", got)
	}
}

// TestListPageSize checks page_size: 100 by default and at most, a larger
// one cut to 100, a bad one the default.
func TestListPageSize(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	for i := range 130 {
		seed(t, s, minimal(fmt.Sprintf("Sized %03d", i)))
	}
	for q, n := range map[string]int{"": 100, "&page_size=500": 100, "&page_size=100": 100, "&page_size=7": 7,
		"&page_size=0": 100, "&page_size=-3": 100, "&page_size=ten": 100, "&page=2": 30, "&page=2&page_size=1000": 30} {
		a := c.ok(200, "GET", "/customer/?company=1"+q, nil)
		if len(a.results()) != n || a.Body["count"] != float64(130) {
			t.Errorf("%q: %d results of %v, want %d", q, len(a.results()), a.Body["count"], n)
		}
	}
}

// TestListErrors checks the answers to bad list parameters.
func TestListErrors(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	c.create(minimal("Listed"))
	for q, want := range map[string]string{
		"":                     "400 company This field is required.",
		"?company=":            "400 company This field is required.",
		"?page=1":              "400 company This field is required.",
		"?company=one":         "400 company A valid integer is required.",
		"?company=2":           `400 company Invalid pk "2" - object does not exist.`,
		"?company=1&page=0":    "404 Invalid page.",
		"?company=1&page=x":    "404 Invalid page.",
		"?company=1&page=2":    "404 Invalid page.",
		"?company=1&page=last": "404 Invalid page.",
	} {
		a := c.do("GET", "/customer/"+q, nil)
		got := fmt.Sprintf("%d %v", a.Status, a.Body["detail"])
		if a.Status == 400 {
			got = fmt.Sprintf("400 company %s", a.fieldError("company"))
		}
		if got != want {
			t.Errorf("%q: %s, want %s", q, a, want)
		}
	}
	empty := start(t, revnuetest.Options{})
	a := newClient(t, empty).ok(200, "GET", "/customer/?company=1&page=1", nil)
	if strings.TrimSpace(string(a.Raw)) != `{"count":0,"next":null,"previous":null,"results":[]}` {
		t.Errorf("empty list: %s", a.Raw)
	}
}

// TestListSeesCreatesAfterItsPages checks that customers created while a
// client pages land after the pages it has read, as id order promises.
func TestListSeesCreatesAfterItsPages(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	for i := range 4 {
		c.create(minimal(fmt.Sprintf("Early %d", i)))
	}
	first := ids(c.ok(200, "GET", "/customer/?company=1&page_size=2", nil).results())
	late := idOf(c.create(minimal("Late")))
	second := ids(c.ok(200, "GET", "/customer/?company=1&page_size=2&page=2", nil).results())
	third := ids(c.ok(200, "GET", "/customer/?company=1&page_size=2&page=3", nil).results())
	if all := slices.Concat(first, second, third); len(all) != 5 || all[4] != late || !slices.IsSorted(all) {
		t.Errorf("pages %v %v %v", first, second, third)
	}
}
