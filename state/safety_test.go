package state_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"crmsync/pipeline"
	"crmsync/state"
)

// TestFilesAreOwnerOnly opens a new state under the usual umask 022 and
// writes to it: the database, its -wal and -shm, the lock and the index
// cache are all readable by their owner alone, as the personal data in
// them should be. Not parallel: the umask belongs to the whole process.
func TestFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "k", Outcome: pipeline.OutcomeCreated, CRMID: "id", Digest: 1,
		Fields: map[string]string{"email": "owner-only@x.test"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm", path + ".lock", state.IndexCachePath(path)} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(name), fi.Mode().Perm())
		}
	}
}

// rawHolds returns the names of the state's files (database and -wal)
// whose bytes hold s.
func rawHolds(t *testing.T, path, s string) []string {
	t.Helper()
	var in []string
	for _, name := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(s)) {
			in = append(in, filepath.Base(name))
		}
	}
	return in
}

// TestEraseLeavesNoTrace erases a person the state knew through two runs
// (created, then their email changed), the way erase does, and searches
// the raw bytes of the database and its write-ahead log for anything of
// theirs: it must be gone while the state is still open (a process killed
// then leaves the files as they are) and after it is closed. Another
// person's email must still be found, which shows the search can see.
func TestEraseLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := open(t, path)
	const (
		oldEmail = "zq-vanishing-5521@erasure.test"
		newEmail = "zq-vanished-7731@erasure.test"
		name     = "Quillonia Erasedperson"
		kept     = "kept-4411@erasure.test"
	)
	begin := func() {
		if _, _, err := st.BeginRun(ctx, state.RunInfo{Mode: "upsert", Source: "a.csv", Mapping: "m.yaml", Target: "sandbox"}); err != nil {
			t.Fatal(err)
		}
	}
	begin()
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k1", Match: oldEmail}, {Key: "k2", Match: kept}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "k1", Outcome: pipeline.OutcomeCreated, CRMID: "id-1", Digest: 1, Fields: map[string]string{"email": oldEmail, "name": name}},
		{Key: "k2", Outcome: pipeline.OutcomeCreated, CRMID: "id-2", Digest: 2, Fields: map[string]string{"email": kept, "name": "Kept"}},
	}); err != nil {
		t.Fatal(err)
	}
	begin()
	if err := st.Begin(ctx, []pipeline.PlannedWrite{{Key: "k1", CRMID: "id-1", Match: newEmail}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "k1", Outcome: pipeline.OutcomeUpdated, CRMID: "id-1", Digest: 3, Fields: map[string]string{"email": newEmail, "name": name}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.RefreshIndexCache(ctx); err != nil {
		t.Fatal(err)
	}
	if in := rawHolds(t, path, newEmail); len(in) == 0 {
		t.Fatalf("before the erasure, no file holds %q: the search cannot see", newEmail)
	}

	if n, err := st.ForgetCRMIDs(ctx, []string{"id-1"}); err != nil || n != 1 {
		t.Fatalf("ForgetCRMIDs: %d, %v; want 1", n, err)
	}
	check := func(when string) {
		t.Helper()
		for _, s := range []string{oldEmail, newEmail, name} {
			if in := rawHolds(t, path, s); len(in) > 0 {
				t.Errorf("%s, %v still hold %q", when, in, s)
			}
		}
		if in := rawHolds(t, path, kept); len(in) == 0 {
			t.Errorf("%s, no file holds the email of the person kept: the search cannot see", when)
		}
	}
	check("after the erasure, the state still open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	check("after the erasure and close")

	// The state still works, and the index cache made before the
	// erasure is not taken for the records after it.
	st = open(t, path)
	if got := scanAll(t, st); len(got) != 1 || got[pipeline.KeyHash("k2")].digest != 2 {
		t.Errorf("after the erasure: %v, want k2 alone", got)
	}
}

// TestEraseScrubsAStateWrittenBefore erases a person from a state written
// without secure_delete, whose free space still holds a journal entry
// pruned long ago with their old email: the first erasure rebuilds the
// file, and nothing of theirs is left in it.
func TestEraseScrubsAStateWrittenBefore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	const (
		pruned = "zq-pruned-long-ago-3391@erasure.test"
		email  = "zq-current-3392@erasure.test"
		kept   = "kept-3393@erasure.test"
	)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range schema2 {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, q := range []string{
		`INSERT INTO journal(run_id, key, match, planned_at) VALUES (1, 'k1', '` + pruned + `', 'then')`,
		`INSERT INTO records(key, key_hash, crm_id, digest, fields) VALUES ('k1', 1, 'id-1', 1, '{"email":"` + email + `"}')`,
		`INSERT INTO records(key, key_hash, crm_id, digest, fields) VALUES ('k2', 2, 'id-2', 2, '{"email":"` + kept + `"}')`,
		`DELETE FROM journal`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if in := rawHolds(t, path, pruned); len(in) == 0 {
		t.Fatalf("the state written without secure_delete does not hold the pruned email: the test shows nothing")
	}

	st := open(t, path)
	if n, err := st.ForgetCRMIDs(ctx, []string{"id-1"}); err != nil || n != 1 {
		t.Fatalf("ForgetCRMIDs: %d, %v; want 1", n, err)
	}
	for _, s := range []string{pruned, email} {
		if in := rawHolds(t, path, s); len(in) > 0 {
			t.Errorf("after the erasure, %v still hold %q", in, s)
		}
	}
	if in := rawHolds(t, path, kept); len(in) == 0 {
		t.Errorf("no file holds the email of the person kept: the search cannot see")
	}
}

// schema2 makes a state as crmsync wrote it at schema 2.
var schema2 = []string{
	`CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`INSERT INTO meta VALUES ('schema_version', '2'), ('generation', '7'), ('state_id', 'feedfacefeedface'), ('api', 'tamio'), ('key_column', 'id')`,
	`CREATE TABLE records (key TEXT PRIMARY KEY, key_hash INTEGER NOT NULL, crm_id TEXT, digest INTEGER, source_digest INTEGER, fields TEXT,
		confirmed_at TEXT, confirmed_run INTEGER, failures INTEGER NOT NULL DEFAULT 0, last_run INTEGER,
		last_code TEXT, last_stage TEXT, last_field TEXT, last_message TEXT) WITHOUT ROWID`,
	`CREATE INDEX records_crm_id ON records(crm_id) WHERE crm_id IS NOT NULL`,
	`CREATE INDEX records_failures ON records(failures) WHERE failures > 0`,
	`CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, dry_run INTEGER NOT NULL,
		mode TEXT NOT NULL, source TEXT NOT NULL, mapping TEXT NOT NULL, target TEXT NOT NULL, read INTEGER NOT NULL DEFAULT 0,
		created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
		rejected INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0,
		api_calls INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE journal (run_id INTEGER NOT NULL, key TEXT NOT NULL, crm_id TEXT, match TEXT, planned_at TEXT NOT NULL,
		confirmed_at TEXT, outcome TEXT, PRIMARY KEY (run_id, key)) WITHOUT ROWID`,
	`CREATE INDEX journal_open ON journal(key) WHERE confirmed_at IS NULL`,
	`PRAGMA user_version = 2`,
}

// TestOpenRefusesAnotherApplicationsDatabase points Open at SQLite
// databases of other applications: each is refused with a fatal error
// naming the file, and left byte for byte as it was.
func TestOpenRefusesAnotherApplicationsDatabase(t *testing.T) {
	cases := map[string][]string{
		"tables": {
			`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`,
			`INSERT INTO notes(body) VALUES ('not crmsync''s')`,
		},
		"a meta table of another shape": {
			`CREATE TABLE meta (id INTEGER PRIMARY KEY, blob BLOB)`,
		},
		"a meta table without crmsync's schema version": {
			`CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
			`INSERT INTO meta VALUES ('app', 'notes')`,
		},
		"a view alone": {
			`CREATE VIEW answer AS SELECT 42`,
		},
	}
	for name, qs := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range qs {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			st, err := state.Open(context.Background(), path)
			if err == nil {
				st.Close()
				t.Fatal("opened another application's database as a state")
			}
			if pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want a fatal error naming %s", err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("the database was changed (%d bytes, then %d)", len(before), len(after))
			}
			for _, suffix := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(path + suffix); err == nil {
					t.Errorf("%s was left beside the database", filepath.Base(path+suffix))
				}
			}
		})
	}
}

