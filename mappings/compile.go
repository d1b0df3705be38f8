package mappings

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"crmsync/pipeline"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

type fieldKind uint8

const (
	fkConst  fieldKind = iota // value precomputed at Load
	fkColumn                  // a bare column, copied as it is
	fkDirect                  // evaluated by the direct evaluator
	fkVM                      // evaluated by expr's VM
	fkFinish                  // inner's value, passed through finishValue
)

// fieldProg is one mapped field, compiled.
type fieldProg struct {
	field int // index in the schema
	name  string
	kind  fieldKind
	value string      // fkConst
	col   int         // fkColumn: index in Mapping.cols
	node  *dnode      // fkDirect
	prog  *vm.Program // fkVM
	cols  []int       // the columns the expression reads, in order of use
	// memo is set for a direct expression of one column that costs more
	// than a lookup in the runner's memo (see Program.memoized).
	memo bool
	// target is the kind of the schema field, which decides how a value
	// that is not text becomes the field's text (see formatFor).
	target pipeline.Kind
	// finish is set when every value needs finishValue: on a date field,
	// or when the expression calls null() (null is set then). Such a
	// field is compiled as fkFinish around the program itself, inner, so
	// that the others pay nothing for it.
	finish bool
	null   bool
	inner  *fieldProg
}

// vmOnly makes every expression run on the VM; tests set it to check
// that both evaluators agree.
var vmOnly = false

// colFuncName is the function column references are rewritten to. "$"
// cannot start a user's function name that passes the visitor, so it
// never clashes with a column or function.
const colFuncName = "$col"

// exprOptions are the same for every expression: the functions are
// stateless and find the mapping through the runner passed as $env.
var exprOptions = func() []expr.Option {
	var opts []expr.Option
	for _, f := range functions {
		bf := &builtin.Function{Name: f.name, Func: f.exprFunc(), Validate: f.validate}
		opts = append(opts, func(c *conf.Config) { c.Functions[bf.Name] = bf })
	}
	col := &builtin.Function{
		Name: colFuncName,
		Func: func(params ...any) (any, error) {
			r, ok1 := params[0].(*runner)
			k, ok2 := params[1].(int)
			if !ok1 || !ok2 {
				return nil, errors.New("internal error: bad column reference")
			}
			return r.col(k), nil
		},
		Validate: func([]reflect.Type) (reflect.Type, error) { return stringType, nil },
	}
	opts = append(opts, func(c *conf.Config) { c.Functions[col.Name] = col })
	for _, name := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	return opts
}()

