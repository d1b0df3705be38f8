package mappings

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"crmsync/pipeline"

	"github.com/expr-lang/expr/ast"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Reject codes of the map stage.
const (
	CodeMissingKey     = "missing_key"
	CodeFieldCount     = "field_count"
	CodeExpression     = "expression"
	CodeType           = "type"
	CodeUnknownCountry = "unknown_country"
	CodeBadPhone       = "bad_phone"
	CodeLookupMiss     = "lookup_miss"
	CodeBadDate        = "bad_date"
)

// maxResult bounds what one function may build, so that one odd cell
// (or a replace with a huge replacement) cannot exhaust memory. CRM fields
// are a few hundred characters at most.
const maxResult = 1 << 20

// arg is one evaluated argument: text, or a whole number for the
// parameters that take one.
type arg struct {
	s string
	i int
}

type ptype uint8

const (
	pText ptype = iota
	pInt
)

func (t ptype) String() string {
	if t == pInt {
		return "a whole number"
	}
	return "text"
}

// function is one function mappings may call. The same implementation
// serves the expr VM and the direct evaluator, so both give the same
// answers by construction.
type function struct {
	name     string
	params   []ptype
	required int  // how many of params must be given; the rest are optional
	variadic bool // the last parameter may be repeated
	// check inspects constant arguments when the mapping is loaded
	// (patterns, layouts, table names), so that a typo fails `crmsync
	// check` instead of every row. args excludes the hidden runner.
	check func(m *Mapping, args []ast.Node) (ast.Node, error)
	call  func(r *runner, a []arg) (string, error)
	// list is set for functions that give a list; listArity, when not 0,
	// is the one number of arguments with which they do (split gives a
	// list of two arguments and a part of three), else call is used.
	list      func(r *runner, a []arg) ([]string, error)
	listArity int
	// unary is set for functions of one text that cannot fail; the
	// direct evaluator calls it without the argument stack.
	unary func(string) string
	// cheap is set for functions that scan their arguments once and
	// return one of them or a part of one: cheaper to call than to look
	// their result up in a memo.
	cheap bool
}

// fnError is a function's verdict on one value: it becomes a Reject.
type fnError struct {
	code  string
	value string // the value at fault, to name the column it came from
	msg   string
}

func (e *fnError) Error() string { return e.msg }

func failf(code, value, format string, args ...any) error {
	return &fnError{code: code, value: value, msg: fmt.Sprintf(format, args...)}
}

// functions are ours, by name; functionNames lists everything users may
// call, for did-you-mean: ours, col, and the expr built-ins that stay
// enabled.
var functions, functionNames = registerFunctions()

// disabledBuiltins are expr built-ins a mapping may not use: a run must
// give the same records from the same file whenever it runs, and these
// read the clock or the machine's time zone.
var disabledBuiltins = []string{"now", "duration", "timezone"}

// exprBuiltins are expr's own functions that remain available.
var exprBuiltins = []string{
	"len", "abs", "ceil", "floor", "round", "int", "float", "string", "trimPrefix", "trimSuffix",
	"splitAfter", "repeat", "indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "max", "min",
	"first", "last", "get", "reverse", "filter", "map", "all", "any", "none", "one", "count",
	"sum", "find", "toJSON", "fromJSON", "toBase64", "fromBase64",
}

