package state_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"crmsync/pipeline"
	"crmsync/state"
)

type scanned struct{ digest, source uint64 }

func scanAll(t *testing.T, st *state.Store) map[uint64]scanned {
	t.Helper()
	got := map[uint64]scanned{}
	if err := st.Scan(context.Background(), nil, func(kh, dg, sd uint64) { got[kh] = scanned{dg, sd} }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSourceDigests checks that source digests are kept with confirmed
// writes, set by SetSources, and read back alike from the records and
// from the index cache, and that a damaged cache file is ignored.
func TestSourceDigests(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "a", Outcome: pipeline.OutcomeCreated, CRMID: "id-a", Digest: 1, Source: 11},
		{Key: "b", Outcome: pipeline.OutcomeCreated, CRMID: "id-b", Digest: 2},
		{Key: "c", Outcome: pipeline.OutcomeRejected, Reject: &pipeline.Reject{Code: "email"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSources(ctx, []string{"b", "nobody"}, []uint64{22, 99}); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]scanned{
		pipeline.KeyHash("a"): {1, 11},
		pipeline.KeyHash("b"): {2, 22},
		pipeline.KeyHash("c"): {0, 0},
	}
	check := func(how string) {
		t.Helper()
		got := scanAll(t, st)
		if len(got) != len(want) {
			t.Fatalf("%s: %d keys, want %d", how, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: key hash %x: %+v, want %+v", how, k, got[k], w)
			}
		}
	}
	check("from the records")
	if err := st.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(state.IndexCachePath(path)); err != nil {
		t.Fatalf("no index cache file: %v", err)
	}
	check("from the cache")

	// A confirmed write without a source digest forgets the old one: it
	// belonged to values the CRM no longer holds.
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "a", Outcome: pipeline.OutcomeUpdated, CRMID: "id-a", Digest: 3}}); err != nil {
		t.Fatal(err)
	}
	want[pipeline.KeyHash("a")] = scanned{3, 0}
	check("after an update, with the cache stale")

	if err := st.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(state.IndexCachePath(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state.IndexCachePath(path), data[:len(data)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	check("with a cut cache file")
}

// TestMigrateSchema1 opens a state written before source digests: it
// gains the column, keeps its records, and drops the old in-database
// index cache.
func TestMigrateSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '4')`,
		`CREATE TABLE records (key TEXT PRIMARY KEY, key_hash INTEGER NOT NULL, crm_id TEXT, digest INTEGER, fields TEXT,
			confirmed_at TEXT, confirmed_run INTEGER, failures INTEGER NOT NULL DEFAULT 0, last_run INTEGER,
			last_code TEXT, last_stage TEXT, last_field TEXT, last_message TEXT) WITHOUT ROWID`,
		`INSERT INTO records(key, key_hash, crm_id, digest) VALUES ('k', ` + itoa(int64(pipeline.KeyHash("k"))) + `, 'id-k', 5)`,
		`CREATE TABLE index_cache (generation INTEGER NOT NULL, data BLOB NOT NULL)`,
		`INSERT INTO index_cache VALUES (4, x'00')`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st := open(t, path)
	got := scanAll(t, st)
	if w := (scanned{5, 0}); len(got) != 1 || got[pipeline.KeyHash("k")] != w {
		t.Fatalf("after migration: %v", got)
	}
	if err := st.SetSources(ctx, []string{"k"}, []uint64{7}); err != nil {
		t.Fatal(err)
	}
	if w := (scanned{5, 7}); scanAll(t, st)[pipeline.KeyHash("k")] != w {
		t.Fatalf("source digest not kept after migration: %v", scanAll(t, st))
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }

// TestIndexCacheOfAnotherState checks that a state never takes the index
// cache of another state file for its own, even at the same generation.
func TestIndexCacheOfAnotherState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	a, b := open(t, pa), open(t, pb)
	for st, digest := range map[*state.Store]uint64{a: 1, b: 2} {
		if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "k", Outcome: pipeline.OutcomeCreated, CRMID: "id", Digest: digest, Source: digest}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(state.IndexCachePath(pa))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state.IndexCachePath(pb), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := scanAll(t, b)[pipeline.KeyHash("k")], (scanned{2, 2}); got != want {
		t.Errorf("state b read %+v, want its own %+v", got, want)
	}
}

// TestFailedKeyScansWithoutDigests checks that a key whose last attempt
// failed is given no digests by Scan, from the records and from the index
// cache, so that the run writes it again, and that its next success gives
// them back.
func TestFailedKeyScansWithoutDigests(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "state.db"))
	commit := func(o pipeline.StateOutcome) {
		t.Helper()
		if err := st.Commit(ctx, []pipeline.StateOutcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(how string, want scanned) {
		t.Helper()
		if got := scanAll(t, st)[pipeline.KeyHash("k")]; got != want {
			t.Errorf("%s: %+v, want %+v", how, got, want)
		}
		if err := st.RefreshIndexCache(ctx); err != nil {
			t.Fatal(err)
		}
		if got := scanAll(t, st)[pipeline.KeyHash("k")]; got != want {
			t.Errorf("%s, from the cache: %+v, want %+v", how, got, want)
		}
	}
	commit(pipeline.StateOutcome{Key: "k", Outcome: pipeline.OutcomeCreated, CRMID: "id-k", Digest: 5, Source: 7})
	check("after the create", scanned{5, 7})
	commit(pipeline.StateOutcome{Key: "k", Outcome: pipeline.OutcomeRejected, Reject: &pipeline.Reject{Code: "500"}})
	check("after a failure", scanned{})
	commit(pipeline.StateOutcome{Key: "k", Outcome: pipeline.OutcomeUpdated, CRMID: "id-k", Digest: 6, Source: 8})
	check("after the next success", scanned{6, 8})
}
