// Package httpapi is the HTTP plumbing every connector's client shares,
// so that what crmsync sends where, and what it keeps of the answers, is
// decided once:
//
//   - [NewHTTPClient] and [NoRedirects]: API calls follow no redirect. A
//     3xx answer is a fatal error naming where it pointed: following it
//     would re-send the API key (and a create's customer data) to a host
//     or port the user never named. Same-origin GETs are not followed
//     either; an API that moved is fixed by changing --target.
//   - The client's timeout bounds a whole attempt, from dialling to the
//     last byte of the answer, so a server that sends its headers and
//     then stalls fails the attempt (retryable) instead of holding a run.
//   - [CheckBaseURL]: before anything is sent, a base URL is refused when it
//     carries a user name or password, a query or a fragment, or when it
//     is http:// to a host other than this machine (unless cleartext was
//     allowed). [Public] gives any URL without those parts, for logs.
//   - [Redactor]: the credentials a client sends are removed from every
//     text a server answers before it goes into an error, a reject, a log
//     line or a report.
//   - [API.Call]: one request through the caller's [pipeline.Pacer], the
//     request signed anew on every attempt, the answer classified
//     (retryable, permanent, fatal) and each retry logged without personal
//     data.
//   - [PageGuard]: a walk over a list endpoint stops with a fatal error
//     naming the endpoint when the API's paging makes no progress (a page
//     or a cursor seen before, items of the previous page again) or lists
//     more than it announced.
package httpapi
