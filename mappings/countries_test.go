package mappings

import (
	"strings"
	"testing"

	"crmsync/pipeline"
)

func TestCountryTable(t *testing.T) {
	if len(countryTable) != 249 {
		t.Fatalf("%d countries, want 249", len(countryTable))
	}
	codes := pipeline.CountryCodes()
	if len(codes) != len(countryTable) {
		t.Fatalf("pipeline knows %d codes, the table %d", len(codes), len(countryTable))
	}
	seen3, seenN := map[string]bool{}, map[int]bool{}
	for i := range countryTable {
		c := &countryTable[i]
		if codes[i] != c.alpha2 {
			t.Errorf("entry %d: table %s, pipeline %s", i, c.alpha2, codes[i])
		}
		if !pipeline.IsCountryCode(c.alpha2) || !pipeline.IsCountryCode(strings.ToLower(c.alpha2)) {
			t.Errorf("%s refused by pipeline.IsCountryCode", c.alpha2)
		}
		if len(c.alpha3) != 3 || seen3[c.alpha3] || c.numeric <= 0 || c.numeric > 999 || seenN[c.numeric] || c.name == "" {
			t.Errorf("bad or duplicate entry %+v", *c)
		}
		seen3[c.alpha3], seenN[c.numeric] = true, true
		// Every code and name finds its own country.
		for _, in := range append([]string{c.alpha2, strings.ToLower(c.alpha2), c.alpha3, strings.ToLower(c.alpha3),
			itoa3(c.numeric), strings.ToUpper(c.name), strings.ToLower(c.name)}, countryNames(c)...) {
			got, ok := findCountry(in)
			if !ok || got != c {
				name := "nothing"
				if ok {
					name = got.alpha2
				}
				t.Errorf("%q finds %s, want %s", in, name, c.alpha2)
			}
		}
	}
}

func itoa3(n int) string {
	s := []byte{'0', '0', '0'}
	for i := 2; i >= 0; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return string(s)
}

// TestCountryNamesUnambiguous checks that no name or alias of one country
// is a name, alias or code of another.
func TestCountryNamesUnambiguous(t *testing.T) {
	owner := map[string]string{}
	for i := range countryTable {
		c := &countryTable[i]
		for _, n := range countryNames(c) {
			k := normName(n)
			if k == "" {
				t.Errorf("%s: name %q normalises to nothing", c.alpha2, n)
			}
			if prev, ok := owner[k]; ok && prev != c.alpha2 {
				t.Errorf("name %q is both %s and %s", n, prev, c.alpha2)
			}
			owner[k] = c.alpha2
			if len(k) == 2 || len(k) == 3 {
				if other, ok := findCountryCode(k); ok && other != c.alpha2 {
					t.Errorf("alias %q of %s is the code of %s", n, c.alpha2, other)
				}
			}
		}
	}
}

func findCountryCode(s string) (string, bool) {
	u := strings.ToUpper(s)
	for i := range countryTable {
		if countryTable[i].alpha2 == u || countryTable[i].alpha3 == u {
			return countryTable[i].alpha2, true
		}
	}
	return "", false
}

func TestNormName(t *testing.T) {
	for in, want := range map[string]string{
		"Côte d’Ivoire":         "cote divoire",
		"  U.S.A. ":             "usa",
		"The Gambia":            "gambia",
		"Bosnia & Herzegovina":  "bosnia and herzegovina",
		"Korea, Republic of":    "korea republic of",
		"São Tomé and Príncipe": "sao tome and principe",
		"":                      "",
		"***":                   "",
		"ÅLAND":                 "aland",
	} {
		if got := normName(in); got != want {
			t.Errorf("normName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFindCountryOddInput(t *testing.T) {
	for _, s := range []string{"", " ", "\x00\x00", "\xff\xfe", "0", "000", "-1", "+49", "1e3", strings.Repeat("a", 100000)} {
		if c, ok := findCountry(s); ok {
			t.Errorf("findCountry(%q) = %s", s, c.alpha2)
		}
	}
}