// TestOpenTakesAnEmptyFile opens an empty file, as a user might make with
// touch: it is a new state.
func TestOpenTakesAnEmptyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	if err := writeFile(path, ""); err != nil {
		t.Fatal(err)
	}
	st := open(t, path)
	if err := st.Bind(ctx, "tamio", "id"); err != nil {
		t.Fatal(err)
	}
	if keys, _, err := st.Len(ctx); err != nil || keys != 0 {
		t.Fatalf("Len: %d, %v", keys, err)
	}
	st.Close()
	// Reopened, it is a state of its own, no longer an empty file.
	st = open(t, path)
	if err := st.Bind(ctx, "tamio", "id"); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateSchema2UnbindsSharedCustomers opens a state of schema 2 in
// which two keys are bound to one customer, as the bug of issue 13 left
// them: neither keeps the customer (both are matched again by the next
// run), a key bound alone keeps its own, and from then on the schema
// refuses a second key for a customer.
func TestMigrateSchema2UnbindsSharedCustomers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(schema2,
		`INSERT INTO records(key, key_hash, crm_id, digest, source_digest, fields) VALUES
			('A', `+itoa(int64(pipeline.KeyHash("A")))+`, 'id-x', 1, 11, '{"email":"x@example.com","first_name":"Ann"}'),
			('B', `+itoa(int64(pipeline.KeyHash("B")))+`, 'id-x', 2, 12, '{"email":"x@example.com","first_name":"Bob"}'),
			('C', `+itoa(int64(pipeline.KeyHash("C")))+`, 'id-c', 3, 13, '{"email":"c@example.com"}'),
			('D', `+itoa(int64(pipeline.KeyHash("D")))+`, '', NULL, NULL, NULL),
			('E', `+itoa(int64(pipeline.KeyHash("E")))+`, '', NULL, NULL, NULL)`) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st := open(t, path)
	// D and E share no customer: an empty id is none.
	if n := st.Unbound(); n != 2 {
		t.Errorf("Unbound: %d, want 2 (A and B)", n)
	}
	if keys, synced, err := st.Len(ctx); err != nil || keys != 5 || synced != 1 {
		t.Errorf("Len: %d keys, %d with a customer, %v; want 5, 1 (C)", keys, synced, err)
	}
	es, err := st.Entries(ctx, []string{"A", "B", "C"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"A", "B"} {
		if e := es[k]; e == nil || e.CRMID != "" || e.Fields != nil {
			t.Errorf("%s after migration: %+v; want known, unbound, no fields", k, e)
		}
	}
	if e := es["C"]; e == nil || e.CRMID != "id-c" || e.Fields["email"] != "c@example.com" {
		t.Errorf("C after migration: %+v; want its binding kept", e)
	}
	// Unbound keys have no digests: the next run compares them again.
	got := scanAll(t, st)
	if got[pipeline.KeyHash("A")] != (scanned{}) || got[pipeline.KeyHash("B")] != (scanned{}) || got[pipeline.KeyHash("C")] != (scanned{3, 13}) {
		t.Errorf("Scan after migration: %v", got)
	}
	owners, err := st.Owners(ctx, []string{"id-x", "id-c"})
	if err != nil || len(owners) != 1 || owners["id-c"] != "C" {
		t.Errorf("Owners: %v, %v; want id-c → C alone", owners, err)
	}

	// The next run binds one of them; the other cannot follow.
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "A", Outcome: pipeline.OutcomeUpdated, CRMID: "id-x", Digest: 4}}); err != nil {
		t.Fatal(err)
	}
	err = st.Commit(ctx, []pipeline.StateOutcome{{Key: "B", Outcome: pipeline.OutcomeUpdated, CRMID: "id-x", Digest: 5}})
	if err == nil {
		t.Fatal("after migration, a second key was bound to customer id-x")
	}
	st.Close()

	// Migrated once: reopening unbinds nothing more.
	st = open(t, path)
	if n := st.Unbound(); n != 0 {
		t.Errorf("Unbound on reopening: %d, want 0", n)
	}
	var version int
	db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != 3 {
		t.Errorf("user_version %d, %v; want 3", version, err)
	}
}

