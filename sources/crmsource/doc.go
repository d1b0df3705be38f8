// Package crmsource reads a CRM account through a connector's
// [pipeline.Reader] as a [pipeline.Source], so that a migration maps one
// CRM's customers into another like rows of a file.
//
// # Columns
//
// The first column is the customer's id in the source CRM ([IDColumn],
// "id"), the key a migration keeps its state under, so that a rerun with
// --state sends only what changed in the source since. When the reader's
// schema has a field named "id" itself, the id column takes the first of
// "crm_id", "crm_id_2", "crm_id_3", … the schema leaves free
// ([KeyColumn] says which). The schema's fields follow, by name (a nested
// field dotted, "address.city") in schema order, each value in the
// schema's canonical text as the reader gives it: lists as JSON arrays,
// booleans, numbers and dates in their canonical form, "" where the CRM
// holds nothing. [Options.Columns] limits and orders the columns.
//
// # Streaming
//
// [Open] starts the reader's Walk on a goroutine of its own and waits for
// its first page, so that a key the CRM refuses or a base URL that answers
// nothing fails the open, as a file that cannot be read does. The walk
// hands its pages over a channel that holds at most [PagesBuffered]
// pages: a walk ahead of the run waits, and memory stays that of a few
// pages whatever the account's size. Close stops the walk and waits for
// its goroutine; the end of the context given to Open stops it too.
//
// # Progress
//
// A reader that implements [pipeline.TotalAnnouncer] gives the account's
// size as its list answers announce it: Progress counts customers read
// against it, and EstimatedRows returns it. Readers whose lists announce
// nothing (cursor paging) report a total of 0, unknown.
//
// # Rejects
//
// [NewRejectWriter] writes rejected rows as CSV, as the CSV source does, so
// that a user can fix them and feed the file back as a CSV source.
package crmsource
