// Package parquet reads Parquet exports as a [pipeline.Source] and writes
// reject files as Parquet.
//
// # Reading
//
// [Open] reads the footer and schema; [Source.Next] then streams Arrow record
// batches of at most Options.BatchSize rows (pqarrow, with pages read as
// they are needed so memory does not grow with row group size) and renders
// every value as text, once per column per batch, into one buffer per
// batch. Row.Num counts rows from 1 across the whole file; Row.Line is 0.
// Options.Columns reads only some columns, which is also faster: the
// others cost nothing but their share of the footer, which Parquet keeps
// whole at the end of the file. [Source.Header] still lists them all.
//
// Flat text columns (BYTE_ARRAY as strings, in PLAIN or dictionary
// encoding, as nearly every writer makes them) skip Arrow's record reader:
// their pages are decoded here, a plain value copied once into the batch's
// text and a dictionary value shared from the dictionary, which halves
// what reading costs. Other encodings and every other type go through
// Arrow; a test holds both readers to the same rows and rejects.
//
// Dictionary-typed columns (a file written from Arrow or pandas with
// categoricals) are decoded to plain values while reading: Arrow v17 cannot
// return a dictionary batch that spans two row groups.
//
// How values are rendered (a null is always ""):
//
//   - strings: as they are; a value that is not valid UTF-8 rejects its row
//     with code "encoding".
//   - booleans: "true", "false". Integers: decimal.
//   - floats (16, 32, 64 bit): strconv's shortest form ('g', -1), so
//     "0.1", "1e+21", "NaN", "+Inf".
//   - decimals (128 and 256 bit): exact, with exactly scale digits after
//     the point ("123.40"); a negative scale appends zeros.
//   - date32/date64: "2006-01-02".
//   - timestamps, any unit: RFC 3339 with the fraction only when not zero
//     ("2024-03-01T12:30:00Z", "2024-03-01T12:30:00.25Z"); in UTC ("Z")
//     when the column has no time zone, else with the zone's offset. INT96
//     timestamps (Spark, Impala) read as nanoseconds. Zone data is built
//     in, so a host without tzdata renders the same.
//   - time32/time64: "15:04:05" with the fraction only when not zero.
//   - binary and fixed-size binary: standard base64 with padding, because
//     it is what JSON exports of the same data show and it is compact;
//     Options.BinaryAsString renders BINARY as text instead, for files
//     that store strings without the UTF8 annotation (Impala, Hive).
//   - FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type: the canonical
//     8-4-4-4-12 lowercase form.
//   - dictionary-encoded columns: their values, as above.
//   - nested columns (list, struct, map): JSON, so a reject file keeps
//     them readable. They are listed by [Source.NestedColumns], and a
//     mapping that uses one is an error of the mapping layer.
//   - anything else Arrow may hand back (durations, intervals): Arrow's
//     own ValueStr.
//
// Corrupt or truncated files are fatal errors naming the file (and, while
// reading, the row group); Arrow panics on some corrupt input, and those
// panics are recovered at Open and Next. Row groups are read one at a
// time. Before one is read, the page headers of its column chunks are
// walked: each chunk's pages must be of known types, lie within it, and
// hold the values its footer counts. Then its rows must come out as many
// as its footer promises, in columns of equal length. Arrow takes a page
// header it cannot read for the end of a column's row group, which would
// otherwise drop rows, or pair one row's values with another's, without
// an error; short of a chunk's values it reads on past its last page and
// can spin there for ever. The footer's own lengths (column chunks, the
// Arrow schema pyarrow stores) are checked before Arrow allocates by
// them. Values damaged inside a page go unseen: Parquet files carry no
// checksum Arrow checks.
//
// # Memory
//
// A batch's values are strings over one buffer allocated for that batch,
// or over the dictionary of a column in its row group; a caller that
// keeps one value for long (a key in a map for the whole run) keeps all
// that text alive, and should strings.Clone it.
//
// # Reject files
//
// [RejectWriter] writes the source columns (less those whose name starts
// with "_", so a reject file fed back does not grow) as nullable strings,
// then [pipeline.RejectColumns] with _row as int64, in snappy-compressed
// row groups of up to 16Ki rows or 8 MB. An empty value is written as null.
// It is given the columns read: crmsync reads a Parquet source only in the
// columns its mapping reads, so its rejects.parquet holds those, which is
// what the same mapping needs to sync the fixed rows, and not the others.
package parquet
