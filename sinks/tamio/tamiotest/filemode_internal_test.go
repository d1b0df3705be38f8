package tamiotest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDatabaseFilesAreOwnerOnly opens a new sandbox database under the
// usual umask 022 and stores a customer: the database and its -wal and
// -shm, which hold names, emails and phones, are readable by their owner
// alone. Not parallel: the umask belongs to the whole process.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "sandbox.db")
	st, err := openStore(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if _, err := st.create(context.Background(), &newCustomer{Email: "mode@example.com", Name: "M", Country: "de", Locale: "en",
		TimezoneOffset: "+00:00", Category: "customer", Priority: "normal"}); err != nil {
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
