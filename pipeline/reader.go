package pipeline

import (
	"context"
	"encoding/json"
	"errors"
)

// Customer is one customer read from a target.
type Customer struct {
	// ID is the customer's id in the CRM.
	ID string
	// Values holds the schema's fields in canonical text, indexed like
	// Schema.Fields ("" where the CRM holds nothing).
	Values []string
	// Raw is everything the API answered for the customer, as it answered
	// it: what a subject-access export hands over.
	Raw json.RawMessage
}

// ErrNotFound is returned by Reader.Get for an id the target does not
// hold (or that the key may not see).
var ErrNotFound = errors.New("no such customer")

// Reader reads customers from a target, for exports, erasure and
// migrations. Its methods may be called concurrently. Errors are fatal
// unless they wrap ErrNotFound; retryable failures are retried inside.
type Reader interface {
	Schema() *Schema
	// Walk calls fn with every customer of the account, page by page, in
	// an order that does not change while it walks; fn may keep the page.
	// An error from fn stops the walk and is returned.
	Walk(ctx context.Context, fn func(page []Customer) error) error
	// Get returns the customer with the id, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, id string) (*Customer, error)
	// Find returns the customers whose match value equals match (as the
	// target compares it: without regard to case when Schema.MatchFold):
	// none, one, or more when the target does not keep them unique.
	Find(ctx context.Context, match string) ([]Customer, error)
	// Stats reports the API calls made so far.
	Stats() *CallStats
}

// TotalAnnouncer is implemented by readers whose list answers say how many
// customers the account holds, so that a walk can show progress against
// it. AnnouncedTotal returns the account's size as the list answers last
// announced it, 0 until one did; customers created or deleted during a
// walk make it stale, so a walk may end short of it or past it. It is
// safe to call concurrently with Walk.
type TotalAnnouncer interface {
	AnnouncedTotal() int64
}

// Eraser deletes customers for erasure requests. Erase is called from one
// goroutine; erased[i] reports whether ids[i] is gone (deleted now, or
// absent already). A customer the target refused to delete is left false;
// errors are fatal.
type Eraser interface {
	Erase(ctx context.Context, ids []string, erased []bool) error
}

// IsNotFound reports whether err says a customer is not held.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
