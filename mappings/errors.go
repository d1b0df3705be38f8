package mappings

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"crmsync/pipeline"
)

// Error is one problem in a mapping file, at a place in it.
type Error struct {
	File string
	// Line and Column are 1-based; 0 when the problem has no single place
	// (an empty file) or YAML does not say (a syntax error has a line only).
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Errors is every problem Load or Bind found (up to a limit), so that a
// user fixes a mapping in one pass rather than one error per run.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the first *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// maxErrors bounds the list: past it, the rest are usually echoes of the
// first ones.
const maxErrors = 25

type errorList struct {
	file string
	errs Errors
	more int
}

func (l *errorList) add(line, col int, format string, args ...any) {
	if len(l.errs) >= maxErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	if l.more > 0 {
		l.errs = append(l.errs, &Error{File: l.file, Msg: fmt.Sprintf("and %d more problems", l.more)})
	}
	return l.errs
}

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// name, or "" when none is close enough to be a plausible typo.
func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", pipeline.Quote(s))
	}
	return ""
}

func suggest(name string, candidates []string) string {
	lname := strings.ToLower(name)
	n := utf8.RuneCountInString(name)
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == name {
			continue
		}
		// A rune is 1 to 4 bytes, so a candidate this much shorter or
		// longer is more than 3 runes away, without decoding it: a header
		// can hold a million long names.
		if len(c) < n-3 || len(c) > 4*(n+3) {
			continue
		}
		lc := strings.ToLower(c)
		if lc == lname {
			return c
		}
		d := editDistance(lname, lc, 3)
		if d < 0 {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	// A distance of 3 in a 4-letter name is another word, not a typo.
	if bestDist < 0 || bestDist > max(1, n/3) {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b
// in runes (Levenshtein plus swapped neighbours, the commonest typo), or
// -1 when it exceeds limit, which keeps long headers cheap.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return -1
	}
	rows := [3][]int{make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)}
	prev2, prev, cur := rows[0], rows[1], rows[2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return -1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[len(rb)] > limit {
		return -1
	}
	return prev[len(rb)]
}

// quote renders a value or a name for a message, cut short so that a
// huge cell or column name does not make a huge message.
func quote(v string) string { return pipeline.Quote(v) }
