package mappings

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/ast"
)

// layout is a date layout as users write it, translated for package time.
type layout struct {
	goLayout string
	unix     bool // seconds since 1970-01-01 UTC
	iso      bool // RFC 3339 on output; RFC 3339 with or without fraction on input
}

// Tokens of the friendly layouts, longest first so that "MMMM" wins over
// "MM".
var dateTokens = []struct{ token, goLayout string }{
	{"YYYY", "2006"},
	{"yyyy", "2006"}, // Java's spelling, as in "dd/MM/yyyy"
	{"YY", "06"},
	{"yy", "06"},
	{"MMMM", "January"},
	{"MMM", "Jan"},
	{"MM", "01"},
	{"M", "1"},
	{"DD", "02"},
	{"dd", "02"},
	{"D", "2"},
	{"HH", "15"},
	{"hh", "03"},
	{"h", "3"},
	{"mm", "04"},
	{"ss", "05"},
	{"SSS", "000"},
	{"A", "PM"},
	{"a", "pm"},
	{"ZZ", "-0700"},
	{"Z", "Z07:00"},
}

var layoutCache sync.Map // string → *layout

// parseLayout reads a layout: "unix", "iso", a Go layout (it has digits:
// "02/01/2006"), or a friendly one ("DD/MM/YYYY HH:mm").
func parseLayout(s string) (*layout, error) {
	if l, ok := layoutCache.Load(s); ok {
		return l.(*layout), nil
	}
	l, err := translateLayout(s)
	if err != nil {
		return nil, err
	}
	// Layouts from row values would grow the cache without bound; only
	// the few a mapping spells out are worth keeping, and they are short.
	if len(s) <= 64 {
		layoutCache.Store(s, l)
	}
	return l, nil
}

func translateLayout(s string) (*layout, error) {
	switch strings.ToLower(s) {
	case "unix":
		return &layout{unix: true}, nil
	case "iso", "rfc3339":
		return &layout{goLayout: time.RFC3339, iso: true}, nil
	}
	l := &layout{goLayout: s}
	if !strings.ContainsAny(s, "0123456789") {
		var b strings.Builder
		for i := 0; i < len(s); {
			if s[i] == '[' {
				// [text] is literal, for words that hold token letters.
				end := strings.IndexByte(s[i:], ']')
				if end < 0 {
					return nil, fmt.Errorf("date layout %q has a [ without its ]", s)
				}
				b.WriteString(s[i+1 : i+end])
				i += end + 1
				continue
			}
			matched := false
			for _, t := range dateTokens {
				if strings.HasPrefix(s[i:], t.token) {
					b.WriteString(t.goLayout)
					i += len(t.token)
					matched = true
					break
				}
			}
			if !matched {
				b.WriteByte(s[i])
				i++
			}
		}
		l.goLayout = b.String()
		// mm is minutes in every convention; without an hour beside it,
		// it is almost surely a month typed in lower case.
		if strings.Contains(l.goLayout, "04") && !strings.ContainsAny(l.goLayout, "153") {
			return nil, fmt.Errorf("date layout %q has minutes (mm) but no hour; for the month write MM", s)
		}
	}
	// A layout that formats a reference time as itself has no fields:
	// a typo such as "dd/mm/yyyy" (lower case) rather than a layout.
	ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if ref.Format(l.goLayout) == l.goLayout {
		return nil, fmt.Errorf("date layout %q has no date or time fields (use YYYY MM DD HH mm ss, e.g. \"DD/MM/YYYY\", or a Go layout)", s)
	}
	return l, nil
}

func checkDate(_ *Mapping, args []ast.Node) (ast.Node, error) {
	for _, n := range args[1:] {
		if s, ok := constString(n); ok {
			if _, err := parseLayout(s); err != nil {
				return n, err
			}
		}
	}
	return nil, nil
}

func (l *layout) parse(s string) (time.Time, error) {
	switch {
	case l.unix:
		n, err := strconv.ParseInt(s, 10, 64)
		// Beyond year ±9999 is a unit mistake (milliseconds), not a date.
		if err != nil || n < -62135596800 || n > 253402300799 {
			return time.Time{}, errors.New("not a unix time")
		}
		return time.Unix(n, 0).UTC(), nil
	case l.iso:
		return time.Parse(time.RFC3339Nano, s)
	}
	return time.Parse(l.goLayout, s)
}