// parseConfig is expr's configuration without the patcher, for the
// first parse that finds callees and let variables. It must match what
// expr.Compile builds, so that the node positions of both parses agree.
func parseConfig() *conf.Config {
	c := conf.CreateNew()
	for _, op := range exprOptions {
		op(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	return c
}

// fieldCompiler rewrites one expression's column references and checks
// its calls; it is the expr.Patch visitor.
type fieldCompiler struct {
	l       *loader
	node    *yaml.Node // the expression's scalar, for positions
	field   string
	callees map[int]bool // rune offsets of identifiers that name a function
	lets    map[string]bool
	used    []int // columns read, in order of first use
	// reference is set when the expression looks values up in a table
	// read from the target, which is not there yet at Load.
	reference bool
	// target is the schema field mapped; null is set when the expression
	// calls null().
	target *pipeline.Field
	null   bool
	errs   []*Error
}

func (l *loader) compileField(fi int, key, v *yaml.Node) *fieldProg {
	name := key.Value
	target := &l.m.schema.Fields[fi]
	p := &fieldProg{field: fi, name: name, target: target.Kind, finish: target.Kind == pipeline.KindDate}
	if v.Kind == yaml.MappingNode {
		if len(v.Content) == 2 && v.Content[0].Value == "const" && deref(v.Content[1]).Kind == yaml.ScalarNode {
			p.kind = fkConst
			p.value = deref(v.Content[1]).Value
			l.m.exprs[fi] = strconv.Quote(p.value)
			return l.constant(p, target, v)
		}
		l.errs.add(v.Line, v.Column, "field %q: expected an expression or {const: value}", name)
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		l.errs.add(v.Line, v.Column, "field %q: expected an expression, such as lower(trim(email))", name)
		return nil
	}
	src := v.Value
	if v.Tag == "!!null" || strings.TrimSpace(src) == "" {
		l.errs.add(v.Line, v.Column, "field %q has no expression; to leave it unmapped, remove it", name)
		return nil
	}
	switch v.Tag {
	case "!!int", "!!float", "!!bool", "!!timestamp":
		// A bare number, boolean or date is that constant as written:
		// read as an expression, 2024-01-31 would be a subtraction.
		p.kind, p.value = fkConst, src
		if v.Tag == "!!bool" && target.Kind == pipeline.KindBool {
			// YAML's True and TRUE are a bool field's true.
			p.value = strings.ToLower(src)
		}
		l.m.exprs[fi] = strconv.Quote(src)
		return l.constant(p, target, v)
	}
	l.m.exprs[fi] = src

	if at, msg := exprTooDeep(src); msg != "" {
		p := l.exprPos(v, at)
		l.errs.add(p.line, p.col, "field %q: %s", name, msg)
		return nil
	}
	c := &fieldCompiler{l: l, node: v, field: name, target: target, callees: map[int]bool{}, lets: map[string]bool{}}
	if tree, err := parser.ParseWithConfig(src, parseConfig()); err == nil {
		c.scan(tree.Node)
	}
	prog, err := expr.Compile(src, append(exprOptions[:len(exprOptions):len(exprOptions)], expr.Patch(c))...)
	if len(c.errs) > 0 {
		// Ours are more precise than what expr says about the same spot.
		for _, e := range c.errs {
			l.errs.add(e.Line, e.Column, "%s", e.Msg)
		}
		return nil
	}
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			at := l.exprPos(v, fe.From)
			l.errs.add(at.line, at.col, "field %q: %s", name, exprMessage(fe.Message))
		} else {
			l.errs.add(v.Line, v.Column, "field %q: %v", name, err)
		}
		return nil
	}
	if t := prog.Node().Type(); t != nil {
		if msg := resultProblem(t, target.Kind); msg != "" {
			l.errs.add(v.Line, v.Column, "field %q: %s", name, msg)
			return nil
		}
	}
	p.cols = c.used
	if c.null {
		p.null, p.finish = true, true
	}

	if len(c.used) == 0 && !c.reference {
		// No column: the value is the same for every row, so compute it
		// once, and report a failure now rather than on every row.
		r := &runner{m: l.m}
		out, err := r.vm.Run(prog, r)
		if err != nil {
			at := pos{v.Line, v.Column}
			var fe *file.Error
			if errors.As(err, &fe) {
				at = l.exprPos(v, fe.From)
			}
			l.errs.add(at.line, at.col, "field %q: %s", name, runtimeMessage(err))
			return nil
		}
		s, ok := formatFor(target.Kind, out)
		if !ok {
			l.errs.add(v.Line, v.Column, "field %q: the expression gives %s", name, notFor(target.Kind, out))
			return nil
		}
		p.kind, p.value = fkConst, s
		return l.constant(p, target, v)
	}
	d := direct(prog.Node())
	if d == nil {
		// A condition as the whole expression (consent == "Y") gives
		// true or false, a bool field's text.
		if b := directBool(prog.Node()); b != nil {
			d = &dnode{op: dBoolText, args: []*dnode{b}}
		}
	}
	if d != nil && (d.op == dInt || d.list && target.Kind != pipeline.KindList) {
		// A list where text goes is rejected row by row, by the VM.
		d = nil
	}
	switch {
	case d != nil && d.op == dCol:
		p.kind, p.col = fkColumn, d.col
	case d != nil && !vmOnly:
		p.kind, p.node = fkDirect, d
		p.memo = !d.cheap()
	default:
		p.kind, p.prog = fkVM, prog
	}
	if p.finish {
		inner := *p
		return &fieldProg{field: p.field, name: p.name, kind: fkFinish, cols: p.cols, target: p.target, finish: true, null: p.null, inner: &inner}
	}
	return p
}

