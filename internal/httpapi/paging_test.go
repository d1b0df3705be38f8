package httpapi_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
)

func ids(from, n int) func(int) string {
	return func(i int) string { return strconv.Itoa(from + i) }
}

func wantPagingError(t *testing.T, err error, what string) {
	t.Helper()
	var pe *httpapi.PagingError
	if !errors.As(err, &pe) || pe.Endpoint != "GET /list" || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("%s: %v, want a fatal paging error naming GET /list", what, err)
	}
}

// TestPageGuard: each way paging can fail to progress stops a walk, and
// a walk that progresses is left alone.
func TestPageGuard(t *testing.T) {
	g := httpapi.NewPageGuard("GET /list")
	g.Announce(250, 0)
	g.Announce(1_000_000, 0) // only the first announcement counts
	for p := range 3 {
		if err := g.Next(strconv.Itoa(p)); err != nil {
			t.Fatal(err)
		}
		if err := g.Page(min(100, 250-100*p), ids(100*p, 100)); err != nil {
			t.Fatalf("page %d: %v", p, err)
		}
	}
	if err := g.Page(0, nil); err != nil || g.Listed() != 250 {
		t.Fatalf("the end: %v, %d listed", err, g.Listed())
	}

	g = httpapi.NewPageGuard("GET /list")
	_ = g.Next("a")
	wantPagingError(t, g.Next("a"), "a cursor that does not advance")

	g = httpapi.NewPageGuard("GET /list")
	_ = g.Page(3, ids(0, 3))
	_ = g.Page(3, ids(3, 3))
	wantPagingError(t, g.Page(3, ids(0, 3)), "a page seen before")

	g = httpapi.NewPageGuard("GET /list")
	_ = g.Page(3, ids(0, 3))
	wantPagingError(t, g.Page(3, ids(2, 3)), "an item of the page before")

	g = httpapi.NewPageGuard("GET /list")
	g.Announce(5, 2)
	_ = g.Page(4, ids(0, 4))
	if err := g.Page(3, ids(4, 3)); err != nil {
		t.Errorf("within the allowance: %v", err)
	}
	wantPagingError(t, g.Page(1, ids(7, 1)), "past the announced total")
}

// A guard keeps a word per page, not the pages: a long walk costs little.
func BenchmarkPageGuard(b *testing.B) {
	g := httpapi.NewPageGuard("GET /list")
	page := make([]string, 100)
	for i := range b.N {
		for j := range page {
			page[j] = fmt.Sprint(i*100 + j)
		}
		if err := g.Page(len(page), func(j int) string { return page[j] }); err != nil {
			b.Fatal(err)
		}
	}
}
