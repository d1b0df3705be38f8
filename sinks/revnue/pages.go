package revnue

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"crmsync/pipeline"
)

// pageMap is what the connector knows of where customers sit in the
// company's list: for each page it read, the first and last id on it.
// The list holds the customers in id order and a customer created
// meanwhile lands after every page, so a page found to span some ids
// keeps spanning them until customers before them are deleted; a page
// map gone stale makes Current read a page in vain, never a wrong
// customer (it takes from a page only the ids it asked for). Safe for
// concurrent use.
type pageMap struct {
	mu    sync.Mutex
	spans map[int]span
	count int64 // customers listed, as the last page read said; -1 unknown
}

// span is what one page held: its first and last id, and how many.
type span struct {
	first, last int64
	n           int
}

// learn notes what page n held.
func (m *pageMap) learn(n int, cs []pipeline.Customer, p *Page) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spans == nil {
		m.spans, m.count = map[int]span{}, -1
	}
	if p.PastEnd {
		return
	}
	m.count = p.Count
	if len(cs) == 0 {
		delete(m.spans, n)
		return
	}
	first, err1 := strconv.ParseInt(cs[0].ID, 10, 64)
	last, err2 := strconv.ParseInt(cs[len(cs)-1].ID, 10, 64)
	if err1 != nil || err2 != nil || first > last {
		// Not in id order as the API reference says: nothing to learn.
		delete(m.spans, n)
		return
	}
	m.spans[n] = span{first: first, last: last, n: len(cs)}
}

// guess returns the page that likely holds id x: a page seen to span it,
// else one estimated from the pages around it (the ids a page spans,
// spread evenly between them), page 1 when nothing is known; 0 when x
// cannot be in the list as last read (between two neighbouring pages, or
// beyond the last page): a Get reads it then.
func (m *pageMap) guess(x int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.spans) == 0 {
		return 1
	}
	lo, hi := 0, 0 // the nearest pages read before and after x
	for p, s := range m.spans {
		switch {
		case s.first <= x && x <= s.last:
			return p
		case s.last < x && p > lo:
			lo = p
		case s.first > x && (hi == 0 || p < hi):
			hi = p
		}
	}
	lastPage := 0
	if m.count >= 0 {
		lastPage = int((m.count + PageSize - 1) / PageSize)
	}
	switch {
	case lo != 0 && hi != 0:
		if hi == lo+1 {
			return 0
		}
		l, h := m.spans[lo], m.spans[hi]
		gap := float64(hi - lo - 1)
		p := lo + 1 + int(float64(x-l.last-1)/float64(h.first-l.last-1)*gap)
		return min(max(p, lo+1), hi-1)
	case lo != 0:
		if lastPage != 0 && lo >= lastPage {
			return 0
		}
		l := m.spans[lo]
		p := lo + 1 + int(float64(x-l.last-1)/idsPerPage(l))
		if lastPage != 0 {
			p = min(p, lastPage)
		}
		return max(p, lo+1)
	default:
		if hi == 1 {
			return 0
		}
		h := m.spans[hi]
		p := hi - 1 - int(float64(h.first-x-1)/idsPerPage(h))
		return min(max(p, 1), hi-1)
	}
}

// idsPerPage estimates how many ids a full page spans from one page read:
// gaps between ids are customers deleted, or listed under another
// company, and are taken to be as frequent elsewhere.
func idsPerPage(s span) float64 {
	if s.n < 2 {
		return PageSize
	}
	return max(float64(s.last-s.first)/float64(s.n-1)*PageSize, PageSize)
}

// Current implements rowsink.BatchReader: the customers ids as Revnue
// holds them now, read from the list pages that hold them, a hundred a
// page, so that a batch of updates costs a page or two of reads rather
// than a Get each. Pages are located from what earlier pages showed
// (every page the connector reads, the walk of Prepare's index
// included): the list is in id order.
//
// A page is read only for two ids or more, and only while the pages read
// so far number at most one more than the ids they served (one read may
// be spent learning where ids sit); the ids left are returned nil, for
// rowsink to Get, as are the ids a page read shows are not in the list
// (deleted, or in another company). So a batch costs at most two calls
// more than a Get each, and about one call per page of ids when they lie
// close together. The batches the engine runs
// at once share the pages they read meanwhile (see pageReads), which
// matters when their customers lie mixed on the same pages (a first run
// creates the customers of several batches at once, so their ids
// interleave).
func (a *API) Current(ctx context.Context, ids []string) ([]*pipeline.Customer, error) {
	since := a.reads.begin()
	defer a.reads.end(since)
	out := make([]*pipeline.Customer, len(ids))
	at := make(map[int64]int, len(ids))
	order := make([]int64, 0, len(ids))
	for i, s := range ids {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			continue // no such customer: Get answers 404
		}
		if _, dup := at[n]; !dup {
			at[n] = i
			order = append(order, n)
		}
	}
	slices.Sort(order)
	done := make(map[int64]bool, len(order))
	read := map[int]bool{}
	pagesRead, found := 0, 0
	for pagesRead <= found+1 {
		x, left := int64(0), 0
		for _, id := range order {
			if !done[id] {
				if left == 0 {
					x = id
				}
				left++
			}
		}
		if left < 2 {
			break
		}
		p := a.pages.guess(x)
		if p == 0 || read[p] {
			done[x] = true
			continue
		}
		read[p] = true
		pagesRead++
		pg, cs, err := a.sharedPage(ctx, since, p)
		if err != nil {
			return nil, err
		}
		if pg.PastEnd || len(cs) == 0 {
			continue
		}
		for i := range cs {
			n, _ := strconv.ParseInt(cs[i].ID, 10, 64)
			if k, ok := at[n]; ok && !done[n] {
				// Shared with the other calls that took the page: read only.
				out[k] = &cs[i]
				done[n] = true
				found++
			}
		}
		if s, ok := a.pages.spanOf(p); ok {
			for _, id := range order {
				if s.first <= id && id <= s.last {
					done[id] = true
				}
			}
		}
	}
	return out, nil
}

// announced returns the customers listed as the last page read said, 0
// when no page said.
func (m *pageMap) announced() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(m.count, 0)
}

// spanOf returns what page n held when last read.
func (m *pageMap) spanOf(n int) (span, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.spans[n]
	return s, ok
}
