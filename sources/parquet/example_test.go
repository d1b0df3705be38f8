package parquet_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/sources/parquet"
)

func Example() {
	dir, err := os.MkdirTemp("", "crmsync-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "customers.parquet")

	// A small file, as an export tool would write it.
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "balance", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(`[
		{"customer_id": 1, "email": "ann@example.com", "balance": "12.50", "tags": ["vip"]},
		{"customer_id": 2, "email": null, "balance": "-3.00", "tags": []}
	]`))
	if err != nil {
		panic(err)
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	if err := pqarrow.WriteTable(array.NewTableFromRecords(sc, []arrow.Record{rec}), f, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
		panic(err)
	}

	src, err := parquet.Open(path, parquet.Options{})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	fmt.Printf("columns %q, nested %q\n", src.Columns(), src.NestedColumns())
	for {
		rows, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		for _, r := range rows {
			fmt.Printf("row %d: %q\n", r.Num, r.Values)
		}
	}
	// Output:
	// columns ["customer_id" "email" "balance" "tags"], nested ["tags"]
	// row 1: ["1" "ann@example.com" "12.50" "[\"vip\"]"]
	// row 2: ["2" "" "-3.00" "[]"]
}
