// Package state is crmsync's memory between runs: an SQLite file (in WAL
// mode) that says, for every source key, which CRM customer it became and
// what that customer holds, so a nightly run sends only what changed. It
// is also the user's audit trail, meant to be read with sqlite3:
//
//	sqlite3 state.db "SELECT id, started_at, status, created, updated, rejected, deleted FROM runs ORDER BY id DESC LIMIT 10"
//	sqlite3 state.db "SELECT key, crm_id, failures, last_code, last_message FROM records WHERE failures >= 2"
//	sqlite3 state.db "SELECT key, json_extract(fields, '$.email') FROM records WHERE crm_id = '…'"
//
// # Tables
//
// meta(name, value): schema_version, and the api and key_column the state
// was made for. A state is refused by a mapping for another API or key
// column, because every key would then look new and be created again.
//
// records, one row per source key ever seen:
//
//	key            the value of the mapping's key column (primary key)
//	key_hash       pipeline.KeyHash(key), for loading the index quickly
//	crm_id         the customer's id in the CRM; NULL until a write is confirmed
//	digest         pipeline.Digest of the mapped values last confirmed; NULL if none
//	source_digest  the source digest (pipeline.SourceDigester) of the row those
//	               values were mapped from: a row with the same one next time is
//	               unchanged without being mapped again; NULL if not known
//	fields         JSON object: field name → the value the CRM held after the last confirmed write
//	confirmed_at   when that write was confirmed (RFC 3339, UTC)
//	confirmed_run  the runs.id that confirmed it
//	failures       how many runs in a row rejected this key (0 after a success)
//	last_run       the last run that saw the key fail or succeed
//	last_code, last_stage, last_field, last_message
//	               why the key was last rejected (NULL once it succeeds)
//
// runs, one row per run (dry runs included, marked dry_run = 1): id,
// started_at, finished_at, status (running, done, done_with_rejects,
// aborted, interrupted, failed; a run still "running" with a finished_at
// of NULL was killed), mode, source, mapping, target, and the counts read,
// created, updated, unchanged, rejected, deleted, pending, api_calls.
//
// journal, the writes a run planned, committed before they are sent:
// run_id, key, crm_id (NULL for a create), match (the email sent),
// planned_at, confirmed_at (NULL until the outcome is committed) and
// outcome. An entry left unconfirmed by a killed run tells the next run to
// look for the customer it may have created. Entries of all but the last
// 20 runs are pruned.
//
// meta also holds state_id, a random name for the file, and generation,
// a number every write to records moves on.
//
// # The index cache
//
// Beside the database, state.db.index holds every key's hash, digest and
// source digest, stamped with the state_id and generation it was made
// from, so a run loads a million keys in a tenth of a second. It is only
// a cache: when it is missing, damaged or stamped otherwise, the run reads
// the records instead and writes a new one as it finishes. It may be
// deleted at any time.
package state
