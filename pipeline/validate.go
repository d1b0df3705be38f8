package pipeline

import (
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Validation codes: the Code of every Reject that Validate and
// ValidateCreate return. They are stable; users filter reject files on them.
const (
	CodeRequired = "required"
	CodeTooLong  = "too_long"
	CodeEmail    = "email"
	CodeCountry  = "country"
	CodeLocale   = "locale"
	CodeOffset   = "offset"
	CodePhone    = "phone"
	CodeEnum     = "enum"
	CodeUUID     = "uuid"
	CodeBool     = "bool"
	CodeInt      = "int"
	CodeDecimal  = "decimal"
	CodeDate     = "date"
	CodeList     = "list"
	// CodeNotClearable: a mapping set a field to null() that the target
	// cannot clear.
	CodeNotClearable = "not_clearable"
)

// Validate checks the record's present values against their fields, and
// that every RequiredOnUpdate field the mapping fills holds a value.
// mapped[i] tells whether the mapping fills field i (an index past the end
// of mapped counts as unmapped). It returns the first problem found, in
// field order, or nil.
//
// An empty value is "no value" and is never checked for its kind: whether
// a field may be empty is the business of the Required flags alone.
func (s *Schema) Validate(rec *Record, mapped []bool) *Reject {
	return s.validate(rec, mapped, nil, nil)
}

// passed remembers, per field, a few values that passed their check, by
// address and length: a mapping's lookups, countries, defaults and
// constants hand back the same string row after row, which then need no
// check. The addresses are pointers, so the strings they name stay alive
// and cannot be replaced by others at the same address; strings are not
// written once made. That keeps at most four strings a field alive, with
// what they were cut from (a batch's text, a Parquet dictionary page),
// and values that change row after row replace theirs at once. Each
// mapping worker has its own.
type passed [][4]passedValue

type passedValue struct {
	p *byte
	n int
}

// validate checks the fields listed in only (nil: every field). The
// engine lists the mapped fields alone: an unmapped field holds no value,
// and a schema with many fields a mapping leaves alone (the parts of
// addresses) costs a row nothing for them.
func (s *Schema) validate(rec *Record, mapped []bool, only []int, seen passed) *Reject {
	n := len(s.Fields)
	if only != nil {
		n = len(only)
	}
	for k := 0; k < n; k++ {
		i := k
		if only != nil {
			i = only[k]
		}
		f := &s.Fields[i]
		var v string
		if i < len(rec.Values) {
			v = rec.Values[i]
		}
		if IsEmpty(v) {
			if f.RequiredOnUpdate && i < len(mapped) && mapped[i] {
				return &Reject{Stage: StageValidate, Code: CodeRequired, Field: f.Name, Message: s.missingMessage(f, false)}
			}
			if v == Null && !f.CanClear() {
				return f.reject(CodeNotClearable, fmt.Sprintf("is set to null() by the mapping, but %s cannot clear %s: leave it empty to keep what the CRM holds", s.apiName(), f.Name))
			}
			continue
		}
		if i < len(seen) {
			p := unsafe.StringData(v)
			slot := &seen[i][uintptr(unsafe.Pointer(p))>>3&3]
			if slot.p == p && slot.n == len(v) {
				continue
			}
			if r := f.check(v); r != nil {
				return r
			}
			*slot = passedValue{p, len(v)}
			continue
		}
		if r := f.check(v); r != nil {
			return r
		}
	}
	return nil
}

// ValidateCreate checks that every RequiredOnCreate field holds a value,
// and every RequiredInGroup part of a nested object the record fills.
// The engine and the sinks call it only for records that will be
// created, since an update may leave such fields out.
func (s *Schema) ValidateCreate(rec *Record) *Reject {
	p := s.plan()
	return s.validateCreate(rec, p.createRequired, p.groupChecks)
}

// CreateChecker is ValidateCreate for the records of one mapping, made
// once per run: it looks only at the nested objects the mapping fills
// some part of, so that a schema of many fields the mapping leaves alone
// costs a create nothing for them. Its Check may be called from several
// goroutines at once.
type CreateChecker struct {
	s        *Schema
	required []int
	groups   []groupCheck
}

// CreateChecker returns the create checks of a mapping that fills the
// fields marked in mapped.
func (s *Schema) CreateChecker(mapped []bool) *CreateChecker {
	p := s.plan()
	c := &CreateChecker{s: s, required: p.createRequired}
	for _, g := range p.groupChecks {
		var parts []int
		for _, i := range g.parts {
			if i < len(mapped) && mapped[i] {
				parts = append(parts, i)
			}
		}
		// A part the mapping does not fill holds no value: an object
		// none of whose parts is mapped is never filled.
		if len(parts) > 0 {
			c.groups = append(c.groups, groupCheck{name: g.name, required: g.required, parts: parts})
		}
	}
	return c
}

// Check is ValidateCreate for a record of the mapping.
func (c *CreateChecker) Check(rec *Record) *Reject {
	return c.s.validateCreate(rec, c.required, c.groups)
}

func (s *Schema) validateCreate(rec *Record, required []int, groups []groupCheck) *Reject {
	for _, i := range required {
		if !holds(rec, i) {
			f := &s.Fields[i]
			return &Reject{Stage: StageValidate, Code: CodeRequired, Field: f.Name, Message: s.missingMessage(f, true)}
		}
	}
	for _, g := range groups {
		missing := -1
		for _, i := range g.required {
			if !holds(rec, i) {
				missing = i
				break
			}
		}
		if missing < 0 {
			continue
		}
		for _, i := range g.parts {
			if holds(rec, i) {
				f := &s.Fields[missing]
				return &Reject{Stage: StageValidate, Code: CodeRequired, Field: f.Name,
					Message: fmt.Sprintf("this row fills %s but has no %s, which %s requires in %s when it creates a customer: fill it in the source, give the mapping a default(…) for %s, or leave every %s field empty",
						s.Fields[i].Name, f.Name, s.apiName(), g.name, f.Name, g.name)}
			}
		}
	}
	return nil
}

// holds reports whether the record has a value for field i.
func holds(rec *Record, i int) bool { return i < len(rec.Values) && !IsEmpty(rec.Values[i]) }

// missingMessage says that a row has no value for f, which the target
// needs to create a customer (create) or on every write. Validate runs
// before a row is known to be a create or an update, so its message names
// both when f is required on both.
func (s *Schema) missingMessage(f *Field, create bool) string {
	var when string
	switch {
	case create:
		when = "to create a customer"
	case f.RequiredOnCreate:
		when = "on every customer it creates or updates"
	default:
		when = "on every update of a customer"
	}
	return fmt.Sprintf("this row has no %s, which %s requires %s: fill it in the source, or give the mapping a default(…) for %s",
		f.Name, s.apiName(), when, f.Name)
}

func (s *Schema) apiName() string {
	if s.API == "" {
		return "new"
	}
	return s.API
}

// check validates one non-empty value.
func (f *Field) check(v string) *Reject {
	// len(v) bounds the rune count, so most values skip the count.
	if f.MaxLen > 0 && len(v) > f.MaxLen {
		if n := utf8.RuneCountInString(v); n > f.MaxLen {
			return f.reject(CodeTooLong, fmt.Sprintf("%s is %d characters long; %s takes at most %d: shorten it in the source, or truncate(…, %d) in the mapping", quoteValue(v), n, f.Name, f.MaxLen, f.MaxLen))
		}
	}
	switch f.Kind {
	case KindEmail:
		if why := emailProblem(v); why != "" {
			return f.reject(CodeEmail, fmt.Sprintf("%s is not a valid email address: %s", quoteValue(v), why))
		}
	case KindCountry:
		if !IsCountryCode(v) {
			return f.reject(CodeCountry, fmt.Sprintf("%s is not an ISO 3166-1 alpha-2 country code such as \"de\": map names to codes with country(…)", quoteValue(v)))
		}
	case KindLocale:
		if !isLocale(v) {
			return f.reject(CodeLocale, fmt.Sprintf("%s is not a language tag such as \"en\" or \"pt-BR\"", quoteValue(v)))
		}
	case KindOffset:
		if !isOffset(v) {
			return f.reject(CodeOffset, fmt.Sprintf("%s is not a UTC offset such as \"+02:00\" or \"-05:30\"", quoteValue(v)))
		}
	case KindPhone:
		if !isE164(v) {
			return f.reject(CodePhone, fmt.Sprintf("%s is not an E.164 phone number such as \"+4930123456\": map it with phone(…)", quoteValue(v)))
		}
	case KindEnum:
		for _, e := range f.Enum {
			if v == e {
				return nil
			}
		}
		return f.reject(CodeEnum, fmt.Sprintf("%s is not one of: %s", quoteValue(v), strings.Join(f.Enum, ", ")))
	case KindUUID:
		if !isUUID(v) {
			return f.reject(CodeUUID, fmt.Sprintf("%s is not a UUID such as \"123e4567-e89b-12d3-a456-426614174000\"", quoteValue(v)))
		}
	case KindBool:
		if _, ok := Canonical(KindBool, v); !ok {
			return f.reject(CodeBool, fmt.Sprintf("%s is neither \"true\" nor \"false\": map yes/no values with a condition such as `consent == \"Y\"`", quoteValue(v)))
		}
	case KindInt:
		if _, ok := Canonical(KindInt, v); !ok {
			return f.reject(CodeInt, fmt.Sprintf("%s is not a whole number such as \"42\" (at most 18 digits)", quoteValue(v)))
		}
	case KindDecimal:
		if _, ok := Canonical(KindDecimal, v); !ok {
			return f.reject(CodeDecimal, fmt.Sprintf("%s is not a decimal number such as \"12.50\" (no exponent, a point for the decimals)", quoteValue(v)))
		}
	case KindDate:
		if _, ok := Canonical(KindDate, v); !ok {
			return f.reject(CodeDate, fmt.Sprintf("%s is not a date YYYY-MM-DD such as \"1990-04-30\": convert it with date(…) in the mapping", quoteValue(v)))
		}
	case KindList:
		if _, err := ParseList(v); err != nil {
			return f.reject(CodeList, fmt.Sprintf("%s is not a list: build it with split(…) or list(…) in the mapping", quoteValue(v)))
		}
	}
	return nil
}

// reject names the field first: a message says what is wrong with the row
// in the row's terms, and the reject file's _field column is easily missed.
func (f *Field) reject(code, msg string) *Reject {
	return &Reject{Stage: StageValidate, Code: code, Field: f.Name, Message: f.Name + " " + msg}
}

// quoteValue quotes a value for a message, cut short so that a huge cell
// does not make a huge reject line.
func quoteValue(v string) string { return Quote(v) }

// emailProblem returns why v is not an address crmsync will send, or "".
// It is stricter than net/mail, which accepts display names, comments and
// quoted local parts that CRMs refuse.
func emailProblem(v string) string {
	if emailCommon(v) {
		return ""
	}
	return emailProblemFull(v)
}

func emailProblemFull(v string) string {
	at := strings.IndexByte(v, '@')
	if at < 0 {
		return "it has no @"
	}
	if strings.IndexByte(v[at+1:], '@') >= 0 {
		return "it has more than one @"
	}
	local, domain := v[:at], v[at+1:]
	for i := 0; i < len(v); i++ {
		if c := v[i]; emailBad[c] {
			if c <= ' ' || c == 0x7f {
				return "it contains a space or control character"
			}
			return fmt.Sprintf("it contains %q", c)
		}
	}
	switch {
	case local == "":
		return "the part before @ is empty"
	case len(local) > 64:
		return "the part before @ is longer than 64 characters"
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "the part before @ has a misplaced dot"
	case domain == "":
		return "the domain is missing"
	case strings.IndexByte(domain, '.') < 0:
		return "the domain has no dot"
	}
	for rest := domain; rest != ""; {
		label := rest
		if dot := strings.IndexByte(rest, '.'); dot >= 0 {
			label, rest = rest[:dot], rest[dot+1:]
			if rest == "" {
				return "the domain has an empty part"
			}
		} else {
			rest = ""
		}
		if label == "" {
			return "the domain has an empty part"
		}
		if len(label) > 63 {
			return "a part of the domain is longer than 63 characters"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "a part of the domain starts or ends with a hyphen"
		}
		for i := 0; i < len(label); i++ {
			// Bytes ≥ 0x80 belong to internationalised domain names.
			if c := label[i]; !domainOK[c] {
				return fmt.Sprintf("the domain contains %q", c)
			}
		}
	}
	tld := domain[strings.LastIndexByte(domain, '.')+1:]
	if len(tld) < 2 || isDigits(tld) {
		return "the domain does not end in a top-level domain"
	}
	return ""
}

// emailCommon reports, in one pass, whether v is an address of the shape
// nearly every export holds (letters, digits, "._+-" before the @; letters,
// digits, dots and hyphens after it) that emailProblem accepts. False only
// means the full check must decide; FuzzEmailCommon holds the two to it.
func emailCommon(v string) bool {
	at, label, dots := -1, 0, 0
	prevDot := true // a dot here would lead the local part
	for i := 0; i < len(v); i++ {
		c := v[i]
		if at < 0 {
			switch {
			case emailLocalCommon[c]:
				prevDot = false
			case c == '.':
				if prevDot {
					return false
				}
				prevDot = true
			case c == '@':
				if prevDot || i > 64 {
					return false
				}
				at, label = i, i+1
			default:
				return false
			}
			continue
		}
		switch {
		case isAlnum(c):
		case c == '-':
			if i == label {
				return false
			}
		case c == '.':
			if i == label || v[i-1] == '-' || i-label > 63 {
				return false
			}
			label = i + 1
			dots++
		default:
			return false
		}
	}
	tld := v[label:]
	return at > 0 && dots > 0 && len(tld) >= 2 && len(tld) <= 63 && tld[len(tld)-1] != '-' && !isDigits(tld)
}

var emailLocalCommon = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c)) || c == '_' || c == '+' || c == '-'
	}
	return t
}()

