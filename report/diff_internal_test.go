package report

import (
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gocarina/gocsv"
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

// TestDiffRecordMatchesGocsv checks that DiffWriter writes each row as
// gocsv would from DiffRow's tags: same columns, same order, same
// quoting. A field added to DiffRow without record fails here.
func TestDiffRecordMatchesGocsv(t *testing.T) {
	if n := reflect.TypeFor[DiffRow]().NumField(); n != diffColumns {
		t.Fatalf("DiffRow has %d fields, diffColumns says %d", n, diffColumns)
	}
	rows := []DiffRow{
		{Key: "k1", CRMID: "id1", Action: ActionUpdate, Field: "phone", OldValue: "+4930123", NewValue: "=cmd()"},
		{Key: "k,2", CRMID: "", Action: ActionCreate, Field: "email", NewValue: "a\"b@example.com"},
		{Key: "k3", CRMID: "id3", Action: ActionDelete, Field: "email", OldValue: "line\nbreak", NewValue: "@x"},
		{Key: " k4 ", Action: ActionUpdate, Field: "name", OldValue: "Zoë", NewValue: "-1+2"},
	}
	var want strings.Builder
	cw := csv.NewWriter(&want)
	if err := gocsv.MarshalCSV(rows, &escapingWriter{cw: cw}); err != nil {
		t.Fatal(err)
	}
	cw.Flush()

	var got strings.Builder
	w, err := newDiffWriter(&got, "diff.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if g := strings.TrimPrefix(got.String(), "\uFEFF"); g != want.String() {
		t.Errorf("DiffWriter wrote\n%s\ngocsv writes\n%s", g, want.String())
	}
}

// FuzzAppendCSVField holds appendCSVField to the bytes encoding/csv writes
// for the same value, alone and between two others.
func FuzzAppendCSVField(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `say "hi"`, "line\nbreak", "cr\rlf", " lead", "\tlead", "\u00a0nbsp", `\.`, `\.x`, "Zoë", "'=1", "\xff\xfe", "trail "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, rec := range [][]string{{v}, {"a", v, "b"}} {
			var want strings.Builder
			cw := csv.NewWriter(&want)
			if err := cw.Write(rec); err != nil {
				t.Fatal(err)
			}
			cw.Flush()
			var line []byte
			for i, x := range rec {
				if i > 0 {
					line = append(line, ',')
				}
				line = appendCSVField(line, x)
			}
			line = append(line, '\n')
			if string(line) != want.String() {
				t.Fatalf("appendCSVField gives %q, encoding/csv %q", line, want.String())
			}
		}
	})
}
