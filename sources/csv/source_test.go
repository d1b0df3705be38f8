package csv_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"crmsync/pipeline"
	"crmsync/sources/csv"
)

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every batch, checking that none is empty or over size.
func readAll(t testing.TB, src *csv.Source, batch int) ([]pipeline.Row, error) {
	t.Helper()
	var rows []pipeline.Row
	for {
		b, err := src.Next(context.Background())
		if err == io.EOF {
			if b != nil {
				t.Fatalf("Next returned %d rows with io.EOF", len(b))
			}
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if len(b) == 0 || len(b) > batch {
			t.Fatalf("batch of %d rows, want 1..%d", len(b), batch)
		}
		rows = append(rows, b...)
	}
}

func openAll(t testing.TB, path string, opts csv.Options) (*csv.Source, []pipeline.Row) {
	t.Helper()
	src, err := csv.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	batch := opts.BatchSize
	if batch == 0 {
		batch = 1024
	}
	rows, err := readAll(t, src, batch)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return src, rows
}

func values(rows []pipeline.Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.Values
	}
	return out
}

func TestDelimiterDetection(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		delim rune
		cols  []string
		rows  [][]string
	}{
		{"comma", "id,email\n1,a@x.io\n", ',', []string{"id", "email"}, [][]string{{"1", "a@x.io"}}},
		{"semicolon", "id;email;city\n1;a@x.io;Köln\n", ';', []string{"id", "email", "city"}, [][]string{{"1", "a@x.io", "Köln"}}},
		{"tab", "id\temail\n1\ta@x.io\n", '\t', []string{"id", "email"}, [][]string{{"1", "a@x.io"}}},
		{"pipe", "id|email\n1|a@x.io\n", '|', []string{"id", "email"}, [][]string{{"1", "a@x.io"}}},
		{"semicolon with commas in data", "id;amount;note\n1;1,5;a, b\n2;2,25;c\n", ';', []string{"id", "amount", "note"}, [][]string{{"1", "1,5", "a, b"}, {"2", "2,25", "c"}}},
		{"comma with semicolons quoted", "id,note\n1,\"a;b;c\"\n2,\"d;e\"\n", ',', []string{"id", "note"}, [][]string{{"1", "a;b;c"}, {"2", "d;e"}}},
		{"consistent beats frequent", "a,b;c;d\n1;2;3\n4;5;6\n", ';', []string{"a,b", "c", "d"}, [][]string{{"1", "2", "3"}, {"4", "5", "6"}}},
		{"single column", "email\na@x.io\n", ',', []string{"email"}, [][]string{{"a@x.io"}}},
		{"no final newline", "id;email\n1;a@x.io", ';', []string{"id", "email"}, [][]string{{"1", "a@x.io"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, rows := openAll(t, writeFile(t, "in.csv", []byte(tt.in)), csv.Options{})
			if src.Delimiter() != tt.delim {
				t.Errorf("Delimiter = %q, want %q", src.Delimiter(), tt.delim)
			}
			if !reflect.DeepEqual(src.Columns(), tt.cols) {
				t.Errorf("Columns = %q, want %q", src.Columns(), tt.cols)
			}
			if got := values(rows); !reflect.DeepEqual(got, tt.rows) {
				t.Errorf("rows = %q, want %q", got, tt.rows)
			}
			for _, r := range rows {
				if r.Reject != nil {
					t.Errorf("row %d rejected: %v", r.Num, r.Reject)
				}
			}
		})
	}
}

func TestExplicitDelimiter(t *testing.T) {
	// Detection would pick ',' here; the option must win.
	src, rows := openAll(t, writeFile(t, "in.csv", []byte("a,b;c\n1,2;3\n")), csv.Options{Delimiter: ';'})
	if !reflect.DeepEqual(src.Columns(), []string{"a,b", "c"}) || !reflect.DeepEqual(values(rows), [][]string{{"1,2", "3"}}) {
		t.Errorf("columns %q rows %q", src.Columns(), values(rows))
	}
	if _, err := csv.Open(writeFile(t, "in.csv", []byte("a\n")), csv.Options{Delimiter: '"'}); err == nil {
		t.Error(`delimiter '"' accepted`)
	}
}

