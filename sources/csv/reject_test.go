package csv_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"crmsync/pipeline"
	"crmsync/sources/csv"
)

func TestEscapeFormula(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"=1+1", "'=1+1"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"@jack", "'@jack"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-", "'-"},
		{"+", "'+"},
		{"-12.5", "-12.5"},
		{"+4930123", "+4930123"},
		{"+49 (30) 1234-567", "+49 (30) 1234-567"},
		{"-1e5", "'-1e5"},
		{"42", "42"},
		{"a=b", "a=b"},
		{"'", "'"},
		{"'quoted", "'quoted"},
		{"'=x", "''=x"}, // so the escaping can be undone exactly
		{"''@x", "'''@x"},
		{"'+49 30", "'+49 30"},
	}
	for _, tt := range tests {
		if got := csv.EscapeFormula(tt.in); got != tt.want {
			t.Errorf("EscapeFormula(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRejectRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cols := []string{"id", "name", "note"}
	tricky := []string{
		"=HYPERLINK(\"http://evil\")", "+49 (30) 1234-567", "-12.5", "@jack", "'=already",
		"-", "\tlead tab", "two\nlines", `say "hi"`, "a;b,c|d", "", "'plain", "Zoë ☃",
	}
	var rows []pipeline.Row
	for i, v := range tricky {
		rows = append(rows, pipeline.Row{Num: int64(i + 1), Line: int64(i + 2), Values: []string{"id" + v, v, "n"}})
	}
	rows = append(rows,
		pipeline.Row{Num: 100, Values: []string{"short"}},
		pipeline.Row{Num: 101, Values: []string{"l1", "l2", "l3", "x4", "=x5"}},
		pipeline.Row{Num: 102, Values: nil},
	)
	rej := &pipeline.Reject{Stage: pipeline.StageValidate, Code: "email", Field: "email", Message: "=not an email"}

	for _, delim := range []rune{',', ';', '\t'} {
		p := filepath.Join(dir, "rejects-"+string(delim)+".csv")
		w, err := csv.NewRejectWriter(p, cols, delim)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
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

		// Fed back with the flags of a Latin-1 input's run: the BOM wins.
		src, back := openAll(t, p, csv.Options{Encoding: "latin1"})
		if src.Delimiter() != delim {
			t.Errorf("delimiter %q read back as %q", delim, src.Delimiter())
		}
		wantCols := append(append([]string{}, cols...), pipeline.RejectColumns...)
		if !reflect.DeepEqual(src.Columns(), wantCols) {
			t.Fatalf("Columns = %q, want %q", src.Columns(), wantCols)
		}
		if len(back) != len(rows) {
			t.Fatalf("read back %d rows, want %d", len(back), len(rows))
		}
		for i, r := range back {
			if r.Reject != nil {
				t.Errorf("row %d rejected on read back: %v", i, r.Reject)
				continue
			}
			orig := append(append([]string{}, rows[i].Values...), "", "", "")[:3]
			if got := r.Values[:3]; !reflect.DeepEqual(got, orig) {
				t.Errorf("row %d: values %q, want %q", i, got, orig)
			}
			tail := r.Values[3:]
			if tail[0] != strconv.FormatInt(rows[i].Num, 10) || tail[1] != "validate" || tail[2] != "email" || tail[3] != "email" || !strings.HasPrefix(tail[4], "=not an email") {
				t.Errorf("row %d: reject columns %q", i, tail)
			}
		}
		if msg := back[len(back)-2].Values[7]; !strings.Contains(msg, `2 values beyond the 3 columns: "x4" "=x5"`) {
			t.Errorf("long row message = %q", msg)
		}

		// Fed back, the "_" columns are not written twice and the values
		// still come back unchanged.
		p2 := filepath.Join(dir, "rejects2.csv")
		w2, err := csv.NewRejectWriter(p2, src.Columns(), src.Delimiter())
		if err != nil {
			t.Fatal(err)
		}
		for i := range back {
			if err := w2.Write(&back[i], rej); err != nil {
				t.Fatal(err)
			}
		}
		if err := w2.Close(); err != nil {
			t.Fatal(err)
		}
		src2, back2 := openAll(t, p2, csv.Options{})
		if !reflect.DeepEqual(src2.Columns(), wantCols) {
			t.Errorf("second generation columns = %q", src2.Columns())
		}
		for i := range back2 {
			if !reflect.DeepEqual(back2[i].Values[:3], back[i].Values[:3]) {
				t.Errorf("second generation row %d: %q, want %q", i, back2[i].Values[:3], back[i].Values[:3])
			}
		}
	}
}

func TestRejectFileEscapesCells(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.csv")
	w, err := csv.NewRejectWriter(p, []string{"=col", "name"}, ',')
	if err != nil {
		t.Fatal(err)
	}
	row := pipeline.Row{Num: 3, Values: []string{"@x", "=cmd"}}
	if err := w.Write(&row, &pipeline.Reject{Stage: pipeline.StageRead, Code: "c", Message: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "\uFEFF'=col,name,_row,_stage,_code,_field,_message\n'@x,'=cmd,3,read,c,,m\n"
	if string(b) != want {
		t.Errorf("file = %q, want %q", b, want)
	}
	// An ordinary input file keeps a leading quote: it is data there.
	_, rows := openAll(t, writeFile(t, "in.csv", []byte("a,b\n'=x,'@y\n")), csv.Options{})
	if got := rows[0].Values; !reflect.DeepEqual(got, []string{"'=x", "'@y"}) {
		t.Errorf("ordinary file values = %q", got)
	}
}

func TestRejectFileMode(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.csv")
	old := filepath.Join(dir, "old.csv")
	if err := os.WriteFile(old, []byte("stale data that must go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fresh, old} {
		w, err := csv.NewRejectWriter(p, []string{"a"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		if string(b) != "\uFEFFa,_row,_stage,_code,_field,_message\n" {
			t.Errorf("%s: content %q", p, b)
		}
	}
	if _, err := csv.NewRejectWriter(filepath.Join(dir, "no", "such", "dir.csv"), []string{"a"}, 0); err == nil {
		t.Error("NewRejectWriter in a missing directory succeeded")
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
	w, err := csv.NewRejectWriterTo(&fullDisk{limit: 100 << 10}, []string{"id", "note"}, ',')
	if err != nil {
		t.Fatal(err)
	}
	row := pipeline.Row{Num: 1, Values: []string{"1", strings.Repeat("n", 200)}}
	rej := &pipeline.Reject{Stage: pipeline.StageAPI, Code: "500", Message: "boom"}
	var werr error
	for range 10000 {
		if werr = w.Write(&row, rej); werr != nil {
			break
		}
	}
	cerr := w.Close()
	if werr == nil {
		t.Error("no Write failed after 2 MB to a 100 KB disk")
	}
	for _, err := range []error{werr, cerr} {
		if !errors.Is(err, syscall.ENOSPC) || pipeline.ClassOf(err) != pipeline.ClassFatal {
			t.Errorf("err = %v, want a fatal ENOSPC", err)
		}
	}
	if err := w.Write(&row, rej); err == nil {
		t.Error("Write after a failure succeeded")
	}

	// A failure only the final flush sees is returned by Close.
	w, err = csv.NewRejectWriterTo(&fullDisk{limit: 10}, []string{"id"}, ',')
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&row, rej); err != nil {
		t.Fatalf("buffered Write failed early: %v", err)
	}
	if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close = %v, want ENOSPC", err)
	}
}

func TestRejectWriterNeedsReason(t *testing.T) {
	w, err := csv.NewRejectWriterTo(&fullDisk{limit: 1 << 20}, []string{"id"}, ',')
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
}
