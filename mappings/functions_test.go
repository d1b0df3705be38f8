package mappings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/pipeline"
)

var exprColumns = []string{"id", "a", "b", "c", "d"}

var exprSchema = &pipeline.Schema{API: "t", Fields: []pipeline.Field{{Name: "out"}, {Name: "other"}}}

// exprMapping builds a one-field mapping around expression e, with the
// sample's lookup tables and phone_region DE.
func exprMapping(t testing.TB, e string) (*Program, error) {
	t.Helper()
	dir := t.TempDir()
	tm, err := os.ReadFile("testdata/teammates.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "teammates.csv"), tm, 0o644); err != nil {
		t.Fatal(err)
	}
	src := "api: t\nkey: id\noptions:\n  phone_region: DE\nlookups:\n" +
		"  teammates: {file: teammates.csv, key: email, value: id, ignore_case: true}\n" +
		"  exact: {file: teammates.csv, key: email, value: name}\n" +
		"  categories: {values: {Customer: customer, Lead: lead}}\n" +
		"fields:\n  out: |-\n    " + e + "\n"
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, exprSchema)
	if err != nil {
		return nil, err
	}
	return m.Bind(exprColumns, nil)
}

type exprCase struct {
	expr       string
	a, b, c, d string
	want       string
	code       string // reject code, "" when the row maps
}

// runExprCases evaluates each case with the direct evaluator and with
// the VM, which must agree.
func runExprCases(t *testing.T, cases []exprCase) {
	t.Helper()
	for _, onlyVM := range []bool{false, true} {
		vmOnly = onlyVM
		for _, c := range cases {
			p, err := exprMapping(t, c.expr)
			if err != nil {
				t.Errorf("%s: Load/Bind: %v", c.expr, err)
				continue
			}
			a := quote(c.a) // huge values stay out of the log
			var rec pipeline.Record
			row := &pipeline.Row{Num: 1, Values: []string{"k", c.a, c.b, c.c, c.d}}
			rej := p.Apply(row, &rec)
			switch {
			case c.code == "" && rej != nil:
				t.Errorf("%s (a=%s vm=%v): rejected: %v", c.expr, a, onlyVM, rej)
			case c.code != "" && rej == nil:
				t.Errorf("%s (a=%s vm=%v): gave %s, want reject %s", c.expr, a, onlyVM, quote(rec.Values[0]), c.code)
			case rej != nil:
				if rej.Code != c.code || rej.Stage != pipeline.StageMap || rej.Field != "out" || rej.Message == "" {
					t.Errorf("%s (a=%s vm=%v): reject %+v, want code %s", c.expr, a, onlyVM, rej, c.code)
				}
				if len(rej.Message) > 300 {
					t.Errorf("%s (a=%s vm=%v): message of %d bytes", c.expr, a, onlyVM, len(rej.Message))
				}
			case rec.Values[0] != c.want:
				t.Errorf("%s (a=%s vm=%v) = %s, want %s", c.expr, a, onlyVM, quote(rec.Values[0]), quote(c.want))
			}
		}
	}
	vmOnly = false
}

