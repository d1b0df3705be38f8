package pipeline_test

import (
	"encoding/json"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"crmsync/pipeline"
)

// TestCanonical: each kind's canonical text, and the values that are not
// of the kind.
func TestCanonical(t *testing.T) {
	const bad = "\x01bad" // marks a value Canonical must refuse
	for _, c := range []struct {
		kind    pipeline.Kind
		in, out string
	}{
		{pipeline.KindInt, "7", "7"},
		{pipeline.KindInt, "007", "7"},
		{pipeline.KindInt, "+7", "7"},
		{pipeline.KindInt, "-007", "-7"},
		{pipeline.KindInt, "-0", "0"},
		{pipeline.KindInt, "000", "0"},
		{pipeline.KindInt, "123456789012345678", "123456789012345678"},
		{pipeline.KindInt, "0000123456789012345678", "123456789012345678"},
		{pipeline.KindInt, "1234567890123456789", bad},
		{pipeline.KindInt, "+-5", bad},
		{pipeline.KindInt, "-+5", bad},
		{pipeline.KindInt, "--5", bad},
		{pipeline.KindInt, "+", bad},
		{pipeline.KindInt, "-", bad},
		{pipeline.KindInt, "", bad},
		{pipeline.KindInt, "1.0", bad},
		{pipeline.KindInt, "1e3", bad},
		{pipeline.KindInt, "0x10", bad},
		{pipeline.KindInt, " 7", bad},
		{pipeline.KindInt, "1_000", bad},
		{pipeline.KindInt, "٣", bad}, // an Arabic-Indic three
		{pipeline.KindDecimal, "12.5", "12.5"},
		{pipeline.KindDecimal, "12.50", "12.5"},
		{pipeline.KindDecimal, "012.500", "12.5"},
		{pipeline.KindDecimal, "+12.5", "12.5"},
		{pipeline.KindDecimal, "-0.0", "0"},
		{pipeline.KindDecimal, "-0.50", "-0.5"},
		{pipeline.KindDecimal, "5.", "5"},
		{pipeline.KindDecimal, ".5", "0.5"},
		{pipeline.KindDecimal, "-.5", "-0.5"},
		{pipeline.KindDecimal, ".50", "0.5"},
		{pipeline.KindDecimal, "00.5", "0.5"},
		{pipeline.KindDecimal, "0.5", "0.5"},
		{pipeline.KindDecimal, "10", "10"},
		{pipeline.KindDecimal, "10.0", "10"},
		{pipeline.KindDecimal, "-10.05", "-10.05"},
		{pipeline.KindDecimal, "-00", "0"},
		{pipeline.KindDecimal, "123456789012345678901234567890.5", "123456789012345678901234567890.5"},
		{pipeline.KindDecimal, "100", "100"},
		{pipeline.KindDecimal, "0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001"},
		{pipeline.KindDecimal, "0.000000000000000000000000000000000000001", bad}, // 39 decimals
		{pipeline.KindDecimal, "1/2", bad},
		{pipeline.KindDecimal, "0o17", bad},
		{pipeline.KindDecimal, "0b11", bad},
		{pipeline.KindDecimal, "0x1p-2", bad},
		{pipeline.KindDecimal, "1e3", bad},
		{pipeline.KindDecimal, "1E3", bad},
		{pipeline.KindDecimal, "1_000.5", bad},
		{pipeline.KindDecimal, "1,5", bad},
		{pipeline.KindDecimal, "1.2.3", bad},
		{pipeline.KindDecimal, ".", bad},
		{pipeline.KindDecimal, "-", bad},
		{pipeline.KindDecimal, "++1", bad},
		{pipeline.KindDecimal, "Inf", bad},
		{pipeline.KindDecimal, "-inf", bad},
		{pipeline.KindDecimal, "NaN", bad},
		{pipeline.KindDecimal, "", bad},
		{pipeline.KindDecimal, " 1", bad},
		{pipeline.KindDate, "2024-02-29", "2024-02-29"},
		{pipeline.KindDate, "2023-02-29", bad},
		{pipeline.KindDate, "2024-2-29", bad},
		{pipeline.KindDate, "2024-02-29T00:00:00Z", bad},
		{pipeline.KindDate, "29/02/2024", bad},
		{pipeline.KindDate, "", bad},
		{pipeline.KindBool, "true", "true"},
		{pipeline.KindBool, "false", "false"},
		{pipeline.KindBool, "TRUE", bad},
		{pipeline.KindBool, "yes", bad},
		{pipeline.KindBool, "1", bad},
		{pipeline.KindBool, "", bad},
		{pipeline.KindList, `["a","b"]`, `["a","b"]`},
		{pipeline.KindList, ` [ "a" , "b" ] `, `["a","b"]`},
		{pipeline.KindList, `["b","a"]`, `["b","a"]`}, // order is kept: lists are compared whole
		{pipeline.KindList, `["<&>"]`, `["\u003c\u0026\u003e"]`},
		{pipeline.KindList, `["\u00e9"]`, `["é"]`},
		{pipeline.KindList, "[\"b\xadd\"]", "[\"b\uFFFDd\"]"},
		{pipeline.KindList, `[]`, ""},
		{pipeline.KindList, ` [ ] `, ""},
		{pipeline.KindList, `null`, bad},
		{pipeline.KindList, `"a"`, bad},
		{pipeline.KindList, `a;b`, bad},
		{pipeline.KindList, `[1,2]`, bad},
		{pipeline.KindList, `["a",null]`, bad},
		{pipeline.KindList, `["a"`, bad},
		{pipeline.KindList, ``, bad},
		// Kinds without a canonical form beyond their check come back as
		// they are.
		{pipeline.KindString, " Ana ", " Ana "},
		{pipeline.KindEmail, "Ana@Example.com", "Ana@Example.com"},
		{pipeline.KindCountry, "DE", "DE"},
	} {
		got, ok := pipeline.Canonical(c.kind, c.in)
		switch {
		case c.out == bad && ok:
			t.Errorf("Canonical(%s, %q) = %q, want it refused", c.kind, c.in, got)
		case c.out != bad && (!ok || got != c.out):
			t.Errorf("Canonical(%s, %q) = %q, %v; want %q", c.kind, c.in, got, ok, c.out)
		}
	}
}

