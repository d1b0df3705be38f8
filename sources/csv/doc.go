// Package csv reads delimited text exports as a [pipeline.Source] and writes
// reject files in the same format.
//
// # Reading
//
// [Open] takes a path ("-" for standard input), reads the header row and
// returns a Source that streams the data rows in batches. Input may be
// gzip-compressed (by the ".gz" extension or the gzip magic bytes). The
// delimiter, when not given, is chosen among , ; tab and | from the first
// lines: the candidate that appears in the header and the same number of
// times on every sampled line wins, then the one appearing most often in
// the header; a file with none of them is read as one column.
//
// Encodings: UTF-8 (the default; a byte order mark is dropped), "latin1"
// (ISO-8859-1), "windows-1252" and "utf-16" (the byte order mark decides the
// endianness, little-endian without one; "utf-16le" and "utf-16be" force
// it). A file that starts with a UTF-16 byte order mark is read as UTF-16
// even when no encoding is given, because those two bytes cannot start a
// UTF-8 text; one that starts with a UTF-8 byte order mark is read as UTF-8
// whatever encoding is given, because no Latin-1 or UTF-16 text starts
// with it (and reject files carry one). Files whose lines end with CR
// alone (Excel for Mac's "CSV (Macintosh)") are read as if they ended with
// LF.
//
// The header names the columns. Names are trimmed of surrounding spaces; an
// empty name becomes "column_N" (N counted from 1) so that a trailing
// delimiter, which spreadsheets often leave, does not stop a run; a name
// that appears twice is a fatal error, since mapping by name would be
// ambiguous.
//
// # Rows that cannot be read
//
// A bad row never stops the run: it is returned with a [pipeline.Reject] of
// stage "read" and one of these codes, and the next row is read.
//
//   - "field_count": the row has more or fewer fields than the header.
//   - "bad_quote": a quote in an unquoted field, or a quoted field not
//     closed properly. encoding/csv drops the rest of such a line, so the
//     row's Values are the line re-read leniently (quotes taken as text),
//     and nothing of it is lost from the reject file.
//   - "field_too_long": a field over [MaxFieldBytes].
//   - "nul_byte": a field holds a NUL byte (a binary file, or a broken
//     export).
//   - "encoding": a field of a UTF-8 file is not valid UTF-8; the message
//     names the column and suggests --encoding latin1 or windows-1252.
//
// What is fatal: an empty file, a header that cannot be parsed or that is
// not valid UTF-8 or holds NUL bytes (the whole file is in another
// encoding: the error says which option to try), a file given no encoding
// whose first 64 KiB are not UTF-8 (the error names the encoding it looks
// like: utf-16le or utf-16be when NUL bytes sit between the characters,
// windows-1252 when it holds bytes 0x80 to 0x9F, iso-8859-1 otherwise; or
// it says that the file mixes UTF-8 with something else; an encoding of
// "utf-8" given explicitly turns this back into "encoding" rejects), a read
// error (including a truncated .gz), and a single row over 32 MiB, which
// means an opening quote is never closed: reading on would hold the rest of
// the file in memory as one row, and guessing where the row was meant to end
// could sync made-up rows.
//
// # Memory
//
// Each row's values share one string allocated by encoding/csv, and its
// Values are the slice encoding/csv returned for it; a caller that keeps
// one value of a row for long (a key in a map for the whole run) keeps the
// row's other values alive too, and should strings.Clone it.
//
// # Reject files
//
// [RejectWriter] writes UTF-8 with a byte order mark (Excel needs it to
// show accents), the source columns (less those whose name starts
// with "_", so a reject file fed back does not grow) and then
// [pipeline.RejectColumns]. Every cell goes through [EscapeFormula] so a
// spreadsheet never runs a value as a formula. When a file whose header
// holds all of [pipeline.RejectColumns] is read, the Source undoes exactly
// that escaping, so a fixed reject file syncs the original values; in any
// other file a leading quote is data and is kept.
package csv
