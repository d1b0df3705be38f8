package rowsink

import (
	"context"
	"errors"

	"crmsync/pipeline"
)

// API is what a connector implements for rowsink: its reader, and a call
// per write.
//
// Every method may be called from many goroutines at once: rowsink runs
// up to Options.Concurrency calls at a time, across all the Apply calls
// the engine makes at once. Each call goes through the connector's pacer,
// which spaces, retries and logs it; an error that reaches rowsink is
// final and carries its class (pipeline.ClassOf): retryable (retries ran
// out) and fatal errors stop the run, permanent ones belong to the row.
// Besides its class an error tells, through errors.Is, what rowsink can
// still do about it:
//
//   - pipeline.ErrNotFound: the customer does not exist (Get, Update,
//     Delete);
//   - ErrMatchTaken: another customer holds the record's match value
//     (Create; on Update it is a row reject like any other).
//
// Create is retried by the pacer after a transport error (the request may
// have reached the target): that is safe only because the target refuses
// a second customer with the same match value (ErrMatchTaken), which
// rowsink then resolves by Find. A connector whose target does not keep
// match values unique must not retry creates.
type API interface {
	// Schema, Walk, Get, Find and Stats are the connector's reader: Walk
	// indexes the account (its paging guarded, see httpapi.PageGuard),
	// Get reads a customer an update must compare with or replace, Find
	// matches a record without reading the account, Stats counts the
	// calls for the run's summary.
	pipeline.Reader
	// Create creates one customer from w (see Write) and returns its id;
	// "" when the target answered without one, which rowsink resolves by
	// Find.
	Create(ctx context.Context, w *Write) (id string, err error)
	// Update writes w to the customer id.
	Update(ctx context.Context, id string, w *Write) error
	// Reject turns a permanent error of any method into the reject of the
	// row whose record is rec: the API's code (registered with
	// pipeline.RegisterCodes, or pipeline.CodeAPI), field and message in
	// the row's terms, without the key.
	Reject(err error, rec *pipeline.Record) *pipeline.Reject
}

// Deleter is implemented by an API that deletes customers one at a time;
// with it the sink implements pipeline.Deleter (mirror runs), and
// [Erase] serves a connector's pipeline.Eraser. Delete may be called
// concurrently; an error wrapping pipeline.ErrNotFound means the customer
// was gone already.
type Deleter interface {
	Delete(ctx context.Context, id string) error
}

// Preparer is implemented by an API with something to check before a run,
// typically a cheap authenticated call that proves the key (a walk does
// so too, but a run that does not index the account makes none before
// its first write). It is called once, from Prepare, before anything
// else; its errors are fatal.
type Preparer interface {
	Prepare(ctx context.Context, plan pipeline.Plan) error
}

// BatchReader is implemented by an API that reads many customers in
// fewer calls than a Get each: a list page holds a hundred customers, a
// Get one. Under Schema.UpdateReplaces every update needs the customer as
// the CRM holds it, and with a BatchReader rowsink reads the customers of
// a batch with one Current call instead of a Get per customer, so that an
// update costs about one call, not two.
//
// Current is called once per Apply, after the batch's claim and right
// before its first write, with the ids of the customers the batch will
// update (distinct) and holding one of the sink's slots; it may run
// concurrently with the calls of other Apply calls. cur[i] is ids[i]'s
// customer as the CRM holds it now, Raw included, or nil when Current did
// not read it (the customer is gone, or reading it with the others would
// have cost more than a Get): rowsink then reads it with Get. An error
// stops the run, as a Get's that is not the row's would.
//
// Nothing guards the customers between Current and their writes: there
// is no version check. A change made in the CRM to a customer between the
// read and the write of its batch is overwritten; the window is one batch,
// because Current is called per batch and never serves a later one.
type BatchReader interface {
	Current(ctx context.Context, ids []string) (cur []*pipeline.Customer, err error)
}

// Holder is implemented by an API whose reader gives some values in
// another text than the record that wrote them carries: an API that
// answers the money value "1200.5" as "1200.50". Held returns the text the reader
// gives for field f of a customer after the value v was written to it (v
// when they are the same), so that rowsink compares a record with what
// the CRM holds as equal when writing it would change nothing. It is
// called for every value compared, from any goroutine, and makes no call.
type Holder interface {
	Held(f int, v string) string
}

// ErrMatchTaken is what a connector's Create error wraps (errors.Is) when
// the target refused the create because a customer with the record's
// match value exists (a 409 "email exists"). It is how the retry of a
// create whose first answer was lost comes back.
var ErrMatchTaken = errors.New("a customer with this match value exists")

// Write is one write of a record, handed to Create and Update.
type Write struct {
	// Record is the change's record (its Key and Row identify it; do not
	// log its values).
	Record *pipeline.Record
	// Values holds what to write, one canonical text value per schema
	// field: the record's values, or under Schema.UpdateReplaces the
	// values the CRM holds with the mapped ones written over them.
	Values []string
	// Send marks the fields to send. On a create: the mapped fields that
	// hold a value. On an update: the fields that change (a GroupReplace
	// object whole), or under Schema.UpdateReplaces every field.
	Send []bool
	// Current is the customer as the CRM held it when rowsink read it,
	// Raw included; always set on an update under Schema.UpdateReplaces,
	// so that a connector can carry over what its schema does not name.
	Current *pipeline.Customer
}

// Body is the JSON object most APIs take for w: Schema.Body of its values
// and the fields to send, nested objects built from dotted names, cleared
// fields in their clear form.
func (w *Write) Body(s *pipeline.Schema) map[string]any { return s.Body(w.Values, w.Send) }
