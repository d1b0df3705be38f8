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
