package parquet_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/file"

	"crmsync/pipeline"
	"crmsync/sources/parquet"
)

func TestRejectRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rejects.parquet")
	// Columns as read from an earlier reject file: the "_" ones go.
	cols := []string{"id", "_row", "email", "note", "_message"}
	rows := []pipeline.Row{
		{Num: 1, Values: []string{"1", "old", "a@x.io", "=cmd stays as it is", "old msg"}},
		{Num: 2, Values: []string{"2", "", "", "Zoë ☃ \"q\"\nline", ""}},
		{Num: 3, Values: []string{"3"}},
		{Num: 4, Values: []string{"4", "", "d@x.io", "n", "", "extra1", "extra2"}},
	}
	w, err := parquet.NewRejectWriter(p, cols)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rej := &pipeline.Reject{Stage: pipeline.StageValidate, Code: "email", Field: "email", Message: fmt.Sprintf("reason %d", i)}
		if err := w.Write(&rows[i], rej); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	src, back := openAll(t, p, parquet.Options{})
	want := append([]string{"id", "email", "note"}, pipeline.RejectColumns...)
	if !reflect.DeepEqual(src.Columns(), want) {
		t.Fatalf("Columns = %q, want %q", src.Columns(), want)
	}
	wantRows := [][]string{
		{"1", "a@x.io", "=cmd stays as it is", "1", "validate", "email", "email", "reason 0"},
		{"2", "", "Zoë ☃ \"q\"\nline", "2", "validate", "email", "email", "reason 1"},
		{"3", "", "", "3", "validate", "email", "email", "reason 2"},
		{"4", "d@x.io", "n", "4", "validate", "email", "email", `reason 3 [2 values beyond the 5 columns: "extra1" "extra2"]`},
	}
	if got := values(back); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("read back\n%q\nwant\n%q", got, wantRows)
	}
}

func TestRejectRowGroups(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rejects.parquet")
	if err := os.WriteFile(p, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := parquet.NewRejectWriter(p, []string{"id", "email"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 70_000
	rej := &pipeline.Reject{Stage: pipeline.StageAPI, Code: "10142", Message: "conflict"}
	for i := range n {
		row := pipeline.Row{Num: int64(i + 1), Values: []string{strconv.Itoa(i), fmt.Sprintf("c%d@x.io", i)}}
		if err := w.Write(&row, rej); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing file mode %v, want 0600", fi.Mode().Perm())
	}
	f, err := file.OpenParquetFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := (n + parquet.RejectRowGroupRows - 1) / parquet.RejectRowGroupRows; f.NumRowGroups() != want || f.NumRows() != n {
		t.Errorf("%d row groups, %d rows; want %d, %d", f.NumRowGroups(), f.NumRows(), want, n)
	}
	f.Close()
	_, rows := openAll(t, p, parquet.Options{BatchSize: 4096})
	for i, r := range rows {
		if r.Values[1] != fmt.Sprintf("c%d@x.io", i) || r.Values[2] != strconv.Itoa(i+1) {
			t.Fatalf("row %d = %q", i+1, r.Values)
		}
	}
}

// fullDisk accepts limit bytes, then fails like a full disk.
type fullDisk struct{ limit, n int }

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.n+len(p) > d.limit {
		k := d.limit - d.n
		d.n = d.limit
		return k, syscall.ENOSPC
	}
	d.n += len(p)
	return len(p), nil
}

func TestRejectWriterDiskFull(t *testing.T) {
	for _, limit := range []int{0, 3, 1000, 1 << 20} {
		w, err := parquet.NewRejectWriterTo(&fullDisk{limit: limit}, []string{"id", "note"})
		if err != nil {
			// Parquet writes its magic bytes at once; a buffered writer
			// may not notice yet, but if it does it must say why.
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("limit %d: NewRejectWriterTo = %v", limit, err)
			}
			continue
		}
		rej := &pipeline.Reject{Stage: pipeline.StageRead, Code: "x", Message: "m"}
		var werr error
		for i := range 200_000 {
			row := pipeline.Row{Num: int64(i), Values: []string{strconv.Itoa(i), strings.Repeat("n", 40)}}
			if werr = w.Write(&row, rej); werr != nil {
				break
			}
		}
		cerr := w.Close()
		if !errors.Is(cerr, syscall.ENOSPC) || pipeline.ClassOf(cerr) != pipeline.ClassFatal {
			t.Errorf("limit %d: Close = %v, want a fatal ENOSPC", limit, cerr)
		}
		if werr != nil && !errors.Is(werr, syscall.ENOSPC) {
			t.Errorf("limit %d: Write = %v", limit, werr)
		}
	}
}

func TestRejectWriterNeedsReason(t *testing.T) {
	w, err := parquet.NewRejectWriterTo(&fullDisk{limit: 1 << 20}, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(&pipeline.Row{Num: 1, Values: []string{"1"}}, nil); err == nil {
		t.Error("Write without a reason succeeded")
	}
	row := pipeline.Row{Num: 2, Values: []string{"2"}, Reject: &pipeline.Reject{Stage: pipeline.StageRead, Code: "x"}}
	if err := w.Write(&row, nil); err != nil {
		t.Errorf("Write with row.Reject = %v", err)
	}
	if _, err := parquet.NewRejectWriter(filepath.Join(t.TempDir(), "no", "dir.parquet"), []string{"a"}); err == nil {
		t.Error("NewRejectWriter in a missing directory succeeded")
	}
}
