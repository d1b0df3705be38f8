package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// rejectColumns are the columns a reject file adds to the source's.
var rejectColumns = []string{"_row", "_stage", "_code", "_field", "_message"}

// codeOf is the reject code each defect of the generator gets.
var codeOf = map[string]string{
	"bad_email":       "email",
	"unknown_country": "unknown_country",
	"bad_phone":       "bad_phone",
	"missing_name":    "required",
	"repeated_key":    "duplicate_key",
	"unknown_owner":   "lookup_miss",
	"bad_offset":      "offset",
}

// fixRejected repairs one row of a reject file (header holds the source's
// columns and the reject columns) the way a person would, by its _code.
func fixRejected(t *testing.T, header, rec []string) {
	t.Helper()
	at := func(name string) int { return column(t, header, name) }
	n := rec[at("_row")]
	switch code := rec[at("_code")]; code {
	case "email":
		rec[at("email")] = "fixed." + n + "@example.com"
	case "unknown_country":
		rec[at("country")] = "Germany"
	case "bad_phone":
		rec[at("phone")] = "+49 30 23456789"
	case "required":
		rec[at("full_name")] = "Fixed Person" + n
	case "duplicate_key":
		rec[at("customer_id")] = "F" + rec[at("customer_id")] + "-" + n
	case "lookup_miss":
		rec[at("owner_email")] = "ana.garcia@example.com"
	case "offset":
		rec[at("utc_offset")] = "+01:00"
	default:
		t.Fatalf("row %s rejected with code %q: the test does not know how to fix it", n, code)
	}
}

// checkRejectsMatchDefects checks a reject file's rows (header first)
// against the defects the generator put in the source (rows, header
// first): the same rows, each with the defect's code. A repeated key is
// rejected whatever became of the earlier row with that key.
func checkRejectsMatchDefects(t *testing.T, rej, rows [][]string, defects []string) {
	t.Helper()
	want := map[string]string{}
	for i, d := range defects {
		if d != "" {
			want[fmt.Sprint(i+1)] = codeOf[d]
		}
	}
	if len(rej)-1 != len(want) {
		t.Errorf("the reject file holds %d rows; the source has %d defects", len(rej)-1, len(want))
	}
	for _, rec := range rej[1:] {
		n, code := rec[column(t, rej[0], "_row")], rec[column(t, rej[0], "_code")]
		if want[n] != code {
			t.Errorf("row %s rejected with code %q; its defect wants %q", n, code, want[n])
		}
	}
}