func encode(t *testing.T, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodings(t *testing.T) {
	const text = "name;city;note\nJosé Müller;Zürich;naïve façade\nÅsa Øberg;Malmö;–€“quoted”\n"
	latin1 := "name;city;note\nJosé Müller;Zürich;naïve façade\n"
	want := [][]string{{"José Müller", "Zürich", "naïve façade"}, {"Åsa Øberg", "Malmö", "–€“quoted”"}}
	tests := []struct {
		name     string
		data     []byte
		encoding string
		want     [][]string
	}{
		{"utf-8", []byte(text), "", want},
		{"utf-8 BOM", append([]byte("\xef\xbb\xbf"), text...), "utf-8", want},
		{"utf-8 BOM wins over latin1", append([]byte("\xef\xbb\xbf"), text...), "latin1", want},
		{"latin1", encode(t, charmap.ISO8859_1, latin1), "latin1", want[:1]},
		{"iso-8859-1 name", encode(t, charmap.ISO8859_1, latin1), "ISO-8859-1", want[:1]},
		{"windows-1252", encode(t, charmap.Windows1252, text), "windows-1252", want},
		{"utf-16 LE BOM", encode(t, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), text), "utf-16", want},
		{"utf-16 BE BOM", encode(t, unicode.UTF16(unicode.BigEndian, unicode.UseBOM), text), "utf-16", want},
		{"utf-16 no BOM is LE", encode(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), text), "utf-16", want},
		{"utf-16le", encode(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), text), "utf-16le", want},
		{"utf-16be", encode(t, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), text), "utf-16be", want},
		{"utf-16 BOM detected without option", encode(t, unicode.UTF16(unicode.BigEndian, unicode.UseBOM), text), "", want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, rows := openAll(t, writeFile(t, "in.csv", tt.data), csv.Options{Encoding: tt.encoding})
			if got := src.Columns(); !reflect.DeepEqual(got, []string{"name", "city", "note"}) {
				t.Errorf("Columns = %q", got)
			}
			if got := values(rows); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows = %q, want %q", got, tt.want)
			}
			for _, r := range rows {
				if r.Reject != nil {
					t.Errorf("row %d rejected: %v", r.Num, r.Reject)
				}
			}
		})
	}
	if _, err := csv.Open(writeFile(t, "in.csv", []byte("a\n")), csv.Options{Encoding: "ebcdic"}); err == nil || !strings.Contains(err.Error(), "ebcdic") {
		t.Errorf("unknown encoding: err = %v", err)
	}
}

func gzipBytes(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGzip(t *testing.T) {
	data := []byte("id,email\n1,a@x.io\n2,b@x.io\n")
	want := [][]string{{"1", "a@x.io"}, {"2", "b@x.io"}}
	for _, name := range []string{"in.csv.gz", "in.csv"} { // by extension, by magic bytes
		_, rows := openAll(t, writeFile(t, name, gzipBytes(t, data)), csv.Options{})
		if got := values(rows); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: rows = %q, want %q", name, got, want)
		}
	}

	t.Run("gz extension but plain text", func(t *testing.T) {
		p := writeFile(t, "plain.csv.gz", data)
		_, err := csv.Open(p, csv.Options{})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "gzip") {
			t.Errorf("err = %v, want a gzip error naming the file", err)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		var big bytes.Buffer
		big.WriteString("id,email\n")
		for i := range 20000 {
			big.WriteString(strings.Repeat("x", i%50) + ",someone@example.com\n")
		}
		gz := gzipBytes(t, big.Bytes())
		p := writeFile(t, "cut.csv.gz", gz[:len(gz)/2])
		src, err := csv.Open(p, csv.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer src.Close()
		rows, err := readAll(t, src, 1024)
		if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), p) {
			t.Fatalf("err = %v, want a fatal error naming the file", err)
		}
		if len(rows) == 0 || len(rows) >= 20000 {
			t.Errorf("read %d rows before the error, want some but not all", len(rows))
		}
	})
}

func TestStdin(t *testing.T) {
	in := strings.NewReader("id;email\n1;a@x.io\n")
	src, rows := openAll(t, "-", csv.Options{Stdin: in})
	if src.Name() != "-" || src.Delimiter() != ';' {
		t.Errorf("Name %q Delimiter %q", src.Name(), src.Delimiter())
	}
	if got := values(rows); !reflect.DeepEqual(got, [][]string{{"1", "a@x.io"}}) {
		t.Errorf("rows = %q", got)
	}
	// gzip on stdin is found by its magic bytes.
	_, rows = openAll(t, "-", csv.Options{Stdin: bytes.NewReader(gzipBytes(t, []byte("id\n7\n")))})
	if got := values(rows); !reflect.DeepEqual(got, [][]string{{"7"}}) {
		t.Errorf("gzip stdin rows = %q", got)
	}
}

type wantRow struct {
	num, line int64
	code      string
	column    string
	values    []string
	msg       []string // substrings of the reject message
}

