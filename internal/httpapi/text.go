package httpapi

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxText is the most bytes of a server's text (an error message, an
// excerpt of a body) that an error keeps.
const MaxText = 200

// OneLine makes text from an answer fit for a one-line message: spaces
// and control characters become single spaces, invalid UTF-8 U+FFFD, and
// what is past MaxText bytes is cut, on a character boundary. A proxy's
// HTML error page would otherwise spill over many lines of a terminal or
// a log, its escape sequences with it, and an error envelope's message of
// any size would go whole into summary.json and every reject.
//
// Callers remove secrets before they call it: a cut could leave the
// start of a secret, which a redactor would not recognise.
func OneLine(s string) string {
	// Only the start can show; cleaning all of a huge text would cost
	// more than the call.
	s = s[:min(len(s), 8*MaxText)]
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxText {
		cut := MaxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