// TestRejectRoundTripCSV syncs a file with bad rows, fixes the rows of
// rejects.csv in place (all but one) and feeds the file back with the same
// mapping: the fixed rows must be created with their values, formula-
// escaped cells read as they were written, the _ columns ignored.
func TestRejectRoundTripCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source := filepath.Join(dir, "in.csv")
	defects, err := fixtures.WriteCSV(source, fixtures.Options{Rows: 400, Seed: 51, BadShare: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSVFile(t, source)
	srv := newCRM(t, tamiotest.Options{})
	out1 := filepath.Join(dir, "out1")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out1)...); code != cli.ExitRejects {
		t.Fatalf("first run: exit %d (error %q)", code, readSummary(t, out1).Error)
	}
	s1 := readSummary(t, out1)
	rej := readCSVFile(t, filepath.Join(out1, "rejects.csv"))
	if want := append(append([]string(nil), fixtures.Columns...), rejectColumns...); strings.Join(rej[0], ",") != strings.Join(want, ",") {
		t.Fatalf("rejects.csv header %q, want %q", rej[0], want)
	}
	checkRejectsMatchDefects(t, rej, rows, defects)

	// Fix every row but the first bad offset, which goes back as it is.
	offsetCol := column(t, rej[0], "utc_offset")
	left, escaped := -1, 0
	fixed := [][]string{rej[0]}
	for _, rec := range rej[1:] {
		rec = append([]string(nil), rec...)
		if strings.HasPrefix(rec[offsetCol], "'") {
			escaped++
		}
		if left < 0 && rec[column(t, rej[0], "_code")] == "offset" {
			left = len(fixed)
		} else {
			fixRejected(t, rej[0], rec)
		}
		fixed = append(fixed, rec)
	}
	if left < 0 || escaped == 0 {
		t.Fatalf("the reject file has no bad offset (%d) or no escaped offsets (%d): the test needs both", left, escaped)
	}
	fixedPath := filepath.Join(dir, "rejects-fixed.csv")
	writeCSVFile(t, fixedPath, fixed)

	out2 := filepath.Join(dir, "out2")
	code := runMain(t, srv.APIKey, syncArgs(fixedPath, mapping, srv.URL, out2)...)
	s2 := readSummary(t, out2)
	if code != cli.ExitRejects {
		t.Fatalf("fixed file: exit %d (error %q)", code, s2.Error)
	}
	checkCounts(t, s2)
	if n := int64(len(fixed) - 2); s2.Rows.Created != n || s2.Rows.Rejected != 1 || s2.Rows.Updated != 0 || s2.Rows.Unchanged != 0 {
		t.Errorf("fixed file: rows %+v; want %d created, the one left as it was rejected", s2.Rows, n)
	}
	if s2.RejectsByCode["offset"] != 1 {
		t.Errorf("fixed file: rejects by code %v, want one offset", s2.RejectsByCode)
	}
	rej2 := readCSVFile(t, filepath.Join(out2, "rejects.csv"))
	if strings.Join(rej2[0], ",") != strings.Join(rej[0], ",") {
		t.Errorf("second reject file header %q; want the first's %q (the input's _ columns replaced, not kept)", rej2[0], rej[0])
	}
	if len(rej2) != 2 {
		t.Fatalf("second reject file holds %d rows, want 1", len(rej2)-1)
	}
	for i := range fixtures.Columns {
		if rej2[1][i] != fixed[left][i] {
			t.Errorf("column %s of the row rejected again: %q, want %q as it was fed back (escaped once)", rej[0][i], rej2[1][i], fixed[left][i])
		}
	}

	// The CRM holds every valid row of the source and every fixed row,
	// with the offsets as written in the source: a cell read back from
	// '+01:00 must be +01:00.
	crm := crmCustomers(t, srv)
	if want := s1.Rows.Created + s2.Rows.Created; int64(len(crm)) != want {
		t.Errorf("the CRM holds %d customers, want %d", len(crm), want)
	}
	for i, rec := range fixed[1:] {
		if i+1 == left {
			continue
		}
		n := rec[column(t, rej[0], "_row")]
		orig := rows[atoi(t, n)]
		c, ok := crm[strings.ToLower(strings.TrimSpace(rec[1]))]
		if !ok {
			t.Errorf("fixed row %s (%s) is not in the CRM", n, rec[1])
			continue
		}
		wantOffset := orig[8]
		if rec[column(t, rej[0], "_code")] == "offset" {
			wantOffset = "+01:00"
		}
		if c.TimezoneOffset != wantOffset {
			t.Errorf("fixed row %s: the CRM holds offset %q, want %q (cell %q)", n, c.TimezoneOffset, wantOffset, rec[offsetCol])
		}
		if c.Name != firstName(rec[2]) {
			t.Errorf("fixed row %s: the CRM holds name %q, want %q", n, c.Name, firstName(rec[2]))
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// TestRejectRoundTripParquet does the same with a Parquet source: the
// reject file is Parquet, _row an int64 column, values as they were (no
// formula escaping in a typed format); fixed and fed back, every row syncs.
func TestRejectRoundTripParquet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)
	source := filepath.Join(dir, "in.parquet")
	defects, err := fixtures.WriteParquet(source, fixtures.Options{Rows: 400, Seed: 52, BadShare: 0.25}, 128)
	if err != nil {
		t.Fatal(err)
	}
	_, parquetRows := readParquet(t, source)
	srv := newCRM(t, tamiotest.Options{})
	out1 := filepath.Join(dir, "out1")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out1)...); code != cli.ExitRejects {
		t.Fatalf("first run: exit %d (error %q)", code, readSummary(t, out1).Error)
	}
	s1 := readSummary(t, out1)
	if filepath.Base(s1.RejectFile) != "rejects.parquet" {
		t.Errorf("reject file %q, want rejects.parquet", s1.RejectFile)
	}
	schema, rej := readParquet(t, filepath.Join(out1, "rejects.parquet"))
	// A Parquet source is read in the columns the mapping reads, which
	// are all but signup_date, and its reject file holds those.
	read := slices.DeleteFunc(slices.Clone(fixtures.Columns), func(c string) bool { return c == "signup_date" })
	if want := append(read, rejectColumns...); strings.Join(rej[0], ",") != strings.Join(want, ",") {
		t.Fatalf("rejects.parquet columns %q, want %q", rej[0], want)
	}
	if f, _ := schema.FieldsByName("_row"); len(f) != 1 || f[0].Type.ID() != arrow.INT64 {
		t.Errorf("_row is %v, want int64", f)
	}
	if int64(len(rej)-1) != s1.Rows.Rejected {
		t.Errorf("rejects.parquet holds %d rows, the summary %d rejected", len(rej)-1, s1.Rows.Rejected)
	}
	checkRejectsMatchDefects(t, rej, parquetRows, defects)
	for _, rec := range rej[1:] {
		for i, v := range rec[:len(read)] {
			if strings.HasPrefix(v, "'") {
				t.Errorf("rejects.parquet row %s column %s holds %q: Parquet values are never escaped", rec[len(read)], rej[0][i], v)
			}
		}
	}

	for _, rec := range rej[1:] {
		fixRejected(t, rej[0], rec)
	}
	fixedPath := filepath.Join(dir, "rejects-fixed.parquet")
	writeParquet(t, fixedPath, schema, rej)
	out2 := filepath.Join(dir, "out2")
	code := runMain(t, srv.APIKey, syncArgs(fixedPath, mapping, srv.URL, out2)...)
	s2 := readSummary(t, out2)
	if code != cli.ExitOK {
		t.Fatalf("fixed file: exit %d (error %q, rejects %v)", code, s2.Error, s2.RejectsByCode)
	}
	checkCounts(t, s2)
	if s2.Rows.Created != s1.Rows.Rejected || s2.Rows.Read != s1.Rows.Rejected {
		t.Errorf("fixed file: rows %+v; want all %d created", s2.Rows, s1.Rows.Rejected)
	}
	crm := crmCustomers(t, srv)
	if want := s1.Rows.Created + s2.Rows.Created; int64(len(crm)) != want {
		t.Errorf("the CRM holds %d customers, want %d", len(crm), want)
	}
	for _, rec := range rej[1:] {
		c, ok := crm[strings.ToLower(strings.TrimSpace(rec[1]))]
		if !ok || c.Name != firstName(rec[2]) || c.TimezoneOffset != rec[8] {
			t.Errorf("fixed row %s: the CRM holds %+v (found %v); want name %q, offset %q", rec[len(read)], c, ok, firstName(rec[2]), rec[8])
		}
	}
}

