package csv_test

import (
	"strings"
	"testing"

	"crmsync/sources/csv"
)

// Progress counts bytes of the file, so a run can show an ETA; after the
// last row it has read the whole file, and standard input has no total.
func TestProgressReachesTheFileSize(t *testing.T) {
	data := "id,email\n" + strings.Repeat("1,a@example.com\n", 5000)
	src, err := csv.Open(writeFile(t, "p.csv", []byte(data)), csv.Options{BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if done, total := src.Progress(); total != int64(len(data)) || done > total {
		t.Fatalf("before reading: progress %d of %d, want at most %d of %d", done, total, len(data), len(data))
	}
	if _, err := readAll(t, src, 100); err != nil {
		t.Fatal(err)
	}
	if done, total := src.Progress(); done != total {
		t.Errorf("after the last row: progress %d of %d", done, total)
	}

	stdin, err := csv.Open("-", csv.Options{Stdin: strings.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if _, total := stdin.Progress(); total != 0 {
		t.Errorf("standard input reports a total of %d; it has none", total)
	}
}