// FuzzCanonical: a canonical value is its own canonical form, so that
// values the state, a record and the CRM hold compare as text; and
// Canonical accepts exactly what validation accepts.
func FuzzCanonical(f *testing.F) {
	for _, seed := range []string{"007", "-0", "12.50", ".5", "1/2", "2024-02-29", "true", `["a","b"]`, `[]`, "null", "+-5", "\xad", `["\xad"]`,
		"[\"b\xadd\"]", `[""]`, `["a",""]`, `[","]`, `["a"",""b"]`, `["<"]`, "[\"\u2028\"]", `["\u00e9"]`, `["a","b",]`} {
		f.Add(seed)
	}
	kinds := []pipeline.Kind{pipeline.KindInt, pipeline.KindDecimal, pipeline.KindDate, pipeline.KindBool, pipeline.KindList}
	f.Fuzz(func(t *testing.T, v string) {
		// ParseList reads what encoding/json reads, shortcut or not.
		l, err := pipeline.ParseList(v)
		var items []*string
		jsonErr := json.Unmarshal([]byte(v), &items)
		isArray := strings.HasPrefix(strings.TrimLeft(v, " \t\r\n"), "[")
		if jsonErr == nil && isArray && !slices.Contains(items, nil) {
			if err != nil || len(l) != len(items) {
				t.Fatalf("ParseList(%q) = %q, %v; encoding/json reads %d items", v, l, err, len(items))
			}
			for i := range l {
				if l[i] != *items[i] {
					t.Fatalf("ParseList(%q) item %d = %q, encoding/json reads %q", v, i, l[i], *items[i])
				}
			}
		} else if err == nil {
			t.Fatalf("ParseList(%q) = %q, but it is no JSON array of strings (%v)", v, l, jsonErr)
		}
		for _, k := range kinds {
			c, ok := pipeline.Canonical(k, v)
			field := pipeline.Field{Name: "f", Kind: k}
			s := &pipeline.Schema{Fields: []pipeline.Field{field}}
			rej := s.Validate(&pipeline.Record{Values: []string{v}}, nil)
			if v != "" && v != pipeline.Null && ok != (rej == nil) {
				t.Fatalf("Canonical(%s, %q) ok %v, but validation says %v", k, v, ok, rej)
			}
			if !ok {
				continue
			}
			if c2, ok2 := pipeline.Canonical(k, c); c != "" && (!ok2 || c2 != c) {
				t.Fatalf("Canonical(%s, %q) = %q, whose canonical form is %q, %v", k, v, c, c2, ok2)
			}
			if k == pipeline.KindDecimal || k == pipeline.KindInt {
				// The same number, in other text.
				a, okA := new(big.Rat).SetString(v)
				b, okB := new(big.Rat).SetString(c)
				if !okA || !okB || a.Cmp(b) != 0 {
					t.Fatalf("Canonical(%s, %q) = %q, another number", k, v, c)
				}
			}
			if k == pipeline.KindList && c != "" {
				// What an API answers for the list reads back the same.
				l, _ := pipeline.ParseList(c)
				if tv := field.TextValue(toAny(l)); tv != c {
					t.Fatalf("list %q read back from JSON as %q", c, tv)
				}
			}
		}
	})
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// TestFormatList: the list text round trips through ParseList, and is its
// own canonical form even for text that is not UTF-8.
func TestFormatList(t *testing.T) {
	for _, items := range [][]string{
		{"vip"},
		{"vip", "gold"},
		{"with \"quotes\"", `back\slash`, "new\nline", "<b>&amp;</b>", "émoji 🎉", "\u2028"},
		{"", " spaced "},
		{"same", "same"},
	} {
		text := pipeline.FormatList(items)
		back, err := pipeline.ParseList(text)
		if err != nil || !slices.Equal(back, items) {
			t.Errorf("ParseList(FormatList(%q)) = %q, %v", items, back, err)
		}
		if c, ok := pipeline.Canonical(pipeline.KindList, text); !ok || c != text {
			t.Errorf("FormatList(%q) = %q, whose canonical form is %q", items, text, c)
		}
	}
	if got := pipeline.FormatList(nil); got != "[]" {
		t.Errorf("FormatList(nil) = %q, want []", got)
	}
	text := pipeline.FormatList([]string{"ok", "b\xadd"})
	if c, ok := pipeline.Canonical(pipeline.KindList, text); !ok || c != text || !utf8.ValidString(text) {
		t.Errorf("FormatList of text that is not UTF-8 = %q, whose canonical form is %q", text, c)
	}
	if back, _ := pipeline.ParseList(text); !slices.Equal(back, []string{"ok", "b\uFFFDd"}) {
		t.Errorf("ParseList(%q) = %q, want the bad byte as U+FFFD", text, back)
	}
	for _, v := range []string{"null", `"a"`, "{}", "", "[1]"} {
		if l, err := pipeline.ParseList(v); err == nil {
			t.Errorf("ParseList(%q) = %q, want an error", v, l)
		}
	}
}

// nestedSchema has top-level fields of each clear rule and kind, a merged
// group and a group replaced whole, nested two deep.
var nestedSchema = &pipeline.Schema{
	API: "nested",
	Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail},
		{Name: "phone", Kind: pipeline.KindPhone, Clear: pipeline.ClearNull},
		{Name: "last_name", Clear: pipeline.ClearEmpty},
		{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
		{Name: "consent", Kind: pipeline.KindBool},
		{Name: "points", Kind: pipeline.KindInt},
		{Name: "balance", Kind: pipeline.KindDecimal, Clear: pipeline.ClearNull},
		{Name: "born", Kind: pipeline.KindDate, Clear: pipeline.ClearNull},
		{Name: "address.line1", Clear: pipeline.ClearNull},
		{Name: "address.city", Clear: pipeline.ClearNull},
		{Name: "billing.street"},
		{Name: "billing.geo.lat", Kind: pipeline.KindDecimal, Clear: pipeline.ClearNull},
	},
	Groups: []pipeline.Group{{Name: "address", Rule: pipeline.GroupMerge}, {Name: "billing", Rule: pipeline.GroupReplace}},
}

