// Package tiquotest is an embeddable emulator of tiquo's customers API v1,
// in the spirit of net/http/httptest: [NewServer] returns a running server
// on 127.0.0.1 whose URL a client uses in place of
// https://api.tiquo.co/v1.
//
// It is a product feature, not a mock: users rehearse migrations against it
// with `crmsync sandbox --api tiquo` and `crmsync sync --target sandbox`, so
// it enforces what shared/api/tiquo.md says the real API enforces
// (validation, email uniqueness, key scopes, cursor paging, rate limits,
// merge-patch updates), keeps its data in SQLite so that a rehearsal
// survives a restart, and can inject the faults a real network and a real
// CRM produce (5xx answers, latency, dropped connections, answers lost
// after the write was applied).
//
// # Endpoints
//
// All under /v1, all with "Authorization: Bearer <key>":
//
//	GET    /customers?limit=&cursor=&email=   customers:read
//	GET    /customers/{id}                    customers:read
//	POST   /customers                         customers:write   201
//	PATCH  /customers/{id}                    customers:write
//	DELETE /customers/{id}                    customers:write
//
// and, without authentication and never subject to faults or the rate
// limit, GET /_sandbox/stats (also served as /v1/_sandbox/stats), the
// [Stats] in the success envelope.
//
// # Envelopes and errors
//
// A success is {"success": true, "data": ...}; a list adds "pagination":
// {"hasMore", "nextCursor"} beside data. An error is {"success": false,
// "error": {"code", "message", "field"}}, field only when one field is at
// fault. The codes:
//
//	HTTP  code                when
//	400   validation_error    a field's value (field names the first bad one), a body that
//	                          is not one JSON object, a bad limit, cursor or email parameter
//	401   unauthorized        missing or unknown bearer token
//	403   insufficient_scope  the key lacks customers:read (GET) or customers:write
//	404   not_found           an id that names no customer, whatever its shape; no such path
//	405   method_not_allowed  the path exists with other methods (Allow is set)
//	409   email_exists        create, or PATCH to another customer's email
//	413   validation_error    a body larger than 1 MiB
//	415   validation_error    a body sent with a Content-Type other than application/json
//	429   rate_limited        the key's window is used up (Retry-After is set)
//	500   internal_error      the emulator failed (a database error); injected 500/502/503 too
//
// The checks come in this order: the rate limit, the key (401), the scope
// (403), the body (400), the customer (404), the email (409). A key
// without the scope therefore gets 403 for an unknown id too, and learns
// nothing of which customers exist.
//
// # Customers
//
// The customer object has the keys id, firstName, lastName, email, phone,
// dateOfBirth, address {line1, line2, city, state, postalCode, country},
// tags, notes, preferredLocationId, marketingConsent, companyId,
// loyaltyPoints, createdAt and updatedAt, in that order. id is "cust_" and
// 24 hex digits. A new customer has tags [], loyaltyPoints 0 and every
// other optional field null; createdAt and updatedAt are ISO 8601 in UTC
// with milliseconds ("2024-01-15T10:30:00.000Z").
//
// Validation, one field at a time in the order above, whatever the order
// of the body's keys:
//   - firstName, lastName and email are required on create; "" counts as
//     missing, on PATCH too, where null is refused as well (they cannot be
//     cleared).
//   - email is local@domain.tld: at most 254 bytes, a local part without
//     spaces, quotes or ( ) , : ; < > [ \ ], a domain of two or more labels
//     of letters (any script), digits and inner hyphens, the last label two
//     or more letters or an "xn--" label.
//   - dateOfBirth is a real date written YYYY-MM-DD (2001-02-29 is not).
//   - marketingConsent is true, false or null.
//   - tags is an array of strings, kept as sent (order, duplicates).
//   - address is an object; each of its six parts a string or null.
//   - phone, notes, preferredLocationId and companyId are strings or null;
//     none has a documented format, so any text is taken.
//
// Unknown fields are ignored, at the top and inside address, as most JSON
// APIs do; so are the read-only fields id, loyaltyPoints, createdAt and
// updatedAt, on create and on PATCH. Emails are unique case-insensitively:
// an email is stored as given and compared through Unicode simple case
// folding, so that two emails conflict exactly when Go's strings.EqualFold
// says they are equal ("Ann@Example.com" and "ann@example.COM"; the Kelvin
// sign and "k").
//
// # PATCH
//
// A PATCH body is a JSON merge patch. An absent field is left as it is; a
// value replaces it; null clears an optional field (to null, tags to []).
// address merges part by part: the parts sent are set, a part sent as null
// is cleared, the parts not sent are kept; address: null clears the whole
// address, and an address whose parts are all null is answered as null.
// tags replaces the whole list; [] or null clears it. "" is a value, not a
// clear. Resending the customer's own email, in any case, is not a
// conflict (the new spelling is stored). updatedAt moves on every PATCH,
// even one that changes nothing else, and always forward: at least one
// millisecond past its previous value.
//
// # List and paging
//
// GET /customers answers the customers in creation order. limit is 1 to
// 100, default 25; a limit outside that range, or not written in decimal
// digits, is a 400 (not capped), an empty one the default. cursor is a
// customer id and the page holds the customers created after it; a cursor
// whose customer has since been deleted still works, one that never named
// a customer is a 400. nextCursor is the page's last id while hasMore is
// true and null on the last page (a full last page included). Customers
// created while a client pages land after every page it has read.
//
// # Rate limits
//
// Each key may make [Options.RateLimit] requests (default
// [DefaultRateLimit]) in each minute of the clock, from :00 to :00. Every
// API answer carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (the unix second at which the window ends); over the
// limit the answer is a 429 rate_limited with Retry-After in whole seconds
// (at least 1), and the request is not served. Refused requests do not
// count. Requests without a valid key are limited by client address, in
// windows of the same size, so that their 401s carry the headers too.
//
// # Faults
//
// [Faults] are decided per request, in arrival order, from a random source
// seeded with Faults.Seed (re-seeded by [Server.SetFaults]): the same seed
// and the same sequence of requests give the same faults. Each request
// draws two numbers whatever happens, so one fault never shifts the next.
// The first falls in [0, DropRate) for a dropped connection, in the next
// ErrorRate for a 500, 502 or 503 internal_error (the second number
// chooses; 503 carries Retry-After: 1), and in the next LostAnswerRate for
// a lost answer: the write is applied and committed, then the connection
// is closed without an answer. Lost answers apply to writes (POST, PATCH,
// DELETE) only. Latency is added before anything else. Faults never apply
// to /_sandbox/. A request given a 5xx takes its share of the rate limit
// first, as every request does, and its answer carries X-RateLimit-*;
// over the limit it is answered 429 instead. Dropped connections and lost
// answers carry nothing, being no answer.
//
// # Webhooks
//
// customer.created, customer.updated and customer.deleted are POSTed to
// every URL of [Options.Webhooks] as {"id": "evt_…", "type", "created",
// "data"}: created is ISO 8601 like createdAt, data.object the customer
// (as it was, for customer.deleted), and for customer.updated
// data.previousAttributes maps each attribute that changed to its value
// before (address to the whole prior address object or null). A PATCH that
// changes nothing but updatedAt sends no event. Every URL gets the same
// event, id included, from a queue of 1,000 events and a sender of its own,
// so that a slow receiver delays only itself; a receiver gets the events
// in the order the requests were answered (two PATCHes racing on one
// customer may be answered in another order than they were applied). A delivery fails on a transport error or a non-2xx answer and is
// tried up to 5 times, 100 ms, 200 ms, 400 ms and 800 ms apart. An event
// that finds its queue full is dropped and counted.
//
// # Storage
//
// With [Options.DBPath] set the data lives in that SQLite file (WAL,
// readable by its owner alone) and survives restarts; one process at a
// time may serve a file. Writes are serialized on one connection and
// group-committed; a write is answered only after its transaction
// committed. With DBPath empty the database is in memory and is gone on
// Close.
//
// # Emulator notes / decisions
//
// Where tiquo's documentation is silent, shared/api/tiquo.md records the
// decisions the emulator follows and the sink relies on; everything above
// implements them. Beyond them, this emulator decides:
//
//   - Find by email. tiquo documents no way to find a customer by email, and
//     a sink needs one to resolve a create whose answer was lost without
//     creating twice. GET /customers?email=<address> answers the customers
//     whose email equals the address case-insensitively (as above: 0 or 1
//     of them), in the list envelope, with hasMore false. The match is exact:
//     no substring, no wildcard, no trimming. It combines with cursor and
//     limit; an empty or repeated email parameter is a 400. A sink treats a
//     target that answers a customer with another email as ignoring the
//     filter, and refuses it.
//   - limit above 100 is a 400, not capped, so that a client's paging bug
//     shows; a cursor that never named a customer is a 400 on cursor.
//   - DELETE answers 200 {"id", "deleted": true}; deleting again is a 404.
//   - The rate limit window is the minute of the clock; 429s do not count
//     against it; there is no way to turn it off.
//   - Timestamps carry milliseconds, so that updatedAt can move on every
//     PATCH; webhook events carry data.object and data.previousAttributes.
//   - The codes method_not_allowed, rate_limited and internal_error are the
//     emulator's own: tiquo documents none for these cases.
package tiquotest
