package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the engine does with an error.
type Class int

const (
	// ClassFatal stops the run at once. It is the class of any error that
	// carries no other, so an unexpected error never loops or rejects rows
	// by the thousand.
	ClassFatal Class = iota
	// ClassRetryable errors (429, 5xx, timeouts, connection resets) are
	// retried with backoff.
	ClassRetryable
	// ClassPermanent errors belong to one row (validation, conflict): the
	// row is rejected and the run goes on.
	ClassPermanent
)

func (c Class) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassPermanent:
		return "permanent"
	default:
		return "fatal"
	}
}

type classified struct {
	class      Class
	retryAfter time.Duration
	err        error
}

func (e *classified) Error() string { return e.err.Error() }
func (e *classified) Unwrap() error { return e.err }

// Retryable marks err as worth retrying. retryAfter is the server's
// Retry-After, or 0 to let the backoff decide.
func Retryable(err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &classified{class: ClassRetryable, retryAfter: retryAfter, err: err}
}

// Permanent marks err as belonging to one row.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: ClassPermanent, err: err}
}

// Fatal marks err as stopping the run.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: ClassFatal, err: err}
}

// Fatalf formats a fatal error; %w wraps as in fmt.Errorf.
func Fatalf(format string, args ...any) error { return Fatal(fmt.Errorf(format, args...)) }

// ClassOf returns the class of the outermost classified error in err's
// chain, and ClassFatal when there is none.
func ClassOf(err error) Class {
	var c *classified
	if errors.As(err, &c) {
		return c.class
	}
	return ClassFatal
}

// RetryAfter returns the server-requested delay carried by a retryable
// error, or 0.
func RetryAfter(err error) time.Duration {
	var c *classified
	if errors.As(err, &c) {
		return c.retryAfter
	}
	return 0
}