// constant checks a field's constant value at Load, as the row checks
// would on every row: finishValue's, and the kinds whose form a constant
// can only get wrong the same way each time (true/false, a number, a date,
// a list). A mistake fails Load rather than every row.
func (l *loader) constant(p *fieldProg, target *pipeline.Field, at *yaml.Node) *fieldProg {
	v, err := p.finishValue(p.value)
	if err != nil {
		l.errs.add(at.Line, at.Column, "field %q: %s", p.name, runtimeMessage(err))
		return nil
	}
	p.value, p.finish = v, false
	switch {
	case v == pipeline.Null && !target.CanClear():
		l.errs.add(at.Line, at.Column, "field %q: null() clears a field, but %s cannot clear %s; leave the field out to keep what the CRM holds",
			p.name, l.m.schema.API, p.name)
		return nil
	case pipeline.IsEmpty(v) || target.Kind < pipeline.KindBool:
		return p
	}
	if _, ok := pipeline.Canonical(target.Kind, v); !ok {
		l.errs.add(at.Line, at.Column, "field %q: %s is not %s", p.name, quote(v), kindValue(target.Kind))
		return nil
	}
	return p
}

// kindValue names what a field of kind k holds, for messages.
func kindValue(k pipeline.Kind) string {
	switch k {
	case pipeline.KindBool:
		return `true or false (write a condition, such as consent == "Y")`
	case pipeline.KindInt:
		return "a whole number"
	case pipeline.KindDecimal:
		return "a decimal number such as 12.5"
	case pipeline.KindDate:
		return `a date YYYY-MM-DD (convert it with date(value, "DD/MM/YYYY"))`
	case pipeline.KindList:
		return `a list: build it with list(…) or split(…, ";")`
	}
	return "a " + k.String()
}

// resultProblem says why an expression whose result has type t cannot
// fill a field of kind k, or "".
func resultProblem(t reflect.Type, k pipeline.Kind) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if k != pipeline.KindList {
			return "the expression gives a list, not text"
		}
		if e := t.Elem().Kind(); e != reflect.String && e != reflect.Interface {
			return "the expression gives a list holding other values than text"
		}
	case reflect.Map, reflect.Struct, reflect.Func, reflect.Pointer:
		if k == pipeline.KindList {
			return fmt.Sprintf("the expression gives %s, not a list", typeName(t))
		}
		return fmt.Sprintf("the expression gives %s, not text", typeName(t))
	}
	return ""
}

// notFor describes a value a field of kind k cannot hold, for messages:
// "a list, not text".
func notFor(k pipeline.Kind, v any) string {
	if k != pipeline.KindList {
		return describe(v) + ", not text"
	}
	if t := reflect.TypeOf(v); t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return "a list holding other values than text"
	}
	return describe(v) + ", not a list"
}

// finishValue applies to a value of the field what its kind and
// expression ask of every value: on a date field, an RFC 3339 time is cut
// to its date; with null() in the expression, null must be the whole
// value, never a part of text ("x" + null()).
func (p *fieldProg) finishValue(v string) (string, error) {
	if p.null && v != pipeline.Null && strings.IndexByte(v, 0) >= 0 {
		return "", failf(CodeType, "", "the expression for %s puts null() inside text; null() clears a field and must be its whole value", p.name)
	}
	if p.target == pipeline.KindDate {
		return dateOnly(v), nil
	}
	return v, nil
}

// maxNesting and maxTokens bound an expression before expr parses it.
// expr's parser recurses once per bracket and per prefix operator (-, !,
// not) before it counts the nodes it makes against its own limit, so an
// expression nested a few hundred thousand levels deep overflows Go's
// stack, which no recover catches: the process dies. Real expressions nest
// a handful of calls and hold a few dozen tokens; maxTokens is twice
// expr's own limit of 10000 nodes, since brackets and commas make none.
const (
	maxNesting = 100
	maxTokens  = 20000
)

// exprTooDeep reads src with expr's own lexer, so that brackets in text
// and comments do not count, and returns the rune offset of the token
// past a bound and what is wrong, or "" when src is within both. A
// lexing error is left to the parser, which reports it with its place.
func exprTooDeep(src string) (at int, msg string) {
	lx := lexer.New()
	lx.Reset(file.NewSource(src))
	depth := 0
	for n := 0; ; n++ {
		t, err := lx.Next()
		if err != nil || t.Kind == lexer.EOF {
			return 0, ""
		}
		if n == maxTokens {
			return t.From, fmt.Sprintf("the expression holds more than %d tokens (names, values, operators, brackets); keep long lists in a lookup table", maxTokens)
		}
		if t.Kind != lexer.Bracket {
			continue
		}
		switch t.Value {
		case "(", "[", "{":
			if depth++; depth > maxNesting {
				return t.From, fmt.Sprintf("the expression is nested more than %d brackets deep", maxNesting)
			}
		default:
			depth--
		}
	}
}

