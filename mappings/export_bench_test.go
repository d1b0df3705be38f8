package mappings

import (
	"testing"

	"crmsync/internal/fixtures"
	"crmsync/pipeline"
)

// BenchmarkApplyExport maps 100,000 generated export rows, all different,
// with the mapping shipped in samples/: the work of a sync's mapping
// stage, where BenchmarkApply repeats one row.
func BenchmarkApplyExport(b *testing.B) {
	p := loadShipped(b)
	var rows []pipeline.Row
	err := fixtures.Generate(fixtures.Options{Rows: 100000, Seed: 5}, func(c fixtures.Customer) error {
		rows = append(rows, pipeline.Row{Num: int64(len(rows) + 1), Values: c.Values})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var rec pipeline.Record
	b.ReportAllocs()
	for b.Loop() {
		for i := range rows {
			p.Apply(&rows[i], &rec)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