// TestBodyAndValues: a record's body nests its dotted fields, and what an
// API answers with that body reads back as the record's values, through
// JSON and with or without UseNumber.
func TestBodyAndValues(t *testing.T) {
	values := []string{"ana@example.com", "+4930123456", "López", `["vip","gold"]`, "true", "42", "12.5", "1990-04-30",
		"Main St 1", "Berlin", "Elm St", "52.52"}
	body := nestedSchema.Body(values, nil)
	want := map[string]any{
		"email": "ana@example.com", "phone": "+4930123456", "last_name": "López", "tags": []string{"vip", "gold"},
		"consent": true, "points": json.Number("42"), "balance": json.Number("12.5"), "born": "1990-04-30",
		"address": map[string]any{"line1": "Main St 1", "city": "Berlin"},
		"billing": map[string]any{"street": "Elm St", "geo": map[string]any{"lat": json.Number("52.52")}},
	}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("Body = %#v\nwant %#v", body, want)
	}
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, useNumber := range []bool{false, true} {
		dec := json.NewDecoder(strings.NewReader(string(data)))
		if useNumber {
			dec.UseNumber()
		}
		var back map[string]any
		if err := dec.Decode(&back); err != nil {
			t.Fatal(err)
		}
		if got := nestedSchema.Values(back); !slices.Equal(got, values) {
			t.Errorf("UseNumber %v: Values(%s) = %q\nwant %q", useNumber, data, got, values)
		}
	}
	// Numbers in another form than the canonical one read back canonical;
	// a missing object, a null and an empty list are no value.
	answer := map[string]any{"points": 7.0, "balance": json.Number("12.50"), "tags": []any{}, "address": nil, "born": nil,
		"billing": map[string]any{"geo": map[string]any{"lat": 52.5}}}
	got := nestedSchema.Values(answer)
	wantValues := []string{"", "", "", "", "", "7", "12.5", "", "", "", "", "52.5"}
	if !slices.Equal(got, wantValues) {
		t.Errorf("Values(%v) = %q\nwant %q", answer, got, wantValues)
	}
}

