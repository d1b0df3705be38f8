package httpapi

import (
	"fmt"
	"hash/maphash"

	"crmsync/pipeline"
)

// A PageGuard watches one walk over a list endpoint and stops it, with a
// fatal *PagingError naming the endpoint, as soon as the API's paging
// makes no progress or goes past its word:
//
//   - a request starts where an earlier one did (Next: an offset, page
//     number or cursor seen before);
//   - an answer repeats an earlier page, or holds an item of the page
//     before it (Page);
//   - the walk has listed more items than the first announcement said
//     (Announce), with the allowance given for items added meanwhile.
//
// Without it an API that ignores page or cursor parameters, or announces
// a total it never reaches, keeps a walk going for ever, growing a sync's
// index or an export's files. A guard keeps 8 bytes for each request and
// each page, and the items of the last page, so it costs nothing next to
// the pages themselves. It is not safe for concurrent use.
type PageGuard struct {
	endpoint string
	seed     maphash.Seed
	cursors  map[uint64]struct{}
	pages    map[uint64]struct{}
	last     map[uint64]struct{} // the items of the last page
	next     map[uint64]struct{}
	listed   int64
	limit    int64 // -1 until announced
	total    int64
	npages   int
}

// NewPageGuard returns a guard for one walk over endpoint, which names it
// in errors ("GET /customers/list"; never a query, which may hold an
// email).
func NewPageGuard(endpoint string) *PageGuard {
	return &PageGuard{endpoint: endpoint, seed: maphash.MakeSeed(), limit: -1,
		cursors: map[uint64]struct{}{}, pages: map[uint64]struct{}{}, last: map[uint64]struct{}{}, next: map[uint64]struct{}{}}
}

// Announce records how many items the API says the walk will list. The
// first announcement is the one that counts, so a server cannot move the
// end by announcing more on every page; allowance is how many items may
// be added while the walk runs (0 when none can be, or a walk must not
// read them).
func (g *PageGuard) Announce(total, allowance int64) {
	if g.limit >= 0 || total < 0 {
		return
	}
	g.total, g.limit = total, total+max(allowance, 0)
}

// Next is told where the next request starts, in whatever form the API
// pages by (a page number, an offset, a cursor, a time and an offset);
// it fails when a request started there before.
func (g *PageGuard) Next(cursor string) error {
	h := maphash.String(g.seed, cursor)
	if _, ok := g.cursors[h]; ok {
		return g.fail(fmt.Sprintf("after %d pages the walk is back where an earlier request started: the API's paging does not advance", g.npages))
	}
	g.cursors[h] = struct{}{}
	return nil
}

// Page is told the identities (ids) of the n items of an answer, before
// they are used; it fails when the page repeats an earlier one, holds an
// item of the page before it, or takes the walk past the announced total.
// An empty page is the end of a walk and is not checked.
func (g *PageGuard) Page(n int, id func(i int) string) error {
	if n == 0 {
		return nil
	}
	var page maphash.Hash
	page.SetSeed(g.seed)
	clear(g.next)
	repeated := 0
	for i := range n {
		s := id(i)
		page.WriteString(s)
		page.WriteByte(0)
		h := maphash.String(g.seed, s)
		if _, ok := g.last[h]; ok {
			repeated++
		}
		g.next[h] = struct{}{}
	}
	g.npages++
	sum := page.Sum64()
	if _, ok := g.pages[sum]; ok {
		return g.fail(fmt.Sprintf("page %d repeats an earlier page: the API's paging does not advance", g.npages))
	}
	if repeated > 0 && g.npages > 1 {
		return g.fail(fmt.Sprintf("page %d repeats %d items of the page before it: the API's paging does not advance", g.npages, repeated))
	}
	g.pages[sum] = struct{}{}
	g.last, g.next = g.next, g.last
	g.listed += int64(n)
	if g.limit >= 0 && g.listed > g.limit {
		return g.fail(fmt.Sprintf("%d items listed in %d pages, more than the %d the API announced (allowing %d added meanwhile)", g.listed, g.npages, g.total, g.limit-g.total))
	}
	return nil
}

// Listed is how many items the walk has listed.
func (g *PageGuard) Listed() int64 { return g.listed }

func (g *PageGuard) fail(why string) error {
	return pipeline.Fatal(&PagingError{Endpoint: g.endpoint, Reason: why})
}

// PagingError stops a walk whose paging went wrong.
type PagingError struct {
	Endpoint string
	Reason   string
}

func (e *PagingError) Error() string {
	return fmt.Sprintf("listing %s: %s; stopped so as not to read for ever", e.Endpoint, e.Reason)
}