func TestTextFunctions(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	runExprCases(t, []exprCase{
		{expr: "a", a: " as is ", want: " as is "},
		{expr: "lower(a)", a: "ÀNA LÓPEZ", want: "àna lópez"},
		{expr: "lower(a)", a: "Ana.Lopez@Example.COM", want: "ana.lopez@example.com"},
		{expr: "lower(a)", a: "already", want: "already"},
		{expr: "lower(a)", a: "", want: ""},
		{expr: "lower(a)", a: "İSTANBUL", want: "istanbul"},
		{expr: "upper(a)", a: "straße", want: "STRAßE"},
		{expr: "trim(a)", a: " \t\u00a0 x y \n", want: "x y"},
		{expr: "trim(a)", a: "   ", want: ""},
		{expr: "title(a)", a: "ANA MARÍA lópez", want: "Ana María López"},
		{expr: "title(a)", a: "jean-luc o'neil", want: "Jean-Luc O'neil"},
		{expr: "title(a)", a: "", want: ""},
		{expr: "first_word(a)", a: "  Ana María López ", want: "Ana"},
		{expr: "first_word(a)", a: "Ana", want: "Ana"},
		{expr: "first_word(a)", a: "   ", want: ""},
		{expr: "last_word(a)", a: "Ana María López  ", want: "López"},
		{expr: "last_word(a)", a: "Ana\u00a0López", want: "López"},
		{expr: "last_word(a)", a: "", want: ""},
		{expr: "rest_words(a)", a: "Ana María López", want: "María López"},
		{expr: "rest_words(a)", a: "  Ana   María \t López  ", want: "María López"},
		{expr: "rest_words(a)", a: "Ana", want: ""},
		{expr: "rest_words(a)", a: "", want: ""},
		{expr: "rest_words(a)", a: "李 小龍", want: "小龍"},
		{expr: "rest_words(a)", a: "José\u2003María  López", want: "María López"},
		{expr: "rest_words(a)", a: "Jo Ann\u00a0Lee", want: "Ann Lee"},
		{expr: "first_word(a)", a: "José\u00a0López", want: "José"},
		{expr: "first_word(a)", a: "Zoë\u2003López", want: "Zoë"},
		{expr: `split(a, ",", 0)`, a: "x,y,z", want: "x"},
		{expr: `split(a, ",", 2)`, a: "x,y,z", want: "z"},
		{expr: `split(a, ",", 3)`, a: "x,y,z", want: ""},
		{expr: `split(a, ",", -1)`, a: "x,y,z", want: "z"},
		{expr: `split(a, ",", -3)`, a: "x,y,z", want: "x"},
		{expr: `split(a, ",", -4)`, a: "x,y,z", want: ""},
		{expr: `split(a, ", ", 1)`, a: "x, y, z", want: "y"},
		{expr: `split(a, ",", 0)`, a: "", want: ""},
		{expr: `split(a, ",", 1)`, a: "", want: ""},
		{expr: `split(a, "", 1)`, a: "añb", want: "ñ"},
		{expr: `split(a, "", -1)`, a: "añb", want: "b"},
		{expr: `split(a, "", 5)`, a: "añb", want: ""},
		{expr: `split(a, "", -5)`, a: "añb", want: ""},
		{expr: `split(a, "|", int(b))`, a: "p|q", b: "1", want: "q"},
		{expr: `split(a, "|", int(b))`, a: "p|q", b: "x", code: "expression"},
		{expr: "concat(a, b, c)", a: "x", b: "", c: "z", want: "xz"},
		{expr: "concat(a)", a: "x", want: "x"},
		{expr: `concat(a, " ", b)`, a: "Ana", b: "López", want: "Ana López"},
		{expr: `a + " " + b`, a: "Ana", b: "López", want: "Ana López"},
		{expr: `join(" ", a, b, c)`, a: " Main St ", b: " ", c: "5", want: "Main St 5"},
		{expr: `join(", ", a, b)`, a: "", b: "", want: ""},
		{expr: `join(", ", a, b)`, a: "", b: "only", want: "only"},
		{expr: `join("-")`, want: ""},
		{expr: "coalesce(a, b, c)", a: " ", b: " second ", c: "third", want: "second"},
		{expr: "coalesce(a, b)", a: "", b: "", want: ""},
		{expr: `default(a, "en")`, a: "", want: "en"},
		{expr: `default(a, "en")`, a: "  ", want: "en"},
		{expr: `default(a, "en")`, a: " de ", want: "de"},
		{expr: `replace(a, "-", "")`, a: "12-34-56", want: "123456"},
		{expr: `replace(a, "", "x")`, a: "abc", want: "abc"},
		{expr: `replace(a, "ab", "ba")`, a: "a", want: "a"},
		{expr: `replace(a, "x", b)`, a: huge, b: "yy", code: "expression"},
		{expr: "digits(a)", a: "+49 (30) 123-456", want: "4930123456"},
		{expr: "digits(a)", a: "123", want: "123"},
		{expr: "digits(a)", a: "abc", want: ""},
		{expr: "digits(a)", a: "١٢٣", want: ""},
		{expr: "truncate(a, 3)", a: "Ünïcode", want: "Ünï"},
		{expr: "truncate(a, 10)", a: "short", want: "short"},
		{expr: "truncate(a, 0)", a: "gone", want: ""},
		{expr: "truncate(a, int(b))", a: "gone", b: "-2", want: ""},
		{expr: "truncate(a, 2)", a: "", want: ""},
		{expr: "email(a)", a: " Ana.Lopez@Example.COM ", want: "Ana.Lopez@example.com"},
		{expr: "email(a)", a: "Ana López <ana@EXAMPLE.es>", want: "ana@example.es"},
		{expr: "email(a)", a: "mailto:bob@Example.org", want: "bob@example.org"},
		{expr: "email(a)", a: "no address", want: "no address"},
		{expr: "email(a)", a: "", want: ""},
		{expr: "email(a)", a: "ana@BÜCHER.de", want: "ana@bücher.de"},
		{expr: "lower(trim(a))", a: huge, want: huge},
		{expr: "concat(a, a)", a: huge, code: "expression"},
	})
}

