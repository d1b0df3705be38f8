package mappings

import (
	"testing"

	"crmsync/internal/fixtures"
	"crmsync/pipeline"
)

// BenchmarkPhoneExport formats the phone numbers of 100,000 generated
// export rows, all different, as phone() does with the shipped mapping's
// region: the most costly function of a sync's mapping stage.
func BenchmarkPhoneExport(b *testing.B) {
	p := loadShipped(b)
	var phones []string
	err := fixtures.Generate(fixtures.Options{Rows: 100000, Seed: 5}, func(c fixtures.Customer) error {
		phones = append(phones, c.Values[4])
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	r := p.runner(&pipeline.Row{})
	args := make([]arg, 1)
	for b.Loop() {
		for _, s := range phones {
			args[0].s = s
			_, _ = phoneFn(r, args)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(phones)), "ns/phone")
}
