package emulator

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestFoldKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"ANA@EXAMPLE.COM", "ANA@EXAMPLE.COM"},
		{"Ana.García@Example.com", "ANA.GARCÍA@EXAMPLE.COM"},
		{"\u212a", "K"},        // KELVIN SIGN folds with k and K
		{"\u017f", "S"},        // LONG S folds with s and S
		{"ß", "ß"},             // the smallest of ß and ẞ
		{"σς", "ΣΣ"},           // both sigmas fold to the capital
		{"ǅ", "Ǆ"},             // a title-case digraph
		{"a\xffb", "A\uFFFDB"}, // not UTF-8: U+FFFD, as EqualFold reads it
	} {
		if got := FoldKey(tc.in); got != tc.want {
			t.Errorf("FoldKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFoldKeyIsEqualFold checks the promise emulators rely on for their
// UNIQUE columns: equal keys exactly when strings.EqualFold, and keys
// made character by character.
func TestFoldKeyIsEqualFold(t *testing.T) {
	words := []string{"k", "K", "\u212a", "s", "S", "\u017f", "ß", "ẞ", "ss", "σ", "ς", "Σ",
		"i", "I", "İ", "ı", "Ω", "\u2126", "ω", "Å", "\u212b", "å", "ǆ", "ǅ", "Ǆ", "@", "1",
		"a\xffb", "a\uFFFDb", "A\xfeB", "é", "É", "e\u0301", "😀"}
	for _, a := range words {
		for _, b := range words {
			if eq, same := strings.EqualFold(a, b), FoldKey(a) == FoldKey(b); eq != same {
				t.Errorf("%q, %q: EqualFold %v, keys %q and %q", a, b, eq, FoldKey(a), FoldKey(b))
			}
			if got, want := FoldKey(a+b), FoldKey(a)+FoldKey(b); got != want {
				t.Errorf("FoldKey(%q) = %q, not the keys of its parts %q", a+b, got, want)
			}
		}
	}
	// Every character: its key is one of its folds, and every fold has it.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		k := FoldKey(string(r))
		if !strings.EqualFold(k, string(r)) {
			t.Fatalf("%U: key %q is not one of its folds", r, k)
		}
		if f := unicode.SimpleFold(r); FoldKey(string(f)) != k {
			t.Fatalf("%U and its fold %U: keys %q and %q", r, f, k, FoldKey(string(f)))
		}
	}
}