// exprMessage tidies expr's wording for people who write mappings, not
// Go programs.
func exprMessage(msg string) string {
	msg = strings.TrimSuffix(msg, " ")
	if msg == "unexpected token EOF" || msg == "unexpected end of expression" {
		return `the expression ends too early (a ")" or an argument missing?)`
	}
	msg = strings.Replace(msg, "unexpected token ", "unexpected ", 1)
	// expr names tokens by their lexer class: Bracket(")") → ")".
	return tokenName.ReplaceAllString(msg, "$1")
}

var tokenName = regexp.MustCompile(`\b(?:Bracket|Operator|Identifier|Number|String|EOF)\(("(?:[^"\\]|\\.)*")\)`)

// runtimeMessage is the message of an error returned by vm.Run: our
// function's own when it is one, else expr's without its source snippet.
func runtimeMessage(err error) string {
	var fe *fnError
	if errors.As(err, &fe) {
		return fe.msg
	}
	var xe *file.Error
	if errors.As(err, &xe) {
		return xe.Message
	}
	return err.Error()
}

// scan collects what the visitor must not rewrite: identifiers that name
// the function of a call, and variables declared with let.
func (c *fieldCompiler) scan(n ast.Node) {
	ast.Walk(&n, scanVisitor{c})
}

type scanVisitor struct{ c *fieldCompiler }

func (s scanVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			s.c.callees[id.Location().From] = true
		}
	case *ast.VariableDeclaratorNode:
		s.c.lets[n.Name] = true
	}
}

// Visit rewrites each column identifier into $col($env, k), where k is
// the column's index in Mapping.cols, and passes $env (the runner) as the
// first argument of our functions.
func (c *fieldCompiler) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if c.callees[n.Location().From] || c.lets[n.Value] {
			return
		}
		if n.Value == "$env" {
			c.errorf(n, "unknown name $env")
			return
		}
		c.column(node, n.Value, n)
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || id.Value == colFuncName && len(n.Arguments) == 2 && isEnv(n.Arguments[0]) {
			return
		}
		if id.Value == "col" {
			name, ok := constString(argAt(n.Arguments, 0))
			if len(n.Arguments) != 1 || !ok {
				c.errorf(n, `col takes one quoted column name, as in col("First Name")`)
				return
			}
			c.column(node, name, n)
			return
		}
		f := functions[id.Value]
		if f != nil && f.name == "null" {
			c.null = true
			if !c.target.CanClear() {
				c.errorf(id, "null() clears a field, but %s cannot clear %s; leave the field empty (\"\") to keep what the CRM holds",
					c.l.m.schema.API, c.field)
				return
			}
		}
		if f == nil {
			if _, isBuiltin := builtin.Index[id.Value]; isBuiltin && isDisabled(id.Value) {
				c.errorf(id, "%s is not available in mappings: a run must give the same records whenever it runs", id.Value)
				return
			}
			c.errorf(id, "unknown function %s%s", id.Value, didYouMean(id.Value, functionNames))
			return
		}
		if f.check != nil && len(n.Arguments) >= f.required && (f.variadic || len(n.Arguments) <= len(f.params)) {
			if at, err := f.check(c.l.m, n.Arguments); err != nil {
				if at == nil {
					at = n
				}
				c.errorf(at, "%s", err.Error())
			}
		}
		if name, ok := constString(argAt(n.Arguments, 0)); ok && id.Value == "lookup" && isReference(name) {
			c.reference = true
		}
		env := &ast.IdentifierNode{Value: "$env"}
		env.SetLocation(n.Location())
		n.Arguments = append([]ast.Node{env}, n.Arguments...)
		// expr checked the tree once before this visitor ran, with the
		// arguments one place off, and keeps a call's type from that
		// check: forgotten, the call is checked again, as written.
		n.SetType(nil)
	}
}

func isEnv(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "$env"
}

func isDisabled(name string) bool {
	for _, d := range disabledBuiltins {
		if d == name {
			return true
		}
	}
	return false
}

