package parquet

import "io"

// NewRejectWriterTo writes rejects to w, so tests can make writes fail.
func NewRejectWriterTo(w io.Writer, columns []string) (*RejectWriter, error) {
	return newRejectWriter(w, "test", columns)
}

// RejectRowGroupRows is how many rows a reject file's row group holds.
const RejectRowGroupRows = rejectRowGroupRows

// ArrowOnly returns opts reading every column through Arrow's record
// reader, without the text columns' own reader.
func ArrowOnly(opts Options) Options {
	opts.arrowOnly = true
	return opts
}
