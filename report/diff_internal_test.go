package report

import (
	"errors"
	"strings"
	"testing"
)

// fullDisk accepts room bytes, then fails as a full disk does.
type fullDisk struct{ room int }

var errFull = errors.New("no space left on device")

func (d *fullDisk) Write(p []byte) (int, error) {
	if len(p) > d.room {
		n := d.room
		d.room = 0
		return n, errFull
	}
	d.room -= len(p)
	return len(p), nil
}

// TestDiffDiskFull checks that a write the buffer delayed still fails the
// run: at a later Write or at Close, and at every call after.
func TestDiffDiskFull(t *testing.T) {
	if _, err := newDiffWriter(&fullDisk{room: 10}, "diff.csv"); !errors.Is(err, errFull) {
		t.Errorf("a disk with no room for the header: err = %v, want %v", err, errFull)
	}

	w, err := newDiffWriter(&fullDisk{room: 100 << 10}, "diff.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]DiffRow, 1000)
	for i := range rows {
		rows[i] = DiffRow{Key: strings.Repeat("k", 100), Action: ActionCreate, Field: "note", NewValue: strings.Repeat("v", 100)}
	}
	var werr error
	for range 10 {
		if werr = w.Write(rows); werr != nil {
			break
		}
	}
	cerr := w.Close()
	if !errors.Is(cerr, errFull) {
		t.Errorf("Close: err = %v, want %v", cerr, errFull)
	}
	if werr == nil {
		t.Error("1 MB into a 100 kB disk: no Write failed, though the buffer is 256 kB")
	}
	if err := w.Write(rows[:1]); !errors.Is(err, errFull) {
		t.Errorf("Write after a failure: err = %v, want the first error", err)
	}

	// Rows that fit in the buffer fail only when Close flushes them.
	w, err = newDiffWriter(&fullDisk{room: 200}, "diff.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows[:10]); err != nil {
		t.Fatalf("a Write that fits in the buffer: %v", err)
	}
	if err := w.Close(); !errors.Is(err, errFull) {
		t.Errorf("Close: err = %v, want %v", err, errFull)
	}
}