func argAt(args []ast.Node, i int) ast.Node {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// column replaces *node with a reference to the named source column.
func (c *fieldCompiler) column(node *ast.Node, name string, at ast.Node) {
	p := c.l.exprPos(c.node, at.Location().From)
	if pipeline.IsReservedColumn(name) {
		c.errorf(at, "column %q is one crmsync adds to its reject files and ignores on input", name)
		return
	}
	k := c.l.useColumn(name, p)
	seen := false
	for _, u := range c.used {
		seen = seen || u == k
	}
	if !seen {
		c.used = append(c.used, k)
	}
	loc := at.Location()
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(loc)
	idx := &ast.IntegerNode{Value: k}
	idx.SetLocation(loc)
	callee := &ast.IdentifierNode{Value: colFuncName}
	callee.SetLocation(loc)
	ref := &ast.CallNode{Callee: callee, Arguments: []ast.Node{env, idx}}
	ref.SetLocation(loc)
	*node = ref
}

func (c *fieldCompiler) errorf(at ast.Node, format string, args ...any) {
	p := c.l.exprPos(c.node, at.Location().From)
	c.errs = append(c.errs, &Error{File: c.l.path, Line: p.line, Column: p.col,
		Msg: fmt.Sprintf("field %q: %s", c.field, fmt.Sprintf(format, args...))})
}

// exprPos converts a rune offset in the expression held by n into a
// line and column of the file. It follows YAML's layout of each scalar
// style; escapes inside double quotes can shift it by a few columns.
func (l *loader) exprPos(n *yaml.Node, off int) pos {
	if off < 0 {
		off = 0
	}
	lineRunes := func(ln int) []rune {
		if ln < 1 || ln > len(l.lines) {
			return nil
		}
		return []rune(strings.TrimSuffix(l.lines[ln-1], "\r"))
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		indent := -1
		for ln := n.Line + 1; ln <= len(l.lines); ln++ {
			text := lineRunes(ln)
			if strings.TrimSpace(string(text)) == "" {
				if off == 0 && indent >= 0 {
					return pos{ln, indent + 1}
				}
				off--
				continue
			}
			if indent < 0 {
				indent = leadingSpaces(text)
			}
			content := len(text) - min(indent, len(text))
			if off <= content {
				return pos{ln, indent + off + 1}
			}
			off -= content + 1
		}
		return pos{n.Line, n.Column}
	}
	ln, start := n.Line, n.Column
	if n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle {
		start++
	}
	for {
		text := lineRunes(ln)
		avail := len(text) - (start - 1)
		if off <= avail || ln >= len(l.lines) {
			return pos{ln, start + off}
		}
		off -= avail + 1
		ln++
		start = leadingSpaces(lineRunes(ln)) + 1
	}
}

func leadingSpaces(text []rune) int {
	n := 0
	for n < len(text) && unicode.IsSpace(text[n]) {
		n++
	}
	return n
}

// ---- the direct evaluator ----

// dnode is an expression the direct evaluator runs without expr's VM:
// a tree of calls of our functions over columns and constants, the shape
// of nearly every mapping. It boxes nothing and allocates only what the
// functions themselves build.
type dnode struct {
	op   dop
	col  int    // dCol
	text string // dText
	num  int    // dInt
	fn   *function
	args []*dnode
	// unary is fn.unary, copied so that the commonest call, a text
	// function of one text, is one indirect call.
	unary func(string) string
	// list is set when the node gives a list (a call of split or list,
	// or a ternary with such a branch): eval gives its canonical text,
	// which only a list field takes.
	list bool
}

type dop uint8

const (
	dCol    dop = iota // a source column
	dText              // a text constant
	dInt               // a whole-number constant
	dCall              // one of our functions
	dConcat            // a + b on text
	dCond              // args[0] ? args[1] : args[2]
	// Conditions, evaluated by evalBool.
	dBool // num != 0
	dEq   // args[0] == args[1], on text
	dNe   // args[0] != args[1], on text
	dAnd  // args[0] and args[1]
	dOr   // args[0] or args[1]
	dNot  // not args[0]
	// dBoolText is a condition as a whole expression: "true" or "false".
	dBoolText
	// dListCall is a call of one of our functions that gives a list.
	dListCall
)

func (d *dnode) isText() bool { return d.op <= dCond && d.op != dInt && !d.list }

// isValue reports whether d gives text or a list.
func (d *dnode) isValue() bool { return d.isText() || d.list }

// cheap reports whether evaluating d costs less than looking its result
// up in a memo (hashing the input, probing a map): it only compares,
// picks, and calls functions that scan their argument once without
// allocating.
func (d *dnode) cheap() bool {
	switch d.op {
	case dConcat:
		return false
	case dCall, dListCall:
		if !d.fn.cheap {
			return false
		}
	}
	for _, a := range d.args {
		if !a.cheap() {
			return false
		}
	}
	return true
}

// direct converts a checked expression tree into a dnode, or returns
// nil when the tree uses anything else (operators, ternaries, expr
// built-ins), which then runs on the VM.
func direct(n ast.Node) *dnode {
	switch n := n.(type) {
	case *ast.StringNode:
		return &dnode{op: dText, text: n.Value}
	case *ast.IntegerNode:
		return &dnode{op: dInt, num: n.Value}
	case *ast.ConstantNode:
		switch v := n.Value.(type) {
		case string:
			return &dnode{op: dText, text: v}
		case int:
			return &dnode{op: dInt, num: v}
		}
	case *ast.UnaryNode:
		if v, ok := constInt(n); ok {
			return &dnode{op: dInt, num: v}
		}
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return nil
		}
		a, b := direct(n.Left), direct(n.Right)
		if a == nil || b == nil || !a.isText() || !b.isText() {
			return nil
		}
		return &dnode{op: dConcat, args: []*dnode{a, b}}
	case *ast.ConditionalNode:
		c, a, b := directBool(n.Cond), direct(n.Exp1), direct(n.Exp2)
		if c == nil || a == nil || b == nil || !a.isValue() || !b.isValue() {
			return nil
		}
		// A branch of text beside a list (null() or a column of list
		// text) gives text where the VM gives it: the node is a list.
		return &dnode{op: dCond, args: []*dnode{c, a, b}, list: a.list || b.list}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || len(n.Arguments) == 0 || !isEnv(n.Arguments[0]) {
			return nil
		}
		args := n.Arguments[1:]
		if id.Value == colFuncName {
			if k, ok := args[0].(*ast.IntegerNode); ok && len(args) == 1 {
				return &dnode{op: dCol, col: k.Value}
			}
			return nil
		}
		f := functions[id.Value]
		if f == nil {
			return nil
		}
		if f.name == "null" && len(args) == 0 {
			return &dnode{op: dText, text: pipeline.Null}
		}
		d := &dnode{op: dCall, fn: f, unary: f.unary}
		if f.givesList(len(args)) {
			d.op, d.list = dListCall, true
		}
		for i, a := range args {
			da := direct(a)
			if da == nil || da.isText() != (f.paramType(i) == pText) {
				return nil
			}
			d.args = append(d.args, da)
		}
		return d
	}
	return nil
}

