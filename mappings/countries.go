package mappings

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

type country struct {
	alpha2, alpha3 string
	numeric        int
	name           string
	aliases        string // "|"-separated
}

var (
	byAlpha2  [26 * 26]*country // index (a-'A')*26+(b-'A')
	lower2    [26 * 26]string   // the same index: the code in lower case, as country() gives it
	byAlpha3  = map[string]*country{}
	byNumeric = map[int]*country{}
	byName    = map[string]*country{} // by normName
	byExact   = map[string]*country{} // by name as the table spells it
)

func init() {
	for i := range countryTable {
		c := &countryTable[i]
		byAlpha2[c.index()] = c
		lower2[c.index()] = strings.ToLower(c.alpha2)
		byAlpha3[c.alpha3] = c
		byNumeric[c.numeric] = c
		for _, n := range countryNames(c) {
			if _, dup := byExact[n]; !dup {
				byExact[n] = c
			}
			if _, dup := byName[normName(n)]; !dup {
				byName[normName(n)] = c
			}
		}
	}
}

func (c *country) index() int { return int(c.alpha2[0]-'A')*26 + int(c.alpha2[1]-'A') }

// lowerCode is the alpha-2 code in lower case, without allocating.
func (c *country) lowerCode() string { return lower2[c.index()] }

// countryNames lists every name a country is known by in the table, with
// ISO's inverted forms also read the natural way round ("Korea, Republic
// of" → "Republic of Korea") and parenthesised parts also read alone.
func countryNames(c *country) []string {
	names := []string{c.name}
	if c.aliases != "" {
		names = append(names, strings.Split(c.aliases, "|")...)
	}
	var out []string
	for _, n := range names {
		out = append(out, n)
		if i := strings.Index(n, ", "); i >= 0 {
			out = append(out, n[i+2:]+" "+n[:i])
		}
		if i := strings.IndexByte(n, '('); i > 0 && strings.HasSuffix(n, ")") {
			out = append(out, n[:i], n[i+1:len(n)-1])
		}
	}
	return out
}

// normName reduces a country name to what tells it apart: lower case,
// no accents or punctuation, single spaces, no leading "the". So
// "Côte d’Ivoire", "cote d'ivoire" and "COTE D IVOIRE" are one name, and
// so are "U.S.A." and "USA".
func normName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// accents
		case r == '.' || r == '\'' || r == '’':
			// U.S.A. → usa; d'Ivoire → divoire on both sides
		case r == '&':
			space = b.Len() > 0
			if space {
				b.WriteByte(' ')
			}
			b.WriteString("and")
			space = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	out := b.String()
	out = strings.TrimPrefix(out, "the ")
	return out
}

// findCountry recognises ISO alpha-2, alpha-3 and numeric codes and
// English (and a few other) names, in any case. ok is false for an
// unknown value; a blank value is no value.
func findCountry(s string) (*country, bool) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 2:
		a, b := s[0]&^0x20, s[1]&^0x20 // ASCII upper case
		if 'A' <= a && a <= 'Z' && 'A' <= b && b <= 'Z' {
			if c := byAlpha2[int(a-'A')*26+int(b-'A')]; c != nil {
				return c, true
			}
		}
	case 3:
		if c, ok := byAlpha3[strings.ToUpper(s)]; ok {
			return c, true
		}
	}
	if n, ok := numericCode(s); ok {
		c, found := byNumeric[n]
		return c, found
	}
	if c, ok := byExact[s]; ok {
		return c, true
	}
	var buf [64]byte
	if key, ok := lowerASCII(s, &buf); ok {
		if c, ok := byName[string(key)]; ok {
			return c, true
		}
	}
	c, ok := byName[normName(s)]
	return c, ok
}

// numericCode reads an ISO 3166-1 numeric code: one to three digits.
func numericCode(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func countryFn(out func(*country) string) func(*runner, []arg) (string, error) {
	return func(_ *runner, a []arg) (string, error) {
		if strings.TrimSpace(a[0].s) == "" {
			return "", nil
		}
		c, ok := findCountry(a[0].s)
		if !ok {
			return "", failf(CodeUnknownCountry, a[0].s, "%s is not a country name or an ISO 3166 code", quote(a[0].s))
		}
		return out(c), nil
	}
}

// lowerASCII lower-cases an ASCII string into buf, so that a map lookup
// by the result allocates nothing. ok is false when s is not ASCII or
// does not fit.
func lowerASCII(s string, buf *[64]byte) ([]byte, bool) {
	if len(s) > len(buf) {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(s)], true
}
