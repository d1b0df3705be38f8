package mappings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// kindSchema has one field of each kind a mapping gives something else
// than text to, and fields of each clear rule.
var kindSchema = &pipeline.Schema{API: "w", Fields: []pipeline.Field{
	{Name: "text"}, // cannot be cleared
	{Name: "note", Clear: pipeline.ClearEmpty},
	{Name: "phone", Kind: pipeline.KindPhone, Clear: pipeline.ClearNull},
	{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
	{Name: "consent", Kind: pipeline.KindBool},
	{Name: "points", Kind: pipeline.KindInt},
	{Name: "amount", Kind: pipeline.KindDecimal},
	{Name: "born", Kind: pipeline.KindDate, Clear: pipeline.ClearNull},
}}

// kindMapping builds a mapping of one kindSchema field to the YAML value
// v (an expression, quoted where YAML needs it, or {const: …}).
func kindMapping(t testing.TB, field, v string) (*Program, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.yaml")
	src := "api: w\nkey: id\nfields:\n  " + field + ": " + v + "\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, kindSchema)
	if err != nil {
		return nil, err
	}
	return m.Bind(exprColumns, nil)
}

type kindCase struct {
	field, expr string
	a, b        string
	want        string
	code        string // the map stage's reject code, "" when the row maps
	// valid is the validate stage's reject code for the mapped record, ""
	// when it passes.
	valid string
}

// runKindCases maps each case's row three times (so that a memoized
// field is also seen answered from its memo) with the direct evaluator
// and with the VM, which must agree, and validates what it maps.
func runKindCases(t *testing.T, cases []kindCase) {
	t.Helper()
	defer func() { vmOnly = false }()
	for _, onlyVM := range []bool{false, true} {
		vmOnly = onlyVM
		for _, c := range cases {
			name := c.field + ": " + c.expr
			p, err := kindMapping(t, c.field, c.expr)
			if err != nil {
				t.Errorf("%s: Load/Bind: %v", name, err)
				continue
			}
			fi := kindSchema.Index(c.field)
			for range 3 {
				var rec pipeline.Record
				row := &pipeline.Row{Num: 1, Values: []string{"k", c.a, c.b, "", ""}}
				rej := p.Apply(row, &rec)
				switch {
				case c.code == "" && rej != nil:
					t.Errorf("%s (a=%q vm=%v): rejected: %v", name, c.a, onlyVM, rej)
				case c.code != "" && rej == nil:
					t.Errorf("%s (a=%q vm=%v): gave %q, want reject %s", name, c.a, onlyVM, rec.Values[fi], c.code)
				case rej != nil:
					if rej.Code != c.code || rej.Stage != pipeline.StageMap || rej.Field != c.field || rej.Message == "" {
						t.Errorf("%s (a=%q vm=%v): reject %+v, want code %s", name, c.a, onlyVM, rej, c.code)
					}
				case rec.Values[fi] != c.want:
					t.Errorf("%s (a=%q vm=%v) = %q, want %q", name, c.a, onlyVM, rec.Values[fi], c.want)
				default:
					mapped := make([]bool, len(kindSchema.Fields))
					mapped[fi] = true
					var code string
					if vr := kindSchema.Validate(&rec, mapped); vr != nil {
						code = vr.Code
					}
					if code != c.valid {
						t.Errorf("%s (a=%q vm=%v) = %q, validated with reject %q, want %q", name, c.a, onlyVM, rec.Values[fi], code, c.valid)
					}
				}
			}
		}
	}
}

func TestNull(t *testing.T) {
	runKindCases(t, []kindCase{
		{field: "phone", expr: "null()", want: pipeline.Null},
		{field: "phone", expr: `'a == "Y" ? null() : b'`, a: "Y", b: "+4930123456", want: pipeline.Null},
		{field: "phone", expr: `'a == "Y" ? null() : b'`, a: "N", b: "+4930123456", want: "+4930123456"},
		{field: "phone", expr: `'a == "Y" ? null() : phone(b, "DE")'`, a: "Y", b: "030 123456", want: pipeline.Null},
		{field: "note", expr: "default(a, null())", a: " ", want: pipeline.Null},
		{field: "note", expr: "default(a, null())", a: "kept", want: "kept"},
		{field: "note", expr: "trim(null())", want: pipeline.Null},
		{field: "note", expr: `'a != "" ? lower(a) : null()'`, a: "X", want: "x"},
		{field: "born", expr: `'a == "" ? null() : date(a, "DD/MM/YYYY")'`, a: "", want: pipeline.Null},
		{field: "note", expr: "a + null()", a: "x", code: "type"},
		{field: "note", expr: "concat(a, null())", a: "x", code: "type"},
		{field: "note", expr: `'a == "" ? null() : a + "!"'`, a: "", want: pipeline.Null},
		{field: "tags", expr: `'a == "-" ? null() : split(a, ";")'`, a: "-", want: pipeline.Null},
		{field: "tags", expr: `'a == "-" ? null() : split(a, ";")'`, a: "x;y", want: `["x","y"]`},
		{field: "tags", expr: "list(a, null(), b)", a: "x", b: "y", want: `["x","y"]`},
		{field: "tags", expr: `split(null(), ";")`, want: ""},
	})
}

func TestLists(t *testing.T) {
	runKindCases(t, []kindCase{
		{field: "tags", expr: `split(a, ";")`, a: " vip; gold ;; ", want: `["vip","gold"]`},
		{field: "tags", expr: `split(a, ";")`, a: "vip", want: `["vip"]`},
		{field: "tags", expr: `split(a, ";")`, a: "", want: ""},
		{field: "tags", expr: `split(a, ";")`, a: " ; ;", want: ""},
		{field: "tags", expr: `split(a, ", ")`, a: "a, b,c", want: `["a","b,c"]`},
		{field: "tags", expr: `split(a, "")`, a: "añ b", want: `["a","ñ","b"]`},
		{field: "tags", expr: `split(a, b)`, a: "x|y", b: "|", want: `["x","y"]`},
		{field: "tags", expr: `split(lower(a), ";")`, a: "VIP;Gold", want: `["vip","gold"]`},
		{field: "tags", expr: `split(a, ";")`, a: `say "hi";<b>`, want: `["say \"hi\"","\u003cb\u003e"]`},
		{field: "tags", expr: "list(a, b)", a: " x ", b: "", want: `["x"]`},
		{field: "tags", expr: "list(a, b)", a: "", b: " ", want: ""},
		{field: "tags", expr: `list(a, "member", b)`, a: "vip", b: "x", want: `["vip","member","x"]`},
		{field: "tags", expr: `'list("vip")'`, want: `["vip"]`},
		{field: "tags", expr: `'a == "" ? list("none") : split(a, ",")'`, a: "", want: `["none"]`},
		{field: "tags", expr: `'a == "" ? b : split(a, ",")'`, a: "", b: `["from","export"]`, want: `["from","export"]`},
		{field: "tags", expr: `'map(split(a, ";"), upper(#))'`, a: "x;y", want: `["X","Y"]`},
		{field: "tags", expr: `'filter(split(a, ";"), # != "b")'`, a: "a;b;c", want: `["a","c"]`},
		{field: "tags", expr: `'filter(split(a, ";"), # == "z")'`, a: "a;b", want: ""},
		{field: "tags", expr: `'map(split(a, ";"), len(#))'`, a: "a;bb", code: "type"},
		{field: "tags", expr: `'int(a)..3'`, a: "1", code: "type"},
		{field: "tags", expr: `"a == '' ? {'k': a} : list(a)"`, a: "", code: "type"},
		{field: "tags", expr: `"a == '' ? {'k': a} : list(a)"`, a: "x", want: `["x"]`},
		// Text is not guessed into a list: a JSON array of text is one
		// (an export's list), anything else fails validation.
		{field: "tags", expr: "a", a: `["vip","gold"]`, want: `["vip","gold"]`},
		{field: "tags", expr: "a", a: "vip", want: "vip", valid: pipeline.CodeList},
		{field: "tags", expr: "trim(a)", a: "vip;gold", want: "vip;gold", valid: pipeline.CodeList},
		// split with a position is the text of one part, as before.
		{field: "text", expr: `split(a, ";", 1)`, a: "x;y", want: "y"},
		{field: "text", expr: `'len(split(a, ";"))'`, a: "x;y;;", want: "2"},
		{field: "text", expr: `'a == "" ? a : split(a, ";")'`, a: "", want: ""},
		{field: "text", expr: `'a == "" ? a : split(a, ";")'`, a: "x;y", code: "type"},
	})
}

func TestTypedResults(t *testing.T) {
	runKindCases(t, []kindCase{
		{field: "consent", expr: `'a == "Y"'`, a: "Y", want: "true"},
		{field: "consent", expr: `'a == "Y"'`, a: "n", want: "false"},
		{field: "consent", expr: `'lower(a) == "y" or b != ""'`, a: "N", b: "x", want: "true"},
		{field: "consent", expr: `'not (a == "Y")'`, a: "Y", want: "false"},
		{field: "consent", expr: `'lower(a) in ["y", "yes"]'`, a: "YES", want: "true"},
		{field: "consent", expr: "true", want: "true"},
		{field: "consent", expr: "True", want: "true"},
		{field: "consent", expr: "FALSE", want: "false"},
		{field: "text", expr: "True", want: "True"},
		{field: "consent", expr: "a", a: "Y", want: "Y", valid: pipeline.CodeBool},
		{field: "points", expr: "int(a) * 2", a: "21", want: "42"},
		{field: "points", expr: "len(a)", a: "héllo", want: "5"},
		{field: "points", expr: "float(a) * 1e20", a: "1", want: "100000000000000000000", valid: pipeline.CodeInt},
		{field: "points", expr: "float(a) / 2", a: "3", want: "1.5", valid: pipeline.CodeInt},
		{field: "points", expr: "a", a: "007", want: "007"},
		{field: "points", expr: "digits(a)", a: "12 345", want: "12345"},
		{field: "amount", expr: "float(a) / 4", a: "1", want: "0.25"},
		{field: "amount", expr: "float(a) * 1e30", a: "1", want: "1000000000000000000000000000000"},
		{field: "amount", expr: "float(a) / 1e7", a: "1", want: "0.0000001"},
		{field: "amount", expr: "float(a) / 0", a: "1", code: "type"},
		{field: "amount", expr: "-float(a) / 0", a: "1", code: "type"},
		{field: "amount", expr: `'replace(a, ",", ".")'`, a: "12,50", want: "12.50"},
		{field: "amount", expr: "12.50", want: "12.50"},
		// On text fields numbers keep their shortest form, as before.
		{field: "text", expr: "float(a) * 1e30", a: "1", want: "1e+30"},
		{field: "born", expr: `date(a, "DD/MM/YYYY")`, a: "31/01/2024", want: "2024-01-31"},
		{field: "born", expr: `date(a, "DD/MM/YYYY", "YYYY-MM-DD")`, a: "31/01/2024", want: "2024-01-31"},
		{field: "born", expr: `date(a, "DD/MM/YYYY")`, a: "31/02/2024", code: "bad_date"},
		{field: "born", expr: "date_iso(a)", a: "31.01.2024", want: "2024-01-31"},
		{field: "born", expr: "date_iso(a)", a: "2024-01-31 10:00", want: "2024-01-31"},
		{field: "born", expr: `date(a, "iso")`, a: "1990-04-30T23:30:00-05:00", want: "1990-04-30"},
		{field: "born", expr: "a", a: "1990-04-30T23:30:00.5", want: "1990-04-30"},
		{field: "born", expr: "a", a: "1990-04-30", want: "1990-04-30"},
		{field: "born", expr: "a", a: "30/04/1990", want: "30/04/1990", valid: pipeline.CodeDate},
		{field: "born", expr: "a", a: "1990-04-30Tea", want: "1990-04-30Tea", valid: pipeline.CodeDate},
		{field: "born", expr: "2024-01-31", want: "2024-01-31"},
		// A text field keeps date_iso's time.
		{field: "text", expr: "date_iso(a)", a: "2024-01-31 10:00", want: "2024-01-31T10:00:00Z"},
		{field: "text", expr: `date(a, "DD/MM/YYYY")`, a: "31/01/2024", want: "2024-01-31"},
	})
}

// TestKindLoadErrors: what a mapping gets wrong about a field's kind the
// same way on every row fails Load, naming the place.
func TestKindLoadErrors(t *testing.T) {
	for _, c := range []struct{ field, expr, want string }{
		{"text", "null()", `null() clears a field, but w cannot clear text`},
		{"text", `'a == "" ? null() : a'`, `null() clears a field, but w cannot clear text`},
		{"consent", `'a == "" ? null() : a'`, `null() clears a field, but w cannot clear consent`},
		{"text", `{const: "\0"}`, `null() clears a field, but w cannot clear text`},
		{"note", `'"x" + null()'`, "puts null() inside text"},
		{"note", "null(a)", "null takes 0 arguments, got 1"},
		{"text", `split(a, ";")`, "the expression gives a list, not text"},
		{"text", `list(a)`, "the expression gives a list, not text"},
		{"text", `'list("x")'`, "the expression gives a list, not text"},
		{"tags", `list(split(a, ";"))`, "argument 1 of list must be text, not a list"},
		{"tags", `lower(split(a, ";"))`, "argument 1 of lower must be text, not a list"},
		{"tags", `'1..3'`, "the expression gives a list holding other values than text"},
		{"tags", `"{'a': b}"`, "the expression gives a map, not a list"},
		{"tags", "{const: vip}", `"vip" is not a list`},
		{"consent", "{const: yes}", `"yes" is not true or false`},
		{"points", `{const: "12a"}`, `"12a" is not a whole number`},
		{"amount", `'"1e3"'`, `"1e3" is not a decimal number`},
		{"born", `'"31/01/2024"'`, `"31/01/2024" is not a date YYYY-MM-DD`},
		{"born", `'date("2024-02-30", "YYYY-MM-DD")'`, `"2024-02-30" is not a date of the form "YYYY-MM-DD"`},
	} {
		_, err := kindMapping(t, c.field, c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %s: Load gave %v, want an error with %q", c.field, c.expr, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), "m.yaml:4:") {
			t.Errorf("%s: %s: %v, want the place of the field's line", c.field, c.expr, err)
		}
	}
}

// TestKindFastPaths: the typed results that the direct evaluator can give
// do not fall back to the VM.
func TestKindFastPaths(t *testing.T) {
	for _, c := range []struct {
		field, expr string
		want        fieldKind
	}{
		{"consent", `'a == "Y"'`, fkDirect},
		{"consent", `'a == "Y" and b != ""'`, fkDirect},
		{"tags", `split(a, ";")`, fkDirect},
		{"tags", `list(a, b)`, fkDirect},
		{"tags", `'a == "" ? null() : split(a, ";")'`, fkDirect},
		{"phone", `'a == "Y" ? null() : b'`, fkDirect},
		{"born", `date(a, "DD/MM/YYYY")`, fkDirect},
		{"born", "a", fkColumn},
		{"phone", "null()", fkConst},
		// A list where text goes is left to the VM, which rejects it.
		{"text", `'a == "" ? a : split(a, ";")'`, fkVM},
	} {
		p, err := kindMapping(t, c.field, c.expr)
		if err != nil {
			t.Errorf("%s: %s: %v", c.field, c.expr, err)
			continue
		}
		f := p.m.fields[0]
		if f.kind == fkFinish {
			f = f.inner
		}
		if got := f.kind; got != c.want {
			t.Errorf("%s: %s: compiled to kind %d, want %d", c.field, c.expr, got, c.want)
		}
	}
}