func registerFunctions() (map[string]*function, []string) {
	functions := map[string]*function{}
	var names []string
	for _, f := range []*function{
		{name: "lower", params: []ptype{pText}, unary: lower},
		{name: "upper", params: []ptype{pText}, unary: strings.ToUpper},
		{name: "trim", params: []ptype{pText}, unary: strings.TrimSpace, cheap: true},
		{name: "title", params: []ptype{pText}, unary: title},
		{name: "first_word", params: []ptype{pText}, unary: firstWord, cheap: true},
		{name: "last_word", params: []ptype{pText}, unary: lastWord, cheap: true},
		{name: "rest_words", params: []ptype{pText}, unary: restWords, cheap: true},
		{name: "split", params: []ptype{pText, pText, pInt}, required: 2, call: split, list: splitList, listArity: 2},
		{name: "list", params: []ptype{pText}, variadic: true, list: listFn},
		{name: "null", call: nullFn, cheap: true},
		{name: "concat", params: []ptype{pText}, variadic: true, call: concat},
		{name: "join", params: []ptype{pText, pText}, required: 1, variadic: true, call: join},
		{name: "coalesce", params: []ptype{pText}, variadic: true, call: coalesce, cheap: true},
		{name: "default", params: []ptype{pText, pText}, call: defaultFn, cheap: true},
		{name: "replace", params: []ptype{pText, pText, pText}, call: replace},
		{name: "regex", params: []ptype{pText, pText, pInt}, required: 2, check: checkRegex, call: regexFn},
		{name: "regex_replace", params: []ptype{pText, pText, pText}, check: checkRegex, call: regexReplace},
		{name: "date", params: []ptype{pText, pText, pText}, required: 2, check: checkDate, call: dateFn},
		{name: "date_iso", params: []ptype{pText}, call: dateISO},
		{name: "country", params: []ptype{pText}, call: countryFn((*country).lowerCode)},
		{name: "country_alpha3", params: []ptype{pText}, call: countryFn(func(c *country) string { return c.alpha3 })},
		{name: "country_name", params: []ptype{pText}, call: countryFn(func(c *country) string { return c.name })},
		{name: "country_numeric", params: []ptype{pText}, call: countryFn(func(c *country) string { return strconv.Itoa(c.numeric) })},
		{name: "phone", params: []ptype{pText, pText}, required: 1, check: checkPhone, call: phoneFn},
		{name: "lookup", params: []ptype{pText, pText, pText}, required: 2, check: checkLookup, call: lookupFn},
		{name: "email", params: []ptype{pText}, unary: normEmail},
		{name: "digits", params: []ptype{pText}, unary: digits},
		{name: "truncate", params: []ptype{pText, pInt}, check: checkTruncate, call: truncate},
	} {
		if f.required == 0 {
			f.required = len(f.params)
		}
		if u := f.unary; u != nil {
			f.call = func(_ *runner, a []arg) (string, error) { return u(a[0].s), nil }
		}
		functions[f.name] = f
		names = append(names, f.name)
	}
	names = append(names, "col")
	return functions, append(names, exprBuiltins...)
}

// givesList reports whether a call with n arguments gives a list.
func (f *function) givesList(n int) bool {
	return f.list != nil && (f.listArity == 0 || n == f.listArity)
}

// paramType is the type of the i-th argument of a call.
func (f *function) paramType(i int) ptype {
	if i < len(f.params) {
		return f.params[i]
	}
	return f.params[len(f.params)-1]
}

var (
	stringType = reflect.TypeOf("")
	listType   = reflect.TypeOf([]string(nil))
	anyType    = reflect.TypeOf((*any)(nil)).Elem()
)

// validate is the compile-time signature check expr runs on each call.
// types[0] is the hidden runner argument.
func (f *function) validate(types []reflect.Type) (reflect.Type, error) {
	n := len(types) - 1
	switch {
	case n < f.required:
		return nil, fmt.Errorf("%s needs %s, got %d", f.name, f.arity(), n)
	case n > len(f.params) && !f.variadic:
		return nil, fmt.Errorf("%s takes %s, got %d", f.name, f.arity(), n)
	}
	for i, t := range types[1:] {
		if t == nil || t == anyType || t.Kind() == reflect.Interface {
			continue // known only at run time; converted or refused there
		}
		want := f.paramType(i)
		switch {
		case want == pText && t.Kind() == reflect.String:
		case want == pInt && isIntKind(t.Kind()):
		default:
			return nil, fmt.Errorf("argument %d of %s must be %s, not %s", i+1, f.name, want, typeName(t))
		}
	}
	if f.givesList(n) {
		return listType, nil
	}
	return stringType, nil
}

func (f *function) arity() string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case f.variadic:
		return "at least " + plural(f.required)
	case f.required == len(f.params):
		return plural(f.required)
	default:
		return fmt.Sprintf("%d or %s", f.required, plural(len(f.params)))
	}
}

func isIntKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uint64
}

func typeName(t reflect.Type) string {
	switch k := t.Kind(); {
	case k == reflect.String:
		return "text"
	case isIntKind(k):
		return "a whole number"
	case k == reflect.Float32 || k == reflect.Float64:
		return "a number with a fraction"
	case k == reflect.Bool:
		return "true/false"
	case k == reflect.Slice || k == reflect.Array:
		return "a list"
	case k == reflect.Map:
		return "a map"
	default:
		return t.String()
	}
}

