package csv_test

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"crmsync/pipeline"
	"crmsync/sources/csv"
)

// A file given no encoding whose first block is not UTF-8 stops Open,
// naming the encoding it looks like and the flag to give, before a single
// row is read.
func TestFirstBlockNotUTF8(t *testing.T) {
	cp1252 := encode(t, charmap.Windows1252, "id;name;note\n1;José Müller;“quoted”\n2;Jürgen;ok\n")
	latin1 := encode(t, charmap.ISO8859_1, "id;name\n1;Ann\n2;Zoë Dupré\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(cp1252)
	zw.Close()
	tests := []struct {
		name, file string
		data       []byte
		want       []string
	}{
		{"windows-1252", "in.csv", cp1252, []string{"not UTF-8", "line 2", "windows-1252", "--encoding windows-1252", "no row was read"}},
		{"iso-8859-1", "in.csv", latin1, []string{"line 3", "iso-8859-1", "--encoding iso-8859-1"}},
		{"gzip", "in.csv.gz", gz.Bytes(), []string{"line 2", "--encoding windows-1252"}},
		{"CR line endings", "in.csv", bytes.ReplaceAll(latin1, []byte("\n"), []byte("\r")), []string{"line 3", "--encoding iso-8859-1"}},
		{"utf-16le without BOM", "in.csv", encode(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "id;name\n1;Zoë\n"), []string{"NUL", "--encoding utf-16le"}},
		{"utf-16be without BOM", "in.csv", encode(t, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "id;name\n1;Ann\n"), []string{"NUL", "--encoding utf-16be"}},
		// Read as Windows-1252, the UTF-8 rows would change letters
		// without a reject: the way out is to reject the others.
		{"mixed", "in.csv", []byte("id;name\n1;Zoë\n2;Jos\xe9\n"), []string{"line 3", "mixes encodings", "--encoding utf-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.file, tt.data)
			src, err := csv.Open(p, csv.Options{})
			if err == nil {
				src.Close()
				t.Fatal("Open succeeded")
			}
			if pipeline.ClassOf(err) != pipeline.ClassFatal {
				t.Errorf("err class %v, want fatal", pipeline.ClassOf(err))
			}
			for _, w := range append([]string{p}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "Jos") || strings.Contains(err.Error(), "Zo") {
				t.Errorf("err = %q quotes the file's data", err)
			}
		})
	}

	// The flag it names reads every row.
	_, rows := openAll(t, writeFile(t, "in.csv", cp1252), csv.Options{Encoding: "windows-1252"})
	checkRows(t, rows, []wantRow{
		{num: 1, line: 2, values: []string{"1", "José Müller", "“quoted”"}},
		{num: 2, line: 3, values: []string{"2", "Jürgen", "ok"}},
	})
	// Given explicitly, UTF-8 rejects the rows that are not, one by one.
	_, rows = openAll(t, writeFile(t, "in.csv", cp1252), csv.Options{Encoding: "utf-8"})
	checkRows(t, rows, []wantRow{
		{num: 1, line: 2, code: "encoding", column: "name"},
		{num: 2, line: 3, code: "encoding", column: "name"},
	})
}

// Past the first block, a byte that is not UTF-8 rejects its row alone;
// and a character the block's end cuts in two is not taken for one.
func TestLaterBytesNotUTF8AreRowRejects(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name\n")
	n := 0
	for b.Len() < 70<<10 {
		n++
		b.WriteString("1,Ann Smith\n")
	}
	// The block ends 1, 2 and 3 bytes into a 4-byte character.
	for shift := range 3 {
		var in strings.Builder
		in.WriteString("id,name\n")
		in.WriteString(strings.Repeat("x", 64<<10-len("id,name\n")-2-shift) + ",\U0001F600\n")
		if _, err := csv.Open(writeFile(t, "in.csv", []byte(in.String())), csv.Options{}); err != nil {
			t.Fatalf("shift %d: Open: %v", shift, err)
		}
	}

	b.WriteString("2,Jos\xe9\n3,Bo\n")
	_, rows := openAll(t, writeFile(t, "in.csv", []byte(b.String())), csv.Options{})
	if len(rows) != n+2 {
		t.Fatalf("%d rows, want %d", len(rows), n+2)
	}
	for i, r := range rows {
		bad := i == n
		if (r.Reject != nil) != bad || bad && r.Reject.Code != "encoding" {
			t.Errorf("row %d (%q): reject %v", r.Num, r.Values, r.Reject)
		}
	}
}
