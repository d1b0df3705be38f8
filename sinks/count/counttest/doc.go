// Package counttest is an embeddable emulator of COUNT's partner API
// (customers), in the spirit of net/http/httptest: [NewServer] returns a
// running server on 127.0.0.1 whose URL, ending in /partners, a client
// uses in place of COUNT's.
//
// It is a product feature, not a mock: users rehearse migrations against
// it with `crmsync sandbox --api count` and `crmsync sync --target
// sandbox`, so it enforces what shared/api/count.md says the real API
// enforces (signed requests, validation, email uniqueness, paging, the
// rate limit, partial updates that replace addresses whole), keeps its
// data in SQLite so that a rehearsal survives a restart, and can inject
// the faults a real network and a real API produce (5xx answers, latency,
// dropped connections, answers lost after the write was applied).
//
// # Endpoints
//
// All under /partners, all authenticated and signed:
//
//	GET  /customers?search=&page=&limit=&orderBy=   list, paged
//	GET  /customers/find-by-email?email=            one customer, or 404
//	GET  /customers/{uuid}                          one customer
//	POST /customers                                 create: 201
//	PUT  /customers/{uuid}                          partial update: 200
//
// COUNT documents no delete: DELETE /customers/{uuid} is a 405 with Allow:
// GET, PUT, as is any method a path lacks; a path the API does not have
// is a 404. Neither is authenticated nor rate limited. Besides, without
// authentication and never subject to faults or the rate limit, GET
// /_sandbox/stats (also served as /partners/_sandbox/stats) answers
// [Stats]: the kit's request counters at the top level, as every
// emulator serves them, not in COUNT's envelope.
//
// # Authentication and signatures
//
// Every request carries four headers: Authorization: Bearer <token>,
// x-client-id, x-timestamp (unix seconds) and x-signature, the lower-case
// hex HMAC-SHA256, keyed with the client secret, of
//
//	METHOD:path:timestamp:bodyHash
//
// METHOD upper case; path as sent on the request line, without the host,
// the /partners prefix and the query string (/customers/find-by-email,
// never …?email=…); timestamp the x-timestamp header exactly as sent;
// bodyHash the hex SHA-256 of the exact body bytes received, or "" when
// there are none (a GET); the colons always stay. Each of these is a 401
// unauthorized, whose message says which check failed: a missing header,
// an unknown token, an x-client-id other than the token's client, an
// x-timestamp that is not a decimal number or is more than
// [TimestampWindow] (300 s) from the server's clock either way (300 s
// itself is accepted), and a signature that does not match, which covers
// a wrong secret, a body changed after signing, a signed query string and
// upper-case hex. The message of a wrong signature quotes the string the
// server signed (never a secret or the expected signature), so that a
// rehearsal shows what the client got wrong. A request may be replayed
// within the window: COUNT documents no nonce.
//
// # Envelopes and errors
//
// A success is {"status": "success", "message", "data"}; the list adds
// "pagination": {"page", "limit", "total"} beside data. An error is
// {"status": "error", "message", "code", "errors"}, errors a list of
// {"field", "message"} present only when fields are at fault (every one
// of them, not just the first). COUNT's "details" is never sent. The
// codes:
//
//	HTTP  code                 when
//	400   validation_error     a field's value; a body that is not one JSON object; a
//	                           Content-Type other than application/json; an id that is
//	                           not a UUID; a bad page, limit or orderBy; find-by-email
//	                           without email
//	401   unauthorized         any failure of the token or the signature (see above)
//	404   not_found            a UUID that names no customer; find-by-email finding
//	                           none; a path the API does not have
//	405   method_not_allowed   a method the path does not have (Allow is set)
//	409   email_exists         create, or PUT to another customer's email
//	413   validation_error     a body larger than 1 MiB
//	429   rate_limit_exceeded  the client id's minute is used up (Retry-After is set)
//	500   internal_error       the emulator failed; injected 500/502/503 too
//
// The checks come in this order: the body is read (413); the token and
// the signature (401); the rate limit (429); the id, the Content-Type and
// the body (400); the customer (404); the email (409).
//
// # Customers
//
// The customer object has the keys id, customer, email, mainPhone,
// website, status, billingAddress, shippingAddress, contacts, createdAt and
// updatedAt, in that order. id is a random (version 4) UUID in lower case;
// an id in the path is taken in either case. An address is {street, city,
// state, zipCode, country}, a contact {name, email, phone, primary}.
// createdAt and updatedAt are ISO 8601 in UTC with milliseconds
// ("2024-01-15T10:30:00.000Z").
//
// Validation, every field checked, in the order above:
//   - customer and email are required on create and on update: absent,
//     null or blank is an error. customer is 1 to 255 characters, email at
//     most 255 and of the form local@domain.tld (a local part without white
//     space, quotes or ( ) , : ; < > @ [ \ ]; a domain of two or more labels
//     of letters of any script, digits and inner hyphens; a last label of
//     two or more letters).
//   - mainPhone (at most 50 characters) and website (at most 255, with or
//     without a protocol) are strings or null; "" is read as null.
//   - status is "active" or "inactive"; null is refused. A create without
//     it gets "active".
//   - billingAddress and shippingAddress are objects or null; each part a
//     string of at most 255 characters or null, a part not sent being null.
//   - contacts, on create, is an array (null or absent: []) of objects
//     whose name is required (1 to 255 characters), email a valid email or
//     null, phone at most 50 characters or null ("" being null for both),
//     primary true or false (absent or null: false).
//
// Unknown fields are ignored, at the top and inside addresses and
// contacts, as most JSON APIs do; so are the read-only fields id,
// createdAt and updatedAt. Optional fields not given on create are null,
// contacts [].
//
// Emails are unique case-insensitively: an email is stored as given and
// compared through Unicode simple case folding, so that two emails
// conflict exactly when Go's strings.EqualFold says they are equal
// ("Ann@Example.com" and "ann@example.COM"). A PUT resending a
// customer's own email, in any case, is not a conflict (the new spelling
// is stored).
//
// # PUT is partial
//
// Despite the verb, a PUT changes only what it sends: a field not sent
// stays as it is. customer and email must be sent all the same. An
// address sent replaces the whole address (a part not sent becomes
// null: sending only billingAddress.city leaves the other billing parts
// null and shippingAddress as it was); null removes it. null or "" clears
// website and mainPhone, which then read back null. contacts in a PUT are
// ignored, whatever they hold: the answer is a 200 and the contacts stay
// as they were. updatedAt moves when any field's value changes, to the
// current time and always forward (at least a millisecond past its
// previous value); a PUT that changes nothing leaves it.
//
// # Find by email and the list
//
// GET /customers/find-by-email?email=<address> answers {data: customer}
// for the customer whose email equals the address case-insensitively (as
// above), or a 404; without email, or with an empty one, a 400. The match
// is exact: no substring, no trimming.
//
// GET /customers answers a page of customers. page counts from 1
// (default 1; at most 1,000,000,000); limit is 1 to 100 (default 20); a
// value out of range or not written in decimal digits is a 400 naming it,
// not capped, so that a client's paging bug shows; an empty one is the
// default. search keeps the customers whose name or email holds it as a
// substring, case-insensitively; empty, every customer. orderBy is
// createdAt (the default), updatedAt, customer or email, each with a "-"
// before it for descending order; anything else is a 400. Every order ends
// on the creation order, so that customers that tie keep their place from
// page to page. total counts the customers search keeps; a page past the
// last is empty, with the total. Customers created while a client pages
// in creation order land after every page it has read.
//
// # Rate limit
//
// Each client id may make [Options.RateLimit] requests (default
// [DefaultRateLimit], COUNT's 100) in each minute of the clock, from :00
// to :00. Over it, the answer is a 429 rate_limit_exceeded with
// Retry-After, the whole seconds (at least 1) until the minute ends, and
// the request is not served. Refused requests do not count. Only a 429
// carries a rate limit header: COUNT documents no X-RateLimit-* headers,
// so a client paces by the documented limit. Requests refused 401 take no
// share of any limit and are not limited: the limit is taken once the
// signature proves the client, so that anyone knowing a client id cannot
// use up that client's minute.
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
// is closed without an answer. Lost answers apply to writes (POST, PUT)
// only. Latency is added before anything else. Faults never apply to
// /_sandbox/ nor to paths the API does not have. A signed request given a
// 5xx takes its share of the rate limit first, as every request does;
// over the limit it is answered 429 instead.
//
// # Storage
//
// With [Options.DBPath] set the data lives in that SQLite file (WAL,
// readable by its owner alone, stamped as count's so that another
// emulator refuses it) and survives restarts; one process at a time may
// serve a file. Writes are serialized on one connection and
// group-committed; a write is answered only after its transaction
// committed. With DBPath empty the database is in memory and is gone on
// Close.
//
// # Emulator notes / decisions
//
// Where COUNT's documentation is silent, shared/api/count.md records the
// decisions the emulator follows and the sink relies on; everything above
// implements them. Beyond them, this emulator decides:
//
//   - The timestamp signed is the x-timestamp header's text as sent, and
//     bodyHash is "" exactly when the body is empty, whatever the method:
//     a GET sent with a body signs its hash. The signed path is the path
//     as sent (percent-escapes kept), which for COUNT's paths is the path
//     itself.
//   - The order of the auth checks, and that their 401 messages name the
//     failed check and quote the signed string; the limit taken after
//     authentication; a client id is unique among the clients.
//   - List paging: limit default 20 and at most 100, refused (not capped)
//     past it; page at most 1,000,000,000; the orderBy values and "-" for
//     descending; ties in creation order.
//   - updatedAt moves only when a value changes ("when any field is
//     modified"), with millisecond precision, always forward.
//   - The 405 for DELETE and other missing methods, and the codes
//     method_not_allowed, rate_limit_exceeded and internal_error, which
//     COUNT does not document; a Content-Type other than JSON is a 400
//     (not 415), since COUNT documents 400 for a bad request.
//   - Address parts and contacts' fields are limited to 255 characters
//     (phones 50); an address is stored as sent, parts not sent null, and
//     read back as an object even when every part is null; contacts are
//     validated on create (a contact without a name is refused).
//   - status null is refused; "" for website or mainPhone on create is
//     null, as on update; a customer name of white space alone counts as
//     empty; lengths are counted in characters, not bytes.
//   - Unknown fields are ignored rather than refused.
//   - The stats are served beside the API at /_sandbox/stats and under
//     /partners, not in COUNT's envelope.
package counttest