// exprFunc adapts the function to expr's calling convention. params[0] is
// the runner the visitor passes as $env; its argument stack keeps the
// call free of allocations.
func (f *function) exprFunc() func(params ...any) (any, error) {
	return func(params ...any) (any, error) {
		r, ok := params[0].(*runner)
		if !ok {
			return nil, errors.New("internal error: function called without its runner")
		}
		base := len(r.args)
		for i, p := range params[1:] {
			a, err := toArg(f, i, p)
			if err != nil {
				r.args = r.args[:base]
				return nil, err
			}
			r.args = append(r.args, a)
		}
		if f.givesList(len(params) - 1) {
			items, err := f.list(r, r.args[base:])
			r.args = r.args[:base]
			if err != nil {
				return nil, err
			}
			return items, nil
		}
		s, err := f.call(r, r.args[base:])
		r.args = r.args[:base]
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// toArg converts a value whose type was not known at compile time (the
// result of a ternary or an expr built-in).
func toArg(f *function, i int, v any) (arg, error) {
	if f.paramType(i) == pText {
		if s, ok := v.(string); ok {
			return arg{s: s}, nil
		}
		s, ok := formatValue(v)
		if !ok {
			return arg{}, failf(CodeType, "", "argument %d of %s must be text, not %T", i+1, f.name, v)
		}
		return arg{s: s}, nil
	}
	switch n := v.(type) {
	case int:
		return arg{i: n}, nil
	case int64:
		return arg{i: int(n)}, nil
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return arg{i: int(n)}, nil
		}
	case string:
		if k, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			return arg{i: k}, nil
		}
	}
	return arg{}, failf(CodeType, "", "argument %d of %s must be a whole number, not %v", i+1, f.name, v)
}

// formatFor renders an expression's value as the text of a field of the
// given kind: a list (of text) as the list's canonical text on a list
// field, a number in plain decimals on a number field, anything else as
// formatValue does. ok is false for a value the field cannot hold.
func formatFor(kind pipeline.Kind, v any) (s string, ok bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []string:
		if kind == pipeline.KindList {
			s, err := listText(x)
			return s, err == nil
		}
		return "", false
	case []any:
		if kind != pipeline.KindList {
			return "", false
		}
		items := make([]string, len(x))
		for i, it := range x {
			if items[i], ok = it.(string); !ok {
				return "", false
			}
		}
		s, err := listText(items)
		return s, err == nil
	case float64:
		if kind == pipeline.KindInt || kind == pipeline.KindDecimal {
			return formatDecimal(x)
		}
	case float32:
		if kind == pipeline.KindInt || kind == pipeline.KindDecimal {
			return formatDecimal(float64(x))
		}
	}
	return formatValue(v)
}

// formatDecimal writes f in plain decimals, never with an exponent, which
// no int or decimal field accepts: 1e-7 is "0.0000001", 3.0 is "3".
func formatDecimal(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// listText is a list's value as a field holds it: its canonical text, or
// "" (no value) for a list without items, so that an empty cell split
// into nothing leaves the field as an empty cell mapped to text does.
func listText(items []string) (string, error) {
	if len(items) == 0 {
		return "", nil
	}
	s := pipeline.FormatList(items)
	if len(s) > maxResult {
		return "", tooLong("the list")
	}
	return s, nil
}

// formatValue renders an expression's value as field text: numbers in
// their shortest exact form without exponent for whole numbers, nil as no
// value. ok is false for lists, maps and other values that are not text.
func formatValue(v any) (s string, ok bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "", true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int8, int16, int32, int64:
		return strconv.FormatInt(reflect.ValueOf(x).Int(), 10), true
	case uint, uint8, uint16, uint32, uint64:
		return strconv.FormatUint(reflect.ValueOf(x).Uint(), 10), true
	case float32:
		return formatFloat(float64(x))
	case float64:
		return formatFloat(x)
	}
	return "", false
}

func formatFloat(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return strconv.FormatFloat(f, 'g', -1, 64), true
}

// constString returns the value of a constant text argument.
func constString(n ast.Node) (string, bool) {
	switch c := n.(type) {
	case *ast.StringNode:
		return c.Value, true
	case *ast.ConstantNode:
		s, ok := c.Value.(string)
		return s, ok
	}
	return "", false
}

func constInt(n ast.Node) (int, bool) {
	switch c := n.(type) {
	case *ast.IntegerNode:
		return c.Value, true
	case *ast.UnaryNode:
		if c.Operator == "-" {
			if v, ok := constInt(c.Node); ok {
				return -v, true
			}
		}
	case *ast.ConstantNode:
		v, ok := c.Value.(int)
		return v, ok
	}
	return 0, false
}

