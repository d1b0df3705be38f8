package parquet_test

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

var (
	firstNames = []string{"Anna", "Ben", "Chloé", "Dmitri", "Eva", "François", "Gita", "Hiro", "Ines", "Jonas", "Kateřina", "Liam"}
	lastNames  = []string{"Müller", "Smith", "O'Brien", "García", "Nakamura", "Kowalski", "Dubois", "Rossi", "Ivanova", "Jensen"}
	countries  = []string{"DE", "FR", "GB", "US", "ES", "IT", "PL", "JP", "SE", "NL"}
	companies  = []string{"Acme GmbH", "Globex, Inc.", "Initech", "Umbrella \"Labs\" Ltd", "Stark Industries", "", "Wayne Enterprises", "Hooli"}
	priorities = []string{"low", "normal", "high", "urgent"}
)

var customerSchema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "email", Type: arrow.BinaryTypes.String},
	{Name: "first_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "last_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "company", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "created_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "owner_email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "priority", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
}, nil)

// customerRecord builds n realistic customer rows: mixed types, some
// nulls, names that are not all ASCII.
func customerRecord(n int) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, customerSchema)
	defer b.Release()
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		str(1).Append(fmt.Sprintf("customer.%d@example%d.com", i, i%97))
		str(2).Append(firstNames[i%len(firstNames)])
		str(3).Append(lastNames[(i/7)%len(lastNames)])
		str(4).Append(countries[i%len(countries)])
		str(5).Append(fmt.Sprintf("+49 30 %07d", (i*7919)%10_000_000))
		if c := companies[i%len(companies)]; c == "" {
			str(6).AppendNull()
		} else {
			str(6).Append(c)
		}
		b.Field(7).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)*1_000_003))
		str(8).Append(fmt.Sprintf("owner%d@crm.example.com", i%25))
		b.Field(9).(*array.Int32Builder).Append(int32(i % len(priorities)))
	}
	return b.NewRecord()
}