// TestBodyClears: an update sends only the fields marked, an empty value
// or Null as the field's clear form, and leaves out an empty field that
// cannot be cleared; a create leaves out every empty value.
func TestBodyClears(t *testing.T) {
	values := make([]string, len(nestedSchema.Fields))
	values[0] = "ana@example.com"
	values[1] = pipeline.Null // phone: null
	values[3] = pipeline.Null // tags: []
	values[9] = ""            // address.city: null
	send := make([]bool, len(nestedSchema.Fields))
	for _, name := range []string{"phone", "last_name", "tags", "points", "address.city", "billing.street", "billing.geo.lat"} {
		send[nestedSchema.Index(name)] = true
	}
	body := nestedSchema.Body(values, send)
	want := map[string]any{"phone": nil, "last_name": "", "tags": []string{}, "address": map[string]any{"city": nil},
		"billing": map[string]any{"geo": map[string]any{"lat": nil}}}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("update Body = %#v\nwant %#v", body, want)
	}
	if body := nestedSchema.Body(values, nil); !reflect.DeepEqual(body, map[string]any{"email": "ana@example.com"}) {
		t.Errorf("create Body = %#v, want the email alone", body)
	}
}

// TestJSONValue: each clear rule's form of an empty value and of Null, and
// each kind's JSON type.
func TestJSONValue(t *testing.T) {
	for _, c := range []struct {
		field pipeline.Field
		v     string
		want  any
		ok    bool
	}{
		{pipeline.Field{Clear: pipeline.ClearNever}, "", nil, false},
		{pipeline.Field{Clear: pipeline.ClearNever}, pipeline.Null, nil, false},
		{pipeline.Field{Clear: pipeline.ClearEmpty}, "", "", true},
		{pipeline.Field{Clear: pipeline.ClearEmpty}, pipeline.Null, "", true},
		{pipeline.Field{Clear: pipeline.ClearNull}, "", nil, true},
		{pipeline.Field{Clear: pipeline.ClearNull}, pipeline.Null, nil, true},
		{pipeline.Field{Kind: pipeline.KindList, Clear: pipeline.ClearNull}, pipeline.Null, []string{}, true},
		{pipeline.Field{Kind: pipeline.KindList, Clear: pipeline.ClearEmpty}, "", []string{}, true},
		{pipeline.Field{Kind: pipeline.KindList}, "", nil, false},
		{pipeline.Field{Kind: pipeline.KindList}, `["a"]`, []string{"a"}, true},
		{pipeline.Field{Kind: pipeline.KindBool}, "true", true, true},
		{pipeline.Field{Kind: pipeline.KindBool}, "false", false, true},
		{pipeline.Field{Kind: pipeline.KindInt}, "42", json.Number("42"), true},
		{pipeline.Field{Kind: pipeline.KindInt}, "007", json.Number("7"), true},
		{pipeline.Field{Kind: pipeline.KindInt}, "seven", "seven", true},
		{pipeline.Field{Kind: pipeline.KindDecimal}, "-12.50", json.Number("-12.5"), true},
		{pipeline.Field{Kind: pipeline.KindDate}, "1990-04-30", "1990-04-30", true},
		{pipeline.Field{}, "text", "text", true},
	} {
		got, ok := c.field.JSONValue(c.v)
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s field, clear %d: JSONValue(%q) = %#v, %v; want %#v, %v", c.field.Kind, c.field.Clear, c.v, got, ok, c.want, c.ok)
		}
		if ok {
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("%s field: JSONValue(%q) = %#v does not encode: %v", c.field.Kind, c.v, got, err)
			}
		}
	}
}

