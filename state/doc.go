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
// match_field and match_fold name the field of fields that holds a key's
// match value and say whether it compares without regard to case (see
// Store.BindMatch). A
// database that has tables but no schema_version in a meta table belongs
// to another application: it is refused, and left unchanged.
//
// records, one row per source key ever seen:
//
//	key            the value of the mapping's key column (primary key)
//	key_hash       pipeline.KeyHash(key), for loading the index quickly
//	crm_id         the customer's id in the CRM; NULL until a write is confirmed.
//	               A customer is bound to one key at most (a unique index):
//	               opening a state of schema 2 or older that bound one to
//	               several keys unbinds all of them (Store.Unbound says how
//	               many), and the next run matches them again
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
// aborted, interrupted, failed, killed; a run the store was closed on
// before it finished is failed, and one still "running" when the next run
// begins was killed), mode, source, mapping, target, and the counts read,
// created, updated, unchanged, rejected, deleted, pending, api_calls.
//
// journal, the writes a run planned, committed before they are sent:
// run_id, key, crm_id (NULL for a create), match (the match value sent),
// planned_at, confirmed_at (NULL until the outcome is committed) and
// outcome. An entry left unconfirmed by a killed run tells the next run to
// look for the customer it may have created. Entries of all but the last
// 20 runs are pruned.
//
// meta also holds state_id, a random name for the file, generation, a
// number every write to records moves on, and secure_delete when every
// delete in the file overwrote what it removed (see Personal data).
//
// # Personal data
//
// The file and its -wal and -shm are created 0600. Writes run with
// secure_delete, so what they remove is zeroed rather than left in free
// pages; an erasure (ForgetCRMIDs) then empties the -wal, whose older
// frames still hold it, and rebuilds with VACUUM, once, a state written
// before secure_delete was set.
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
