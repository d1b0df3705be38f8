package parquet

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // time zones render the same on a host without tzdata
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/decimal256"

	"crmsync/pipeline"
)

// appendFunc appends the text of a column's value i, known not to be null.
type appendFunc func(buf []byte, i int) []byte

// convert renders column c of a batch. The type is looked at once per
// column, not per value; the common types have loops of their own, the
// rest go through an appendFunc.
func (s *Source) convert(b *batch, c int, arr arrow.Array) {
	switch a := arr.(type) {
	case *array.String:
		bulkText(s, b, c, a, a.ValueOffsets(), a.ValueBytes())
		return
	case *array.LargeString:
		bulkText(s, b, c, a, a.ValueOffsets(), a.ValueBytes())
		return
	case *array.Binary:
		if s.binAsStr {
			bulkText(s, b, c, a, a.ValueOffsets(), a.ValueBytes())
			return
		}
	case *array.LargeBinary:
		if s.binAsStr {
			bulkText(s, b, c, a, a.ValueOffsets(), a.ValueBytes())
			return
		}
	case *array.Int64:
		nulls := a.NullN() > 0
		for r, v := range a.Int64Values()[:b.n] {
			if nulls && a.IsNull(r) {
				continue
			}
			start := len(b.buf)
			b.buf = strconv.AppendInt(b.buf, v, 10)
			b.set(r, c, start)
		}
		return
	case *array.Int32:
		nulls := a.NullN() > 0
		for r, v := range a.Int32Values()[:b.n] {
			if nulls && a.IsNull(r) {
				continue
			}
			start := len(b.buf)
			b.buf = strconv.AppendInt(b.buf, int64(v), 10)
			b.set(r, c, start)
		}
		return
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		if tt.TimeZone == "" || tt.TimeZone == "UTC" || tt.TimeZone == "Z" || tt.TimeZone == "+00:00" {
			perSec := int64(1)
			switch tt.Unit {
			case arrow.Millisecond:
				perSec = 1e3
			case arrow.Microsecond:
				perSec = 1e6
			case arrow.Nanosecond:
				perSec = 1e9
			}
			nsPer := 1e9 / perSec
			nulls := a.NullN() > 0
			for r, v := range a.TimestampValues()[:b.n] {
				if nulls && a.IsNull(r) {
					continue
				}
				start := len(b.buf)
				sec := floorDiv(int64(v), perSec)
				b.buf = appendRFC3339UTC(b.buf, sec, (int64(v)-sec*perSec)*nsPer)
				b.set(r, c, start)
			}
			return
		}
	}
	app, check := s.appender(arr, s.info[c])
	nulls := arr.NullN() > 0
	for r := 0; r < b.n; r++ {
		if nulls && arr.IsNull(r) {
			continue
		}
		start := len(b.buf)
		b.buf = app(b.buf, r)
		if check && !utf8.Valid(b.buf[start:]) {
			s.rejectEncoding(b, r, c)
		}
		b.set(r, c, start)
	}
}

func (s *Source) rejectEncoding(b *batch, r, c int) {
	b.reject(r, &pipeline.Reject{
		Stage:   pipeline.StageRead,
		Code:    pipeline.CodeEncoding,
		Column:  s.cols[c],
		Message: fmt.Sprintf("file %s row %d: column %s is not valid UTF-8", s.path, s.num+int64(r)+1, pipeline.Quote(s.cols[c])),
	})
}

// bulkText copies a text column's bytes for the whole batch at once and
// slices the values from the copy. The UTF-8 check runs once over all of
// it; a value is then valid if it also starts and ends on a character
// boundary, so only values that fail that are checked on their own.
func bulkText[T int32 | int64](s *Source, b *batch, c int, arr arrow.Array, offs []T, data []byte) {
	if len(data) == 0 {
		return
	}
	base := len(b.buf)
	b.buf = append(b.buf, data...)
	// Later appends only write past this slice's end, so the strings over
	// it never change.
	chunk := b.buf[base:len(b.buf):len(b.buf)]
	valid := utf8.Valid(chunk)
	o0 := offs[0]
	nulls := arr.NullN() > 0
	for r := range b.n {
		lo, hi := int(offs[r]-o0), int(offs[r+1]-o0)
		if hi == lo || nulls && arr.IsNull(r) {
			continue
		}
		v := chunk[lo:hi]
		if !valid || !utf8.RuneStart(v[0]) || hi < len(chunk) && !utf8.RuneStart(chunk[hi]) {
			if !utf8.Valid(v) {
				s.rejectEncoding(b, r, c)
			}
		}
		b.vals[r*b.ncols+c] = unsafe.String(&v[0], len(v))
	}
}