func (l *layout) format(t time.Time) string {
	if l.unix {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return t.Format(l.goLayout)
}

// dateOut is the layout date() writes when it is given none: the form of
// a date field.
const dateOut = "YYYY-MM-DD"

// dateFn reads s with layout a[1] and writes it with layout a[2], or as
// YYYY-MM-DD without one. A time without a zone is taken as UTC.
func dateFn(_ *runner, a []arg) (string, error) {
	s := strings.TrimSpace(a[0].s)
	if s == "" {
		return "", nil
	}
	in, err := parseLayout(a[1].s)
	if err != nil {
		return "", failf(CodeBadDate, a[0].s, "%s", err.Error())
	}
	outLayout := dateOut
	if len(a) > 2 {
		outLayout = a[2].s
	}
	out, err := parseLayout(outLayout)
	if err != nil {
		return "", failf(CodeBadDate, a[0].s, "%s", err.Error())
	}
	t, err := in.parse(s)
	if err != nil {
		return "", failf(CodeBadDate, a[0].s, "%s is not a date of the form %q", quote(s), a[1].s)
	}
	return out.format(t), nil
}

var (
	isoDates = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "20060102",
		"2.1.2006", "January 2, 2006", "Jan 2, 2006", "2 January 2006", "2 Jan 2006", "02-Jan-2006", "Jan 2 2006"}
	isoTimes = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04:05", "2006-01-02 15:04:05 -0700", "2006-01-02T15:04", "2006-01-02 15:04",
		"2.1.2006 15:04:05", "2.1.2006 15:04", time.RFC1123Z, "Mon, 02 Jan 2006 15:04:05 GMT",
		"Mon, 02 Jan 2006 15:04:05 UTC", time.ANSIC, time.RFC822Z}
	// Zone abbreviations other than GMT and UTC are left out on purpose:
	// package time reads them by the machine's local zone, so the same
	// file would give different records on different machines.
	// Slashed dates are day-first in most of the world and month-first in
	// the US; date_iso accepts one only when the two readings agree.
	slashDates = [][2]string{{"2/1/2006", "1/2/2006"}, {"2/1/2006 15:04", "1/2/2006 15:04"},
		{"2/1/2006 15:04:05", "1/2/2006 15:04:05"}}
)

// dateOnly is v on a date field: an RFC 3339 date and time ("2024-01-31T
// 10:00:00+02:00", what date_iso gives for a value with a time), with or
// without its zone, is cut to its date as written, the calendar day of
// whoever wrote it; any other value is left for validation to judge.
func dateOnly(v string) string {
	if len(v) <= 10 || v[10] != 'T' {
		return v
	}
	if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return v[:10]
	}
	if _, err := time.Parse("2006-01-02T15:04:05", v); err == nil {
		return v[:10]
	}
	return v
}

// dateISO reads common date forms and writes YYYY-MM-DD for a date, or
// RFC 3339 for a date with a time (UTC when the value has no zone).
func dateISO(_ *runner, a []arg) (string, error) {
	s := strings.TrimSpace(a[0].s)
	if s == "" {
		return "", nil
	}
	// Dates are short; skipping long values keeps a huge cell from being
	// parsed twenty times.
	if len(s) <= 64 {
		for _, l := range isoDates {
			if t, err := time.Parse(l, s); err == nil {
				return t.Format("2006-01-02"), nil
			}
		}
		for _, l := range isoTimes {
			if t, err := time.Parse(l, s); err == nil {
				return t.Format(time.RFC3339), nil
			}
		}
		for i, pair := range slashDates {
			dm, errDM := time.Parse(pair[0], s)
			md, errMD := time.Parse(pair[1], s)
			var t time.Time
			switch {
			case errDM == nil && errMD == nil && !dm.Equal(md):
				return "", failf(CodeBadDate, a[0].s, "%s is ambiguous: day/month or month/day? Use date(value, \"DD/MM/YYYY\", \"YYYY-MM-DD\") or \"MM/DD/YYYY\"", quote(s))
			case errDM == nil:
				t = dm
			case errMD == nil:
				t = md
			default:
				continue
			}
			if i == 0 {
				return t.Format("2006-01-02"), nil
			}
			return t.Format(time.RFC3339), nil
		}
	}
	return "", failf(CodeBadDate, a[0].s, "%s is not a date date_iso recognises; use date(value, layout_in, layout_out)", quote(s))
}