// TestTextValue: what an API answers becomes the canonical text of the
// field, and a value of another JSON type never equals a valid one.
func TestTextValue(t *testing.T) {
	for _, c := range []struct {
		field pipeline.Field
		in    any
		want  string
	}{
		{pipeline.Field{}, nil, ""},
		{pipeline.Field{}, "x", "x"},
		{pipeline.Field{Lower: true}, "DE", "de"},
		{pipeline.Field{Kind: pipeline.KindBool}, true, "true"},
		{pipeline.Field{Kind: pipeline.KindBool}, "false", "false"},
		{pipeline.Field{Kind: pipeline.KindInt}, json.Number("007"), "7"},
		{pipeline.Field{Kind: pipeline.KindInt}, 7.0, "7"},
		{pipeline.Field{Kind: pipeline.KindInt}, "7", "7"},
		{pipeline.Field{Kind: pipeline.KindDecimal}, 0.1, "0.1"},
		{pipeline.Field{Kind: pipeline.KindDecimal}, json.Number("1.50"), "1.5"},
		{pipeline.Field{Kind: pipeline.KindList}, []any{"a", "b"}, `["a","b"]`},
		{pipeline.Field{Kind: pipeline.KindList}, []string{"a"}, `["a"]`},
		{pipeline.Field{Kind: pipeline.KindList}, []any{}, ""},
		{pipeline.Field{Kind: pipeline.KindList}, []any{"a", 1.0}, `["a",1]`},
		{pipeline.Field{Kind: pipeline.KindDate}, "1990-04-30", "1990-04-30"},
		{pipeline.Field{}, map[string]any{"a": "b"}, `{"a":"b"}`},
	} {
		if got := c.field.TextValue(c.in); got != c.want {
			t.Errorf("%s field: TextValue(%#v) = %q, want %q", c.field.Kind, c.in, got, c.want)
		}
	}
}