// directBool converts a condition: comparisons of text with == and !=,
// and, or, not, true and false, the conditions of nearly every ternary
// in a mapping (col != "" ? col : other).
func directBool(n ast.Node) *dnode {
	switch n := n.(type) {
	case *ast.BoolNode:
		d := &dnode{op: dBool}
		if n.Value {
			d.num = 1
		}
		return d
	case *ast.UnaryNode:
		if n.Operator == "not" || n.Operator == "!" {
			if a := directBool(n.Node); a != nil {
				return &dnode{op: dNot, args: []*dnode{a}}
			}
		}
	case *ast.BinaryNode:
		var op dop
		switch n.Operator {
		case "==", "!=":
			a, b := direct(n.Left), direct(n.Right)
			if a == nil || b == nil || !a.isText() || !b.isText() {
				return nil
			}
			op = dEq
			if n.Operator == "!=" {
				op = dNe
			}
			return &dnode{op: op, args: []*dnode{a, b}}
		case "and", "&&":
			op = dAnd
		case "or", "||":
			op = dOr
		default:
			return nil
		}
		a, b := directBool(n.Left), directBool(n.Right)
		if a == nil || b == nil {
			return nil
		}
		return &dnode{op: op, args: []*dnode{a, b}}
	}
	return nil
}
