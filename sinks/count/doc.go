// Package count is the connector for COUNT's partner API, customers
// (shared/api/count.md): its schema, its client on package httpapi, its
// reader ([API]), and its sink, the per-row sink of package rowsink on
// that API, since COUNT has no bulk endpoints.
//
// # Signing
//
// Every request carries the OAuth token as a bearer token, x-client-id,
// x-timestamp (unix seconds) and x-signature, the lower-case hex
// HMAC-SHA256 keyed with the client secret of
// "METHOD:path:timestamp:bodyHash" (see [Signature]). The signature is
// made on every attempt, after the pacer's wait, since COUNT refuses a
// timestamp more than 300 s off and a retry may wait longer than that.
// The three credentials come from COUNT_TOKEN, COUNT_CLIENT_ID and
// COUNT_CLIENT_SECRET and are removed from every text of an answer.
//
// # Matching and writing
//
// Customers are matched by email, without regard to case, with
// find-by-email (404: none). An update is COUNT's PUT, which is partial:
// it sends customer and email, which COUNT requires in every update, and
// the fields that changed. An address is replaced whole by COUNT, so a
// change to any of its parts sends every part (those the mapping leaves
// alone as COUNT holds them) and an address the mapping does not touch is
// never sent; an address left with no part is removed with null. null
// clears website and mainPhone. The primary contact is sent on create
// only: COUNT's update ignores contacts. An update that changes the email
// first asks find-by-email whether another customer holds it, and when
// one does rejects the row with COUNT's email_exists without writing.
//
// # Limits
//
// COUNT allows 100 requests a minute per client id and sends no rate
// limit headers: the pacer spaces requests at the documented rate (or
// crm.Config.Rate, for a client whose limit was raised) and honours the
// Retry-After of a 429. COUNT documents no delete: the connector has no
// eraser and its sink cannot delete, so --mode mirror is refused at start.
// An erasure anonymises instead ([Anonymiser]): one PUT overwrites the
// name and email with placeholders and clears every other personal field,
// and the contacts, which the update ignores, are reported left to clear
// by hand.
package count
