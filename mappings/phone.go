package mappings

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
	"github.com/nyaruka/phonenumbers"
)

// How phone() decides that a number is valid (option phone_validation).
const (
	// phonePlan accepts a number that fits its country's numbering plan:
	// a possible length and libphonenumber's general pattern for the
	// country. It rejects typos, missing digits and junk, and costs well
	// under a microsecond for the usual shapes.
	phonePlan = "plan"
	// phoneStrict is libphonenumber's IsValidNumber: the number must fall
	// in a range assigned to a known type (fixed line, mobile, …). It
	// costs 20-40 µs a number.
	phoneStrict = "strict"
)

// phoneMeta is what phone() needs of one region's libphonenumber
// metadata, compiled once.
type phoneMeta struct {
	cc    int
	ccStr string
	// The national prefix for parsing: plain digit strings to try in
	// order ("0|180020" for GB), or else a pattern (nppRe), in which
	// case the fast path takes only numbers it does not match.
	npps    []string
	nppRe   *regexp.Regexp
	iddLit  string         // the international prefix, when it is a plain digit string
	idd     *regexp.Regexp // else the international prefix as a pattern
	general numberPattern  // the whole national number must match
	lengths []int32        // possible lengths of a national number
	local   []int32        // lengths possible only for local dialling
}

type phonePlans struct {
	byRegion map[string]*phoneMeta
	byCC     [1000][]*phoneMeta // by calling code (1 to 3 digits), the main region first
}

