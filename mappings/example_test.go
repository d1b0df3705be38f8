package mappings_test

import (
	"fmt"

	"crmsync/mappings"
	"crmsync/pipeline"
)

// schema is a cut-down tamio customer schema.
var schema = &pipeline.Schema{
	API: "tamio",
	Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true, MaxLen: 254},
		{Name: "name", RequiredOnCreate: true, RequiredOnUpdate: true, MaxLen: 255},
		{Name: "last_name", MaxLen: 255},
		{Name: "country", Kind: pipeline.KindCountry, RequiredOnCreate: true},
		{Name: "locale", Kind: pipeline.KindLocale},
		{Name: "timezone_offset", Kind: pipeline.KindOffset},
		{Name: "priority", Kind: pipeline.KindEnum, Enum: []string{"low", "normal", "medium", "high"}},
		{Name: "category", Kind: pipeline.KindEnum, Enum: []string{"customer", "lead"}},
		{Name: "phone", Kind: pipeline.KindPhone},
		{Name: "teammate_id", Kind: pipeline.KindUUID, Clear: pipeline.ClearEmpty},
		{Name: "company", MaxLen: 255},
	},
	MatchField: "email",
}

// Load a mapping, bind it to a source's header, and map a row.
func Example() {
	m, err := mappings.Load("testdata/customers.tamio.yaml", schema)
	if err != nil {
		fmt.Println(err)
		return
	}
	header := []string{"customer_id", "full_name", "email", "Company Name", "country_name",
		"lang", "tz", "phone_raw", "owner_email"}
	prog, err := m.Bind(header, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	row := &pipeline.Row{Num: 1, Values: []string{"C-7", "Ana María López", " Ana@Example.COM",
		"ACME GmbH", "Deutschland", "", "+01:00", "0151 23456789", "ana@acme.example"}}
	var rec pipeline.Record
	if rej := prog.Apply(row, &rec); rej != nil {
		fmt.Println(rej)
		return
	}
	fmt.Println("key:", rec.Key)
	for i, f := range schema.Fields {
		fmt.Printf("%s: %s\n", f.Name, rec.Values[i])
	}
	// Output:
	// key: C-7
	// email: ana@example.com
	// name: Ana
	// last_name: María López
	// country: de
	// locale: en
	// timezone_offset: +01:00
	// priority: normal
	// category: customer
	// phone: +4915123456789
	// teammate_id: 6f1c1b52-8a4e-4f0e-9a51-3c1f0e2d9b10
	// company: ACME GmbH
}

// A row the mapping cannot map is rejected with the stage, code, source
// column and target field.
func ExampleProgram_Apply_reject() {
	m, _ := mappings.Load("testdata/customers.tamio.yaml", schema)
	prog, _ := m.Bind([]string{"customer_id", "full_name", "email", "Company Name", "country_name",
		"lang", "tz", "phone_raw", "owner_email"}, nil)
	row := &pipeline.Row{Num: 2, Values: []string{"C-8", "Bo", "bo@example.com", "", "Atlantis", "", "", "", ""}}
	var rec pipeline.Record
	rej := prog.Apply(row, &rec)
	fmt.Println(rej.Stage, rej.Code, rej.Column, rej.Field)
	fmt.Println(rej.Message)
	// Output:
	// map unknown_country country_name country
	// "Atlantis" is not a country name or an ISO 3166 code
}

// Bind names every column the source lacks, where the mapping uses it.
func ExampleMapping_Bind() {
	m, _ := mappings.Load("testdata/customers.tamio.yaml", schema)
	_, err := m.Bind([]string{"customer_id", "fullname", "email", "Company Name", "country_name",
		"lang", "tz", "phone_raw", "owner_email"}, []string{"phone_raw"})
	fmt.Println(err)
	// Output:
	// testdata/customers.tamio.yaml:17:20: column "full_name" is not in the source (did you mean "fullname"?)
	// testdata/customers.tamio.yaml:23:16: column "phone_raw" is nested (list/struct); crmsync reads only flat columns
}

// A mapping fills typed fields: a list, a bool, a number, a date, a
// nested field, and null() to clear a phone.
func ExampleProgram_Apply_typed() {
	shop := &pipeline.Schema{API: "shop", MatchField: "email", Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true},
		{Name: "phone", Kind: pipeline.KindPhone, Clear: pipeline.ClearNull},
		{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
		{Name: "consent", Kind: pipeline.KindBool},
		{Name: "points", Kind: pipeline.KindInt},
		{Name: "born", Kind: pipeline.KindDate, Clear: pipeline.ClearNull},
		{Name: "address.city", Clear: pipeline.ClearNull},
	}}
	m, err := mappings.Load("testdata/customers.typed.yaml", shop)
	if err != nil {
		fmt.Println(err)
		return
	}
	prog, _ := m.Bind([]string{"id", "email", "tel", "opt_out", "tags", "opt_in", "points", "dob", "city"}, nil)
	row := &pipeline.Row{Num: 1, Values: []string{"C-9", " Ana@Example.com", "030 1234567", "Y",
		"vip; gold;;", "Y", "42", "30/04/1990", " Berlin "}}
	var rec pipeline.Record
	if rej := prog.Apply(row, &rec); rej != nil {
		fmt.Println(rej)
		return
	}
	for i, f := range shop.Fields {
		fmt.Printf("%s: %s\n", f.Name, pipeline.DisplayValue(rec.Values[i]))
	}
	fmt.Println(shop.Validate(&rec, m.Mapped()) == nil)
	// Output:
	// email: ana@example.com
	// phone: null
	// tags: ["vip","gold"]
	// consent: true
	// points: 420
	// born: 1990-04-30
	// address.city: Berlin
	// true
}
