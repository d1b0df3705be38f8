package pipeline

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{`say "hi"`, `"say \"hi\""`},
		{strings.Repeat("é", QuoteMax), `"` + strings.Repeat("é", QuoteMax) + `"`},
		{strings.Repeat("é", QuoteMax+1), `"` + strings.Repeat("é", QuoteMax) + `"…`},
		{strings.Repeat("x", 1<<20), `"` + strings.Repeat("x", QuoteMax) + `"…`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%.80q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestQuoteList(t *testing.T) {
	names := make([]string, 1_000_000)
	for i := range names {
		names[i] = "c"
	}
	names[0] = strings.Repeat("x", 1000)
	want := `"` + strings.Repeat("x", QuoteMax) + `"…, "c", "c", "c", "c", "c", "c", "c", "c", "c" and 999990 more`
	if got := QuoteList(names); got != want {
		t.Errorf("QuoteList = %.300q, want %q", got, want)
	}
	if got, want := QuoteList([]string{"a", "b"}), `"a", "b"`; got != want {
		t.Errorf("QuoteList = %q, want %q", got, want)
	}
	if got := QuoteList(nil); got != "" {
		t.Errorf("QuoteList(nil) = %q", got)
	}
}
