package csv_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"crmsync/sources/csv"
)

// checkInvariants reads a whole input and checks what must hold for any
// bytes at all: no panic, the stream ends, rows are numbered in order, and
// a row that is not rejected has one value per column.
func checkInvariants(t *testing.T, data []byte) {
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := csv.Open(p, csv.Options{BatchSize: 3})
	if err != nil {
		return
	}
	defer src.Close()
	var num int64
	for calls := 0; ; calls++ {
		if calls > len(data)+2 {
			t.Fatalf("no end after %d calls on %d bytes", calls, len(data))
		}
		rows, err := src.Next(context.Background())
		if err == io.EOF {
			return
		}
		if err != nil {
			return // fatal errors are allowed; panics and loops are not
		}
		for _, r := range rows {
			num++
			if r.Num != num {
				t.Fatalf("row Num %d, want %d", r.Num, num)
			}
			if r.Reject == nil && len(r.Values) != len(src.Columns()) {
				t.Fatalf("row %d: %d values for %d columns, not rejected", r.Num, len(r.Values), len(src.Columns()))
			}
			if r.Reject != nil && (r.Reject.Code == "" || r.Reject.Message == "") {
				t.Fatalf("row %d: reject without code or message: %+v", r.Num, r.Reject)
			}
		}
	}
}

func TestRandomInputs(t *testing.T) {
	alphabet := []byte("ab,;\t|\"\"\n\n\r\x00\xff\xc3\xa9 '=")
	r := rand.New(rand.NewPCG(7, 11))
	for range 500 {
		data := make([]byte, r.IntN(200))
		for i := range data {
			data[i] = alphabet[r.IntN(len(alphabet))]
		}
		checkInvariants(t, data)
	}
}

func FuzzSource(f *testing.F) {
	for _, seed := range []string{
		"", "a,b\n1,2\n", "a;b\r\n\"x\"\"y\";2\r\n", "a\n\"open\n", "a,b\n1,\"2\"x\n3,4\n",
		"\xef\xbb\xbfa\tb\n1\t2", "\xff\xfea\x00,\x00b\x00\n\x00", "a,a\n", "a,b\n\x00,\xff\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkInvariants(t, data) })
}