// ---- text ----

// lower is strings.ToLower with a faster path for ASCII, the case of
// nearly every email address.
func lower(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			break
		}
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

// titleCasers recycles casers, which are stateful and not safe to share.
var titleCasers = sync.Pool{New: func() any { c := cases.Title(language.Und); return &c }}

func title(s string) string {
	c := titleCasers.Get().(*cases.Caser)
	out := c.String(s)
	titleCasers.Put(c)
	return out
}

// isSpaceByte is unicode.IsSpace for the ASCII bytes, which names are made
// of nearly always; multi-byte spaces go through isSpace.
var isSpaceByte = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func isSpace(r rune) bool {
	if r < 0x80 {
		return isSpaceByte[r]
	}
	return unicode.IsSpace(r)
}

// indexSpace is strings.IndexFunc(s, isSpace), byte by byte while s is
// ASCII.
func indexSpace(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			if j := strings.IndexFunc(s[i:], isSpace); j >= 0 {
				return i + j
			}
			return -1
		}
		if isSpaceByte[c] {
			return i
		}
	}
	return -1
}

// firstWord returns the first whitespace-separated word.
func firstWord(s string) string {
	s = strings.TrimLeftFunc(s, isSpace)
	if i := indexSpace(s); i >= 0 {
		return s[:i]
	}
	return s
}

func lastWord(s string) string {
	s = strings.TrimRightFunc(s, isSpace)
	if i := strings.LastIndexFunc(s, isSpace); i >= 0 {
		_, w := utf8.DecodeRuneInString(s[i:])
		return s[i+w:]
	}
	return s
}

// restWords returns every word but the first, separated by single spaces:
// the last name of "Ana María López" is "María López".
func restWords(s string) string {
	s = strings.TrimSpace(s)
	i := indexSpace(s)
	if i < 0 {
		return ""
	}
	rest := strings.TrimSpace(s[i:])
	if isSingleSpaced(rest) {
		return rest
	}
	return strings.Join(strings.Fields(rest), " ")
}

func isSingleSpaced(s string) bool {
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return isSingleSpacedRunes(s)
		}
		if isSpaceByte[c] {
			if c != ' ' || prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	return true
}

