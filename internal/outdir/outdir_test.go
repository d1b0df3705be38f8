package outdir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"crmsync/internal/outdir"
)

// TestLockOneRunAtATime checks that a second lock on a directory fails at
// once naming the holder, that the lock file goes with the holder, and
// that a lock file a killed run left does not stand in the way.
func TestLockOneRunAtATime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	h, err := outdir.Lock(dir, "export")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("Lock made %s: %v, %v", dir, fi, err)
	}
	_, err = outdir.Lock(dir, "sync")
	var busy *outdir.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("a second Lock: %v, want a *BusyError", err)
	}
	for _, want := range []string{dir, "pid " + strconv.Itoa(os.Getpid()), "crmsync export"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := h.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, outdir.LockName)); !os.IsNotExist(err) {
		t.Errorf("the lock file outlived its holder: %v", err)
	}

	// What a SIGKILLed run leaves: the file, unlocked.
	if err := os.WriteFile(filepath.Join(dir, outdir.LockName), []byte("pid 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err = outdir.Lock(dir, "sync")
	if err != nil {
		t.Fatalf("a lock file left unlocked: %v", err)
	}
	h.Unlock()

	// A link under the lock's name is not followed.
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	if err := os.Symlink(victim, filepath.Join(dir, outdir.LockName)); err != nil {
		t.Fatal(err)
	}
	if _, err := outdir.Lock(dir, "sync"); err == nil {
		t.Error("Lock through a symbolic link succeeded")
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Errorf("the link's target holds %q", data)
	}
}

// TestCreateReplacesLinks checks that Create replaces a symbolic link
// (and an earlier file) by a new 0600 file, leaving the link's target as
// it was.
func TestCreateReplacesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rejects.csv")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	f, err := outdir.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	f.Close()
	if fi, err := os.Stat(victim); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("victim: %v, %v", fi, err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Errorf("the link's target holds %q", data)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want a regular 0600 file", path, fi, err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("%s holds %q", path, data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries in the directory, want 1", len(entries))
	}
}
