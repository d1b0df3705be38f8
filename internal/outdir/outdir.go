// Package outdir guards the directories crmsync writes its output files
// in (a sync's, an export's, an erase's --out): one run at a time in a
// directory, and every file created fresh, so that nothing already in the
// directory, or reached through a link placed in it, is opened, written
// or chmodded.
package outdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockName is the file a run holds locked (flock) in its output
// directory. It names the holder (process id, command, start time) for
// the error a second run gets, and is removed when the run ends.
const LockName = ".crmsync.lock"

// DirMode is the mode of an output directory Lock creates: the files in
// it hold personal data.
const DirMode os.FileMode = 0o700

// BusyError is the error of Lock when another run holds the directory.
type BusyError struct {
	Dir    string
	Holder string // "pid 1234, crmsync export, started …"; "" when the holder wrote nothing yet
}

func (e *BusyError) Error() string {
	holder := "another crmsync run"
	if e.Holder != "" {
		holder += " (" + e.Holder + ")"
	}
	return fmt.Sprintf("%s is in use by %s; wait for it to end, or use another directory", e.Dir, holder)
}

// Held is a directory locked by this process.
type Held struct {
	f    *os.File
	path string
}

// Lock creates dir (DirMode) when it does not exist and locks it for this
// process; command ("sync", "export", "erase") is recorded for the error
// another run gets, which is a *BusyError. Lock never waits: a second run
// on the same directory (cron starting one while the last still runs)
// would overwrite or delete the first one's files.
func Lock(dir, command string) (*Held, error) {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockName)
	for attempt := 0; ; attempt++ {
		// O_NOFOLLOW: a link placed under the lock's name is not a way to
		// truncate a file elsewhere.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("%s is not a regular file", path)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &BusyError{Dir: dir, Holder: readHolder(path)}
			}
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		// The holder before us removes the file before it lets go (see
		// Unlock): locked, the file must still be the one under the name,
		// or a third run may be holding a new one.
		if now, err := os.Lstat(path); err != nil || !os.SameFile(fi, now) {
			f.Close()
			if attempt == 10 {
				return nil, &BusyError{Dir: dir, Holder: readHolder(path)}
			}
			continue
		}
		// What a killed holder wrote is replaced. Failing to name the
		// holder costs only the name in another run's error.
		info := fmt.Sprintf("pid %d\ncommand crmsync %s\nstarted %s\n", os.Getpid(), command, time.Now().UTC().Format(time.RFC3339))
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(info), 0)
		return &Held{f: f, path: path}, nil
	}
}

// readHolder names the holder of the lock file at path from what it
// wrote there.
func readHolder(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) > 4096 {
		return ""
	}
	var parts []string
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		switch k {
		case "pid":
			parts = append(parts, "pid "+v)
		case "command", "started":
			if k == "started" {
				v = "started " + v
			}
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ", ")
}

// Unlock removes the lock file and lets go of the directory. It is safe
// to call more than once.
func (h *Held) Unlock() error {
	if h == nil || h.f == nil {
		return nil
	}
	// Removed while still locked, so that a run waiting on this file
	// sees it is gone (Lock checks) rather than taking a lock nobody
	// else can see.
	err := os.Remove(h.path)
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	h.f = nil
	return err
}

// Create creates the file path for writing, fresh and readable by its
// owner only, and returns it open; the caller writes, syncs and closes
// it. The file is made under a new temporary name in path's directory
// (exclusively, so no existing file or link is opened) and renamed to
// path at once: whatever path was, a file of an earlier run or a symbolic
// link to a file elsewhere, is replaced as a name, never opened, written
// through or chmodded. The file is under its final name while it is
// written, so a run killed half way leaves its own partial file, and no
// hidden copy of personal data beside it.
func Create(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file 0600 today; the explicit Chmod keeps that
	// promise whatever a later Go does.
	err = f.Chmod(0o600)
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}
