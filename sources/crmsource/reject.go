package crmsource

import (
	"crmsync/pipeline"
	"crmsync/sources/csv"
)

// NewRejectWriter writes rejected rows of a CRM source to path as the CSV
// source writes its own (see csv.NewRejectWriter): UTF-8 with a byte order
// mark, comma-separated, cols (the source's Columns) then
// pipeline.RejectColumns, every cell escaped against spreadsheet formulas,
// the file created afresh with mode 0600. A user can fix the file and sync
// it back as a CSV source.
func NewRejectWriter(path string, cols []string) (pipeline.RejectWriter, error) {
	w, err := csv.NewRejectWriter(path, cols, ',')
	if err != nil {
		// A nil *csv.RejectWriter in the interface would not be nil.
		return nil, err
	}
	return w, nil
}