// readParquet reads a whole Parquet file of flat columns as text, header
// first; a null reads as "".
func readParquet(t *testing.T, path string) (*arrow.Schema, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(memory.DefaultAllocator),
		pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("%s is not readable Parquet: %v", path, err)
	}
	defer tbl.Release()
	schema := tbl.Schema()
	header := make([]string, schema.NumFields())
	for i, fld := range schema.Fields() {
		header[i] = fld.Name
	}
	rows := make([][]string, tbl.NumRows())
	for i := range rows {
		rows[i] = make([]string, len(header))
	}
	for c := range header {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				if !chunk.IsNull(i) {
					rows[r][c] = chunk.ValueStr(i)
				}
				r++
			}
		}
	}
	return schema, append([][]string{header}, rows...)
}

// writeParquet writes rows (header first, as readParquet returns them) with
// schema's columns: int64 or nullable strings, "" as null.
func writeParquet(t *testing.T, path string, schema *arrow.Schema, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, rec := range rows[1:] {
		for c, v := range rec {
			switch fb := b.Field(c).(type) {
			case *array.Int64Builder:
				fb.Append(int64(atoi(t, v)))
			case *array.StringBuilder:
				if v == "" {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			default:
				t.Fatalf("column %s: unexpected builder %T", rows[0][c], fb)
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// formulaSource is a source whose rows 1, 2, 3 and 5 have a bad email and
// cells a spreadsheet could run as formulas; row 4 is valid.
var formulaSource = [][]string{
	{"customer_id", "email", "full_name", "country", "phone", "owner_email", "tier", "language", "utc_offset", "signup_date", "@handle"},
	{"C1", "@bad.example.com", "=1+2 Smith", "Germany", "+49 30 23456789", "ana.garcia@example.com", "-gold", "de", "+01:00", `=HYPERLINK("http://evil.example")`, "-x"},
	{"=C2", "=not-an-email", "+Anna Lee", "DE", "030 23456789", "ben.okafor@example.com", "@silver", "en", "-05:00", "@SUM(1+1)", "+y"},
	{"C3", "x.at.example.com", "@Bob Stone", "France", "+33 1 23456789", "chloe.martin@example.com", "", "fr", "+00:00", "'=already escaped", "\tTab"},
	{"C4", "ok4@example.com", "Olga Ok", "Germany", "+49 30 34567890", "ana.garcia@example.com", "gold", "de", "+01:00", "2024-01-01", "=z"},
	{"C5", "-dash.example.com", "-Dash Rip", "Spain", "+34 91 2345678", "ana.garcia@example.com", "=1", "es", "+01:00", "-12", "-1.5"},
}

// escapedRejects is what rejects.csv must hold of formulaSource's rejected
// rows: cells starting with = + - @ or tab get a leading quote, and one
// more when they already start with quotes; plain and phone numbers do not.
var escapedRejects = [][]string{
	{"customer_id", "email", "full_name", "country", "phone", "owner_email", "tier", "language", "utc_offset", "signup_date", "'@handle"},
	{"C1", "'@bad.example.com", "'=1+2 Smith", "Germany", "+49 30 23456789", "ana.garcia@example.com", "'-gold", "de", "'+01:00", `'=HYPERLINK("http://evil.example")`, "'-x"},
	{"'=C2", "'=not-an-email", "'+Anna Lee", "DE", "030 23456789", "ben.okafor@example.com", "'@silver", "en", "'-05:00", "'@SUM(1+1)", "'+y"},
	{"C3", "x.at.example.com", "'@Bob Stone", "France", "+33 1 23456789", "chloe.martin@example.com", "", "fr", "'+00:00", "''=already escaped", "'\tTab"},
	{"C5", "'-dash.example.com", "'-Dash Rip", "Spain", "+34 91 2345678", "ana.garcia@example.com", "'=1", "es", "'+01:00", "-12", "-1.5"},
}

// mappingWith copies the sample mapping into dir with the last_name line
// replaced by expr.
func mappingWith(t *testing.T, dir, lastName string) string {
	t.Helper()
	path := mappingIn(t, dir)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const line = "  last_name: rest_words(full_name)\n"
	if !strings.Contains(string(data), line) {
		t.Fatalf("the sample mapping has no line %q", line)
	}
	data = []byte(strings.Replace(string(data), line, "  last_name: "+lastName+"\n", 1))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRejectFileFormulaEscaping checks that rejects.csv escapes cells a
// spreadsheet would run as formulas, and that fed back with the emails
// fixed, every cell reads as it was in the source: the CRM gets the
// offsets and the texts unescaped (last_name is mapped from signup_date
// here, to carry a cell that already started with a quote).
func TestRejectFileFormulaEscaping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingWith(t, dir, "signup_date")
	source := filepath.Join(dir, "in.csv")
	writeCSVFile(t, source, formulaSource)
	srv := newCRM(t, tamiotest.Options{})
	out1 := filepath.Join(dir, "out1")
	code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out1)...)
	s1 := readSummary(t, out1)
	if code != cli.ExitRejects || s1.Rows.Created != 1 || s1.Rows.Rejected != 4 || s1.RejectsByCode["email"] != 4 {
		t.Fatalf("exit %d, rows %+v, rejects %v; want 1 created, 4 rejected for their email", code, s1.Rows, s1.RejectsByCode)
	}
	raw, err := os.ReadFile(filepath.Join(out1, "rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "\uFEFF") {
		t.Errorf("rejects.csv does not start with a UTF-8 byte order mark")
	}
	rej := readCSVFile(t, filepath.Join(out1, "rejects.csv"))
	if len(rej) != len(escapedRejects) {
		t.Fatalf("rejects.csv holds %d lines, want %d", len(rej), len(escapedRejects))
	}
	for i, want := range escapedRejects {
		if len(rej[i]) != len(want)+len(rejectColumns) {
			t.Errorf("line %d has %d cells, want %d", i+1, len(rej[i]), len(want)+len(rejectColumns))
			continue
		}
		for c, w := range want {
			if rej[i][c] != w {
				t.Errorf("line %d column %s: %q, want %q", i+1, formulaSource[0][c], rej[i][c], w)
			}
		}
		// The cells crmsync adds are escaped as well.
		for c, v := range rej[i][len(want):] {
			if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
				t.Errorf("line %d column %s: %q is not escaped", i+1, rej[0][len(want)+c], v)
			}
		}
	}

	// Fix the emails only, leave every escaped cell as it is, feed back.
	for i, rec := range rej[1:] {
		rec[1] = fmt.Sprintf("fixed%d@example.com", i+1)
	}
	fixedPath := filepath.Join(dir, "rejects-fixed.csv")
	writeCSVFile(t, fixedPath, rej)
	out2 := filepath.Join(dir, "out2")
	code = runMain(t, srv.APIKey, syncArgs(fixedPath, mapping, srv.URL, out2)...)
	s2 := readSummary(t, out2)
	if code != cli.ExitOK || s2.Rows.Created != 4 {
		t.Fatalf("fixed file: exit %d, rows %+v, rejects %v; want 4 created", code, s2.Rows, s2.RejectsByCode)
	}
	crm := crmCustomers(t, srv)
	for i, src := range [][]string{formulaSource[1], formulaSource[2], formulaSource[3], formulaSource[5]} {
		c, ok := crm[fmt.Sprintf("fixed%d@example.com", i+1)]
		if !ok {
			t.Errorf("fixed%d@example.com is not in the CRM", i+1)
			continue
		}
		if c.Name != firstName(src[2]) || c.TimezoneOffset != src[8] || c.LastName != src[9] {
			t.Errorf("fixed%d: the CRM holds name %q, offset %q, last name %q; want %q, %q, %q",
				i+1, c.Name, c.TimezoneOffset, c.LastName, firstName(src[2]), src[8], src[9])
		}
	}
}

// TestRejectFileEscapedHeaderRoundTrip feeds back a reject file whose
// source had a column named like a formula ("@handle", which rejects.csv
// writes as "'@handle"), with a mapping that reads that column: the fixed
// rows must sync as the original file would have.
func TestRejectFileEscapedHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingWith(t, dir, `trim(col("@handle"))`)
	source := filepath.Join(dir, "in.csv")
	writeCSVFile(t, source, formulaSource)
	srv := newCRM(t, tamiotest.Options{})
	out1 := filepath.Join(dir, "out1")
	if code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out1)...); code != cli.ExitRejects {
		t.Fatalf("first run: exit %d (error %q)", code, readSummary(t, out1).Error)
	}
	rej := readCSVFile(t, filepath.Join(out1, "rejects.csv"))
	for i, rec := range rej[1:] {
		rec[1] = fmt.Sprintf("fixed%d@example.com", i+1)
	}
	fixedPath := filepath.Join(dir, "rejects-fixed.csv")
	writeCSVFile(t, fixedPath, rej)
	out2 := filepath.Join(dir, "out2")
	code := runMain(t, srv.APIKey, syncArgs(fixedPath, mapping, srv.URL, out2)...)
	if code != cli.ExitOK {
		t.Fatalf("fixed reject file with header %q: exit %d, want 0; the mapping reads column \"@handle\", which the reject file wrote as %q",
			rej[0], code, rej[0][len(formulaSource[0])-1])
	}
	crm := crmCustomers(t, srv)
	if c := crm["fixed1@example.com"]; c.LastName != "-x" {
		t.Errorf("fixed1: last name %q, want %q", c.LastName, "-x")
	}
}
