package csv

import (
	"fmt"

	"crmsync/pipeline"
)

// Reject codes of the rows a CSV file cannot give, besides
// pipeline.CodeEncoding.
const (
	CodeFieldCount   = "field_count"
	CodeBadQuote     = "bad_quote"
	CodeParse        = "parse"
	CodeFieldTooLong = "field_too_long"
	CodeNULByte      = "nul_byte"
)

func init() {
	pipeline.RegisterCodes(
		pipeline.Code{Name: CodeFieldCount, Stage: pipeline.StageRead,
			Meaning: "the CSV line has more or fewer fields than the header: usually a delimiter inside an unquoted value, or a line cut short",
			Fix:     "quote the values that hold the delimiter, or pass the right --delimiter; the reason gives the line and both counts"},
		pipeline.Code{Name: CodeBadQuote, Stage: pipeline.StageRead,
			Meaning: "a quote (\") inside an unquoted field, or a quoted field not closed properly; several lines may have been read as one row",
			Fix:     "quote the whole field and double the quotes inside it (\"\"); the reason gives the line and column"},
		pipeline.Code{Name: CodeParse, Stage: pipeline.StageRead,
			Meaning: "the CSV line cannot be parsed for another reason, given in the reason",
			Fix:     "correct the line in the source file; the reason gives its number"},
		pipeline.Code{Name: CodeFieldTooLong, Stage: pipeline.StageRead,
			Meaning: fmt.Sprintf("a field is longer than the %d MiB any CRM field could hold: usually a quote left open that swallowed many lines", MaxFieldBytes>>20),
			Fix:     "close the quote in the source file, or remove the oversized value"},
		pipeline.Code{Name: CodeNULByte, Stage: pipeline.StageRead,
			Meaning: "a field holds a NUL byte: the file is binary, or a broken export",
			Fix:     "export the file again as text; check that it is the CSV file and not, say, a spreadsheet"},
	)
}
