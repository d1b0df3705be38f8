// Package rowsink is the sink of every CRM API without bulk endpoints:
// one request per customer, sent concurrently under the connector's
// pacer. A connector implements [API] (its reader, plus Create, Update and
// Reject) and gets from [New] a pipeline.Sink that keeps every promise of
// the product's sinks, so that no connector writes a loop of its own:
//
//   - Records are matched to customers by the schema's match value: from
//     an index of the whole account read in Prepare when the plan asks
//     (Plan.IndexAccount), otherwise with one API.Find per record that
//     comes without an id, and the change's AltMatch when its own match
//     value finds nothing. Match values are compared as the target
//     compares them (Schema.MatchFold).
//   - A customer matched for a record that came without an id is claimed
//     through Plan.Claim before anything is written to it; one bound to
//     another key rejects the record (pipeline.OwnedReject). A match value
//     the account lists under several ids, or an id listed under several
//     match values, binds nothing: the record is rejected
//     (pipeline.CodeAmbiguousMatch). A Find that answers a customer whose
//     match value is not the one asked for is fatal: the target ignores
//     the lookup, and matching by it could create duplicates.
//   - An update sends only what changed: Change.Send, or when it is nil
//     the fields whose value differs from what the CRM holds (and every
//     mapped part of a GroupReplace object one of whose parts changed).
//     An empty value of a field that can be cleared is sent in the field's
//     clear form (Field.JSONValue); one of a field that cannot is never
//     sent. Result.Sent says what was sent, Result.Old what the CRM held
//     when the sink read it. A change with nothing to send costs no call.
//   - Under Schema.UpdateReplaces every update is the whole record: the
//     customer is read (if matching did not read it), and the fields the
//     update does not change (those the mapping leaves alone, and those
//     it fills whose source value did not change) are sent with the
//     values the CRM holds. An API
//     that reads many customers a call (BatchReader: a list page) reads
//     the customers of a batch at once, right before the batch's writes,
//     so that an update costs about one call; otherwise each is read with
//     a Get. There is no version check: a change made in the CRM to a
//     customer between that read and its write is overwritten. The
//     window is one batch, since a read serves only its own batch (and
//     the index read in Prepare serves matching and comparing, never a
//     write).
//   - An update answered "not found" (the customer was deleted since it
//     was bound) is matched again by its match value, claimed, and
//     updated; or, when nothing matches, created (never in --mode update).
//   - A create whose answer was lost is never sent twice blindly: the
//     retry that meets "match value taken" (ErrMatchTaken), or a create
//     answered without an id, is resolved by finding the customer by its
//     match value and claiming it.
//   - A dry run reads (matches, compares) but never writes, and reports
//     the outcome each change would have had.
//   - Every change gets an outcome when Apply returns nil.
package rowsink
