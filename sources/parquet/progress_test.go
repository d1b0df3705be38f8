package parquet_test

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	pq "github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/sources/parquet"
)

// Progress counts rows against the footer's row count, so a run can show
// an ETA; after the last batch the two agree.
func TestProgressCountsRowsAgainstTheFooter(t *testing.T) {
	rec := buildRecord(t, typeColumns)
	defer rec.Release()
	p := writeParquet(t, []arrow.Record{rec, rec, rec}, pq.NewWriterProperties(), pqarrow.DefaultWriterProps())
	src, rows := openAll(t, p, parquet.Options{BatchSize: 2})
	done, total := src.Progress()
	if total != 3*rec.NumRows() || done != total || int64(len(rows)) != total {
		t.Errorf("progress %d of %d after reading %d rows; the file holds %d", done, total, len(rows), 3*rec.NumRows())
	}
}
