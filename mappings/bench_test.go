package mappings

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// BenchmarkApply maps the sample row with the sample mapping: eleven
// fields, of which two constants, one bare column, and eight functions
// (phone parsing and a lookup among them). The row repeats, so fields of
// one column come from the runner's memo after the first row; the cost
// of mapping an export's different rows is BenchmarkApplyExport.
func BenchmarkApply(b *testing.B) {
	p := bindSample(b)
	benchApply(b, p, sampleRow())
}

// BenchmarkApplyNoPhone is the same without phone(), whose parsing by
// libphonenumber dominates the sample's cost.
func BenchmarkApplyNoPhone(b *testing.B) {
	src, err := readFile(samplePath)
	if err != nil {
		b.Fatal(err)
	}
	src = strings.Replace(src, "phone: phone(phone_raw)", "phone: trim(phone_raw)", 1)
	p := bindYAML(b, src)
	row := sampleRow()
	row.Values[7] = "+49301234567"
	benchApply(b, p, row)
}

// BenchmarkApplyVM runs every expression on expr's VM, for comparison
// with the direct evaluator.
func BenchmarkApplyVM(b *testing.B) {
	vmOnly = true
	defer func() { vmOnly = false }()
	p := bindSample(b)
	benchApply(b, p, sampleRow())
}

// BenchmarkApplyVMExprs is a mapping of operators and ternaries: two of
// its fields need the VM (len, ??), three run on the direct evaluator.
func BenchmarkApplyVMExprs(b *testing.B) {
	p := bindYAML(b, `api: tamio
key: customer_id
fields:
  email: 'email != "" ? lower(trim(email)) : ""'
  name: 'len(full_name) > 0 ? first_word(full_name) : "?"'
  last_name: 'rest_words(full_name) ?? ""'
  country: 'country_name == "" ? "de" : country(country_name)'
  company: 'trim(col("Company Name")) + (lang == "" ? "" : " (" + lang + ")")'
`)
	benchApply(b, p, sampleRow())
}

func benchApply(b *testing.B, p *Program, row *pipeline.Row) {
	var rec pipeline.Record
	if r := p.Apply(row, &rec); r != nil {
		b.Fatal(r)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := p.Apply(row, &rec); r != nil {
			b.Fatal(r)
		}
	}
}

// BenchmarkCSVRead is the yardstick: encoding/csv reading rows like the
// sample's, one op per row.
func BenchmarkCSVRead(b *testing.B) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for range 1000 {
		_ = w.Write(sampleRow().Values)
	}
	w.Flush()
	data := buf.Bytes()
	b.ReportAllocs()
	b.ResetTimer()
	r := csv.NewReader(bytes.NewReader(data))
	for i := 0; i < b.N; i++ {
		if _, err := r.Read(); err == io.EOF {
			r = csv.NewReader(bytes.NewReader(data))
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyTyped maps a row onto typed fields (a list from split, a
// condition for a bool, arithmetic for an int, a date, null() in a
// ternary): the cost the widened kinds add.
func BenchmarkApplyTyped(b *testing.B) {
	shop := &pipeline.Schema{API: "shop", Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail},
		{Name: "phone", Kind: pipeline.KindPhone, Clear: pipeline.ClearNull},
		{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
		{Name: "consent", Kind: pipeline.KindBool},
		{Name: "points", Kind: pipeline.KindInt},
		{Name: "born", Kind: pipeline.KindDate, Clear: pipeline.ClearNull},
		{Name: "address.city", Clear: pipeline.ClearNull},
	}}
	m, err := Load("testdata/customers.typed.yaml", shop)
	if err != nil {
		b.Fatal(err)
	}
	p, err := m.Bind([]string{"id", "email", "tel", "opt_out", "tags", "opt_in", "points", "dob", "city"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchApply(b, p, &pipeline.Row{Num: 1, Values: []string{"C-9", " Ana@Example.com", "030 1234567", "N",
		"vip; gold;;", "Y", "42", "30/04/1990", " Berlin "}})
}