func TestRegexFunctions(t *testing.T) {
	runExprCases(t, []exprCase{
		{expr: `regex(a, "[0-9]+")`, a: "order 1234 of 5", want: "1234"},
		{expr: `regex(a, "[0-9]+")`, a: "none", want: ""},
		{expr: `regex(a, "(\\w+)@(\\w+)", 2)`, a: "ana@example", want: "example"},
		{expr: `regex(a, "(\\w+)@(\\w+)", 0)`, a: "x ana@example", want: "ana@example"},
		{expr: `regex(a, "(x)?y", 1)`, a: "y", want: ""},
		{expr: `regex(a, b)`, a: "abc", b: "b+", want: "b"},
		{expr: `regex(a, b)`, a: "abc", b: "(", code: "expression"},
		{expr: `regex(a, "(a)", int(b))`, a: "a", b: "5", want: ""},
		{expr: `regex_replace(a, "\\s+", " ")`, a: "a  b\t\tc", want: "a b c"},
		{expr: `regex_replace(a, "(\\d{3})(\\d+)", "$1-$2")`, a: "1234567", want: "123-4567"},
		{expr: `regex_replace(a, b, "")`, a: "x", b: "[", code: "expression"},
		{expr: `a matches "^[0-9]+$" ? a : ""`, a: "123", want: "123"},
	})
}

func TestCountryFunctions(t *testing.T) {
	runExprCases(t, []exprCase{
		{expr: "country(a)", a: "Germany", want: "de"},
		{expr: "country(a)", a: "germany", want: "de"},
		{expr: "country(a)", a: " GERMANY ", want: "de"},
		{expr: "country(a)", a: "Deutschland", want: "de"},
		{expr: "country(a)", a: "DE", want: "de"},
		{expr: "country(a)", a: "de", want: "de"},
		{expr: "country(a)", a: "DEU", want: "de"},
		{expr: "country(a)", a: "deu", want: "de"},
		{expr: "country(a)", a: "276", want: "de"},
		{expr: "country(a)", a: "040", want: "at"},
		{expr: "country(a)", a: "40", want: "at"},
		{expr: "country(a)", a: "USA", want: "us"},
		{expr: "country(a)", a: "U.S.A.", want: "us"},
		{expr: "country(a)", a: "United States of America", want: "us"},
		{expr: "country(a)", a: "UK", want: "gb"},
		{expr: "country(a)", a: "Great Britain", want: "gb"},
		{expr: "country(a)", a: "Côte d’Ivoire", want: "ci"},
		{expr: "country(a)", a: "cote d'ivoire", want: "ci"},
		{expr: "country(a)", a: "Korea, Republic of", want: "kr"},
		{expr: "country(a)", a: "Republic of Korea", want: "kr"},
		{expr: "country(a)", a: "South Korea", want: "kr"},
		{expr: "country(a)", a: "The Netherlands", want: "nl"},
		{expr: "country(a)", a: "Bosnia & Herzegovina", want: "ba"},
		{expr: "country(a)", a: "Vatican City", want: "va"},
		{expr: "country(a)", a: "Türkiye", want: "tr"},
		{expr: "country(a)", a: "Turkey", want: "tr"},
		{expr: "country(a)", a: "Åland Islands", want: "ax"},
		{expr: "country(a)", a: "", want: ""},
		{expr: "country(a)", a: "  ", want: ""},
		{expr: "country(a)", a: "Germny", code: "unknown_country"},
		{expr: "country(a)", a: "XX", code: "unknown_country"},
		{expr: "country(a)", a: "999", code: "unknown_country"},
		{expr: "country(a)", a: "1234", code: "unknown_country"},
		{expr: "country(a)", a: "Europe", code: "unknown_country"},
		{expr: "country(a)", a: strings.Repeat("Germany", 1000), code: "unknown_country"},
		{expr: "country_alpha3(a)", a: "Germany", want: "DEU"},
		{expr: "country_alpha3(a)", a: "gb", want: "GBR"},
		{expr: "country_alpha3(a)", a: "nowhere", code: "unknown_country"},
		{expr: "country_name(a)", a: "de", want: "Germany"},
		{expr: "country_name(a)", a: "KOR", want: "South Korea"},
		{expr: "country_name(a)", a: "840", want: "United States"},
		{expr: "country_name(a)", a: "", want: ""},
		{expr: "country_numeric(a)", a: "Germany", want: "276"},
		{expr: "country_numeric(a)", a: "de", want: "276"},
		{expr: "country_numeric(a)", a: "KOR", want: "410"},
		{expr: "country_numeric(a)", a: "Andorra", want: "20"},
		{expr: "country_numeric(a)", a: "004", want: "4"},
		{expr: "country_numeric(a)", a: "", want: ""},
		{expr: "country_numeric(a)", a: "nowhere", code: "unknown_country"},
	})
}

