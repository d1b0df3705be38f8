package gdpr

import (
	"encoding/csv"
	"io"

	csvsource "crmsync/sources/csv"
)

// CSVWriter writes CSV records with every cell passed through
// csvsource.EscapeFormula, the escaping rejects.csv and diff.csv have:
// values read from the CRM or from a subjects file reach spreadsheets,
// and a cell such as =HYPERLINK(…) must not run there. Every CSV file
// this package and the export and erase commands write goes through it.
type CSVWriter struct {
	w   *csv.Writer
	rec []string
}

// NewCSVWriter returns a writer of escaped records to w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one record; rec is left as it was.
func (c *CSVWriter) Write(rec []string) error {
	c.rec = c.rec[:0]
	for _, v := range rec {
		c.rec = append(c.rec, csvsource.EscapeFormula(v))
	}
	return c.w.Write(c.rec)
}

// Flush writes what is buffered and returns the first error of the
// writer's life.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// unescapeCell undoes CSVWriter's escaping of a cell read back.
func unescapeCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && csvsource.EscapeFormula(s[1:]) != s[1:] {
		return s[1:]
	}
	return s
}
