package emutest

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TempDB is the path of a SQLite file named name in t's temporary
// directory, for a server's DBPath: tests use a real file, as a sandbox
// does, not the in-memory database.
func TempDB(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	if strings.ContainsAny(dir, "?#") {
		// A subtest whose name repeats gets a directory with '#' in it,
		// and the SQLite driver reads what follows '?' or '#' as its
		// parameters: the kit refuses such a path.
		d, err := os.MkdirTemp("", "emutest")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	return filepath.Join(dir, name)
}

// Serve takes what an emulator's NewServer returned: it fails t at once
// on err, else closes s when t ends, failing t if Close fails, and
// returns s.
func Serve[S io.Closer](t testing.TB, s S, err error) S {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// CheckRefused checks that newServer refuses each of bad, the options of
// a server that must not start (a bad key, a rate out of range, an
// address that cannot be listened on), closing any that starts.
func CheckRefused[O any, S io.Closer](t testing.TB, newServer func(O) (S, error), bad map[string]O) {
	t.Helper()
	for name, o := range bad {
		if s, err := newServer(o); err == nil {
			s.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