func TestPhoneFunction(t *testing.T) {
	runExprCases(t, []exprCase{
		{expr: "phone(a)", a: "030 1234567", want: "+49301234567"},
		{expr: "phone(a)", a: "030/123 45 67", want: "+49301234567"},
		{expr: "phone(a)", a: "+49 (0)30 1234567", want: "+49301234567"},
		{expr: "phone(a)", a: "+49 30 1234567", want: "+49301234567"},
		{expr: "phone(a)", a: "0049 30 1234567", want: "+49301234567"},
		{expr: "phone(a)", a: "+1 202-555-0123", want: "+12025550123"},
		{expr: "phone(a)", a: "0151 23456789", want: "+4915123456789"},
		{expr: "phone(a)", a: "030 1234567 ext. 12", want: "+49301234567"},
		{expr: "phone(a)", a: " ", want: ""},
		{expr: "phone(a)", a: "", want: ""},
		{expr: "phone(a)", a: "12", code: "bad_phone"},
		{expr: "phone(a)", a: "n/a", code: "bad_phone"},
		{expr: "phone(a)", a: "+49 30", code: "bad_phone"},
		{expr: "phone(a)", a: "+999 1234567", code: "bad_phone"},
		{expr: "phone(a)", a: "0000000000", code: "bad_phone"},
		{expr: "phone(a)", a: strings.Repeat("1", 300), code: "bad_phone"},
		{expr: "phone(a)", a: "☎☎☎", code: "bad_phone"},
		{expr: `phone(a, "FR")`, a: "01 23 45 67 89", want: "+33123456789"},
		{expr: `phone(a, "fr")`, a: "06 12 34 56 78", want: "+33612345678"},
		{expr: `phone(a, "IT")`, a: "06 1234 5678", want: "+390612345678"},
		{expr: "phone(a, b)", a: "020 7946 0958", b: "GB", want: "+442079460958"},
		{expr: "phone(a)", a: "+44 (0)20 7946 0958", want: "+442079460958"},
		{expr: "phone(a)", a: "+61 2 9876 5432", want: "+61298765432"},
		{expr: "phone(a, b)", a: "(02) 9876 5432", b: "AU", want: "+61298765432"},
		{expr: "phone(a, b)", a: "030 1234567", b: "", want: "+49301234567"},
		{expr: "phone(a, b)", a: "030 1234567", b: "Atlantis", code: "bad_phone"},
		{expr: "phone(a, country(b))", a: "(202) 555-0123", b: "United States", want: "+12025550123"},
	})
}

