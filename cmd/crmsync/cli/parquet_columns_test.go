package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/cmd/crmsync/cli"
	"crmsync/sinks/tamio/tamiotest"
)

// wideColumns is how many columns TestSyncParquetReadsMappedColumns's
// file holds, and wideMaxAlloc what a sync of it may allocate in all:
// reading every column allocates over 600 MiB, reading the 3 mapped ones
// about 11 MiB (the footer is read whole, whatever is read).
const (
	wideColumns  = 5_000
	wideMaxAlloc = 100 << 20
)

// writeWideParquet writes rows of 5 values (customer_id, full_name,
// email, then the filler of the other columns) to a Parquet file of
// wideColumns string columns, the mapped ones spread among the others.
func writeWideParquet(t *testing.T, path string, rows [][3]string) {
	t.Helper()
	fields := make([]arrow.Field, wideColumns)
	mapped := map[int]int{0: 0, wideColumns / 2: 1, wideColumns - 1: 2}
	names := []string{"customer_id", "full_name", "email"}
	for c := range fields {
		fields[c] = arrow.Field{Name: fmt.Sprintf("filler_%05d", c), Type: arrow.BinaryTypes.String, Nullable: true}
		if k, ok := mapped[c]; ok {
			fields[c].Name = names[k]
		}
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for r, row := range rows {
		for c := range fields {
			v := fmt.Sprintf("unread %d.%d", r, c)
			if k, ok := mapped[c]; ok {
				v = row[k]
			}
			b.Field(c).(*array.StringBuilder).Append(v)
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Neither statistics nor dictionaries: they make writing slow, and
	// the file no easier to read.
	props := parquet.NewWriterProperties(parquet.WithStats(false), parquet.WithDictionaryDefault(false))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSyncParquetReadsMappedColumns syncs a Parquet file of 5,000
// columns and 5 rows with a mapping that reads 3 of them: the run must
// not allocate by the columns it does not read, the customers must hold
// the right values, and the reject file holds the columns read.
func TestSyncParquetReadsMappedColumns(t *testing.T) {
	dir := t.TempDir()
	source := filepath.Join(dir, "wide.parquet")
	rows := [][3]string{
		{"K1", "Ana López", "ana@example.com"},
		{"K2", "Ben Okafor", "ben@example.com"},
		{"K3", "Chloé Martin", "not an email"},
		{"K4", "Dmitri Ivanov", "dmitri@example.com"},
		{"K5", "Eva Nowak", "eva@example.com"},
	}
	writeWideParquet(t, source, rows)
	mapping := filepath.Join(dir, "wide.tamio.yaml")
	if err := os.WriteFile(mapping, []byte("api: tamio\nkey: customer_id\nfields:\n"+
		"  email: lower(email)\n  name: first_word(full_name)\n  last_name: rest_words(full_name)\n  country: '\"de\"'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newCRM(t, tamiotest.Options{})
	out := filepath.Join(dir, "out")

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code := runMain(t, srv.APIKey, syncArgs(source, mapping, srv.URL, out)...)
	runtime.ReadMemStats(&after)
	s := readSummary(t, out)
	if code != cli.ExitRejects {
		t.Fatalf("exit %d (error %q)", code, s.Error)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("the sync allocated %d MiB", alloc>>20)
	if alloc > wideMaxAlloc {
		t.Errorf("the sync allocated %d MiB for 3 columns of %d, want at most %d MiB", alloc>>20, wideColumns, wideMaxAlloc>>20)
	}

	if s.Rows.Read != 5 || s.Rows.Created != 4 || s.Rows.Rejected != 1 {
		t.Errorf("rows %+v, want 5 read, 4 created, 1 rejected", s.Rows)
	}
	crm := crmCustomers(t, srv)
	for _, r := range rows {
		if r[0] == "K3" {
			continue
		}
		first, last, _ := strings.Cut(r[1], " ")
		if c, ok := crm[r[2]]; !ok || c.Name != first || c.LastName != last || c.Country != "de" {
			t.Errorf("%s: the CRM holds %+v (found %v)", r[0], c, ok)
		}
	}
	_, rej := readParquet(t, filepath.Join(out, "rejects.parquet"))
	want := append([]string{"customer_id", "full_name", "email"}, rejectColumns...)
	if strings.Join(rej[0], ",") != strings.Join(want, ",") {
		t.Fatalf("rejects.parquet has %d columns %q…, want %q", len(rej[0]), rej[0][:min(len(rej[0]), 5)], want)
	}
	if len(rej) != 2 || rej[1][0] != "K3" || rej[1][2] != "not an email" {
		t.Errorf("rejects.parquet rows %q", rej[1:])
	}

	// A column the file lacks is named with a did-you-mean among all of
	// the file's columns, not only among those read.
	typo := filepath.Join(dir, "typo.tamio.yaml")
	if err := os.WriteFile(typo, []byte("api: tamio\nkey: customer_id\nfields:\n  email: emial\n  name: full_name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, "", "check", "--mapping", typo, "--source", source)
	if want := `typo.tamio.yaml:4:10: column "emial" is not in the source (did you mean "email"?)`; r.code != cli.ExitUsage || !strings.Contains(r.stderr, want) {
		t.Errorf("check with a typo: exit %d, stderr %.500q; want exit %d and %q", r.code, r.stderr, cli.ExitUsage, want)
	}
}
