package tiquotest

import (
	"errors"
	"net/http"
	"strconv"

	"crmsync/internal/emulator"
)

// Paging bounds of GET /customers.
const (
	defaultLimit = 25
	maxLimit     = 100
)

// listEnvelope is the answer of GET /customers.
type listEnvelope struct {
	Success    bool        `json:"success"`
	Data       []*customer `json:"data"`
	Pagination pagination  `json:"pagination"`
}

type pagination struct {
	HasMore    bool    `json:"hasMore"`
	NextCursor *string `json:"nextCursor"`
}

// deleted is the data of a DELETE answer.
type deleted struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
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

func (s *Server) listCustomers(r *http.Request) (int, any, *apiError) {
	q, aerr := s.parseList(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	cs, more, err := s.st.list(r.Context(), q)
	if err != nil {
		return 0, nil, fail(err)
	}
	pg := pagination{HasMore: more}
	if more {
		last := cs[len(cs)-1].ID
		pg.NextCursor = &last
	}
	return http.StatusOK, listEnvelope{Success: true, Data: cs, Pagination: pg}, nil
}

// parseList reads limit, cursor and email. An empty limit or cursor is
// the same as none; an empty email is an error, so that a client whose
// match value is empty does not get every customer.
func (s *Server) parseList(r *http.Request) (listQuery, *apiError) {
	v := r.URL.Query()
	q := listQuery{limit: defaultLimit}
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || raw[0] < '0' || raw[0] > '9' || n < 1 || n > maxLimit {
			return q, invalid("limit", "must be a whole number from 1 to %d", maxLimit)
		}
		q.limit = n
	}
	if cur := v.Get("cursor"); cur != "" {
		seq, ok, err := s.st.cursorSeq(r.Context(), cur)
		if err != nil {
			return q, fail(err)
		}
		if !ok {
			return q, invalid("cursor", "names no customer, present or deleted")
		}
		q.after = seq
	}
	if emails, ok := v["email"]; ok {
		if len(emails) != 1 || emails[0] == "" {
			return q, invalid("email", "must be given once and not be empty")
		}
		q.emailKey = emulator.FoldKey(emails[0])
	}
	return q, nil
}

func (s *Server) getCustomer(r *http.Request) (int, any, *apiError) {
	c, err := s.st.get(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, fail(err)
	}
	if c == nil {
		return 0, nil, customerNotFound()
	}
	return http.StatusOK, success(c), nil
}

// readPatch reads and checks the body of a create or a PATCH.
func (s *Server) readPatch(r *http.Request, create bool) (*patch, *apiError) {
	body, release, aerr := s.readRequest(r)
	if aerr != nil {
		return nil, aerr
	}
	defer release()
	return readBody(body, create)
}

func (s *Server) createCustomer(r *http.Request) (int, any, *apiError) {
	p, aerr := s.readPatch(r, true)
	if aerr != nil {
		return 0, nil, aerr
	}
	c, err := s.st.create(r.Context(), p)
	if err != nil {
		return 0, nil, fail(err)
	}
	s.emit("customer.created", c, nil)
	return http.StatusCreated, success(c), nil
}

func (s *Server) updateCustomer(r *http.Request) (int, any, *apiError) {
	p, aerr := s.readPatch(r, false)
	if aerr != nil {
		return 0, nil, aerr
	}
	old, cur, err := s.st.update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return 0, nil, fail(err)
	}
	if prev := cur.changes(old); len(prev) > 0 {
		s.emit("customer.updated", cur, prev)
	}
	return http.StatusOK, success(cur), nil
}

func (s *Server) deleteCustomer(r *http.Request) (int, any, *apiError) {
	c, err := s.st.remove(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, fail(err)
	}
	s.emit("customer.deleted", c, nil)
	return http.StatusOK, success(deleted{ID: c.ID, Deleted: true}), nil
}
