package tiquotest

import (
	"fmt"
	"net/http"
)

// Error codes; see the package documentation for when each is answered.
// The first five are tiquo's; the others are this emulator's, for cases
// tiquo documents no code for.
const (
	codeValidation        = "validation_error"
	codeUnauthorized      = "unauthorized"
	codeInsufficientScope = "insufficient_scope"
	codeNotFound          = "not_found"
	codeEmailExists       = "email_exists"
	codeRateLimited       = "rate_limited"
	codeMethodNotAllowed  = "method_not_allowed"
	codeInternal          = "internal_error"
)

// apiError is an answer in the error envelope. Handlers return it rather
// than write it, so that the endpoint wrapper alone decides whether an
// answer is written at all (a lost answer is not).
type apiError struct {
	status int
	code   string
	msg    string
	field  string // "" when no single field is at fault
}

func (e *apiError) Error() string { return e.msg }

// errorEnvelope is the JSON form of an apiError.
type errorEnvelope struct {
	Success bool      `json:"success"`
	Error   errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) envelope() errorEnvelope {
	return errorEnvelope{Error: errorBody{Code: e.code, Message: e.msg, Field: e.field}}
}

// dataEnvelope is the success envelope of every answer but a list.
type dataEnvelope struct {
	Success bool `json:"success"`
	Data    any  `json:"data"`
}

func success(data any) dataEnvelope { return dataEnvelope{Success: true, Data: data} }

func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{status: http.StatusBadRequest, code: codeValidation, msg: msg, field: field}
}

func customerNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, msg: "Customer not found"}
}

func emailExists() *apiError {
	return &apiError{status: http.StatusConflict, code: codeEmailExists, field: "email",
		msg: "a customer with this email already exists"}
}

func internalError(err error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, msg: "internal error: " + err.Error()}
}