func checkRows(t *testing.T, rows []pipeline.Row, want []wantRow) {
	t.Helper()
	if len(rows) != len(want) {
		for _, r := range rows {
			t.Logf("row %d line %d %q %v", r.Num, r.Line, r.Values, r.Reject)
		}
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Num != w.num || r.Line != w.line {
			t.Errorf("row %d: Num %d Line %d, want Num %d Line %d", i, r.Num, r.Line, w.num, w.line)
		}
		code, column, msg := "", "", ""
		if r.Reject != nil {
			code, column, msg = r.Reject.Code, r.Reject.Column, r.Reject.Message
			if r.Reject.Stage != pipeline.StageRead {
				t.Errorf("row %d: stage %q", r.Num, r.Reject.Stage)
			}
		}
		if code != w.code || column != w.column {
			t.Errorf("row %d: reject %v, want code %q column %q", r.Num, r.Reject, w.code, w.column)
		}
		for _, m := range w.msg {
			if !strings.Contains(msg, m) {
				t.Errorf("row %d: message %q does not contain %q", r.Num, msg, m)
			}
		}
		if w.values != nil && !reflect.DeepEqual(r.Values, w.values) {
			t.Errorf("row %d: values %q, want %q", r.Num, r.Values, w.values)
		}
	}
}

func TestMalformedRows(t *testing.T) {
	in := "id,name,email\n" + // line 1
		"1,Ann,a@x.io\n" + // 2
		"2,Bo\"b,b@x.io\n" + // 3: bare quote
		"3,Cy,c@x.io\n" + // 4
		"4,\"Di\"x,d@x.io\n" + // 5: extraneous quote
		"5,Ed\n" + // 6: short
		"6,Fay,f@x.io,extra\n" + // 7: long
		"\n" + // 8: empty lines are skipped
		"7,\"Gus\nGustavson\",g@x.io\n" + // 9-10: quoted newline
		"8,\"Hal\"\"s\",h@x.io\n" // 11: doubled quote is fine
	p := writeFile(t, "in.csv", []byte(in))
	// Given explicitly, UTF-8 is checked row by row even in the first
	// block, which given no encoding must be UTF-8 as a whole.
	_, rows := openAll(t, p, csv.Options{Encoding: "utf-8"})
	checkRows(t, rows, []wantRow{
		{num: 1, line: 2, values: []string{"1", "Ann", "a@x.io"}},
		{num: 2, line: 3, code: "bad_quote", values: []string{"2", "Bo\"b", "b@x.io"}, msg: []string{p, "line 3", "column 5"}},
		{num: 3, line: 4, values: []string{"3", "Cy", "c@x.io"}},
		{num: 4, line: 5, code: "bad_quote", values: []string{"4", "Di\"x", "d@x.io"}, msg: []string{p, "line 5"}},
		{num: 5, line: 6, code: "field_count", values: []string{"5", "Ed"}, msg: []string{p, "line 6", "expected 3", "found 2"}},
		{num: 6, line: 7, code: "field_count", values: []string{"6", "Fay", "f@x.io", "extra"}, msg: []string{"expected 3", "found 4"}},
		{num: 7, line: 9, values: []string{"7", "Gus\nGustavson", "g@x.io"}},
		{num: 8, line: 11, values: []string{"8", "Hal\"s", "h@x.io"}},
	})
}

func TestUnclosedQuote(t *testing.T) {
	// The quote opened on line 3 is closed by the first quote of line 5,
	// which is then followed by text: lines 3 to 5 are one rejected row,
	// kept whole, and reading goes on at line 6.
	in := "id,note\n1,ok\n2,\"open\n3,swallowed\n4,\"x\" y\n5,after\n"
	_, rows := openAll(t, writeFile(t, "in.csv", []byte(in)), csv.Options{})
	checkRows(t, rows, []wantRow{
		{num: 1, line: 2, values: []string{"1", "ok"}},
		{num: 2, line: 3, code: "bad_quote", msg: []string{"lines 3 to 5"}},
		{num: 3, line: 6, values: []string{"5", "after"}},
	})
	if got := strings.Join(rows[1].Values, ","); !strings.Contains(got, "swallowed") || !strings.Contains(got, "4,") {
		t.Errorf("rejected row lost text: %q", rows[1].Values)
	}

	// A quote never closed runs to the end of the file.
	in = "id,note\n1,ok\n2,\"open\n3,last\n"
	_, rows = openAll(t, writeFile(t, "in.csv", []byte(in)), csv.Options{})
	checkRows(t, rows, []wantRow{
		{num: 1, line: 2, values: []string{"1", "ok"}},
		{num: 2, line: 3, code: "bad_quote", msg: []string{"lines 3 to"}},
	})
	if got := strings.Join(rows[1].Values, ","); !strings.Contains(got, "open") || !strings.Contains(got, "3,last") {
		t.Errorf("rejected row lost text: %q", rows[1].Values)
	}
}