// emailBad marks the bytes no address crmsync sends may hold: spaces,
// controls, and the specials of RFC 5322 that only quoted forms allow.
var emailBad = func() (t [256]bool) {
	for c := 0; c <= ' '; c++ {
		t[c] = true
	}
	t[0x7f] = true
	for _, c := range []byte(`"(),:;<>[\]`) {
		t[c] = true
	}
	return t
}()

var domainOK = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 0x80 || c == '-' || isAlnum(byte(c))
	}
	return t
}()

var hexDigit = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isLocale matches ^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$.
func isLocale(v string) bool {
	i := 0
	for i < len(v) && 'a' <= v[i] && v[i] <= 'z' {
		i++
	}
	if i < 2 || i > 3 {
		return false
	}
	for i < len(v) {
		if v[i] != '-' && v[i] != '_' {
			return false
		}
		i++
		n := 0
		for i < len(v) && isAlnum(v[i]) {
			i++
			n++
		}
		if n < 2 || n > 8 {
			return false
		}
	}
	return true
}

// isOffset matches ^[+-](0\d|1[0-4]):[0-5]\d$.
func isOffset(v string) bool {
	if len(v) != 6 || (v[0] != '+' && v[0] != '-') || v[3] != ':' {
		return false
	}
	h1, h2, m1, m2 := v[1], v[2], v[4], v[5]
	if !isDigits(v[1:3]) || !isDigits(v[4:6]) {
		return false
	}
	if h1 > '1' || (h1 == '1' && h2 > '4') {
		return false
	}
	return m1 <= '5' && m2 <= '9'
}

