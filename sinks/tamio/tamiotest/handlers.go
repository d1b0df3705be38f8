package tamiotest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of bulk bodies.
const (
	maxBulkCreate = 1000
	maxBulkIDs    = 50
	maxPerPage    = 100
	maxPage       = 1_000_000_000
)

type statusAnswer struct {
	Status int `json:"status"`
}

type customerAnswer struct {
	Status   int       `json:"status"`
	Customer *customer `json:"customer"`
}

type idsAnswer struct {
	Status    int      `json:"status"`
	Customers []string `json:"customers"`
}

type listAnswer struct {
	Status       int         `json:"status"`
	TotalResults int64       `json:"total_results"`
	Customers    []*customer `json:"customers"`
}

type teammateJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

type teammatesAnswer struct {
	Status    int            `json:"status"`
	Teammates []teammateJSON `json:"teammates"`
}

func ids(v []string) idsAnswer {
	if v == nil {
		v = []string{}
	}
	return idsAnswer{Status: 200, Customers: v}
}

// fail turns a store error into an answer: an *apiError is the client's,
// anything else is the emulator's.
func fail(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return internalError(err)
}

// pathCustomer returns the customer UUID of the path, if the key may see
// it: a malformed UUID names no customer, so it is a 1002 as well.
func pathCustomer(r *http.Request, k caller) (string, *apiError) {
	raw := r.PathValue("uuid")
	id, ok := parseUUID(raw)
	if !ok || !k.sees(id) {
		return "", customerNotFound(raw)
	}
	return id, nil
}

func (s *Server) create(r *http.Request, k caller) (any, *apiError) {
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	n, err := s.v.parseCreate(o)
	if err != nil {
		return nil, err
	}
	c, serr := s.st.create(r.Context(), n)
	if serr != nil {
		return nil, fail(serr)
	}
	s.emit("customer.created", c, sourceAPI)
	return customerAnswer{Status: 200, Customer: c}, nil
}

func (s *Server) retrieve(r *http.Request, k caller) (any, *apiError) {
	id, err := pathCustomer(r, k)
	if err != nil {
		return nil, err
	}
	c, serr := s.st.get(r.Context(), id)
	if serr != nil {
		return nil, fail(serr)
	}
	if c == nil {
		return nil, customerNotFound(id)
	}
	return customerAnswer{Status: 200, Customer: c}, nil
}

func (s *Server) update(r *http.Request, k caller) (any, *apiError) {
	id, err := pathCustomer(r, k)
	if err != nil {
		return nil, err
	}
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	u, err := s.v.parseUpdate(o)
	if err != nil {
		return nil, err
	}
	old, cur, serr := s.st.update(r.Context(), id, u)
	if serr != nil {
		return nil, fail(serr)
	}
	if !cur.sameData(old) {
		s.emit("customer.updated", cur, sourceAPI)
	}
	return customerAnswer{Status: 200, Customer: cur}, nil
}

func (s *Server) delete(r *http.Request, k caller) (any, *apiError) {
	id, err := pathCustomer(r, k)
	if err != nil {
		return nil, err
	}
	gone, serr := s.st.remove(r.Context(), []string{id})
	if serr != nil {
		return nil, fail(serr)
	}
	if len(gone) == 0 {
		return nil, customerNotFound(id)
	}
	s.emit("customer.removed", gone[0], sourceAPI)
	return statusAnswer{Status: 200}, nil
}

func (s *Server) bulkCreate(r *http.Request, k caller) (any, *apiError) {
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	elems, p, err := o.array("customers")
	switch {
	case err != nil:
		return nil, err
	case p != present:
		return nil, invalid("customers", "is required")
	case len(elems) == 0:
		return nil, invalid("customers", "must not be empty")
	case len(elems) > maxBulkCreate:
		return nil, invalid("customers", "holds %d customers; at most %d per request", len(elems), maxBulkCreate)
	}
	recs := make([]*newCustomer, len(elems))
	for i, raw := range elems {
		var co object
		if raw[0] != '{' || json.Unmarshal(raw, &co) != nil {
			return nil, invalid("customers", "must be an object").at(i)
		}
		n, err := s.v.parseCreate(co)
		if err != nil {
			return nil, err.at(i)
		}
		recs[i] = n
	}
	runAt := time.Now().Add(s.opts.BulkDelay)
	id, serr := s.st.addJob(r.Context(), k.Name, runAt, recs)
	if serr != nil {
		return nil, fail(serr)
	}
	s.jobs.add(jobRef{id: id, runAt: runAt})
	s.log.Info("bulk job queued", "job", id, "key", k.Name, "customers", len(recs), "run_at", runAt)
	return statusAnswer{Status: 200}, nil
}