// appender returns how to render arr's values, and whether the result must
// be checked to be UTF-8 (text that Parquet stores as bytes).
func (s *Source) appender(arr arrow.Array, info colInfo) (appendFunc, bool) {
	switch a := arr.(type) {
	case *array.String:
		return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }, true
	case *array.LargeString:
		return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }, true
	case *array.Binary:
		if s.binAsStr {
			return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }, true
		}
		return func(buf []byte, i int) []byte { return base64.StdEncoding.AppendEncode(buf, a.Value(i)) }, false
	case *array.LargeBinary:
		if s.binAsStr {
			return func(buf []byte, i int) []byte { return append(buf, a.Value(i)...) }, true
		}
		return func(buf []byte, i int) []byte { return base64.StdEncoding.AppendEncode(buf, a.Value(i)) }, false
	case *array.FixedSizeBinary:
		if info.uuid && a.DataType().(*arrow.FixedSizeBinaryType).ByteWidth == 16 {
			return func(buf []byte, i int) []byte { return appendUUID(buf, a.Value(i)) }, false
		}
		return func(buf []byte, i int) []byte { return base64.StdEncoding.AppendEncode(buf, a.Value(i)) }, false
	case *array.Boolean:
		return func(buf []byte, i int) []byte { return strconv.AppendBool(buf, a.Value(i)) }, false
	case *array.Int8:
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, int64(a.Value(i)), 10) }, false
	case *array.Int16:
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, int64(a.Value(i)), 10) }, false
	case *array.Int32:
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, int64(a.Value(i)), 10) }, false
	case *array.Int64:
		return func(buf []byte, i int) []byte { return strconv.AppendInt(buf, a.Value(i), 10) }, false
	case *array.Uint8:
		return func(buf []byte, i int) []byte { return strconv.AppendUint(buf, uint64(a.Value(i)), 10) }, false
	case *array.Uint16:
		return func(buf []byte, i int) []byte { return strconv.AppendUint(buf, uint64(a.Value(i)), 10) }, false
	case *array.Uint32:
		return func(buf []byte, i int) []byte { return strconv.AppendUint(buf, uint64(a.Value(i)), 10) }, false
	case *array.Uint64:
		return func(buf []byte, i int) []byte { return strconv.AppendUint(buf, a.Value(i), 10) }, false
	case *array.Float16:
		return func(buf []byte, i int) []byte {
			return strconv.AppendFloat(buf, float64(a.Value(i).Float32()), 'g', -1, 32)
		}, false
	case *array.Float32:
		return func(buf []byte, i int) []byte { return strconv.AppendFloat(buf, float64(a.Value(i)), 'g', -1, 32) }, false
	case *array.Float64:
		return func(buf []byte, i int) []byte { return strconv.AppendFloat(buf, a.Value(i), 'g', -1, 64) }, false
	case *array.Date32:
		return func(buf []byte, i int) []byte { return appendDate(buf, int64(a.Value(i))) }, false
	case *array.Date64:
		return func(buf []byte, i int) []byte { return appendDate(buf, floorDiv(int64(a.Value(i)), 86_400_000)) }, false
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		unit := tt.Unit
		loc := time.UTC
		if tt.TimeZone != "" {
			// An unknown zone still names an instant: render it in UTC
			// rather than fail the run.
			if l, err := tt.GetZone(); err == nil && l != nil {
				loc = l
			}
		}
		if loc == time.UTC || loc.String() == "UTC" {
			return func(buf []byte, i int) []byte {
				t := a.Value(i).ToTime(unit)
				return appendRFC3339UTC(buf, t.Unix(), int64(t.Nanosecond()))
			}, false
		}
		return func(buf []byte, i int) []byte {
			return a.Value(i).ToTime(unit).In(loc).AppendFormat(buf, time.RFC3339Nano)
		}, false
	case *array.Time32:
		mult := int64(time.Second)
		if a.DataType().(*arrow.Time32Type).Unit == arrow.Millisecond {
			mult = int64(time.Millisecond)
		}
		return func(buf []byte, i int) []byte { return appendClock(buf, int64(a.Value(i))*mult) }, false
	case *array.Time64:
		mult := int64(1)
		if a.DataType().(*arrow.Time64Type).Unit == arrow.Microsecond {
			mult = int64(time.Microsecond)
		}
		return func(buf []byte, i int) []byte { return appendClock(buf, int64(a.Value(i))*mult) }, false
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return func(buf []byte, i int) []byte { return appendDecimal128(buf, a.Value(i), scale) }, false
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return func(buf []byte, i int) []byte { return appendDecimal256(buf, a.Value(i), scale) }, false
	case *array.Dictionary:
		dict := a.Dictionary()
		inner, check := s.appender(dict, info)
		return func(buf []byte, i int) []byte {
			j := a.GetValueIndex(i)
			if dict.IsNull(j) {
				return buf
			}
			return inner(buf, j)
		}, check
	case array.ExtensionArray:
		return s.appender(a.Storage(), info)
	case *array.Null:
		return func(buf []byte, _ int) []byte { return buf }, false
	}
	if isNested(arr.DataType()) {
		return func(buf []byte, i int) []byte {
			js, err := json.Marshal(arr.GetOneForMarshal(i))
			if err != nil {
				return append(buf, arr.ValueStr(i)...)
			}
			return append(buf, js...)
		}, false
	}
	// Types Parquet files seldom carry (durations, intervals): Arrow's own
	// rendering, rather than losing the value.
	return func(buf []byte, i int) []byte { return append(buf, arr.ValueStr(i)...) }, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func append2(buf []byte, v int) []byte {
	return append(buf, byte('0'+v/10), byte('0'+v%10))
}

