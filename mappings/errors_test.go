package mappings

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	cands := []string{"email", "name", "last_name", "country", "teammate_id", "Company Name"}
	for in, want := range map[string]string{
		"emial":                "email",
		"emails":               "email",
		"EMAIL":                "email",
		"nmae":                 "name",
		"lastname":             "last_name",
		"contry":               "country",
		"teammateid":           "teammate_id",
		"company name":         "Company Name",
		"fax":                  "",
		"id":                   "",
		"":                     "",
		"email":                "",
		"x":                    "",
		"completely different": "",
	} {
		if got := suggest(in, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := didYouMean("emial", cands); got != ` (did you mean "email"?)` {
		t.Errorf("didYouMean = %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", 3, 0}, {"abc", "abc", 3, 0}, {"abc", "acb", 3, 1}, {"kitten", "sitting", 3, 3},
		{"kitten", "sitting", 2, -1}, {"a", "abcdef", 3, -1}, {"ñandú", "nandu", 3, 2},
	} {
		if got := editDistance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}

func TestErrorFormats(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "m.yaml", Line: 3, Column: 7, Msg: "x"}, "m.yaml:3:7: x"},
		{Error{File: "m.yaml", Line: 3, Msg: "x"}, "m.yaml:3: x"},
		{Error{File: "m.yaml", Msg: "x"}, "m.yaml: x"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	es := Errors{{File: "a", Line: 1, Column: 1, Msg: "one"}, {File: "a", Line: 2, Column: 1, Msg: "two"}}
	if es.Error() != "a:1:1: one\na:2:1: two" {
		t.Errorf("%q", es.Error())
	}
	var e *Error
	if !errors.As(error(es), &e) || e.Msg != "one" {
		t.Errorf("errors.As: %v", e)
	}
}

func TestQuote(t *testing.T) {
	if got := quote("ab"); got != `"ab"` {
		t.Error(got)
	}
	long := quote(strings.Repeat("é", 1000))
	if !strings.HasSuffix(long, "…") || len(long) > 200 {
		t.Errorf("quote of a long value: %d bytes", len(long))
	}
}

// TestDocListsEveryFunction keeps the table in doc.go in step with the
// functions: each must have a row, with an example.
func TestDocListsEveryFunction(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	table := string(doc)
	table = table[strings.Index(table, "//\tfunction "):strings.Index(table, "// Functions that read a value")]
	for name := range functions {
		if !strings.Contains(table, "//\t"+name+"(") && !strings.Contains(table, ", "+name+"(") {
			t.Errorf("doc.go has no row for %s", name)
		}
	}
	for _, name := range disabledBuiltins {
		if !strings.Contains(string(doc), name) {
			t.Errorf("doc.go does not say %s is disabled", name)
		}
	}
}