// isE164 matches ^\+[1-9]\d{6,14}$.
func isE164(v string) bool {
	if len(v) < 8 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
		return false
	}
	return isDigits(v[1:])
}

// isUUID accepts the canonical 8-4-4-4-12 hex form in any case. It does not
// insist on a version or variant: CRMs hand out ids from generators of
// every kind.
func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	if v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return false
	}
	for i := 0; i < 36; i++ {
		if !hexDigit[v[i]] && i != 8 && i != 13 && i != 18 && i != 23 {
			return false
		}
	}
	return true
}

// countryCodes lists the 249 ISO 3166-1 alpha-2 codes (iso-codes 4.15).
const countryCodes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
	"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
	"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// countrySet has one bit per two-letter code: bit (a-'A')*26+(b-'A').
var countrySet = func() (set [26*26/64 + 1]uint64) {
	for code := range strings.FieldsSeq(countryCodes) {
		n := int(code[0]-'A')*26 + int(code[1]-'A')
		set[n/64] |= 1 << (n % 64)
	}
	return set
}()

// IsCountryCode reports whether s is an ISO 3166-1 alpha-2 code, in any
// case ("de", "DE", "De"). Reserved and user-assigned codes ("UK", "EU",
// "XK") are not.
func IsCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	a, b := s[0]|0x20, s[1]|0x20 // ASCII lower case; non-letters fail below
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return false
	}
	n := int(a-'a')*26 + int(b-'a')
	return countrySet[n/64]&(1<<(n%64)) != 0
}

// CountryCodes returns the ISO 3166-1 alpha-2 codes IsCountryCode accepts,
// upper case, sorted.
func CountryCodes() []string { return strings.Fields(countryCodes) }