// TestCommitRefusesASecondKeyForACustomer commits an outcome binding a
// customer already bound to another key: the commit fails with a fatal
// error naming the customer and both keys, and nothing of the batch is
// recorded.
func TestCommitRefusesASecondKeyForACustomer(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "state.db"))
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "key-B", Outcome: pipeline.OutcomeCreated, CRMID: "cust-17", Digest: 1,
		Fields: map[string]string{"email": "x@example.com", "first_name": "Bob"}}}); err != nil {
		t.Fatal(err)
	}
	err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "key-C", Outcome: pipeline.OutcomeCreated, CRMID: "cust-18", Digest: 3},
		{Key: "key-A", Outcome: pipeline.OutcomeUpdated, CRMID: "cust-17", Digest: 2,
			Fields: map[string]string{"email": "x@example.com", "first_name": "Ann"}},
	})
	if err == nil {
		t.Fatal("a second key was bound to customer cust-17")
	}
	if pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("error %q is not fatal", err)
	}
	for _, want := range []string{"cust-17", `"key-A"`, `"key-B"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	for _, personal := range []string{"x@example.com", "Ann", "Bob"} {
		if strings.Contains(err.Error(), personal) {
			t.Errorf("error %q holds personal data (%s)", err, personal)
		}
	}
	es, err := st.Entries(ctx, []string{"key-A", "key-B", "key-C"})
	if err != nil {
		t.Fatal(err)
	}
	if e := es["key-B"]; e == nil || e.CRMID != "cust-17" || e.Fields["first_name"] != "Bob" {
		t.Errorf("key-B: %+v; want still bound to cust-17 with its fields", e)
	}
	if e := es["key-A"]; e != nil {
		t.Errorf("key-A: %+v; want nothing recorded", e)
	}
	if e := es["key-C"]; e != nil {
		t.Errorf("key-C: %+v; the failed batch was recorded in part", e)
	}
}

// TestOwners asks which keys own CRM ids, more than one query's worth of
// them: bound ids answer with their key; unknown ids, and keys without a
// customer, do not appear; forgetting a key frees its customer.
func TestOwners(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "state.db"))
	var outcomes []pipeline.StateOutcome
	var ids []string
	for i := range 1200 {
		k, id := "k"+itoa(int64(i)), "id-"+itoa(int64(i))
		outcomes = append(outcomes, pipeline.StateOutcome{Key: k, Outcome: pipeline.OutcomeCreated, CRMID: id, Digest: 1})
		ids = append(ids, id, "unknown-"+itoa(int64(i)))
	}
	outcomes = append(outcomes, pipeline.StateOutcome{Key: "failing", Outcome: pipeline.OutcomeRejected, Reject: &pipeline.Reject{Code: "email"}})
	if err := st.Commit(ctx, outcomes); err != nil {
		t.Fatal(err)
	}
	owners, err := st.Owners(ctx, append(ids, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1200 {
		t.Errorf("%d owners, want 1200", len(owners))
	}
	for i := range 1200 {
		if k := owners["id-"+itoa(int64(i))]; k != "k"+itoa(int64(i)) {
			t.Fatalf("id-%d is owned by %q, want k%d", i, k, i)
		}
	}
	if err := st.Forget(ctx, []string{"k7"}); err != nil {
		t.Fatal(err)
	}
	if owners, err := st.Owners(ctx, []string{"id-7", "id-8"}); err != nil || len(owners) != 1 || owners["id-8"] != "k8" {
		t.Errorf("after forgetting k7: %v, %v; want id-8 → k8 alone", owners, err)
	}
	// Its customer is free for another key.
	if err := st.Commit(ctx, []pipeline.StateOutcome{{Key: "new", Outcome: pipeline.OutcomeCreated, CRMID: "id-7", Digest: 1}}); err != nil {
		t.Errorf("binding a forgotten key's customer to another key: %v", err)
	}
}
