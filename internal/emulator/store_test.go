package emulator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// itemSchema is a parent and a child table, so that a write can leave
// part of its work behind when it fails.
func itemSchema(ctx context.Context, tx *sql.Tx, from int) error {
	return ExecAll(ctx, tx,
		`CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, body TEXT NOT NULL DEFAULT '')`,
		`CREATE TABLE IF NOT EXISTS notes (item TEXT NOT NULL, text TEXT NOT NULL)`)
}

func openItems(t testing.TB, path string, o StoreOptions) *Store {
	t.Helper()
	o.Path, o.Version, o.Migrate = path, 1, itemSchema
	s, err := OpenStore(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// addItem writes a note first and the item second, so that a refused
// item has something to undo.
func addItem(ctx context.Context, s *Store, email string) (int64, error) {
	return Do(ctx, s, func(ctx context.Context, tx *sql.Tx) (int64, error) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO notes (item, text) VALUES (?, 'n')", email); err != nil {
			return 0, err
		}
		var id int64
		err := tx.QueryRowContext(ctx, "INSERT INTO items (email) VALUES (?) RETURNING id", email).Scan(&id)
		return id, err
	})
}

func count(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.Reader().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStoreGroupCommitIsolatesFailures runs failing and succeeding writes
// at once, so that they share transactions: a failure undoes itself only.
func TestStoreGroupCommitIsolatesFailures(t *testing.T) {
	for _, mem := range []bool{false, true} {
		t.Run(fmt.Sprint("memory=", mem), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "items.db")
			if mem {
				path = ""
			}
			s := openItems(t, path, StoreOptions{})
			ctx := context.Background()
			if _, err := addItem(ctx, s, "taken"); err != nil {
				t.Fatal(err)
			}
			const n = 200
			var wg sync.WaitGroup
			var mu sync.Mutex
			ids := map[int64]bool{}
			var ok, refused int
			for i := range n {
				wg.Go(func() {
					email := fmt.Sprintf("e%d", i)
					if i%2 == 1 {
						email = "taken"
					}
					id, err := addItem(ctx, s, email)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && id > 0 && !ids[id]:
						ids[id] = true
						ok++
					case IsUniqueViolation(err, "email") && id == 0:
						refused++
					default:
						t.Errorf("write %d: id %d, %v", i, id, err)
					}
				})
			}
			wg.Wait()
			if ok != n/2 || refused != n/2 {
				t.Errorf("%d written, %d refused; want %d each", ok, refused, n/2)
			}
			if items, notes := count(t, s, "items"), count(t, s, "notes"); items != n/2+1 || notes != n/2+1 {
				t.Errorf("%d items and %d notes stored, want %d of each: a refused write left its note", items, notes, n/2+1)
			}
		})
	}
}

// TestStoreWriteErrorIsReturnedAsIs: an emulator returns its API errors
// through Write, and finds them with errors.As.
func TestStoreWriteErrorIsReturnedAsIs(t *testing.T) {
	s := openItems(t, filepath.Join(t.TempDir(), "items.db"), StoreOptions{})
	mine := &BodyError{Status: 409, Msg: "taken"}
	got, err := Do(context.Background(), s, func(ctx context.Context, tx *sql.Tx) (string, error) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO items (email) VALUES ('x')"); err != nil {
			return "", err
		}
		return "half done", mine
	})
	if err != mine || got != "" {
		t.Errorf("Do: %q, %v", got, err)
	}
	if n := count(t, s, "items"); n != 0 {
		t.Errorf("%d items after a failed write", n)
	}
}

func TestStoreReopenAndVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.db")
	s, err := OpenStore(StoreOptions{Path: path, Version: 1, Migrate: itemSchema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := addItem(context.Background(), s, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := s.Write(context.Background(), func(context.Context, *sql.Tx) error { return nil }); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("write after close: %v", err)
	}

	var from = -1
	s2, err := OpenStore(StoreOptions{Path: path, Version: 2, Migrate: func(ctx context.Context, tx *sql.Tx, v int) error {
		from = v
		_, err := tx.ExecContext(ctx, "ALTER TABLE items ADD COLUMN extra TEXT")
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if from != 1 || count(t, s2, "items") != 1 {
		t.Errorf("migrated from %d with %d items", from, count(t, s2, "items"))
	}
	s2.Close()
	_, err = OpenStore(StoreOptions{Path: path, Version: 1, Migrate: itemSchema})
	if err == nil || !strings.Contains(err.Error(), "schema version 2 is newer") || !strings.Contains(err.Error(), path) {
		t.Errorf("older emulator on a newer file: %v", err)
	}
	if _, err := OpenStore(StoreOptions{Path: "a?b.db"}); err == nil {
		t.Error("a path with ? opened")
	}
	// A failing migration leaves the version as it was.
	_, err = OpenStore(StoreOptions{Path: path, Version: 3, Migrate: func(context.Context, *sql.Tx, int) error { return errors.New("no") }})
	if err == nil {
		t.Fatal("a failing migration opened")
	}
	s3, err := OpenStore(StoreOptions{Path: path, Version: 2, Migrate: func(_ context.Context, _ *sql.Tx, v int) error {
		from = v
		return nil
	}})
	if err != nil || from != 2 {
		t.Errorf("after a failed migration the file is at version %d (%v), want 2", from, err)
	}
	if s3 != nil {
		s3.Close()
	}
}

// TestStoreFilesAreOwnerOnly opens a new database under the usual umask
// 022 and writes: the database and its -wal and -shm, which hold personal
// data, are readable by their owner alone. Not parallel: the umask
// belongs to the whole process.
func TestStoreFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "sandbox.db")
	s := openItems(t, path, StoreOptions{})
	if _, err := addItem(context.Background(), s, "mode"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
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

// TestStoreCheckpoints writes with a checkpoint after every commit and a
// tiny WAL limit: the data reaches the database file, and the WAL is
// truncated once the writes stop. The writer itself never checkpoints.
func TestStoreCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.db")
	s := openItems(t, path, StoreOptions{CheckpointEvery: 1, MaxWAL: 1})
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 4000)
	for i := range 200 {
		if err := s.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO items (email, body) VALUES (?, ?)", fmt.Sprint(i), body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		db, err1 := os.Stat(path)
		wal, err2 := os.Stat(path + "-wal")
		if err1 == nil && err2 == nil && db.Size() > before.Size()+200*4000 && wal.Size() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database %d bytes (was %d), WAL %v bytes: not checkpointed (%v %v)", db.Size(), before.Size(), wal.Size(), err1, err2)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStoreReadStmt caches repeated shapes and still answers past the
// cache's size.
func TestStoreReadStmt(t *testing.T) {
	s := openItems(t, filepath.Join(t.TempDir(), "items.db"), StoreOptions{})
	ctx := context.Background()
	if _, err := addItem(ctx, s, "a"); err != nil {
		t.Fatal(err)
	}
	first, release, err := s.ReadStmt(ctx, "SELECT count(*) FROM items WHERE id > 0")
	if err != nil {
		t.Fatal(err)
	}
	release()
	again, release, _ := s.ReadStmt(ctx, "SELECT count(*) FROM items WHERE id > 0")
	release()
	if first != again {
		t.Error("a repeated query was prepared again")
	}
	for i := range maxReadStmts + 10 {
		st, release, err := s.ReadStmt(ctx, fmt.Sprintf("SELECT count(*) FROM items WHERE id > %d", -i))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := st.QueryRow().Scan(&n); err != nil || n != 1 {
			t.Fatalf("shape %d: %d %v", i, n, err)
		}
		release()
	}
}

func TestClock(t *testing.T) {
	var c Clock
	future := time.Now().Add(time.Hour).UnixNano()
	c.Observe(future)
	prev := c.Next()
	if prev != future+1 {
		t.Errorf("after a stamp an hour ahead: %d, want %d", prev, future+1)
	}
	for range 1000 {
		if n := c.Next(); n <= prev {
			t.Fatalf("%d after %d", n, prev)
		} else {
			prev = n
		}
	}
}

// TestStoreRefusesAnotherEmulatorsFile: one sandbox file given to two
// APIs' emulators must not mix their tables; a file stamped by one is
// refused by the other, and reopened by its own.
func TestStoreRefusesAnotherEmulatorsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	open := func(app string) (*Store, error) {
		return OpenStore(StoreOptions{Path: path, Version: 1, Application: app})
	}
	s, err := open("alpha")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := open("beta"); err == nil {
		s.Close()
		t.Fatal("beta opened alpha's file")
	} else if !strings.Contains(err.Error(), "another emulator") {
		t.Errorf("err = %v, want it to say the file is another emulator's", err)
	}
	s, err = open("alpha")
	if err != nil {
		t.Fatalf("alpha cannot reopen its own file: %v", err)
	}
	s.Close()
}

// TestStorePrepareAll prepares statements on both sides: the write ones
// run inside writes, the read ones on the read pool, which is read-only;
// a statement that does not prepare closes the store and names its file.
func TestStorePrepareAll(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "items.db")
	s := openItems(t, path, StoreOptions{})
	var wInsert, rGet, rInsert *sql.Stmt
	err := s.PrepareAll([]Statement{
		{Dst: &wInsert, Query: "INSERT INTO items (email) VALUES (?) RETURNING id"},
		{Dst: &rGet, Query: "SELECT id FROM items WHERE email = ?", Read: true},
		{Dst: &rInsert, Query: "INSERT INTO items (email) VALUES (?)", Read: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := Do(ctx, s, func(ctx context.Context, tx *sql.Tx) (int64, error) {
		var id int64
		err := tx.StmtContext(ctx, wInsert).QueryRowContext(ctx, "a@example.com").Scan(&id)
		return id, err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	if err := rGet.QueryRowContext(ctx, "a@example.com").Scan(&got); err != nil || got != id {
		t.Errorf("read back %d, %v; want %d", got, err, id)
	}
	if _, err := rInsert.ExecContext(ctx, "b@example.com"); err == nil {
		t.Error("a statement prepared on the read pool wrote")
	}

	bad := openItems(t, filepath.Join(t.TempDir(), "bad.db"), StoreOptions{})
	var first, second *sql.Stmt
	err = bad.PrepareAll([]Statement{
		{Dst: &first, Query: "SELECT id FROM items", Read: true},
		{Dst: &second, Query: "SELECT id FROM no_such_table"},
	})
	if err == nil || !strings.Contains(err.Error(), "bad.db") || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("a statement that does not prepare: %v", err)
	}
	if second != nil {
		t.Error("Dst set for a statement that did not prepare")
	}
	if _, err := addItem(ctx, bad, "c@example.com"); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("a write after PrepareAll failed: %v, want ErrStoreClosed", err)
	}
}

// TestStoreCountRows counts a table for the stats, and answers -1 once
// the store is closed instead of failing the stats.
func TestStoreCountRows(t *testing.T) {
	for _, path := range []string{filepath.Join(t.TempDir(), "items.db"), ""} {
		s := openItems(t, path, StoreOptions{})
		if n := s.CountRows("items"); n != 0 {
			t.Errorf("%s: %d items in a new store", DBName(path), n)
		}
		for _, e := range []string{"a", "b", "c"} {
			if _, err := addItem(context.Background(), s, e); err != nil {
				t.Fatal(err)
			}
		}
		if n, m := s.CountRows("items"), s.CountRows("notes"); n != 3 || m != 3 {
			t.Errorf("%s: %d items, %d notes; want 3 each", DBName(path), n, m)
		}
		s.Close()
		if n := s.CountRows("items"); n != -1 {
			t.Errorf("%s: %d items after Close, want -1", DBName(path), n)
		}
	}
}