func TestLookupFunction(t *testing.T) {
	runExprCases(t, []exprCase{
		{expr: `lookup("teammates", a)`, a: "ana@acme.example", want: "6f1c1b52-8a4e-4f0e-9a51-3c1f0e2d9b10"},
		{expr: `lookup("teammates", a)`, a: " ANA@ACME.EXAMPLE ", want: "6f1c1b52-8a4e-4f0e-9a51-3c1f0e2d9b10"},
		{expr: `lookup("teammates", a)`, a: "bob@acme.example", want: "0b7e3c55-1d2a-4c3b-8e9f-7a6b5c4d3e21"},
		{expr: `lookup("teammates", a)`, a: "CHLOÉ@acme.example", want: "c2d4e6f8-0a1b-4c3d-9e5f-1a2b3c4d5e6f"},
		{expr: `lookup("teammates", a)`, a: "", want: ""},
		{expr: `lookup("teammates", a)`, a: "eve@acme.example", code: "lookup_miss"},
		{expr: `lookup("teammates", a, "")`, a: "eve@acme.example", want: ""},
		{expr: `lookup("teammates", a, b)`, a: "eve@acme.example", b: "fallback", want: "fallback"},
		{expr: `lookup("exact", a)`, a: "Bob@Acme.example", want: "Bob Smith"},
		{expr: `lookup("exact", a)`, a: "bob@acme.example", code: "lookup_miss"},
		{expr: `lookup("categories", a)`, a: "Lead", want: "lead"},
		{expr: `lookup("categories", a)`, a: "lead", code: "lookup_miss"},
	})
}

func TestDateFunctions(t *testing.T) {
	runExprCases(t, []exprCase{
		{expr: `date(a, "DD/MM/YYYY", "YYYY-MM-DD")`, a: "31/01/2024", want: "2024-01-31"},
		{expr: `date(a, "D.M.YYYY", "YYYY-MM-DD")`, a: "1.2.2024", want: "2024-02-01"},
		{expr: `date(a, "MM/DD/YYYY HH:mm", "iso")`, a: "01/31/2024 14:05", want: "2024-01-31T14:05:00Z"},
		{expr: `date(a, "YYYY-MM-DDTHH:mm:ssZ", "DD.MM.YYYY HH:mm")`, a: "2024-01-31T14:05:09+02:00", want: "31.01.2024 14:05"},
		{expr: `date(a, "D MMMM YYYY", "YYYY-MM-DD")`, a: "5 March 2024", want: "2024-03-05"},
		{expr: `date(a, "MMM D, YYYY [at] h:mm A", "YYYY-MM-DD HH:mm")`, a: "Mar 5, 2024 at 3:07 PM", want: "2024-03-05 15:07"},
		{expr: `date(a, "unix", "YYYY-MM-DD")`, a: "1700000000", want: "2023-11-14"},
		{expr: `date(a, "YYYY-MM-DD", "unix")`, a: "2023-11-14", want: "1699920000"},
		{expr: `date(a, "02/01/2006", "2006-01-02")`, a: "31/01/2024", want: "2024-01-31"},
		{expr: `date(a, "iso", "YYYY-MM-DD")`, a: "2024-01-31T23:30:00.123-05:00", want: "2024-01-31"},
		{expr: `date(a, "DD/MM/YYYY", "YYYY-MM-DD")`, a: "", want: ""},
		{expr: `date(a, "DD/MM/YYYY", "YYYY-MM-DD")`, a: "31/02/2024", code: "bad_date"},
		{expr: `date(a, "DD/MM/YYYY", "YYYY-MM-DD")`, a: "2024-01-31", code: "bad_date"},
		{expr: `date(a, "unix", "YYYY-MM-DD")`, a: "1700000000000", code: "bad_date"},
		{expr: `date(a, b, "YYYY-MM-DD")`, a: "2024", b: "qqqq", code: "bad_date"},
		{expr: `date(a, b, "YYYY-MM-DD")`, a: "2024", b: "yyyy", want: "2024-01-01"},
		{expr: `date(a, "dd/MM/yyyy", "YYYY-MM-DD")`, a: "31/01/2024", want: "2024-01-31"},
		{expr: `date(a, b, "YYYY-MM-DD")`, a: "2024", b: "YYYY", want: "2024-01-01"},
		{expr: "date_iso(a)", a: "2024-01-31", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "2024-1-5", want: "2024-01-05"},
		{expr: "date_iso(a)", a: "20240131", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "31.01.2024", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "31/01/2024", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "01/31/2024", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "05/05/2024", want: "2024-05-05"},
		{expr: "date_iso(a)", a: "01/02/2024", code: "bad_date"},
		{expr: "date_iso(a)", a: "January 31, 2024", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "31 Jan 2024", want: "2024-01-31"},
		{expr: "date_iso(a)", a: "2024-01-31T14:05:09+02:00", want: "2024-01-31T14:05:09+02:00"},
		{expr: "date_iso(a)", a: "2024-01-31T14:05:09.123456Z", want: "2024-01-31T14:05:09Z"},
		{expr: "date_iso(a)", a: "2024-01-31 14:05:09", want: "2024-01-31T14:05:09Z"},
		{expr: "date_iso(a)", a: "2024-01-31 14:05", want: "2024-01-31T14:05:00Z"},
		{expr: "date_iso(a)", a: "31/01/2024 14:05", want: "2024-01-31T14:05:00Z"},
		{expr: "date_iso(a)", a: "Wed, 31 Jan 2024 14:05:09 GMT", want: "2024-01-31T14:05:09Z"},
		{expr: "date_iso(a)", a: "", want: ""},
		{expr: "date_iso(a)", a: "yesterday", code: "bad_date"},
		{expr: "date_iso(a)", a: "2024-02-30", code: "bad_date"},
		{expr: "date_iso(a)", a: strings.Repeat("2024-01-31", 100), code: "bad_date"},
	})
}

