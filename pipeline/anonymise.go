package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// Anonymiser erases customers, for erasure requests, from a target that
// documents no way to delete them: through the target's own update
// semantics it overwrites or clears every personal field the target lets
// a client change. The name and the match value (an email, say) are
// replaced by placeholders that say nothing of the person (see
// ErasedPlaceholder), unique where the target keeps them unique. What
// the target gives no way to clear is reported, so that the operator
// knows the step left to do by hand.
//
// An erase calls it only for a connector without an Eraser: it checks
// every customer the subjects name with Check, and calls Anonymise, from
// one goroutine, with those Check does not report anonymised, a chunk at
// a time; the connector may write the customers of a chunk concurrently
// (within crm.Config.Concurrency and its rate). Check is safe for
// concurrent use.
//
// Anonymising a customer twice writes the same values twice: an erase
// run again after a kill finishes the job without harm.
type Anonymiser interface {
	// Check reports whether c, a customer as the connector's Reader
	// returned it, is anonymised already (its name and match value are
	// the placeholders Anonymise writes for its id, and every other field
	// Anonymise clears is empty), and names what c holds that the target
	// gives no way to clear (nil when nothing).
	Check(c *Customer) (anonymised bool, left []string)
	// Anonymise anonymises the customers ids and reports each one's
	// outcome in res[i] (res is as long as ids). A customer the target
	// refuses to write is AnonymiseFailed with the refusal in Err, and
	// the others go on; any error returned is fatal (credentials refused,
	// the target unreachable after the retries, ctx done) and leaves the
	// results of the customers not yet written as they were given.
	Anonymise(ctx context.Context, ids []string, res []Anonymisation) error
}

// AnonymiseOutcome is what became of one customer Anonymise was given.
type AnonymiseOutcome int

const (
	// AnonymiseFailed is the zero value: the target refused the write, or
	// it was never made.
	AnonymiseFailed AnonymiseOutcome = iota
	// Anonymised: every personal field the target lets a client change is
	// overwritten or cleared.
	Anonymised
	// AlreadyAnonymised: the customer held the anonymised values already,
	// and nothing was written.
	AlreadyAnonymised
	// AnonymiseAbsent: the target does not hold the customer.
	AnonymiseAbsent
)

// Anonymisation is the outcome of one customer of Anonymise.
type Anonymisation struct {
	Outcome AnonymiseOutcome
	// Left names what the customer still holds that the target gives no
	// way to clear ("contacts"), for the operator to clear by hand; nil
	// when nothing is left.
	Left []string
	// Err is the target's refusal of an AnonymiseFailed customer. Its
	// text holds no personal data: only placeholders were sent.
	Err error
}

// ErasedPlaceholder is the non-identifying text an Anonymiser writes in
// place of the name of the customer with the CRM id crmID: "erased-" and
// 16 hex digits of a hash of the id. It is derived from the id, never
// from the person's data, so that it is unique per customer (as a target
// may require of names and emails), the same on every run (a write
// repeated after a kill writes the same value), and recognisable
// (Check). The id is what the erasure log keeps anyway, so the
// placeholder ties the record to nothing more.
func ErasedPlaceholder(crmID string) string {
	sum := sha256.Sum256([]byte("crmsync erased customer\x00" + crmID))
	return "erased-" + hex.EncodeToString(sum[:8])
}

// ErasedEmail is the placeholder email an Anonymiser writes for the
// customer with the CRM id crmID: ErasedPlaceholder at the domain
// erased.invalid, which the .invalid top-level domain (RFC 2606) keeps
// from ever delivering mail.
func ErasedEmail(crmID string) string {
	return ErasedPlaceholder(crmID) + "@erased.invalid"
}
