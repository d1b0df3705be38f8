package counttest

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"crmsync/internal/emulator"
)

// Paging bounds of GET /customers.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxPage      = 1_000_000_000
)

// orderColumns are the orderBy values and the column each sorts by; every
// order ends on seq, the creation order, so that pages are stable.
var orderColumns = map[string]string{
	"createdAt": "seq",
	"updatedAt": "updated_at",
	"customer":  "name_key",
	"email":     "email_key",
}

// listQuery is a checked list request.
type listQuery struct {
	page, limit int
	search      string // folded; "" = every customer
	column      string // of orderColumns
	desc        bool
}

// listEnvelope is the answer of GET /customers.
type listEnvelope struct {
	Status     string      `json:"status"`
	Message    string      `json:"message"`
	Data       []*customer `json:"data"`
	Pagination pagination  `json:"pagination"`
}

type pagination struct {
	Page  int   `json:"page"`
	Limit int   `json:"limit"`
	Total int64 `json:"total"`
}

// parseList reads search, page, limit and orderBy. An empty parameter is
// the same as none; a bad one is a 400 naming it, never capped, so that a
// client's paging bug shows.
func parseList(r *http.Request) (listQuery, *apiError) {
	v := r.URL.Query()
	q := listQuery{page: 1, limit: defaultLimit, column: "seq", search: emulator.FoldKey(v.Get("search"))}
	var errs []fieldError
	whole := func(name string, dst *int, hi int) {
		raw := v.Get(name)
		if raw == "" {
			return
		}
		n, err := strconv.Atoi(raw)
		if err != nil || raw[0] < '0' || raw[0] > '9' || n < 1 || n > hi {
			errs = append(errs, fieldError{Field: name,
				Message: name + " must be a whole number from 1 to " + strconv.Itoa(hi)})
			return
		}
		*dst = n
	}
	whole("page", &q.page, maxPage)
	whole("limit", &q.limit, maxLimit)
	if raw := v.Get("orderBy"); raw != "" {
		name, desc := strings.CutPrefix(raw, "-")
		col, ok := orderColumns[name]
		if !ok {
			errs = append(errs, fieldError{Field: "orderBy",
				Message: "orderBy must be createdAt, updatedAt, customer or email, with - before it for descending order"})
		}
		q.column, q.desc = col, desc
	}
	if len(errs) > 0 {
		return q, invalidFields(errs)
	}
	return q, nil
}

// list returns the page of q and the number of customers matching q.
func (s *store) list(ctx context.Context, q listQuery) ([]*customer, int64, error) {
	where, args := "", []any{}
	if q.search != "" {
		where = ` WHERE instr(name_key, ?) > 0 OR instr(email_key, ?) > 0`
		args = append(args, q.search, q.search)
	}
	dir := " ASC"
	if q.desc {
		dir = " DESC"
	}
	order := " ORDER BY " + q.column + dir
	if q.column != "seq" {
		order += ", seq" + dir
	}
	// The total comes with the rows, counted over the same snapshot.
	query := `SELECT ` + customerCols + `, count(*) OVER () FROM customers` + where + order + ` LIMIT ? OFFSET ?`
	// At most 8 orders times 2 filters: all kept prepared by the kit.
	st, release, err := s.ReadStmt(ctx, query)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	rows, err := st.QueryContext(ctx, append(args, q.limit, (q.page-1)*q.limit)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := make([]*customer, 0, q.limit)
	var total int64
	for rows.Next() {
		c, err := scanCustomer(rows, &total)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(out) == 0 && q.page > 1 {
		// Past the last page there is no row to carry the total.
		err = s.Reader().QueryRowContext(ctx, `SELECT count(*) FROM customers`+where, args...).Scan(&total)
	}
	return out, total, err
}
