// Package tiquo is the connector for tiquo's customers API v1
// (shared/api/tiquo.md): its schema, its client on package httpapi, its
// reader and eraser ([API]), and its sink, the per-row sink of package
// rowsink on that API, since tiquo has no bulk endpoints.
//
// Customers are matched by email, without regard to case. tiquo documents
// no way to find a customer by email; the connector uses
// GET /customers?email=<address>, the lookup the emulator serves
// (sinks/tiquo/tiquotest) and the API page records as a decision, to
// match new records and to resolve a create whose answer was lost without
// creating twice. A target that ignores the filter (answers a customer of
// another email) stops the run with a fatal error rather than risk binding
// or creating the wrong customer.
//
// An update is a PATCH of the fields that changed: address parts merge,
// so only the changed parts are sent; tags replace the list, so the whole
// list is sent; null clears an optional field, [] the tags. firstName,
// lastName and email cannot be cleared.
//
// tiquo limits each key to so many requests a minute and says on every
// answer how many remain until the window's end (X-RateLimit-*): the
// pacer spreads what remains over what is left of the window, so a run
// keeps near the limit without living on 429s.
package tiquo