// plans compiles the metadata of every region on first use of phone().
var plans = sync.OnceValue(func() *phonePlans {
	p := &phonePlans{byRegion: map[string]*phoneMeta{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil || coll == nil {
		return p // every number then takes libphonenumber's own path
	}
	nonGeo := map[int]*phoneMeta{}
	for _, md := range coll.Metadata {
		gd := md.GetGeneralDesc()
		if gd == nil || gd.GetNationalNumberPattern() == "" {
			continue
		}
		general, err := compileNumberPattern(gd.GetNationalNumberPattern())
		if err != nil {
			continue
		}
		m := &phoneMeta{cc: int(md.GetCountryCode()), general: general,
			lengths: gd.PossibleLength, local: gd.PossibleLengthLocalOnly}
		m.ccStr = strconv.Itoa(m.cc)
		if ip := md.GetInternationalPrefix(); isDigitString(ip) {
			m.iddLit = ip
		} else {
			m.idd, _ = regexp.Compile("^(?:" + ip + ")")
		}
		if npp := md.GetNationalPrefixForParsing(); npp != "" {
			alts := strings.Split(npp, "|")
			literal := md.GetNationalPrefixTransformRule() == ""
			for _, a := range alts {
				literal = literal && a != "" && isDigitString(a)
			}
			if literal {
				m.npps = alts
			} else if m.nppRe, err = regexp.Compile("^(?:" + npp + ")"); err != nil {
				continue
			}
		}
		if md.GetId() == "001" {
			nonGeo[m.cc] = m
		} else {
			p.byRegion[md.GetId()] = m
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if cc <= 0 || cc >= len(p.byCC) {
			continue
		}
		for _, r := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			if m := p.byRegion[r]; m != nil {
				p.byCC[cc] = append(p.byCC[cc], m)
			} else if m := nonGeo[cc]; r == "001" && m != nil {
				p.byCC[cc] = append(p.byCC[cc], m)
			}
		}
	}
	return p
})

// numberPattern matches a whole national number: with the automaton, or
// with package regexp for a pattern the automaton cannot take. It is a
// struct, not an interface, so that the number passed to Match, and the
// caller's digits with it, stay on the caller's stack.
type numberPattern struct {
	dfa *digitDFA
	re  *regexp.Regexp
}

func (p numberPattern) Match(b []byte) bool {
	if p.dfa != nil {
		return p.dfa.match(b)
	}
	return p.re.Match(bytes.Clone(b)) // regexp keeps its input
}

func compileNumberPattern(pattern string) (numberPattern, error) {
	if d, ok := compileDigitDFA(pattern); ok {
		return numberPattern{dfa: d}, nil
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	return numberPattern{re: re}, err
}

func isDigitString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true // "" too: no national prefix at all
}

// Results of phoneMeta.testLength, as libphonenumber's testNumberLength.
const (
	lenPossible = iota
	lenLocalOnly
	lenTooShort
	lenTooLong
	lenInvalid
)

func (m *phoneMeta) testLength(n int) int {
	if len(m.lengths) == 0 || m.lengths[0] == -1 {
		return lenInvalid
	}
	l := int32(n)
	for _, x := range m.local {
		if x == l {
			return lenLocalOnly
		}
	}
	switch {
	case m.lengths[0] == l:
		return lenPossible
	case m.lengths[0] > l:
		return lenTooShort
	case m.lengths[len(m.lengths)-1] < l:
		return lenTooLong
	}
	for _, x := range m.lengths[1:] {
		if x == l {
			return lenPossible
		}
	}
	return lenInvalid
}

// lengthOK is the length half of libphonenumber's isNumberMatchingDesc.
func (m *phoneMeta) lengthOK(n int) bool {
	if len(m.lengths) == 0 {
		return true
	}
	for _, x := range m.lengths {
		if int(x) == n {
			return true
		}
	}
	return false
}

// planValid reports whether a national number fits the numbering plan of
// any region that uses the calling code: libphonenumber's
// isNumberMatchingDesc for the general description. known, when not nil,
// is a region whose pattern the caller already matched, with result
// knownMatch; regular expressions are most of phone()'s cost.
func (p *phonePlans) planValid(cc int, nsn []byte, known *phoneMeta, knownMatch bool) bool {
	if cc <= 0 || cc >= len(p.byCC) {
		return false
	}
	for _, m := range p.byCC[cc] {
		if !m.lengthOK(len(nsn)) {
			continue
		}
		if m == known {
			if knownMatch {
				return true
			}
			continue
		}
		if m.general.Match(nsn) {
			return true
		}
	}
	return false
}

// fastPhone reads the shapes nearly every export holds, "+49 30
// 1234567", "030/123 45 67", "(0)30 1234567", the way libphonenumber's
// Parse does, without its regular expressions over the raw input. It
// returns ok false for anything else (letters, extensions, an
// international dialling prefix, a national prefix that carries a
// carrier code or needs rewriting), which then goes to Parse. TestFastPhoneAgrees holds it to
// Parse's answers for every region's example numbers.
// The digits go to buf, which f.nsn then points into: the caller's
// array, so that it stays on the caller's stack.
func fastPhone(s string, region *phoneMeta, p *phonePlans, buf *[24]byte) (f fastNumber, ok bool) {
	if len(s) > 64 {
		return f, false
	}
	n := 0
	plus := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			if n == len(buf) {
				return f, false
			}
			buf[n] = c
			n++
		case c == '+':
			if plus || n > 0 {
				return f, false
			}
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		case c == 0xC2 && i+1 < len(s) && s[i+1] == 0xA0: // no-break space
			i++
		default:
			return f, false
		}
	}
	if n < 3 {
		return f, false
	}
	digits := buf[:n]
	var m *phoneMeta
	var nsn []byte
	if plus {
		if digits[0] == '0' {
			return f, false
		}
		code := 0
		for l := 1; l <= 3 && l < n; l++ {
			code = code*10 + int(digits[l-1]-'0')
			if metas := p.byCC[code]; len(metas) > 0 {
				m, nsn = metas[0], digits[l:]
				break
			}
		}
		if m == nil {
			return f, false
		}
	} else {
		if region == nil {
			return f, false
		}
		m, nsn = region, digits
		// An international dialling prefix or the region's own calling
		// code up front make Parse guess; leave the guessing to it.
		if (m.iddLit != "" && bytes.HasPrefix(digits, []byte(m.iddLit))) || (m.idd != nil && m.idd.Match(bytes.Clone(digits))) ||
			bytes.HasPrefix(digits, []byte(m.ccStr)) {
			return f, false
		}
	}
	if m.nppRe != nil && m.nppRe.Match(bytes.Clone(nsn)) { // clones: regexp keeps its input, and nsn is the caller's stack
		return f, false // a prefix with a transformation or carrier code
	}
	// libphonenumber's maybeStripNationalPrefixAndCarrierCode, then the
	// length test parseHelper applies to its result.
	for _, npp := range m.npps {
		if !bytes.HasPrefix(nsn, []byte(npp)) {
			continue
		}
		stripped := nsn[len(npp):]
		strippedMatch := m.general.Match(stripped)
		if strippedMatch || !m.general.Match(nsn) {
			if r := m.testLength(len(stripped)); r == lenPossible || r == lenTooLong {
				nsn = stripped
				f.known, f.knownMatch = m, strippedMatch
			}
		}
		break // the pattern's first alternative that matches is the match
	}
	if len(nsn) < 2 || len(nsn) > 17 {
		return f, false
	}
	f.cc, f.ccStr, f.nsn = m.cc, m.ccStr, nsn
	return f, true
}

