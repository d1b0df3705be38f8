package revnuetest

import (
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answer: {"detail"} alone, or with "errors" for a
// 400. Handlers return it rather than write it, so that the endpoint
// wrapper alone decides whether an answer is written at all (a lost
// answer is not).
type apiError struct {
	status int
	detail string
	// fields maps a field's dotted path to its messages; only a 400
	// carries it, and a 400 always does (empty for a body that is not
	// JSON).
	fields fieldErrors
	// retryAfter is the Retry-After of a 429, in whole seconds.
	retryAfter int
}

func (e *apiError) Error() string { return e.detail }

// fieldErrors are the "errors" of a 400: messages by dotted field path.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, msg string) { fe[field] = append(fe[field], msg) }

func (fe fieldErrors) addf(field, format string, args ...any) {
	fe.add(field, fmt.Sprintf(format, args...))
}

// errorBody is the JSON of an apiError other than a 400.
type errorBody struct {
	Detail string `json:"detail"`
}

// invalidBody is the JSON of a 400, "errors" written even when empty.
type invalidBody struct {
	Detail string      `json:"detail"`
	Errors fieldErrors `json:"errors"`
}

func (e *apiError) body() any {
	if e.status != http.StatusBadRequest {
		return errorBody{Detail: e.detail}
	}
	errs := e.fields
	if errs == nil {
		errs = fieldErrors{}
	}
	return invalidBody{Detail: e.detail, Errors: errs}
}

// The details, as Django REST framework words them (Revnue's answers are
// DRF's).
const (
	detailInvalid     = "Invalid input."
	detailNotFound    = "Not found."
	detailNoToken     = "Authentication credentials were not provided."
	detailBadToken    = "Invalid token."
	detailServerError = "A server error occurred."
)

func invalid(fe fieldErrors) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: detailInvalid, fields: fe}
}

// invalidField is a 400 on one field.
func invalidField(field, format string, args ...any) *apiError {
	fe := fieldErrors{}
	fe.addf(field, format, args...)
	return invalid(fe)
}

func notFound() *apiError {
	return &apiError{status: http.StatusNotFound, detail: detailNotFound}
}

// throttled is the 429 of a request over the account's rate limit; the
// detail and Retry-After give the same number of seconds.
func throttled(wait int) *apiError {
	return &apiError{status: http.StatusTooManyRequests, retryAfter: wait,
		detail: "Request was throttled. Expected available in " + strconv.Itoa(wait) + " seconds."}
}

func internalError() *apiError {
	return &apiError{status: http.StatusInternalServerError, detail: detailServerError}
}
