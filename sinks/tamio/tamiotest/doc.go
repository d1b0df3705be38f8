// Package tamiotest is an embeddable emulator of tamio's Operations API v2
// (customers and teammates), in the spirit of net/http/httptest: [NewServer]
// returns a running server on 127.0.0.1 whose URL a client uses in place of
// https://api.tamio.com/v2.
//
// It is a product feature, not a mock: users rehearse migrations against it
// with `crmsync sandbox`, so it enforces what the contract in
// shared/api/tamio.md says the real API enforces (validation, email
// uniqueness, key permissions, pagination, rate limits), keeps its data in
// SQLite so that a rehearsal survives a restart, and can inject the faults a
// real network and a real CRM produce (5xx answers, latency, dropped
// connections, answers lost after the write was applied).
//
// # Endpoints
//
// All under /v2, all with "Authorization: Bearer <key>":
//
//	POST   /customers/create                    create
//	GET    /customers/retrieve/{uuid}           view
//	POST   /customers/update/{uuid}             edit
//	DELETE /customers/{uuid}                    remove
//	POST   /customers/bulk/create               create   (background job)
//	POST   /customers/bulk/assign-to-teammate   edit
//	POST   /customers/bulk/delete               remove   (alias /customers/bulk/remove)
//	POST   /customers/bulk/add-to-list          edit
//	POST   /customers/add-to-list/{uuid}        edit
//	POST   /customers/remove-from-list/{uuid}   edit
//	GET    /customers/list                      view
//	GET    /teammates/list                      view
//
// and, without authentication and never subject to faults, GET
// /_sandbox/stats (also served as /v2/_sandbox/stats).
//
// # Keys
//
// Unless [Options.Keys] says otherwise there is one key, [DefaultKey], with
// the four permissions view, edit, create and remove. A key limited to some
// customers ([Key.Customers]) gets 1002 for every other customer, as though it
// did not exist, and sees only its own customers in list. Such a key may still
// create customers if it has the create permission; it then cannot see them
// (the create answer excepted), because its customer set is fixed by the
// configuration.
//
// # Errors
//
// Every error answer is {"status": <http status>, "error": "<text>",
// "error_code": <int>}, with "field" added when one field is at fault and
// "index" when the field belongs to element N of a bulk body. The codes:
//
//	HTTP  error_code  when
//	400   1001        validation: a field's value, a body that is not a JSON object
//	                  (not JSON, truncated, wrong types), per_page > 100, a bulk body
//	                  with too many or no elements
//	400   1002        a customer or teammate UUID that does not exist (or that the
//	                  key may not see)
//	400   10142       create: the email is already used in the account
//	400   10082       update: the email is used by another customer
//	401   1000        missing or unknown bearer token
//	403   1003        the key lacks the permission the endpoint needs
//	404   1002        no such endpoint
//	405   1001        the endpoint exists but not with this method (Allow is set)
//	413   1001        request body larger than 8 MiB
//	415   1001        a body sent with a Content-Type other than application/json
//	429   1004        rate limit exceeded (Retry-After is set)
//	500   1005        the emulator failed (a database error); injected 500/502/503 too
//
// The codes 1000, 1004 and 1005 are this emulator's: tamio documents none for
// these cases, and a client should decide on the HTTP status.
//
// # Customers
//
// The customer object has exactly the keys of the documented example, in its
// order. Text fields that a client sets (email, name, last_name, country,
// locale, timezone_offset, category, priority, phone) are always strings,
// "" when unset. Fields that refer to something else or do not apply
// (teammate_id, lead_status for a customer, stripe_customer_id,
// affiliate_partner_id, client_id) are null when there is nothing; the API
// has no way to set stripe_customer_id, affiliate_partner_id or client_id,
// so they are always null, has_notes is always false and direct_debits
// always []. billing_address and shipping_address are address objects or
// null; the address object carries every documented key, on both kinds
// (as in the example), with verified_vat always false and message always "".
//
// Defaults on create: category "customer", priority "normal", locale "en",
// timezone_offset "+00:00"; a lead without lead_status gets "new_lead".
//
// Validation (each failure is 1001 naming the field):
//   - name: required on create and on every update, 1 to 255 characters, not
//     only spaces; last_name and company at most 255 characters. No text
//     field may hold control characters.
//   - email: at most 254 bytes, accepted by net/mail.ParseAddress as a bare
//     address (no display name, no surrounding spaces) whose domain has a dot
//     and is not a [literal]. Unique per account, case-insensitively: the
//     address is stored as given and compared folded to lower case (Unicode,
//     not only ASCII, which is why the folded form is a column of its own
//     rather than SQLite's ASCII-only lower()).
//   - country: one of the 249 ISO 3166-1 alpha-2 codes, any case, stored in
//     lower case ("DE" is stored as "de").
//   - locale: a language tag: 2 or 3 letters, an optional 4-letter script and
//     an optional region of 2 letters or 3 digits, joined by "-" (en, de,
//     pt-BR, zh-Hant-TW, es-419). Stored as given.
//   - timezone_offset: "+HH:MM" or "-HH:MM", at most 14:00, minutes 00, 15, 30
//     or 45 (every offset in use today is one of these: +05:45, +08:45,
//     -09:30...).
//   - category: customer or lead; priority: low, normal, medium or high;
//     lead_status (leads only; sending one for a customer is an error):
//     qualified, unqualified, contacted, followup, new_lead,
//     attempt_to_contact. Turning a lead into a customer clears lead_status.
//   - phone: E.164, "+" and 7 to 15 digits, nothing else.
//   - teammate_id: a UUID (else 1001) naming a known teammate (else 1002).
//   - Addresses (billing_information, shipping_information, create only):
//     name, country, address and city required; name, last_name, company,
//     address, city, state, representative at most 255 characters; postcode
//     and vat at most 32; email, phone, country and locale as above;
//     is_company a boolean. A nested error names the field as
//     "billing_information.city". same_shipping_address: true copies the
//     billing address to a shipping address of its own (it needs
//     billing_information and excludes shipping_information). A top-level
//     company is the default company of the addresses created with the
//     customer (the customer object has no company key).
//
// Unknown body fields are ignored, as most JSON APIs do, so a client may send
// fields this emulator does not model (website, notes). Known fields with the
// wrong JSON type are a 1001. A null is the same as an absent field on create;
// on update null unassigns teammate_id and clears last_name, phone and
// lead_status, and is a 1001 for every other field; "" clears last_name and
// phone and is a 1001 for every other field (teammate_id included: only null
// unassigns). The update endpoint accepts exactly the documented fields (plus
// lead_status); address fields sent to it are ignored.
//
// UUIDs are accepted in any case and answered in lower case. A path UUID that
// is not a UUID is a 1002 (nothing has that id); a body UUID that is not a
// UUID is a 1001.
//
// # Bulk endpoints
//
// bulk/create takes 1 to 1,000 customers, bulk/assign-to-teammate,
// bulk/delete and bulk/add-to-list 1 to 50 UUIDs; duplicates in the array
// are ignored. bulk/create validates the whole body (1001 or 1002 with the
// index of the first bad customer), stores the job in the database and
// answers {"status":200}; the job runs after [Options.BulkDelay], one job at a
// time in arrival order, in transactions of 100 customers, and skips silently
// every customer whose email exists (within the body too: the first one
// wins). A job that was accepted survives a restart on the same DBPath: Close
// stops it between two transactions and the next server resumes it when it
// was due or after the new server's BulkDelay, whichever comes first. Created
// customers are announced by webhooks with "source":"import".
//
// bulk/assign-to-teammate needs every customer to exist (1002, index and
// nothing applied otherwise) and answers the UUIDs it was given;
// bulk/delete deletes what exists and answers the UUIDs it deleted (unknown
// ones are skipped, so that a retried delete is harmless). Mailing lists are
// any UUID; add-to-list answers the customers it subscribed (already
// subscribed ones are skipped), remove-from-list the customer it unsubscribed
// ([] when it was not subscribed); add-to-list needs the customers to exist.
//
// # List
//
// page (from 1) and per_page (1 to 100) are required. sort_by is name,
// email, country or created_at (default created_at), order asc or desc
// (default asc); name and email sort case-insensitively. Every order ends
// with the internal insertion sequence, in the same direction, so pages are
// stable: with sort_by=created_at and order=asc, customers created while a
// client pages land after every page it has read (created_at never decreases
// in insertion order, even if the clock steps back). Deleting customers while
// paging shifts later pages, as with any offset pagination. filter is a
// case-insensitive substring of name, last_name or email (at most 255
// characters); from and to bound created_at, both inclusive, as unix seconds
// or ISO 8601 (RFC 3339, "2006-01-02T15:04:05" read as UTC, or a date: from a
// date means its first second, to a date its last); countries[] (or
// countries) may repeat and each value may hold a comma-separated list;
// teammate_id keeps one teammate's customers (1002 for an unknown teammate);
// leads are left out unless include_leads is true (true, false, 1 or 0). The
// answer is {"status":200,"total_results":N,"customers":[...]}, total_results
// counting every match, not only the page; a page past the end is empty.
//
// # Rate limits
//
// With [Options.RateLimit] set, each key has a token bucket of RateBurst
// tokens refilled at RateLimit per second. Every authenticated answer then
// carries X-RateLimit-Limit (the bucket size), X-RateLimit-Remaining (whole
// tokens left) and X-RateLimit-Reset (the unix second at which the bucket is
// full again); a request finding the bucket empty gets a 429 with
// Retry-After in whole seconds, at least 1.
//
// # Faults
//
// [Faults] are decided per request, in arrival order, from a random source
// seeded with Faults.Seed (re-seeded by [Server.SetFaults]): the same seed and
// the same sequence of requests give the same faults. Each request draws two
// numbers whatever happens, so one fault never shifts the next. The first
// falls in [0, DropRate) for a dropped connection, in the next ErrorRate for a
// 500, 502 or 503 (the second number chooses; 503 carries Retry-After: 1), and
// in the next LostAnswerRate for a lost answer, which applies to writes (every
// method but GET) only. Rates are clamped to [0, 1]; when they add up to more
// than 1, the later ones get what is left. Latency is added before anything
// else. Faults never apply to /_sandbox/.
//
// # Webhooks
//
// customer.created, customer.updated (only when an update or an assignment
// changed something) and customer.removed are POSTed to every URL of
// [Options.Webhooks], each URL with its own queue of 1,000 events and its own
// sender, so that a slow receiver delays only itself and events reach each
// receiver in order. A delivery fails on a transport error or a non-2xx
// answer and is tried up to 5 times, 100 ms, 200 ms, 400 ms and 800 ms apart.
// The endpoint_id of a URL is a UUID derived from the URL, stable across
// restarts. An event that finds its queue full is dropped and counted.
//
// # Storage
//
// With [Options.DBPath] set the data lives in that SQLite file (WAL,
// synchronous=NORMAL) and survives restarts; one process at a time may serve
// a file. Writes go through a single connection, one goroutine and one
// transaction at a time, so they are serialized without SQLITE_BUSY; writes
// that arrive together share a transaction (group commit), each in a
// savepoint of its own so that one failing write leaves the others applied.
// A write is answered only after its transaction committed. Reads use a
// pool of their own beside the writer, and the WAL is checkpointed in the
// background, so that the fsync of a checkpoint never holds up a write.
// With DBPath empty the database is in memory, on a single connection, and
// is gone on Close.
//
// The parts no API decides (the server and its faults and counters, the
// storage, keys and rate limits, webhook delivery, the configuration
// file's wording of errors) are crmsync/internal/emulator's, shared with
// the other emulators; this package holds what is tamio's.
package tamiotest
