package csv_test

import (
	"bufio"
	"context"
	stdcsv "encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"crmsync/sources/csv"
)

const benchRows = 100_000

var (
	firstNames = []string{"Anna", "Ben", "Chloé", "Dmitri", "Eva", "François", "Gita", "Hiro", "Ines", "Jonas", "Kateřina", "Liam"}
	lastNames  = []string{"Müller", "Smith", "O'Brien", "García", "Nakamura", "Kowalski", "Dubois", "Rossi", "Ivanova", "Jensen"}
	countries  = []string{"DE", "FR", "GB", "US", "ES", "IT", "PL", "JP", "SE", "NL"}
	companies  = []string{"Acme GmbH", "Globex, Inc.", "Initech", "Umbrella \"Labs\" Ltd", "Stark Industries", "", "Wayne Enterprises", "Hooli"}
	priorities = []string{"low", "normal", "high", "urgent"}
)

// writeCustomers writes n realistic customer rows: some fields need
// quoting, some are empty, names are not all ASCII.
func writeCustomers(w io.Writer, n int) error {
	cw := stdcsv.NewWriter(w)
	if err := cw.Write([]string{"customer_id", "email", "first_name", "last_name", "country", "phone", "company", "created_at", "owner_email", "priority"}); err != nil {
		return err
	}
	rec := make([]string, 10)
	for i := range n {
		first, last := firstNames[i%len(firstNames)], lastNames[(i/7)%len(lastNames)]
		rec[0] = fmt.Sprintf("C%08d", i+1)
		rec[1] = fmt.Sprintf("customer.%d@example%d.com", i, i%97)
		rec[2] = first
		rec[3] = last
		rec[4] = countries[i%len(countries)]
		rec[5] = fmt.Sprintf("+49 30 %07d", (i*7919)%10_000_000)
		rec[6] = companies[i%len(companies)]
		rec[7] = fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02dZ", i%12+1, i%28+1, i%24, i%60, (i*7)%60)
		rec[8] = fmt.Sprintf("owner%d@crm.example.com", i%25)
		rec[9] = priorities[i%len(priorities)]
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func benchFile(b *testing.B) (string, int64) {
	b.Helper()
	p := filepath.Join(b.TempDir(), "customers.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	if err := writeCustomers(bw, benchRows); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return p, fi.Size()
}

// BenchmarkRawCSV is the baseline: encoding/csv alone over the same file.
func BenchmarkRawCSV(b *testing.B) {
	p, size := benchFile(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		r := stdcsv.NewReader(f)
		r.ReuseRecord = true
		r.FieldsPerRecord = -1
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
		if n != benchRows+1 {
			b.Fatalf("read %d records", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkSource(b *testing.B) {
	p, size := benchFile(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	ctx := context.Background()
	for b.Loop() {
		src, err := csv.Open(p, csv.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rows, err := src.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			for i := range rows {
				if rows[i].Reject != nil {
					b.Fatalf("row %d rejected: %v", rows[i].Num, rows[i].Reject)
				}
			}
			n += len(rows)
		}
		src.Close()
		if n != benchRows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