func TestRowTooLargeIsFatal(t *testing.T) {
	defer csv.SetMaxRowBytes(1 << 16)()
	var b strings.Builder
	b.WriteString("id,note\n1,ok\n2,\"never closed\n")
	for b.Len() < 1<<18 {
		b.WriteString("3,more text without any quote\n")
	}
	p := writeFile(t, "in.csv", []byte(b.String()))
	src, err := csv.Open(p, csv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rows, err := readAll(t, src, 1024)
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want a fatal error naming the file and line 2", err)
	}
	if len(rows) != 1 || rows[0].Values[1] != "ok" {
		t.Errorf("rows before the error = %v", rows)
	}
	if _, err := src.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after the fatal error = %v, want io.EOF", err)
	}
}

func TestBadFields(t *testing.T) {
	long := strings.Repeat("x", 10<<20)
	in := "id,name,email\n" +
		"1,Ann\x00,a@x.io\n" +
		"2,Jos\xe9,b@x.io\n" +
		"3,Cy," + long + "\n" +
		"4,\"Di\",d@x.io\n" +
		"5,Zoë\x00,e@x.io\n" + // NUL after non-ASCII text
		"6,abcdefghijklmnop,ok\xff\n" + // invalid byte after long ASCII
		",,\n" // all empty is fine
	p := writeFile(t, "in.csv", []byte(in))
	// Given explicitly, UTF-8 is checked row by row even in the first
	// block, which given no encoding must be UTF-8 as a whole.
	_, rows := openAll(t, p, csv.Options{Encoding: "utf-8"})
	checkRows(t, rows, []wantRow{
		{num: 1, line: 2, code: "nul_byte", column: "name", values: []string{"1", "Ann\x00", "a@x.io"}, msg: []string{p, "line 2", `"name"`}},
		{num: 2, line: 3, code: "encoding", column: "name", values: []string{"2", "Jos\xe9", "b@x.io"}, msg: []string{"line 3", "latin1"}},
		{num: 3, line: 4, code: "field_too_long", column: "email", msg: []string{"line 4", "10485760"}},
		{num: 4, line: 5, values: []string{"4", "Di", "d@x.io"}},
		{num: 5, line: 6, code: "nul_byte", column: "name"},
		{num: 6, line: 7, code: "encoding", column: "email"},
		{num: 7, line: 8, values: []string{"", "", ""}},
	})
	if len(rows[2].Values) != 3 || len(rows[2].Values[2]) != len(long) {
		t.Errorf("long field not kept for the reject file")
	}
	// The same bytes read as Latin-1 are text.
	_, rows = openAll(t, p, csv.Options{Encoding: "latin1"})
	if rows[1].Reject != nil || rows[1].Values[1] != "José" {
		t.Errorf("latin1 row = %q %v", rows[1].Values, rows[1].Reject)
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		cols    []string
		errWant []string
	}{
		{"empty file", "", nil, []string{"is empty", "no header row"}},
		{"blank lines only", "\n\n", nil, []string{"is empty"}},
		{"BOM only", "\xef\xbb\xbf", nil, []string{"is empty"}},
		{"duplicate", "id,email,name,email\n", nil, []string{`"email"`, "positions 2 and 4"}},
		{"duplicate after trim", "id, email,email \n", nil, []string{`"email"`, "positions 2 and 3"}},
		{"bad quote in header", "id,\"na\"me\n", nil, []string{"header", "line 1"}},
		{"empty names", "id,,name,\n", []string{"id", "column_2", "name", "column_4"}, nil},
		{"empty name clashes", "column_2,\n", nil, []string{`"column_2"`, "positions 1 and 2"}},
		{"trimmed", " id , email\n", []string{"id", "email"}, nil},
		{"BOM stripped", "\xef\xbb\xbfid,email\n", []string{"id", "email"}, nil},
		{"latin1 header read as UTF-8", "id,pr\xe9nom\n", nil, []string{"line 1", "iso-8859-1", "--encoding iso-8859-1"}},
		{"UTF-16 without BOM read as UTF-8", "i\x00d\x00,\x00n\x00\n\x00", nil, []string{"NUL", "utf-16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "in.csv", []byte(tt.in))
			src, err := csv.Open(p, csv.Options{})
			if tt.errWant != nil {
				if err == nil {
					src.Close()
					t.Fatalf("Open succeeded with columns %q", src.Columns())
				}
				if pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), p) {
					t.Errorf("err = %v, want fatal naming the file", err)
				}
				for _, w := range tt.errWant {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %q, want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if !reflect.DeepEqual(src.Columns(), tt.cols) {
				t.Errorf("Columns = %q, want %q", src.Columns(), tt.cols)
			}
			// Header only: no rows, and EOF stays EOF.
			for range 2 {
				if rows, err := src.Next(context.Background()); err != io.EOF || rows != nil {
					t.Errorf("Next = %v, %v; want nil, io.EOF", rows, err)
				}
			}
		})
	}
	if _, err := csv.Open(filepath.Join(t.TempDir(), "missing.csv"), csv.Options{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestLineEndings(t *testing.T) {
	want := []wantRow{
		{num: 1, line: 2, values: []string{"1", "two\nlines"}},
		{num: 2, line: 4, values: []string{"2", "b"}},
	}
	for _, tt := range []struct{ name, in string }{
		{"LF", "id,note\n1,\"two\nlines\"\n2,b\n"},
		{"CRLF", "id,note\r\n1,\"two\r\nlines\"\r\n2,b\r\n"},
		{"CR", "id,note\r1,\"two\rlines\"\r2,b\r"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, rows := openAll(t, writeFile(t, "in.csv", []byte(tt.in)), csv.Options{})
			if !reflect.DeepEqual(src.Columns(), []string{"id", "note"}) {
				t.Errorf("Columns = %q", src.Columns())
			}
			checkRows(t, rows, want)
		})
	}
}

func TestBatchSize(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 16} {
		var b strings.Builder
		b.WriteString("id\n")
		for i := range n {
			fmt.Fprintf(&b, "r%d\n", i)
		}
		src, err := csv.Open(writeFile(t, "in.csv", []byte(b.String())), csv.Options{BatchSize: 8})
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		var num int64
		for {
			rows, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(rows))
			for _, r := range rows {
				num++
				if r.Num != num || r.Line != num+1 {
					t.Errorf("n=%d: row Num %d Line %d, want %d %d", n, r.Num, r.Line, num, num+1)
				}
			}
		}
		src.Close()
		var want []int
		for left := n; left > 0; left -= 8 {
			want = append(want, min(left, 8))
		}
		if !reflect.DeepEqual(sizes, want) {
			t.Errorf("n=%d: batch sizes %v, want %v", n, sizes, want)
		}
	}
}

