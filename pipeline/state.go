package pipeline

import (
	"context"

	"github.com/zeebo/xxh3"
)

// State remembers, per source key, what earlier runs confirmed in the
// CRM, so a run sends only what changed. The state package implements it
// on SQLite.
//
// The engine calls Scan once before it reads the source, then Entries,
// Begin and Commit from its batch goroutines, concurrently. Errors from
// any method are fatal for the run: a run that cannot record what it
// wrote would send it again next time, or lose track of it.
type State interface {
	// Scan calls fn for every key the state holds, with the key's
	// KeyHash, the Digest of the values last confirmed for it (0 when no
	// write was ever confirmed, or when the key's last attempt failed: such
	// a key is written again, never taken as unchanged) and the
	// source digest of the row those values were mapped from (0 when not
	// known). When it knows how many keys it holds, it first calls size
	// with that number, so the caller can make room for all of them at
	// once.
	Scan(ctx context.Context, size func(keys int), fn func(keyHash, digest, source uint64)) error
	// Entries returns what the state holds for the keys it knows among
	// keys.
	Entries(ctx context.Context, keys []string) (map[string]*StateEntry, error)
	// Begin journals the writes about to be sent, in one transaction,
	// before they are sent: a run killed before Commit leaves a record of
	// what may have reached the CRM.
	Begin(ctx context.Context, writes []PlannedWrite) error
	// Commit records the outcome of a batch in one transaction and marks
	// its journal entries done.
	Commit(ctx context.Context, outcomes []StateOutcome) error
	// Synced calls fn for every key that has a CRM id, with the match
	// value (email) last confirmed; a mirror run reads it after the
	// source to find the keys that are gone.
	Synced(ctx context.Context, fn func(key, crmID, match string) error) error
	// SetSources records the source digests of rows found unchanged by
	// their mapped values, whose source digest the state did not hold
	// (after the mapping changed, or for a state older than source
	// digests), so the next run need not map them.
	SetSources(ctx context.Context, keys []string, sources []uint64) error
	// Forget removes keys whose customers were deleted.
	Forget(ctx context.Context, keys []string) error
	// Claim binds keys[i] to the CRM customer ids[i], in one transaction,
	// unless that customer is bound to another key: owners[i] is then
	// that key and keys[i] is left as it was. A customer is bound to one
	// key at most, which the state enforces itself (Commit fails rather
	// than bind a second key). The engine calls it through Plan.Claim, from
	// several batches at once, before a matched customer is written:
	// binding first means two batches in flight never both take one
	// customer.
	Claim(ctx context.Context, keys, ids []string) (owners []string, err error)
	// Owners returns, for the ids among ids bound to a key, that key; a
	// dry run asks it instead of Claim.
	Owners(ctx context.Context, ids []string) (map[string]string, error)
}

// StateEntry is what the state holds for one key.
type StateEntry struct {
	// CRMID is the customer's id in the CRM; "" when no write for the key
	// was ever confirmed.
	CRMID string
	// Fields are the values the CRM held after the last confirmed write,
	// by field name.
	Fields map[string]string
	// Failures is how many runs in a row rejected the key.
	Failures int
	// UnconfirmedMatch is the match value (email) of a create that an
	// interrupted run journaled but never confirmed, when it differs from
	// what the CRM is known to hold: the customer may exist under it.
	UnconfirmedMatch string
}

// PlannedWrite is one journal entry: a write about to be sent.
type PlannedWrite struct {
	Key   string
	CRMID string // "" for a create, or a write whose customer is looked up
	Match string // the match value (email) the write is sent with
}

// StateOutcome is what a run learned about one key.
type StateOutcome struct {
	Key string
	// Outcome is created, updated, unchanged or rejected.
	Outcome Outcome
	CRMID   string
	// Digest is the Digest of the record's mapped values, recorded when
	// the write is confirmed (created, updated, unchanged).
	Digest uint64
	// Source is the source digest of the row (see SourceDigester), or 0,
	// recorded with Digest.
	Source uint64
	// Fields are the values the CRM holds now, by field name, for a
	// confirmed outcome; nil leaves the recorded values as they are.
	Fields map[string]string
	// Reject is why the key failed, for a rejected outcome.
	Reject *Reject
}

// KeyHash is the stable hash of a source key that a State is indexed by.
// It never changes between versions: states written by one release are
// read by the next.
func KeyHash(key string) uint64 {
	h := xxh3.HashString(key)
	if h == 0 {
		h = 1
	}
	return h
}

// Digest is the stable hash of a record's mapped values, each with its
// field name, so a mapping that starts filling another field changes
// every digest and the next run compares field by field. It is never 0.
func Digest(s *Schema, mapped []bool, values []string) uint64 {
	var buf [512]byte
	b := buf[:0]
	for f := range s.Fields {
		if !mapped[f] {
			continue
		}
		b = append(b, s.Fields[f].Name...)
		b = append(b, 0x1f)
		b = append(b, values[f]...)
		b = append(b, 0x1e)
	}
	h := xxh3.Hash(b)
	if h == 0 {
		h = 1
	}
	return h
}