// idList reads the customers member of a bulk body: 1 to 50 UUIDs,
// returned in lower case without duplicates. A UUID the key may not see is
// a 1002 when visible is set, else it is left out, as an unknown one would
// be.
func idList(o object, k caller, visible bool) ([]string, *apiError) {
	elems, p, err := o.array("customers")
	switch {
	case err != nil:
		return nil, err
	case p != present:
		return nil, invalid("customers", "is required")
	case len(elems) == 0:
		return nil, invalid("customers", "must not be empty")
	case len(elems) > maxBulkIDs:
		return nil, invalid("customers", "holds %d customers; at most %d per request", len(elems), maxBulkIDs)
	}
	out := make([]string, 0, len(elems))
	seen := make(map[string]bool, len(elems))
	for i, raw := range elems {
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, invalid("customers", "must be a UUID string").at(i)
		}
		id, ok := parseUUID(s)
		if !ok {
			return nil, invalid("customers", "%q is not a UUID", s).at(i)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if !k.sees(id) {
			if visible {
				return nil, customerNotFound(id).at(i)
			}
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *Server) bulkAssign(r *http.Request, k caller) (any, *apiError) {
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	list, err := idList(o, k, true)
	if err != nil {
		return nil, err
	}
	tm, p, err := o.str("teammate_id")
	if err != nil {
		return nil, err
	}
	var teammate *string
	switch p {
	case absent:
		return nil, invalid("teammate_id", "is required (null unassigns)")
	case present:
		id, err := s.v.teammate("teammate_id", tm)
		if err != nil {
			return nil, err
		}
		teammate = &id
	}
	old, cur, serr := s.st.assign(r.Context(), list, teammate)
	if serr != nil {
		return nil, fail(serr)
	}
	for i := range cur {
		if !cur[i].sameData(old[i]) {
			s.emit("customer.updated", cur[i], sourceAPI)
		}
	}
	return ids(list), nil
}

func (s *Server) bulkDelete(r *http.Request, k caller) (any, *apiError) {
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	list, err := idList(o, k, false)
	if err != nil {
		return nil, err
	}
	gone, serr := s.st.remove(r.Context(), list)
	if serr != nil {
		return nil, fail(serr)
	}
	deleted := make([]string, len(gone))
	for i, c := range gone {
		deleted[i] = c.ID
		s.emit("customer.removed", c, sourceAPI)
	}
	return ids(deleted), nil
}

func mailingList(o object) (string, *apiError) {
	var list string
	if err := required(o, "mailing_list", &list, nil); err != nil {
		return "", err
	}
	id, ok := parseUUID(list)
	if !ok {
		return "", invalid("mailing_list", "%q is not a UUID", list)
	}
	return id, nil
}

func (s *Server) bulkAddToList(r *http.Request, k caller) (any, *apiError) {
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	list, err := idList(o, k, true)
	if err != nil {
		return nil, err
	}
	ml, err := mailingList(o)
	if err != nil {
		return nil, err
	}
	added, serr := s.st.subscribe(r.Context(), ml, list, true)
	if serr != nil {
		return nil, fail(serr)
	}
	return ids(added), nil
}

func (s *Server) addToList(r *http.Request, k caller) (any, *apiError) {
	id, err := pathCustomer(r, k)
	if err != nil {
		return nil, err
	}
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	ml, err := mailingList(o)
	if err != nil {
		return nil, err
	}
	added, serr := s.st.subscribe(r.Context(), ml, []string{id}, false)
	if serr != nil {
		return nil, fail(serr)
	}
	return ids(added), nil
}

func (s *Server) removeFromList(r *http.Request, k caller) (any, *apiError) {
	id, err := pathCustomer(r, k)
	if err != nil {
		return nil, err
	}
	o, err := readObject(r)
	if err != nil {
		return nil, err
	}
	ml, err := mailingList(o)
	if err != nil {
		return nil, err
	}
	removed, serr := s.st.unsubscribe(r.Context(), ml, id)
	if serr != nil {
		return nil, fail(serr)
	}
	if removed {
		return ids([]string{id}), nil
	}
	return ids(nil), nil
}

var sortColumns = map[string]string{
	"name":       "name_key",
	"email":      "email_key",
	"country":    "country",
	"created_at": "created_at",
}

func (s *Server) list(r *http.Request, k caller) (any, *apiError) {
	q, err := s.parseList(r, k)
	if err != nil {
		return nil, err
	}
	total, cs, serr := s.st.list(r.Context(), q)
	if serr != nil {
		return nil, fail(serr)
	}
	return listAnswer{Status: 200, TotalResults: total, Customers: cs}, nil
}

func (s *Server) parseList(r *http.Request, k caller) (*listQuery, *apiError) {
	v := r.URL.Query()
	q := &listQuery{sortBy: "created_at", only: k.list}
	var err *apiError
	if q.page, err = intParam(v.Get("page"), "page", 1, maxPage); err != nil {
		return nil, err
	}
	if q.perPage, err = intParam(v.Get("per_page"), "per_page", 1, maxPerPage); err != nil {
		return nil, err
	}
	if sb := v.Get("sort_by"); sb != "" {
		col, ok := sortColumns[sb]
		if !ok {
			return nil, invalid("sort_by", "%q is not one of name, email, country, created_at", sb)
		}
		q.sortBy = col
	}
	switch o := strings.ToLower(v.Get("order")); o {
	case "", "asc":
	case "desc":
		q.desc = true
	default:
		return nil, invalid("order", "%q is not asc or desc", v.Get("order"))
	}
	if f := v.Get("filter"); f != "" {
		if utf8.RuneCountInString(f) > maxFilter {
			return nil, invalid("filter", "is longer than %d characters", maxFilter)
		}
		q.filter = strings.ToLower(f)
	}
	for _, b := range []struct {
		name string
		dst  **int64
		end  bool
	}{{"from", &q.from, false}, {"to", &q.to, true}} {
		if raw := v.Get(b.name); raw != "" {
			t, ok := parseTime(raw, b.end)
			if !ok {
				return nil, invalid(b.name, "%q is neither unix seconds nor an ISO 8601 time", raw)
			}
			*b.dst = &t
		}
	}
	seen := map[string]bool{}
	for _, raw := range append(v["countries[]"], v["countries"]...) {
		for _, c := range strings.Split(raw, ",") {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			cc, err := checkCountry("countries", c)
			if err != nil {
				return nil, err
			}
			if !seen[cc] {
				seen[cc] = true
				q.countries = append(q.countries, cc)
			}
		}
	}
	if tm := v.Get("teammate_id"); tm != "" {
		if q.teammate, err = s.v.teammate("teammate_id", tm); err != nil {
			return nil, err
		}
	}
	if il := v.Get("include_leads"); il != "" {
		switch strings.ToLower(il) {
		case "true", "1":
			q.includeLeads = true
		case "false", "0":
		default:
			return nil, invalid("include_leads", "%q is not true or false", il)
		}
	}
	return q, nil
}

func intParam(raw, name string, lo, hi int) (int, *apiError) {
	if raw == "" {
		return 0, invalid(name, "is required")
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "%q is not a whole number from %d to %d", raw, lo, hi)
	}
	return n, nil
}

// parseTime reads unix seconds or ISO 8601. A date alone stands for its
// first second, or its last when end is set, so that to=2024-05-31
// includes that day.
func parseTime(raw string, end bool) (int64, bool) {
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return n, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, raw); err == nil {
			return t.Unix(), true
		}
	}
	if t, err := time.Parse(time.DateOnly, raw); err == nil {
		if end {
			return t.Unix() + 86399, true
		}
		return t.Unix(), true
	}
	return 0, false
}

func (s *Server) teammates(r *http.Request, k caller) (any, *apiError) {
	out := make([]teammateJSON, 0, len(s.opts.Teammates))
	for _, t := range s.opts.Teammates {
		id, _ := parseUUID(t.ID)
		out = append(out, teammateJSON{ID: id, Email: t.Email, Name: t.Name})
	}
	return teammatesAnswer{Status: 200, Teammates: out}, nil
}
