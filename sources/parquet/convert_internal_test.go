package parquet

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// render converts one array the way Next does and returns its values.
func render(t *testing.T, arr arrow.Array) []string {
	t.Helper()
	s := &Source{path: "t.parquet", cols: []string{"c"}, info: []colInfo{{name: "c"}}}
	b := &batch{n: arr.Len(), ncols: 1, vals: make([]string, arr.Len())}
	s.convert(b, 0, arr)
	return b.vals
}

// The reader decodes dictionaries (see undictionary), but a dictionary
// array must still render if one comes through.
func TestRenderDictionaryAndOthers(t *testing.T) {
	tests := []struct {
		typ  arrow.DataType
		json string
		want []string
	}{
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, `["gold", null, "silver", "gold"]`, []string{"gold", "", "silver", "gold"}},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.PrimitiveTypes.Int64}, `[7, 7, null]`, []string{"7", "7", ""}},
		{arrow.Null, `[null, null]`, []string{"", ""}},
		{arrow.FixedWidthTypes.Duration_s, `[90, null]`, []string{"90s", ""}},
	}
	for _, tt := range tests {
		arr, _, err := array.FromJSON(memory.DefaultAllocator, tt.typ, strings.NewReader(tt.json))
		if err != nil {
			t.Fatalf("%s: %v", tt.typ, err)
		}
		got := render(t, arr)
		for i := range tt.want {
			if got[i] != tt.want[i] {
				t.Errorf("%s value %d = %q, want %q", tt.typ, i, got[i], tt.want[i])
			}
		}
	}
}

func TestAppendScaled(t *testing.T) {
	tests := []struct {
		digits string
		scale  int32
		want   string
	}{
		{"12345", 2, "123.45"},
		{"-5", 2, "-0.05"},
		{"0", 2, "0.00"},
		{"1", 3, "0.001"},
		{"-12", 0, "-12"},
		{"5", -2, "500"},
		{"-5", -2, "-500"},
		{"0", -2, "0"},
		{"123456789012345678901234567890", 30, "0.123456789012345678901234567890"},
	}
	for _, tt := range tests {
		if got := string(appendScaled(nil, []byte(tt.digits), tt.scale)); got != tt.want {
			t.Errorf("appendScaled(%s, %d) = %q, want %q", tt.digits, tt.scale, got, tt.want)
		}
	}
}

// The hand-written formatter must agree with the time package's.
func TestAppendRFC3339UTCMatchesTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edge := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 100, time.UTC),
	}
	for i := range 20000 {
		var tm time.Time
		if i < len(edge) {
			tm = edge[i]
		} else {
			tm = time.Unix(r.Int64N(1<<36)-1<<35, r.Int64N(1e9)).UTC()
			if i%3 == 0 {
				tm = tm.Truncate(time.Second)
			}
		}
		if got, want := string(appendRFC3339UTC(nil, tm.Unix(), int64(tm.Nanosecond()))), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendRFC3339UTC(%v) = %q, want %q", tm, got, want)
		}
		days := tm.Unix() / 86400
		if tm.Unix() < 0 && tm.Unix()%86400 != 0 {
			days--
		}
		if got, want := string(appendDate(nil, days)), time.Unix(days*86400, 0).UTC().Format("2006-01-02"); got != want {
			t.Fatalf("appendDate(%d) = %q, want %q", days, got, want)
		}
	}
}

func TestAppendClock(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{0, "00:00:00"},
		{int64(23*time.Hour + 59*time.Minute + 59*time.Second + 999999999), "23:59:59.999999999"},
		{int64(12*time.Hour + 500*time.Millisecond), "12:00:00.5"},
		{-1, "-1"},
	}
	for _, tt := range tests {
		if got := string(appendClock(nil, tt.ns)); got != tt.want {
			t.Errorf("appendClock(%d) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}
