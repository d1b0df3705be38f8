package pipeline

import (
	"context"
	"fmt"
)

// Mode says which writes a run may make.
type Mode string

const (
	ModeUpsert Mode = "upsert" // create what is new, update what changed
	ModeCreate Mode = "create" // create only; a row that already exists is rejected
	ModeUpdate Mode = "update" // update only; a row with no match is rejected
	// ModeMirror upserts, then deletes the customers earlier runs synced
	// whose keys are missing from the source. It needs a state.
	ModeMirror Mode = "mirror"
)

// ParseMode checks a --mode value.
func ParseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case ModeUpsert, ModeCreate, ModeUpdate, ModeMirror:
		return m, true
	}
	return "", false
}

// Outcome is what became of a row.
type Outcome int

const (
	OutcomePending Outcome = iota // not decided yet (run interrupted)
	OutcomeCreated
	OutcomeUpdated
	OutcomeUnchanged
	OutcomeRejected
)

var outcomeNames = [...]string{"pending", "created", "updated", "unchanged", "rejected"}

func (o Outcome) String() string { return outcomeNames[o] }

// Change is one record handed to a sink.
type Change struct {
	Record *Record
	// ID is the record's id in the CRM when the caller knows it (from the
	// state store); "" lets the sink find it by Schema.MatchField.
	ID string
	// Send marks, per schema field, what to send on update. nil lets the
	// sink compare the record with what the CRM holds and send what
	// differs.
	Send []bool
	// AltMatch is a second match value under which the record's customer
	// may exist: the email of a create an interrupted run sent but never
	// confirmed. The sink looks it up when the record's own finds nothing.
	AltMatch string
}

// Result is the sink's answer for one Change.
type Result struct {
	Outcome Outcome
	// ID is the CRM id of the record written or matched.
	ID string
	// Reject says why, when Outcome is OutcomeRejected.
	Reject *Reject
	// Sent marks, per schema field, what an update sent (nil when the
	// sink does not say); the diff report lists those fields.
	Sent []bool
	// Old holds, per schema field, what the CRM held before an update,
	// when the sink read it (nil otherwise).
	Old []string
}

// Plan is what a sink is told before a run starts.
type Plan struct {
	// Mapped marks, per schema field, the fields the mapping fills; the
	// others are never sent.
	Mapped []bool
	Mode   Mode
	// DryRun sinks read (to match and compare) but never write; they still
	// report the outcome each change would have had.
	DryRun bool
	// IndexAccount asks the sink to read the whole account in Prepare, to
	// match and compare records without a call each. It is set on a run
	// without a state (or an empty one, or --full-resync and --reconcile);
	// otherwise most records come with their ID and Send, and the sink
	// looks up the few new ones one by one.
	IndexAccount bool
	// Claim binds CRM customers to source keys before anything is written
	// to them, so that one customer never serves two keys. A sink calls it
	// with the changes that came without an ID and that it matched to an
	// existing customer (keys[i] matched ids[i]), once per Apply and
	// before it writes to any of them; it may be called from several
	// Apply calls at once. owners[i] is "" when keys[i] may have ids[i];
	// otherwise it is the key the customer is bound to, and the sink must
	// neither write to ids[i] for that change nor return it: it rejects
	// the change with OwnedReject. An error is fatal. It is nil when the
	// run keeps no bindings (no state), and then every match is allowed.
	Claim func(ctx context.Context, keys, ids []string) (owners []string, err error)
}

// OwnedReject is the reject of a change whose match value led to a
// customer bound to another source key (owner): writing to it would
// overwrite that key's customer, and binding it would give one customer
// two keys.
func OwnedReject(s *Schema, owner string) *Reject {
	return &Reject{Stage: StageAPI, Code: OwnedCode(s.MatchField), Field: s.MatchField,
		Message: fmt.Sprintf("this %s belongs to the %s customer that key %q is bound to; it was not overwritten. Give this row its own %s, or remove one of the two keys",
			s.MatchField, s.API, owner, s.MatchField)}
}

// CodeNoID is the reject code of a write the target confirmed without
// saying which customer it wrote: it cannot be bound to its key, and the
// next run looks the customer up by its match value.
const CodeNoID = "no_id"

// CodeAmbiguousMatch is the reject code of a change whose match value the
// target answered inconsistently for (one customer id listed under several
// match values, or a customer found under another match value than the one
// asked for): binding it could give one customer two keys.
const CodeAmbiguousMatch = "ambiguous_match"

// Sink writes records to a target.
//
// The engine calls Schema and Properties at any time, Prepare once, then
// Apply from up to Properties().MaxInFlight goroutines at once (fewer when
// --concurrency says so), and Close once at the end, after every Apply has
// returned. Apply fills results[i] for changes[i]; a row-level failure
// (validation, conflict) is a rejected Result, never an error. Apply
// returns an error only when the run must stop: a fatal error (401, 403, a
// target that no longer answers after its retries) or the context's
// error. Retryable errors are retried inside the sink.
type Sink interface {
	Schema() *Schema
	Properties() Properties
	// Prepare authenticates and reads what the sink needs to match
	// records (for example an index of the account by email). Its errors
	// are fatal.
	Prepare(ctx context.Context, plan Plan) error
	Apply(ctx context.Context, changes []Change, results []Result) error
	// Stats reports the API calls made so far; safe to call concurrently.
	Stats() *CallStats
	Close() error
}

// Deleter is implemented by sinks that can delete customers, for mirror
// runs. Delete is called after every Apply has returned, from one
// goroutine; deleted[i] reports whether ids[i] is gone (deleted now, or
// absent already). Its errors are fatal.
type Deleter interface {
	Delete(ctx context.Context, ids []string, deleted []bool) error
}

// Properties are what a sink tells the engine about its target's API, from
// which the engine plans batches and concurrency.
type Properties struct {
	// BulkCreate says creates go to the API in bulk calls; without it each
	// create is one request.
	BulkCreate bool
	// MaxBatch is the most changes one Apply call takes: a bulk body's
	// size, or for an API without bulk endpoints the changes one Apply
	// works on concurrently.
	MaxBatch int
	// MaxInFlight is the most Apply calls the target sustains at once; 0
	// leaves it to --concurrency.
	MaxInFlight int
	// Rate is the documented request rate per key, in requests a second
	// (0 when the API documents none); the sink paces itself by it and by
	// what the API's answers say.
	Rate float64
	// CanDelete says the sink implements Deleter (mirror runs, erasure).
	CanDelete bool
	// FindByMatch says the sink can find one customer by its match value
	// without reading the whole account.
	FindByMatch bool
}
