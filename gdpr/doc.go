// Package gdpr holds what `crmsync export` and `crmsync erase` share and
// what does not depend on the command line: reading a subjects file (by
// the CRM's id and by the API's match value), the table writers (JSON
// Lines, CSV, Parquet) of the rows a connector's export layout makes of
// its customers (package layout), files written with owner-only
// permissions and optionally encrypted to age recipients, the manifest
// that records the
// SHA-256 of every file as written, the staging directory that makes a
// re-run replace an export as a whole (and only what an earlier export's
// manifest lists), the escaping every CSV file gets, and the erasure log.
//
// Everything here handles personal data, so it follows three rules:
// directories are created 0700 and files 0600; a file appears under its
// final name only once it is complete (written to a temporary name, then
// renamed); and nothing in an error message quotes a value read from the
// CRM or from a subjects file, since errors end up in logs.
package gdpr
