// Package revnuetest is an embeddable emulator of Revnue's API v2
// (customers, categories, the custom field template), in the spirit of
// net/http/httptest: [NewServer] returns a running server on 127.0.0.1
// whose URL a client uses in place of https://dashboard-api.revnue.com.
//
// It is a product feature, not a mock: users rehearse migrations against
// it with `crmsync sandbox --api revnue` and `crmsync sync --target
// sandbox`, so it enforces what shared/api/revnue.md says the real API
// enforces. Above all it implements Revnue's trap exactly: a PUT replaces
// the whole customer, and every field it does not send reads back null
// (nda_signed and msa_signed false). It keeps its data in SQLite, so that
// a rehearsal survives a restart, and can inject the faults a real network
// and a real CRM produce (5xx answers, latency, dropped connections,
// answers lost after the write was applied).
//
// # Endpoints
//
// Under [APIPrefix] (/api/v2), each with and without its trailing slash
// (neither redirects), all with "Authorization: Bearer <token>":
//
//	POST /customer/                                    201 the customer
//	PUT  /customer/{id}                                200 the customer
//	GET  /customer/{id}/                               200 the customer
//	GET  /customer/?company=&page=&page_size=          200 a page of customers
//	GET  /category/?company=&page=&page_size=          200 a page of {id, name}
//	GET  /custom-field-template/?company=&page=&...    200 a page of {id, name, fields: [{id, key, type}]}
//
// and, without authentication and never subject to faults or the rate
// limit, GET /_sandbox/stats (at the server's root), the [Stats]: the
// kit's request counters at the top level and "customers". There is no
// DELETE: Revnue documents none, and DELETE /customer/{id} is answered
// 405 {"detail": "Method \"DELETE\" not allowed."} with Allow: GET, PUT.
//
// # Order of the checks
//
// As in Django REST framework, which Revnue's answers show it runs on: a
// path the API does not have is a 404 before anything else; then the
// token (401), the account's rate limit (429), a method the path lacks
// (405), the customer of a PUT or GET (404, before the body is read), the
// body (400). A request without a valid token takes nothing from the
// limit.
//
// # Errors
//
// Every error is a JSON object with "detail"; a 400 adds "errors", which
// maps each field at fault, nested ones by dotted path
// ("contact_person.email", "template.fields"), to a list of messages in
// DRF's words ("This field is required.", "Ensure this field has no more
// than 50 characters."). Every field is checked and every error answered
// at once.
//
//	HTTP  detail                                        when
//	400   Invalid input.                                a field's value; errors says which
//	400   JSON parse error - …                          a body that is not JSON (errors {})
//	400   Invalid input.                                a list without company (errors.company)
//	401   Authentication credentials were not provided. no bearer token
//	401   Invalid token.                                a token the account does not have
//	404   Not found.                                    an unknown id, an id that is not a
//	                                                    number, a path the API does not have
//	404   Invalid page.                                 page past the last, or not a number ≥ 1
//	405   Method "DELETE" not allowed.                  a method the path lacks (Allow set)
//	413, 415                                            a body over 1 MiB; a Content-Type
//	                                                    other than application/json
//	429   Request was throttled. Expected available     the account's limit is used up;
//	      in N seconds.                                 Retry-After: N, the same N
//	500   A server error occurred.                      the emulator failed; injected 500/502/503
//
// 401 answers carry WWW-Authenticate: Bearer realm="api".
//
// # The write shape (POST and PUT bodies)
//
//   - company: an integer, required, one of [Options.Companies].
//   - name: a string, required, trimmed of surrounding white space, then
//     not blank and at most 50 characters; unique in the account (see
//     the decisions below).
//   - category: an integer id of [Options.Categories], or null.
//   - contact_person: null or {name (≤ 50), email (≤ 254), type}; name
//     and email are each required when the other is given (not null,
//     not ""); type is one of account_management, billing, executive,
//     sales, support, technical. One with nothing set is stored as null.
//   - address_line_1, address_line_2, city, state_province, website
//     (≤ 50 each), zip_postal_code, phone, mobile, fax (≤ 20),
//     general_description, supplementary_description,
//     additional_description (≤ 1000): strings or null; "" is a value.
//   - country: an ISO 3166-1 numeric code (276), or null.
//   - nda_signed, msa_signed: true or false (false when absent; null is
//     refused); nda_signed_date, msa_signed_date: real calendar dates
//     written yyyy-MM-dd, or null.
//   - template: null or {id, fields: [{id, value}]}; id must be the
//     template's, each field id one of its fields (once), and each value
//     null or of the field's type: money 0.00 to 999999999999999.00 with
//     at most two decimal places (as written: "1.500" has three), number
//     an integer from -999999999999999 to 999999999999999 (money and
//     numbers as JSON numbers or strings holding one, no exponent), date
//     yyyy-MM-dd, text at most 50 characters.
//
// Lengths count characters (code points), as Python does. Ids (company,
// category, country, template and field ids) are JSON integers: a string
// or an object is "Incorrect type. Expected pk value, received str.",
// and an id naming nothing is `Invalid pk "9" - object does not exist.`
// on that field. The read shape written back is therefore refused: a
// category as {id, name}, a country as its name, template.fields as a
// map. Fields the write shape does not have, id among them, are ignored.
//
// # PUT replaces the whole record
//
// A PUT stores exactly its body: every field it omits reads back null,
// except nda_signed and msa_signed, which read false; template values it
// omits are gone with the rest. company and name are required as on
// create; a PUT that keeps the customer's own name, in any case, is not
// a duplicate. There is no PATCH and no version check: a client that
// wants to change one field reads the customer, changes the field and
// sends everything back.
//
// # The read shape (every answer holding a customer)
//
// {id, company, name, category, contact_person, address_line_1,
// address_line_2, city, state_province, zip_postal_code, country, phone,
// mobile, fax, website, general_description, nda_signed, nda_signed_date,
// msa_signed, msa_signed_date, supplementary_description,
// additional_description, template}, every key always present: id and
// company integers; category {id, name} or null; country the English
// short name of ISO 3166-1 (276 → "Germany", 410 → "Korea, Republic
// of"), or null; contact_person {name, email, type} or null; template
// {id, fields: {key: value}} or null, where fields holds every key of the
// template, null for a value not set, money as a string with two decimals
// ("1200.50"), a number as a JSON integer, dates and texts as strings.
//
// # Lists
//
// The three lists require company, one of [Options.Companies] (missing:
// 400 errors.company "This field is required."; not a number or unknown:
// 400 on company too). They are DRF's page-number pagination:
// {count, next, previous, results}, next and previous the absolute URLs
// of the neighbouring pages (their parameters sorted by name; previous to
// page 1 without page) or null. page_size is 100 by default and at most
// 100 (a larger one is cut to 100, a bad one is the default). Customers
// are in id order, which is the order of creation; a customer created
// while a client pages lands after every page it has read. Categories
// and the template are the account's, the same for every company.
//
// # Rate limit
//
// The account, all its tokens together, may make [Options.RateLimit]
// requests (default [DefaultRateLimit], 100) in any sliding minute: the
// times of the requests allowed in the last minute are kept, and a request
// is refused while there are RateLimit of them, until the oldest is a
// minute old. Retry-After and the detail's N are that wait in whole
// seconds rounded up, at least 1. Refused requests do not count. No
// X-RateLimit-* headers: Revnue documents none.
//
// # Faults
//
// [Faults] are decided per request, in arrival order, from a random source
// seeded with Faults.Seed (re-seeded by [Server.SetFaults]): the same seed
// and the same sequence of requests give the same faults. Each request
// draws two numbers whatever happens, so one fault never shifts the next.
// The first falls in [0, DropRate) for a dropped connection, in the next
// ErrorRate for a 500, 502 or 503 (the second number chooses; 503 carries
// Retry-After: 1), and in the next LostAnswerRate for a lost answer: the
// write is applied and committed, then the connection is closed without
// an answer. Lost answers apply to writes (POST, PUT) only. Latency is
// added before anything else. Faults never apply to /_sandbox/. A request
// given a 5xx with a valid token takes its share of the rate limit first,
// and over the limit is answered 429 instead.
//
// # Storage
//
// With [Options.DBPath] set the data lives in that SQLite file (WAL,
// readable by its owner alone, stamped as Revnue's so that another API's
// emulator refuses it) and survives restarts; one process at a time may
// serve a file. With DBPath empty the database is in memory and is gone
// on Close. Category names and template keys are the configuration's:
// a customer stored under a category the configuration no longer has
// reads it with a null name, and values of fields the template no longer
// has are not answered.
//
// # For tests and benches
//
// [Server.Seed] stores a customer from a write body checked as POST checks
// it, and [Server.Customer] reads one in the read shape, both without
// HTTP (no token, no limit, no faults, not counted); [Server.FullCustomer]
// is a write body with every field set, template values included.
//
// # Emulator notes / decisions
//
// Where Revnue's documentation is silent, shared/api/revnue.md records the
// decisions the emulator follows and the sink relies on; everything above
// implements them. Beyond them, this emulator decides:
//
//   - Names are unique per account case-insensitively: a name is stored
//     trimmed of surrounding white space, as DRF's CharField trims it, and
//     two names conflict exactly when strings.EqualFold says they are
//     equal (Unicode simple case folding: "ACME GmbH" and "acme gmbh";
//     "Straße" and "STRASSE" do not conflict). Most CRMs treat a company
//     name this way, and a sink that matches by name folded finds the
//     customer a create would collide with. Uniqueness spans the account's
//     companies. Resending the customer's own name in another case is not
//     a conflict (the new spelling is stored).
//   - The messages are DRF's; the 400 envelope is the decision's
//     {"detail": "Invalid input.", "errors": {...}}, with DRF's
//     "non_field_errors" for a body that is JSON but not an object and an
//     empty errors for one that is not JSON. An empty body is an empty
//     object (company and name required).
//   - The 429 detail always says "seconds", even for 1 (DRF would say
//     "1 second."), so that one pattern reads every N.
//   - The rate limit is DRF's sliding log, per account, not per token.
//   - contact_person.email is checked for its length only: Revnue
//     documents no format.
//   - Money is answered as a string ("1200.50"), DRF's default for
//     decimals, since 999999999999999.99 does not survive a float64.
//   - Countries are named by ISO's English short name as Debian's
//     iso-codes gives it (the "name", not the "common_name").
//   - The default account has company 1, categories 1 Default, 2 Partner
//     and 3 Reseller, and template 1 "Default" with fields 1
//     contract_value (money), 2 seats (number), 3 renewal_date (date) and
//     4 account_tier (text).
//   - The list endpoints of categories and the template need company like
//     the customers', and page the same way.
//   - page=last, which DRF accepts, is not: it is a 404 Invalid page.
package revnuetest
