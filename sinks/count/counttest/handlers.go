package counttest

import (
	"errors"
	"net/http"
	"strings"
)

// fail turns a store error into an answer: an *apiError is the client's,
// anything else is the emulator's.
func fail(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return internalError(err)
}

func (s *Server) listCustomers(r *http.Request, _ []byte) (int, any, *apiError) {
	q, aerr := parseList(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	cs, total, err := s.st.list(r.Context(), q)
	if err != nil {
		return 0, nil, fail(err)
	}
	return http.StatusOK, listEnvelope{Status: "success", Message: "Customers retrieved successfully", Data: cs,
		Pagination: pagination{Page: q.page, Limit: q.limit, Total: total}}, nil
}

// pathID returns the customer id of the path, lower case: a UUID is the
// same in either case. Anything but the 8-4-4-4-12 hex form is a 400.
func pathID(r *http.Request) (string, *apiError) {
	id := r.PathValue("uuid")
	if !isUUID(id) {
		return "", &apiError{status: http.StatusBadRequest, code: codeValidation, msg: "Invalid customer id: not a UUID",
			errs: []fieldError{{Field: "uuid", Message: "uuid must be a UUID"}}}
	}
	return strings.ToLower(id), nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func (s *Server) getCustomer(r *http.Request, _ []byte) (int, any, *apiError) {
	id, aerr := pathID(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	return found("Customer retrieved successfully")(s.st.get(r.Context(), id))
}

// found answers a lookup's result: the customer, a 404 when there is
// none, or the store's error.
func found(msg string) func(*customer, error) (int, any, *apiError) {
	return func(c *customer, err error) (int, any, *apiError) {
		switch {
		case err != nil:
			return 0, nil, fail(err)
		case c == nil:
			return 0, nil, customerNotFound()
		}
		return http.StatusOK, success(msg, c), nil
	}
}

// findByEmail answers the customer whose email equals ?email
// case-insensitively, or 404.
func (s *Server) findByEmail(r *http.Request, _ []byte) (int, any, *apiError) {
	email := r.URL.Query().Get("email")
	if email == "" {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: codeValidation, msg: "The email parameter is required",
			errs: []fieldError{{Field: "email", Message: "email is required"}}}
	}
	return found("Customer found")(s.st.byEmail(r.Context(), email))
}

func (s *Server) createCustomer(r *http.Request, body []byte) (int, any, *apiError) {
	if aerr := jsonBody(r); aerr != nil {
		return 0, nil, aerr
	}
	in, aerr := readInput(body, true)
	if aerr != nil {
		return 0, nil, aerr
	}
	c, err := s.st.create(r.Context(), in, s.opts.Now().UnixMilli())
	if err != nil {
		return 0, nil, fail(err)
	}
	return http.StatusCreated, success("Customer created successfully", c), nil
}

// updateCustomer is COUNT's PUT, a partial update: see input.apply.
func (s *Server) updateCustomer(r *http.Request, body []byte) (int, any, *apiError) {
	id, aerr := pathID(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := jsonBody(r); aerr != nil {
		return 0, nil, aerr
	}
	in, aerr := readInput(body, false)
	if aerr != nil {
		return 0, nil, aerr
	}
	c, err := s.st.update(r.Context(), id, in, s.opts.Now().UnixMilli())
	if err != nil {
		return 0, nil, fail(err)
	}
	return http.StatusOK, success("Customer updated successfully", c), nil
}