func isSingleSpacedRunes(s string) bool {
	prevSpace := false
	for _, r := range s {
		if isSpace(r) {
			if r != ' ' || prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	return true
}

// split returns the i-th part of s cut at sep, counting from 0, or from
// the end when i is negative (-1 is the last). A part that does not exist
// is empty.
func split(_ *runner, a []arg) (string, error) {
	s, sep, i := a[0].s, a[1].s, a[2].i
	if sep == "" {
		// Each character is a part, as strings.Split does.
		if i < 0 {
			i += utf8.RuneCountInString(s)
			if i < 0 {
				return "", nil
			}
		}
		for _, r := range s {
			if i == 0 {
				return string(r), nil
			}
			i--
		}
		return "", nil
	}
	if i >= 0 {
		for ; i > 0; i-- {
			j := strings.Index(s, sep)
			if j < 0 {
				return "", nil
			}
			s = s[j+len(sep):]
		}
		if j := strings.Index(s, sep); j >= 0 {
			return s[:j], nil
		}
		return s, nil
	}
	for ; i < -1; i++ {
		j := strings.LastIndex(s, sep)
		if j < 0 {
			return "", nil
		}
		s = s[:j]
	}
	if j := strings.LastIndex(s, sep); j >= 0 {
		return s[j+len(sep):], nil
	}
	return s, nil
}

// splitList cuts s at every sep into a list of its parts, each trimmed;
// blank parts are dropped, so "a; ;b;" is [a b]. sep "" cuts s into its
// characters.
func splitList(_ *runner, a []arg) ([]string, error) {
	s, sep := a[0].s, a[1].s
	if s == pipeline.Null {
		return nil, nil
	}
	var items []string
	for s != "" {
		var part string
		if sep == "" {
			_, w := utf8.DecodeRuneInString(s)
			part, s = s[:w], s[w:]
		} else if j := strings.Index(s, sep); j >= 0 {
			part, s = s[:j], s[j+len(sep):]
		} else {
			part, s = s, ""
		}
		if part = strings.TrimSpace(part); part != "" {
			items = append(items, part)
		}
	}
	return items, nil
}

// listFn makes a list of its arguments, each trimmed; blank ones and
// null() are dropped.
func listFn(_ *runner, a []arg) ([]string, error) {
	items := make([]string, 0, len(a))
	for _, x := range a {
		if t := strings.TrimSpace(x.s); t != "" && t != pipeline.Null {
			items = append(items, t)
		}
	}
	return items, nil
}

// nullFn is null(): the field is to be cleared, which pipeline.Null says
// to the engine; it differs from "" (no value: the CRM's value stays).
func nullFn(_ *runner, _ []arg) (string, error) { return pipeline.Null, nil }

func concat(_ *runner, a []arg) (string, error) {
	if len(a) == 1 {
		return a[0].s, nil
	}
	n := 0
	for _, x := range a {
		n += len(x.s)
	}
	if n > maxResult {
		return "", tooLong("concat")
	}
	var b strings.Builder
	b.Grow(n)
	for _, x := range a {
		b.WriteString(x.s)
	}
	return b.String(), nil
}

// join joins the non-empty parts, each trimmed, with sep: join(" ",
// street, number) gives "Main St" when number is empty, not "Main St ".
func join(_ *runner, a []arg) (string, error) {
	sep := a[0].s
	parts := a[1:]
	n, k, last := 0, 0, ""
	for _, p := range parts {
		if t := strings.TrimSpace(p.s); t != "" {
			n += len(t)
			k++
			last = t
		}
	}
	switch {
	case k == 0:
		return "", nil
	case k == 1:
		return last, nil
	}
	n += (k - 1) * len(sep)
	if n > maxResult {
		return "", tooLong("join")
	}
	var b strings.Builder
	b.Grow(n)
	first := true
	for _, p := range parts {
		if t := strings.TrimSpace(p.s); t != "" {
			if !first {
				b.WriteString(sep)
			}
			b.WriteString(t)
			first = false
		}
	}
	return b.String(), nil
}

// coalesce returns the first argument that is not blank, trimmed.
func coalesce(_ *runner, a []arg) (string, error) {
	for _, x := range a {
		if t := strings.TrimSpace(x.s); t != "" {
			return t, nil
		}
	}
	return "", nil
}

// defaultFn returns a trimmed, or d when a is blank.
func defaultFn(_ *runner, a []arg) (string, error) {
	if t := strings.TrimSpace(a[0].s); t != "" {
		return t, nil
	}
	return a[1].s, nil
}

func replace(_ *runner, a []arg) (string, error) {
	s, old, repl := a[0].s, a[1].s, a[2].s
	// An empty old would insert repl between every character: never what
	// a mapping means.
	if old == "" || len(s) < len(old) {
		return s, nil
	}
	if grow := len(repl) - len(old); grow > 0 {
		if n := strings.Count(s, old); n > 0 && len(s)+n*grow > maxResult {
			return "", tooLong("replace")
		}
	}
	return strings.ReplaceAll(s, old, repl), nil
}

func tooLong(fn string) error {
	return failf(CodeExpression, "", "%s would build a value longer than %d bytes", fn, maxResult)
}

// digits keeps the ASCII digits of s.
func digits(s string) string {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for j := 0; j < len(s); j++ {
		if '0' <= s[j] && s[j] <= '9' {
			b = append(b, s[j])
		}
	}
	return string(b)
}

// truncate cuts s to at most n characters.
func truncate(_ *runner, a []arg) (string, error) {
	s, n := a[0].s, a[1].i
	if n <= 0 {
		return "", nil
	}
	if len(s) <= n {
		return s, nil
	}
	for i := range s {
		if n == 0 {
			return s[:i], nil
		}
		n--
	}
	return s, nil
}

func checkTruncate(_ *Mapping, args []ast.Node) (ast.Node, error) {
	if n, ok := constInt(args[1]); ok && n < 0 {
		return args[1], fmt.Errorf("truncate needs a length of 0 or more, not %d", n)
	}
	return nil, nil
}

// normEmail trims an address, takes it out of "Name <addr>" or "mailto:"
// wrappings, and lower-cases the domain. The local part keeps its case:
// RFC 5321 lets a server tell "Ana" from "ana", and lower-casing it is a
// mapping's call (lower(...)). It does not validate; the validate stage
// does, with a reason.
func normEmail(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		s = strings.TrimSpace(s[i+1 : len(s)-1])
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = strings.TrimSpace(s[7:])
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	domain := s[at+1:]
	if l := lower(domain); l != domain {
		return s[:at+1] + l
	}
	return s
}

// ---- regular expressions ----

// regexCache holds compiled patterns by their text. Constant patterns are
// compiled once at load; patterns built from row values are cached too,
// up to a bound so that a column of distinct patterns cannot grow it
// without end.
var (
	regexCache sync.Map // string → *regexp.Regexp
	regexCount atomic.Int64
)

const maxCachedRegexps = 1024

func compileRegex(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexCache.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if regexCount.Load() < maxCachedRegexps {
		if _, loaded := regexCache.LoadOrStore(pattern, re); !loaded {
			regexCount.Add(1)
		}
	}
	return re, nil
}

func checkRegex(_ *Mapping, args []ast.Node) (ast.Node, error) {
	pattern, ok := constString(args[1])
	if !ok {
		return nil, nil
	}
	re, err := compileRegex(pattern)
	if err != nil {
		return args[1], fmt.Errorf("invalid regular expression: %s", regexMessage(err))
	}
	if len(args) > 2 {
		if g, ok := constInt(args[2]); ok && (g < 0 || g > re.NumSubexp()) {
			return args[2], fmt.Errorf("the pattern has %d groups; there is no group %d", re.NumSubexp(), g)
		}
	}
	return nil, nil
}

func regexMessage(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: %q", se.Code, se.Expr)
	}
	return err.Error()
}

// regexFn returns the first match of pattern in s, or its group-th group;
// "" when nothing matches.
func regexFn(_ *runner, a []arg) (string, error) {
	re, err := compileRegex(a[1].s)
	if err != nil {
		return "", failf(CodeExpression, a[1].s, "invalid regular expression %s: %s", quote(a[1].s), regexMessage(err))
	}
	group := 0
	if len(a) > 2 {
		group = a[2].i
	}
	if group < 0 || group > re.NumSubexp() {
		return "", nil
	}
	if group == 0 {
		loc := re.FindStringIndex(a[0].s)
		if loc == nil {
			return "", nil
		}
		return a[0].s[loc[0]:loc[1]], nil
	}
	m := re.FindStringSubmatchIndex(a[0].s)
	if m == nil || m[2*group] < 0 {
		return "", nil
	}
	return a[0].s[m[2*group]:m[2*group+1]], nil
}

func regexReplace(_ *runner, a []arg) (string, error) {
	re, err := compileRegex(a[1].s)
	if err != nil {
		return "", failf(CodeExpression, a[1].s, "invalid regular expression %s: %s", quote(a[1].s), regexMessage(err))
	}
	out := re.ReplaceAllString(a[0].s, a[2].s)
	if len(out) > maxResult {
		return "", tooLong("regex_replace")
	}
	return out, nil
}

// ---- lookups ----

func checkLookup(m *Mapping, args []ast.Node) (ast.Node, error) {
	name, ok := constString(args[0])
	if !ok {
		return args[0], errors.New(`the table of lookup must be a quoted name, as in lookup("teammates", owner_email)`)
	}
	if isReference(name) {
		return args[0], checkReference(m, name)
	}
	if _, ok := m.lookups[name]; !ok {
		names := m.lookupNames()
		if len(names) == 0 {
			return args[0], fmt.Errorf("no lookup table %q: the mapping defines none under lookups", name)
		}
		return args[0], fmt.Errorf("no lookup table %q%s", name, didYouMean(name, names))
	}
	return nil, nil
}

// lookupFn finds key in a table. A blank key is no value and looks
// nothing up; a key missing from the table rejects the row unless a
// default is given.
func lookupFn(r *runner, a []arg) (string, error) {
	t := r.m.lookups[a[0].s]
	if t == nil {
		if isReference(a[0].s) {
			// Only a caller that skipped WithReferences gets here.
			return "", failf(CodeLookupMiss, "", "lookup table %q was not read from the target", a[0].s)
		}
		return "", failf(CodeLookupMiss, "", "no lookup table %q", a[0].s)
	}
	key := strings.TrimSpace(a[1].s)
	if key == "" {
		return "", nil
	}
	if v, ok := t.get(key); ok {
		return v, nil
	}
	if len(a) > 2 {
		return a[2].s, nil
	}
	return "", failf(CodeLookupMiss, a[1].s, "%s is not in lookup table %q", quote(key), t.name)
}

func asFnError(err error) (*fnError, bool) {
	var fe *fnError
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}
