package tamiotest

import (
	"fmt"
	"net/http"
)

// Error codes; see the package documentation for when each is answered.
const (
	codeUnauthorized   = 1000
	codeValidation     = 1001
	codeNotFound       = 1002
	codeForbidden      = 1003
	codeRateLimited    = 1004
	codeInternal       = 1005
	codeCustomerExists = 10142
	codeEmailUsed      = 10082
)

// apiError is an answer in the error envelope. Handlers return it rather
// than write it, so that the endpoint wrapper alone decides whether an
// answer is written at all (a lost answer is not).
type apiError struct {
	status int
	code   int
	msg    string
	field  string
	index  int // element of a bulk body, or -1
}

func (e *apiError) Error() string { return e.msg }

// envelope is the JSON form of an apiError.
type envelope struct {
	Status    int    `json:"status"`
	Error     string `json:"error"`
	ErrorCode int    `json:"error_code"`
	Field     string `json:"field,omitempty"`
	Index     *int   `json:"index,omitempty"`
}

func (e *apiError) envelope() envelope {
	v := envelope{Status: e.status, Error: e.msg, ErrorCode: e.code, Field: e.field}
	if e.index >= 0 {
		i := e.index
		v.Index = &i
	}
	return v
}

func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{status: http.StatusBadRequest, code: codeValidation, msg: msg, field: field, index: -1}
}

func notFound(field, format string, args ...any) *apiError {
	e := &apiError{status: http.StatusBadRequest, code: codeNotFound, msg: fmt.Sprintf(format, args...), field: field, index: -1}
	return e
}

func customerNotFound(id string) *apiError {
	return notFound("", "customer %s not found", id)
}

func internalError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: "internal error: " + err.Error(), index: -1}
}

// at places a bulk element's error at index i.
func (e *apiError) at(i int) *apiError {
	c := *e
	c.index = i
	c.msg = fmt.Sprintf("customers[%d]: %s", i, e.msg)
	return &c
}

// nested prefixes the field of an error inside an object field.
func (e *apiError) nested(parent string) *apiError {
	c := *e
	if c.field != "" {
		c.field = parent + "." + c.field
	} else {
		c.field = parent
	}
	c.msg = parent + "." + e.msg
	return &c
}
