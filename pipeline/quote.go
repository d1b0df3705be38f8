package pipeline

import (
	"strconv"
	"strings"
)

// Messages quote what a file holds (a column name, a header, a key), and
// a file can hold anything: a header of a million columns, a name of a
// megabyte. Every message that quotes one goes through Quote or QuoteList,
// so that it stays a line a person can read, whatever went into it; a
// message is copied into summary.json, the report and the state.
const (
	// QuoteMax is the most characters Quote keeps of a text.
	QuoteMax = 64
	// QuoteListMax is the most names QuoteList shows.
	QuoteListMax = 10
)

// Quote quotes s as Go does (strconv.Quote), cut to QuoteMax characters
// with "…" after the closing quote when it is longer.
func Quote(s string) string {
	if len(s) <= QuoteMax {
		return strconv.Quote(s)
	}
	n := 0
	for i := range s {
		if n == QuoteMax {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

// QuoteList quotes the first QuoteListMax names with Quote, separated by
// ", ", and says how many more there are: `"a", "b", "c" and 99990 more`.
func QuoteList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i == QuoteListMax {
			b.WriteString(" and ")
			b.WriteString(strconv.Itoa(len(names) - i))
			b.WriteString(" more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Quote(n))
	}
	return b.String()
}
