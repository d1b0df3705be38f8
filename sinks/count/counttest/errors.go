package counttest

import (
	"fmt"
	"net/http"
)

// Error codes; see the package documentation for when each is answered.
// The first four are COUNT's; the others are this emulator's, for cases
// COUNT documents no code for.
const (
	codeValidation       = "validation_error"
	codeUnauthorized     = "unauthorized"
	codeNotFound         = "not_found"
	codeEmailExists      = "email_exists"
	codeRateLimited      = "rate_limit_exceeded"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal_error"
)

// apiError is an answer in the error envelope. Handlers return it rather
// than write it, so that the endpoint wrapper alone decides whether an
// answer is written at all (a lost answer is not).
type apiError struct {
	status int
	code   string
	msg    string
	errs   []fieldError // validation errors, one per field at fault
	// retryAfter is the Retry-After header of a 429, in whole seconds.
	retryAfter int
}

func (e *apiError) Error() string { return e.msg }

// fieldError is one element of the envelope's errors.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorEnvelope is COUNT's error body. details, which COUNT documents as
// varying by error type, is never sent: nothing here has more to say
// than message and errors.
type errorEnvelope struct {
	Status  string       `json:"status"`
	Message string       `json:"message"`
	Code    string       `json:"code"`
	Errors  []fieldError `json:"errors,omitempty"`
}

func (e *apiError) envelope() errorEnvelope {
	return errorEnvelope{Status: "error", Message: e.msg, Code: e.code, Errors: e.errs}
}

// successEnvelope is COUNT's body of every success but a list.
type successEnvelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func success(msg string, data any) successEnvelope {
	return successEnvelope{Status: "success", Message: msg, Data: data}
}

// invalid is a 400 for the request as a whole (its body, a parameter).
func invalid(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeValidation, msg: fmt.Sprintf(format, args...)}
}

// invalidFields is a 400 listing every field at fault.
func invalidFields(errs []fieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeValidation, msg: "Validation failed", errs: errs}
}

func unauthorized(format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: fmt.Sprintf(format, args...)}
}

func customerNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: "Customer not found"}
}

func emailExists() *apiError {
	return &apiError{status: http.StatusConflict, code: codeEmailExists,
		msg: "A customer with this email already exists"}
}

func internalError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: "internal error: " + err.Error()}
}