func TestExprValues(t *testing.T) {
	runExprCases(t, []exprCase{
		{expr: `a != "" ? a : b`, a: "", b: "fallback", want: "fallback"},
		{expr: `a != "" ? a : b`, a: "first", b: "fallback", want: "first"},
		{expr: `a == "" and b == "" ? "none" : "some"`, want: "none"},
		{expr: `a == "" && b == "" ? "none" : "some"`, b: "x", want: "some"},
		{expr: `a != "" or b != "" ? "some" : "none"`, b: "x", want: "some"},
		{expr: `a != "" || b != "" ? "some" : "none"`, want: "none"},
		{expr: `not (a == b) ? "differ" : "same"`, a: "x", b: "x", want: "same"},
		{expr: `!(a == b) ? "differ" : "same"`, a: "x", b: "y", want: "differ"},
		{expr: `true ? a : b`, a: "x", want: "x"},
		{expr: `lower(a) == "yes" ? "true" : "false"`, a: "YES", want: "true"},
		{expr: `a == "" ? country(b) : country(a)`, a: "", b: "Germany", want: "de"},
		{expr: `a == "" ? country(b) : country(a)`, a: "nowhere", b: "Germany", code: "unknown_country"},
		{expr: `country(a) == "de" or country(b) == "de" ? "DACH" : "other"`, a: "Austria", b: "Atlantis", code: "unknown_country"},
		{expr: `trim(a) == "" ? (trim(b) == "" ? "none" : b) : a`, a: " ", b: "x", want: "x"},
		{expr: `if a == "x" { "yes" } else { "no" }`, a: "x", want: "yes"},
		{expr: "len(a)", a: "héllo", want: "5"},
		{expr: "len(a) * 2", a: "abc", want: "6"},
		{expr: "len(a) / 2", a: "abc", want: "1.5"},
		{expr: "float(a) * 1000000", a: "3", want: "3000000"},
		{expr: "float(a) / 3", a: "1", want: "0.3333333333333333"},
		{expr: "float(a) * 1e30", a: "1", want: "1e+30"},
		{expr: "float(a) / 0", a: "1", code: "type"},
		{expr: "a == b", a: "x", b: "x", want: "true"},
		{expr: "a == b", a: "x", b: "y", want: "false"},
		{expr: "a == 'x' ? nil : a", a: "x", want: ""},
		{expr: `a == "x" ? [a, b] : a`, a: "x", code: "type"},
		{expr: `a == "x" ? {'k': a} : a`, a: "x", code: "type"},
		{expr: `a == "x" ? {'k': a} : a`, a: "y", want: "y"},
		{expr: "int(a) + 1", a: "41", want: "42"},
		{expr: "int(a) + 1", a: "forty-one", code: "expression"},
		{expr: `let n = trim(a); n + "!"`, a: " hi ", want: "hi!"},
		{expr: `a | trim() | upper()`, a: " hi ", want: "HI"},
		{expr: `hasPrefix(a, "+") ? a : "+" + a`, a: "49", want: "+49"},
		{expr: `lower(a ?? "")`, a: "X", want: "x"},
		{expr: `lower(a == "" ? 1 : a)`, a: "", want: "1"},
		{expr: `truncate(a, a == "" ? 1 : 2)`, a: "xyz", want: "xy"},
		{expr: "col(\"a\") + col('b')", a: "x", b: "y", want: "xy"},
	})
}
