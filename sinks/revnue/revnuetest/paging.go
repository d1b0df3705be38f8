package revnuetest

import (
	"net/http"
	"net/url"
	"strconv"
)

// Page sizes of the lists: page_size above the maximum is cut to it, as
// Django REST framework's max_page_size does.
const (
	defaultPageSize = 100
	maxPageSize     = 100
)

// pager is a list request's page: DRF's page-number pagination.
type pager struct {
	page, size int
}

// newPager reads page and page_size. A page that is not a whole number
// from 1 is DRF's 404 "Invalid page."; a page_size that is not a positive
// whole number is the default.
func newPager(r *http.Request) (pager, *apiError) {
	q := r.URL.Query()
	pg := pager{page: 1, size: defaultPageSize}
	if raw := q.Get("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || !integerToken.MatchString(raw) {
			return pg, invalidPage()
		}
		pg.page = n
	}
	if raw := q.Get("page_size"); raw != "" {
		if n, err := strconv.Atoi(raw); err == nil && n > 0 && integerToken.MatchString(raw) {
			pg.size = min(n, maxPageSize)
		}
	}
	return pg, nil
}

func invalidPage() *apiError {
	return &apiError{status: http.StatusNotFound, detail: "Invalid page."}
}

func (pg pager) offset() int { return (pg.page - 1) * pg.size }

// pageOf is the page of a list held in memory.
func pageOf[T any](all []T, pg pager) []T {
	lo := min(pg.offset(), len(all))
	return all[lo:min(lo+pg.size, len(all))]
}

// listPage is the answer of a list: count is the whole list's length,
// next and previous the absolute URLs of the pages around this one, or
// null.
type listPage struct {
	Count    int64   `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  any     `json:"results"`
}

// answer is the list's answer with results, the page of a list of count
// items; a page past the last is a 404 (page 1 of an empty list is not).
func (pg pager) answer(r *http.Request, count int64, results any) (int, any, *apiError) {
	pages := max(1, (count+int64(pg.size)-1)/int64(pg.size))
	if int64(pg.page) > pages {
		return 0, nil, invalidPage()
	}
	lp := listPage{Count: count, Results: results}
	if int64(pg.page) < pages {
		u := pageURL(r, pg.page+1)
		lp.Next = &u
	}
	if pg.page > 1 {
		u := pageURL(r, pg.page-1)
		lp.Previous = &u
	}
	return http.StatusOK, lp, nil
}

// pageURL is the request's absolute URL with page set, or without it for
// the first page, as DRF builds next and previous (its parameters sorted
// by name).
func pageURL(r *http.Request, page int) string {
	q := r.URL.Query()
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.Itoa(page))
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}