func append4(buf []byte, v int) []byte {
	return append(buf, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendFraction appends ".ddd" with trailing zeros dropped, or nothing
// for zero nanoseconds.
func appendFraction(buf []byte, ns int) []byte {
	if ns == 0 {
		return buf
	}
	var d [9]byte
	for k := 8; k >= 0; k-- {
		d[k] = byte('0' + ns%10)
		ns /= 10
	}
	n := 9
	for d[n-1] == '0' {
		n--
	}
	buf = append(buf, '.')
	return append(buf, d[:n]...)
}

// civil returns the proleptic Gregorian date of a day count since
// 1970-01-01 (Howard Hinnant's days_from_civil, inverted), without going
// through time.Time.
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func appendYMD(buf []byte, y int64, m, d int) []byte {
	buf = append4(buf, int(y))
	buf = append(buf, '-')
	buf = append2(buf, m)
	buf = append(buf, '-')
	return append2(buf, d)
}

// appendDate renders a day count since 1970-01-01 as 2006-01-02.
func appendDate(buf []byte, days int64) []byte {
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return time.Unix(days*86400, 0).UTC().AppendFormat(buf, "2006-01-02")
	}
	return appendYMD(buf, y, m, d)
}

// appendRFC3339UTC renders an instant (seconds since the epoch and
// nanoseconds, 0 <= nsec < 1e9) as time.RFC3339Nano does in UTC, without
// building a time.Time, which costs more than the rest of a row.
func appendRFC3339UTC(buf []byte, sec, nsec int64) []byte {
	days, sod := sec/86400, sec%86400
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return time.Unix(sec, nsec).UTC().AppendFormat(buf, time.RFC3339Nano)
	}
	var t [30]byte
	yy, h, mi, s := int(y), int(sod/3600), int(sod/60%60), int(sod%60)
	t[0], t[1], t[2], t[3] = byte('0'+yy/1000), byte('0'+yy/100%10), byte('0'+yy/10%10), byte('0'+yy%10)
	t[4], t[5], t[6] = '-', byte('0'+m/10), byte('0'+m%10)
	t[7], t[8], t[9] = '-', byte('0'+d/10), byte('0'+d%10)
	t[10], t[11], t[12] = 'T', byte('0'+h/10), byte('0'+h%10)
	t[13], t[14], t[15] = ':', byte('0'+mi/10), byte('0'+mi%10)
	t[16], t[17], t[18] = ':', byte('0'+s/10), byte('0'+s%10)
	n := 19
	if nsec != 0 {
		t[19] = '.'
		ns := int(nsec)
		for k := 28; k >= 20; k-- {
			t[k] = byte('0' + ns%10)
			ns /= 10
		}
		n = 29
		for t[n-1] == '0' {
			n--
		}
	}
	t[n] = 'Z'
	return append(buf, t[:n+1]...)
}

