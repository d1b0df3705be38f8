package emulator

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FoldKey is the form in which an emulator compares text regardless of
// case, for a UNIQUE column (emails, names) or a case-insensitive search:
// each character replaced by the smallest of its Unicode simple case
// folds. Two strings have one key exactly when strings.EqualFold says
// they are equal, which SQLite's NOCASE (ASCII only) cannot give, and the
// key is made character by character, so a substring of a string folds
// to a substring of its key and LIKE on keys finds what EqualFold would.
// Bytes that are not UTF-8 become U+FFFD, as EqualFold reads them. Safe
// from any goroutine.
func FoldKey(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'a' <= c && c <= 'z' {
			return foldFrom(s, i)
		}
	}
	// Nothing to fold: the common case of a key already folded.
	return s
}

// foldFrom folds s, whose bytes before i need no folding.
func foldFrom(s string, i int) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch {
		case 'a' <= r && r <= 'z':
			// The smallest of an ASCII letter's folds is its upper case.
			b.WriteByte(byte(r - 'a' + 'A'))
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		default:
			m := r
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				m = min(m, f)
			}
			b.WriteRune(m)
		}
	}
	return b.String()
}