// fastNumber is what fastPhone read: a calling code and national number,
// and the pattern match it already did.
type fastNumber struct {
	cc         int
	ccStr      string
	nsn        []byte
	known      *phoneMeta
	knownMatch bool
}

// phoneRegion checks a region name for phone(): ISO alpha-2, any case.
func phoneRegion(s string) (string, error) {
	r := strings.ToUpper(strings.TrimSpace(s))
	if !phonenumbers.GetSupportedRegions()[r] {
		return "", fmt.Errorf("%q is not a region phone numbers can be read for (use an ISO 3166 alpha-2 code such as \"DE\")", s)
	}
	return r, nil
}

func checkPhone(_ *Mapping, args []ast.Node) (ast.Node, error) {
	plans() // compile the metadata now rather than on the first row
	if len(args) < 2 {
		return nil, nil
	}
	if s, ok := constString(args[1]); ok {
		if _, err := phoneRegion(s); err != nil {
			return args[1], err
		}
	}
	return nil, nil
}

// phoneFn formats a number as E.164. A number without a country code is
// read in the given region, else in the mapping's phone_region.
func phoneFn(r *runner, a []arg) (_ string, err error) {
	s := strings.TrimSpace(a[0].s)
	if s == "" {
		return "", nil
	}
	region, meta := r.m.phoneRegion, r.m.phoneMeta
	if len(a) > 1 && strings.TrimSpace(a[1].s) != "" {
		// phone(p, country(c)) for a row without a country falls back to
		// phone_region; one with a country libphonenumber does not know
		// is an error.
		if region, err = phoneRegion(a[1].s); err != nil {
			return "", failf(CodeBadPhone, a[0].s, "%s cannot be read: %s", quote(s), err.Error())
		}
		meta = plans().byRegion[region]
	}
	p := plans()
	if r.m.phoneValidation != phoneStrict {
		var digits [24]byte
		if f, ok := fastPhone(s, meta, p, &digits); ok {
			if !p.planValid(f.cc, f.nsn, f.known, f.knownMatch) {
				return "", invalidPhone(a[0].s, s, region, f.cc)
			}
			var b [24]byte
			out := append(append(append(b[:0], '+'), f.ccStr...), f.nsn...)
			return string(out), nil
		}
	}
	defer func() {
		// libphonenumber is third-party code fed with arbitrary cells.
		if x := recover(); x != nil {
			err = failf(CodeBadPhone, a[0].s, "%s is not a phone number", quote(s))
		}
	}()
	num, perr := phonenumbers.Parse(s, region)
	if perr != nil {
		if region == "" && !strings.Contains(s, "+") {
			return "", failf(CodeBadPhone, a[0].s, "%s has no country code (+…) and the mapping sets no phone_region", quote(s))
		}
		return "", failf(CodeBadPhone, a[0].s, "%s is not a phone number", quote(s))
	}
	cc := int(num.GetCountryCode())
	var valid bool
	if r.m.phoneValidation == phoneStrict {
		valid = phonenumbers.IsValidNumber(num)
	} else {
		valid = p.planValid(cc, []byte(phonenumbers.GetNationalSignificantNumber(num)), nil, false)
	}
	if !valid {
		return "", invalidPhone(a[0].s, s, region, cc)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

func invalidPhone(value, s, region string, cc int) error {
	if r := phonenumbers.GetRegionCodeForCountryCode(cc); r != "" && r != "ZZ" && r != "001" {
		region = r
	}
	if region == "" {
		return failf(CodeBadPhone, value, "%s is not a valid phone number", quote(s))
	}
	return failf(CodeBadPhone, value, "%s is not a valid phone number for %s", quote(s), region)
}
