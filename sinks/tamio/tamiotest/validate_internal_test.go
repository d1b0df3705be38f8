package tamiotest

import (
	"regexp"
	"testing"
)

func TestCountryCodes(t *testing.T) {
	if len(countryCodes) != 249 || len(countrySet) != 249 {
		t.Fatalf("%d codes, %d distinct; ISO 3166-1 assigns 249", len(countryCodes), len(countrySet))
	}
	two := regexp.MustCompile(`^[a-z]{2}$`)
	for i, c := range countryCodes {
		if !two.MatchString(c) || i > 0 && countryCodes[i-1] >= c {
			t.Errorf("code %d %q: not two lower-case letters in order", i, c)
		}
	}
	for _, c := range []string{"de", "gb", "us", "ss", "bq", "cw", "sx", "ax", "aq", "um"} {
		if _, ok := countrySet[c]; !ok {
			t.Errorf("%s missing", c)
		}
	}
	// Codes that are not assigned, though often seen.
	for _, c := range []string{"uk", "xk", "eu", "an", "yu", "zz"} {
		if _, ok := countrySet[c]; ok {
			t.Errorf("%s accepted", c)
		}
	}
}

func TestCheckers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(field, v string) (string, *apiError)
		ok    map[string]string // input: stored value
		bad   []string
	}{
		{"email", checkEmail,
			map[string]string{"a@b.co": "a@b.co", "John.Doe+tag@Example.COM": "John.Doe+tag@Example.COM", "jörg@bücher.de": "jörg@bücher.de"},
			[]string{"a", "a@b", "@b.co", "a@b.co.", "a@[1.2.3.4]", "A <a@b.co>", "a@b.co ", "a b@c.de", "a@@b.co"}},
		{"country", checkCountry, map[string]string{"DE": "de", "de": "de", "Gb": "gb"}, []string{"d", "deu", "xx", "uk", "d1"}},
		{"locale", checkLocale,
			map[string]string{"en": "en", "pt-BR": "pt-BR", "zh-Hant-TW": "zh-Hant-TW", "es-419": "es-419", "fil": "fil"},
			[]string{"e", "english", "pt_BR", "en-", "en-USA", "de-DE-x"}},
		{"offset", checkOffset,
			map[string]string{"+00:00": "+00:00", "-09:30": "-09:30", "+05:45": "+05:45", "+14:00": "+14:00", "-12:00": "-12:00"},
			[]string{"+14:15", "+15:00", "+02:10", "02:00", "+2:00", "+0200", "+02:60", "UTC"}},
		{"phone", checkPhone,
			map[string]string{"+4930123456": "+4930123456", "+1234567": "+1234567", "+123456789012345": "+123456789012345"},
			[]string{"+123456", "+1234567890123456", "4930123456", "+49 30 123456", "+49-30-123456", "+"}},
	} {
		for in, want := range tc.ok {
			if got, err := tc.check("f", in); err != nil || got != want {
				t.Errorf("%s %q: got %q, %v; want %q", tc.name, in, got, err, want)
			}
		}
		for _, in := range tc.bad {
			if _, err := tc.check("f", in); err == nil || err.code != codeValidation || err.field != "f" {
				t.Errorf("%s %q: accepted (%v)", tc.name, in, err)
			}
		}
	}
}

func TestParseUUID(t *testing.T) {
	if id, ok := parseUUID("0F8FAD5B-D9CB-469F-A165-70867728950E"); !ok || id != "0f8fad5b-d9cb-469f-a165-70867728950e" {
		t.Errorf("upper case: %q %v", id, ok)
	}
	for _, bad := range []string{"", "0f8fad5bd9cb469fa16570867728950e", "{0f8fad5b-d9cb-469f-a165-70867728950e}",
		"urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950g"} {
		if _, ok := parseUUID(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