// appendClock renders a time of day given in nanoseconds since midnight as
// 15:04:05 with the fraction when not zero.
func appendClock(buf []byte, ns int64) []byte {
	if ns < 0 || ns >= 100*int64(time.Hour) {
		// Not a time of day; show the number rather than a made-up time.
		return strconv.AppendInt(buf, ns, 10)
	}
	h := int(ns / int64(time.Hour))
	ns -= int64(h) * int64(time.Hour)
	m := int(ns / int64(time.Minute))
	ns -= int64(m) * int64(time.Minute)
	sec := int(ns / int64(time.Second))
	ns -= int64(sec) * int64(time.Second)
	buf = append2(buf, h)
	buf = append(buf, ':')
	buf = append2(buf, m)
	buf = append(buf, ':')
	buf = append2(buf, sec)
	return appendFraction(buf, int(ns))
}

func appendUUID(buf []byte, b []byte) []byte {
	var d [36]byte
	hex.Encode(d[0:8], b[0:4])
	d[8] = '-'
	hex.Encode(d[9:13], b[4:6])
	d[13] = '-'
	hex.Encode(d[14:18], b[6:8])
	d[18] = '-'
	hex.Encode(d[19:23], b[8:10])
	d[23] = '-'
	hex.Encode(d[24:], b[10:16])
	return append(buf, d[:]...)
}

func appendDecimal128(buf []byte, n decimal128.Num, scale int32) []byte {
	var tmp [48]byte
	hi, lo := n.HighBits(), n.LowBits()
	var digits []byte
	if (hi == 0 && lo>>63 == 0) || (hi == -1 && lo>>63 == 1) {
		digits = strconv.AppendInt(tmp[:0], int64(lo), 10)
	} else {
		digits = n.BigInt().Append(tmp[:0], 10)
	}
	return appendScaled(buf, digits, scale)
}

func appendDecimal256(buf []byte, n decimal256.Num, scale int32) []byte {
	var tmp [96]byte
	w := n.Array()
	var digits []byte
	if (w[3] == 0 && w[2] == 0 && w[1] == 0 && w[0]>>63 == 0) ||
		(w[3] == ^uint64(0) && w[2] == ^uint64(0) && w[1] == ^uint64(0) && w[0]>>63 == 1) {
		digits = strconv.AppendInt(tmp[:0], int64(w[0]), 10)
	} else {
		digits = n.BigInt().Append(tmp[:0], 10)
	}
	return appendScaled(buf, digits, scale)
}

// appendScaled renders the unscaled integer digits (maybe with a leading
// '-') with scale digits after the point, exactly: 12345 at scale 2 is
// 123.45, at scale -2 is 1234500.
func appendScaled(buf, digits []byte, scale int32) []byte {
	if len(digits) > 0 && digits[0] == '-' {
		buf = append(buf, '-')
		digits = digits[1:]
	}
	switch {
	case scale == 0:
		return append(buf, digits...)
	case scale < 0:
		buf = append(buf, digits...)
		if len(digits) == 1 && digits[0] == '0' {
			return buf
		}
		for range -scale {
			buf = append(buf, '0')
		}
		return buf
	}
	sc := int(scale)
	if len(digits) <= sc {
		buf = append(buf, '0', '.')
		for range sc - len(digits) {
			buf = append(buf, '0')
		}
		return append(buf, digits...)
	}
	buf = append(buf, digits[:len(digits)-sc]...)
	buf = append(buf, '.')
	return append(buf, digits[len(digits)-sc:]...)
}