// TestValidateWidenedKinds: each new kind's code, and null() on a field
// that cannot be cleared.
func TestValidateWidenedKinds(t *testing.T) {
	s := &pipeline.Schema{API: "w", Fields: []pipeline.Field{
		{Name: "consent", Kind: pipeline.KindBool},
		{Name: "points", Kind: pipeline.KindInt},
		{Name: "balance", Kind: pipeline.KindDecimal},
		{Name: "born", Kind: pipeline.KindDate},
		{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
		{Name: "name", RequiredOnUpdate: true},
		{Name: "fixed"},
		{Name: "note", Clear: pipeline.ClearEmpty},
	}}
	valid := []string{"true", "-7", "12.50", "2024-02-29", `["a"]`, "Ana", "x", "y"}
	mapped := slices.Repeat([]bool{true}, len(valid))
	if rej := s.Validate(&pipeline.Record{Values: valid}, mapped); rej != nil {
		t.Fatalf("valid record rejected: %+v", rej)
	}
	for _, c := range []struct {
		field, v, code string
	}{
		{"consent", "yes", pipeline.CodeBool},
		{"consent", "True", pipeline.CodeBool},
		{"points", "7.5", pipeline.CodeInt},
		{"points", "+-5", pipeline.CodeInt},
		{"points", "12345678901234567890", pipeline.CodeInt},
		{"balance", "1,5", pipeline.CodeDecimal},
		{"balance", "1/2", pipeline.CodeDecimal},
		{"balance", "1e3", pipeline.CodeDecimal},
		{"born", "2023-02-29", pipeline.CodeDate},
		{"born", "30/04/1990", pipeline.CodeDate},
		{"tags", "vip;gold", pipeline.CodeList},
		{"tags", "null", pipeline.CodeList},
		{"fixed", pipeline.Null, pipeline.CodeNotClearable},
		{"name", pipeline.Null, pipeline.CodeRequired},
		{"note", pipeline.Null, ""},
		{"tags", pipeline.Null, ""},
		{"consent", "", ""},
	} {
		rec := &pipeline.Record{Values: slices.Clone(valid)}
		rec.Values[s.Index(c.field)] = c.v
		rej := s.Validate(rec, mapped)
		switch {
		case c.code == "" && rej != nil:
			t.Errorf("%s = %q rejected: %+v", c.field, c.v, rej)
		case c.code == "":
		case rej == nil:
			t.Errorf("%s = %q passed, want code %s", c.field, c.v, c.code)
		case rej.Code != c.code || rej.Field != c.field || rej.Stage != pipeline.StageValidate || !strings.Contains(rej.Message, c.field):
			t.Errorf("%s = %q: reject %+v, want code %s naming the field", c.field, c.v, rej, c.code)
		}
		if rej != nil && len(pipeline.LookupCode(rej.Code)) == 0 {
			t.Errorf("code %s is not in the codes reference", rej.Code)
		}
	}
}

// TestDisplayValue: reports show an explicit null as null.
func TestDisplayValue(t *testing.T) {
	got := map[string]string{}
	for _, v := range []string{pipeline.Null, "", "x"} {
		got[v] = pipeline.DisplayValue(v)
	}
	if want := map[string]string{pipeline.Null: "null", "": "", "x": "x"}; !maps.Equal(got, want) {
		t.Errorf("DisplayValue: %q, want %q", got, want)
	}
}

// BenchmarkCanonical measures what normalising costs a record's typed
// values, and that a long cell costs time linear in its length (an
// earlier version took seconds for a 1 MiB decimal).
func BenchmarkCanonical(b *testing.B) {
	for _, c := range []struct {
		name string
		kind pipeline.Kind
		v    string
	}{
		{"int", pipeline.KindInt, "12345"},
		{"decimal", pipeline.KindDecimal, "12.5"},
		{"decimal-rewritten", pipeline.KindDecimal, "012.500"},
		{"decimal-1MiB", pipeline.KindDecimal, strings.Repeat("7", 1<<20) + ".5"},
		{"date", pipeline.KindDate, "2024-02-29"},
		{"list", pipeline.KindList, `["vip","gold"]`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := pipeline.Canonical(c.kind, c.v); !ok {
					b.Fatal(c.v)
				}
			}
		})
	}
}
