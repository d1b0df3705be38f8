package csv_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"crmsync/sources/csv"
)

func Example() {
	dir, err := os.MkdirTemp("", "crmsync-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "customers.csv")
	data := "customer_id;email;country\n" +
		"1;ann@example.com;DE\n" +
		"2;bob@example.com\n" + // one field short
		"3;cy@example.com;FR\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		panic(err)
	}

	src, err := csv.Open(path, csv.Options{})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	fmt.Printf("delimiter %q, columns %q\n", src.Delimiter(), src.Columns())
	for {
		rows, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		for _, r := range rows {
			if r.Reject != nil {
				fmt.Printf("row %d (line %d) rejected: %s\n", r.Num, r.Line, r.Reject.Code)
				continue
			}
			fmt.Printf("row %d: %q\n", r.Num, r.Values)
		}
	}
	// Output:
	// delimiter ';', columns ["customer_id" "email" "country"]
	// row 1: ["1" "ann@example.com" "DE"]
	// row 2 (line 3) rejected: field_count
	// row 3: ["3" "cy@example.com" "FR"]
}