func TestRowsAreTheCallersToKeep(t *testing.T) {
	src, err := csv.Open(writeFile(t, "in.csv", []byte("a,b\n1,2\n3,4\n5,6\n")), csv.Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var kept []pipeline.Row
	for {
		rows, err := src.Next(context.Background())
		if err != nil {
			break
		}
		kept = append(kept, rows...)
	}
	if got := values(kept); !reflect.DeepEqual(got, [][]string{{"1", "2"}, {"3", "4"}, {"5", "6"}}) {
		t.Errorf("kept rows changed: %q", got)
	}
}

func TestContextAndClose(t *testing.T) {
	src, err := csv.Open(writeFile(t, "in.csv", []byte("a\n1\n")), csv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context = %v", err)
	}
	if err := src.Close(); err != nil {
		t.Error(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := src.Next(context.Background()); err == nil || err == io.EOF {
		t.Errorf("Next after Close = %v, want an error", err)
	}
}

// The estimate comes from the first batch: within reach of the real count
// for a plain file, and 0 (unknown) where the file's size says nothing.
func TestEstimatedRows(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCustomers(&buf, 20_000); err != nil {
		t.Fatal(err)
	}
	plain := writeFile(t, "customers.csv", buf.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	zw.Close()
	compressed := writeFile(t, "customers.csv.gz", gz.Bytes())
	latin1 := writeFile(t, "customers-latin1.csv", buf.Bytes())

	for _, tc := range []struct {
		name     string
		path     string
		opts     csv.Options
		min, max int64
	}{
		{"plain", plain, csv.Options{}, 20_000, 20_000 * 5 / 4},
		{"gzip", compressed, csv.Options{}, 0, 0},
		{"re-encoded", latin1, csv.Options{Encoding: "latin1"}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := csv.Open(tc.path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if _, err := src.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := src.EstimatedRows(); got < tc.min || got > tc.max {
				t.Errorf("EstimatedRows = %d, want %d..%d", got, tc.min, tc.max)
			}
		})
	}
}
