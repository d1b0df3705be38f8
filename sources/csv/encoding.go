package csv

import (
	"bytes"
	"unicode/utf8"

	"crmsync/pipeline"
)

// checkFirstBlock stops a run, before any row is read, whose input was
// given no encoding and whose first block is not UTF-8. A whole file in
// another encoding would otherwise load its ASCII rows and reject the
// others: a partial load that is harder to undo than to redo. Bytes past
// the first block are checked row by row, so one bad row far into a file
// stays a reject of that row. complete says block holds the whole input.
func (s *Source) checkFirstBlock(block []byte, complete bool) error {
	if !complete {
		block = trimPartialRune(block)
	}
	if enc := utf16Order(block); enc != "" {
		return pipeline.Fatalf("file %s holds NUL bytes between its characters: it looks like %s without a byte order mark; "+
			"no row was read: run again with --encoding %s", s.display, enc, enc)
	}
	if utf8.Valid(block) {
		return nil
	}
	bad := 0
	for bad < len(block) {
		r, size := utf8.DecodeRune(block[bad:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		bad += size
	}
	// Lone CR line endings are LF in block by now.
	line := bytes.Count(block[:bad], []byte{'\n'}) + 1
	// UTF-8 text anywhere in the block says the file is UTF-8 with a
	// few broken rows: read as Windows-1252, its accents would turn into
	// other letters without a single reject.
	if hasMultibyteRune(block) {
		return pipeline.Fatalf("file %s: line %d is not valid UTF-8, yet other lines hold UTF-8 text: the file mixes encodings; "+
			"no row was read: give --encoding utf-8 to load the UTF-8 rows and reject the others, or export the file again as UTF-8", s.display, line)
	}
	enc := guessEncoding(block)
	return pipeline.Fatalf("file %s is not UTF-8 (line %d is the first line that is not): it looks like %s; "+
		"no row was read: run again with --encoding %s", s.display, line, enc, enc)
}

// guessEncoding names the single-byte encoding that most likely wrote b,
// which is not UTF-8. Bytes 0x80 to 0x9F are control characters in
// ISO-8859-1, never seen in text, but letters and punctuation (€ ‘ ’ “ ” –
// Š Ž œ) in Windows-1252, which Excel and Windows programs write.
func guessEncoding(b []byte) string {
	for _, c := range b {
		if c >= 0x80 && c <= 0x9f {
			return "windows-1252"
		}
	}
	return "iso-8859-1"
}

// utf16Order names the byte order of b when b looks like UTF-16 text
// without a byte order mark: a NUL in at least a quarter of its bytes, as
// the high bytes of Latin text are, mostly on one side of each pair. It
// returns "" otherwise; a stray NUL or two is a row's problem.
func utf16Order(b []byte) string {
	var even, odd int
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	switch {
	case len(b) < 4 || (even+odd)*4 < len(b):
		return ""
	case odd > even:
		return "utf-16le"
	default:
		return "utf-16be"
	}
}

// hasMultibyteRune reports whether b holds a valid UTF-8 sequence of more
// than one byte.
func hasMultibyteRune(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			return true
		}
		i++
	}
	return false
}

// trimPartialRune drops the start of a UTF-8 sequence that the end of b
// cuts, so a block cut mid-character is not taken for invalid text.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}
