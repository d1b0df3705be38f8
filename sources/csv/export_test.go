package csv

import "io"

// SetMaxRowBytes lowers the row size limit for a test and returns a
// function that restores it.
func SetMaxRowBytes(n int64) (restore func()) {
	old := maxRowBytes
	maxRowBytes = n
	return func() { maxRowBytes = old }
}

// NewRejectWriterTo writes rejects to w, so tests can make writes fail.
func NewRejectWriterTo(w io.Writer, columns []string, delimiter rune) (*RejectWriter, error) {
	return newRejectWriter(w, "test", columns, delimiter)
}
