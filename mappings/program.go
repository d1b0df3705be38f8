package mappings

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"crmsync/pipeline"

	"github.com/expr-lang/expr/vm"
	"github.com/zeebo/xxh3"
)

// Program is a Mapping bound to one source's columns. Apply is safe for
// concurrent use: the engine maps batches in parallel with one Program.
type Program struct {
	m   *Mapping
	idx []int // Mapping.cols index → source column index
	// unmapped are the schema fields the mapping leaves empty.
	unmapped []int
	keyIdx   int
	minLen   int // a row needs this many values for every index to exist
	pool     sync.Pool
}

// runner is the per-call state of Apply: expr's VM, which is not safe
// to share, and the argument stack of our functions. It is what
// expressions see as $env.
type runner struct {
	vm     vm.VM
	m      *Mapping
	idx    []int
	values []string
	args   []arg
	memos  []fieldMemo // per schema field
}

// fieldMemo remembers the results of a field whose expression reads one
// column, by that column's value. Exports repeat such values row after
// row (a country, an account owner, a tier), and the functions are pure:
// the same value gives the same result. A field whose values seldom
// repeat (an email) stops remembering after memoProbe rows.
type fieldMemo struct {
	vals        map[string]string
	tries, hits int
	off         bool
}

const (
	// memoSize bounds the values remembered per field and runner.
	memoSize = 1024
	// memoProbe is how many rows a field is tried on before it stops
	// remembering, unless at least half of them were found.
	memoProbe = 4096
)

// memo returns the memo of schema field f.
func (r *runner) memo(f, fields int) *fieldMemo {
	if r.memos == nil {
		r.memos = make([]fieldMemo, fields)
	}
	return &r.memos[f]
}

func (r *runner) col(k int) string {
	if k < 0 || k >= len(r.idx) {
		return "" // no row: never reached, since constants have no columns
	}
	return r.values[r.idx[k]]
}

// Bind checks the mapping against a source's header and returns the
// Program that maps its rows. columns are the header's names in file
// order; nested names the columns a Parquet source holds as lists or
// structs, which crmsync cannot read. Every column the mapping reads, the
// key included, must be in columns once and not be nested; the error, if
// any, is an Errors naming where the mapping file uses each missing one.
func (m *Mapping) Bind(columns []string, nested []string) (*Program, error) {
	errs := errorList{file: m.path}
	at := map[string][]int{}
	for i, c := range columns {
		at[c] = append(at[c], i)
	}
	isNested := map[string]bool{}
	for _, c := range nested {
		isNested[c] = true
	}
	p := &Program{m: m, idx: make([]int, len(m.cols))}
	for k, name := range m.cols {
		where := m.colPos[k]
		use := "column"
		if k == 0 && name == m.key {
			use = "key column"
		}
		switch idx := at[name]; {
		case isNested[name]:
			errs.add(where.line, where.col, "%s %s is nested (list/struct); crmsync reads only flat columns", use, quote(name))
		case len(idx) == 0:
			errs.add(where.line, where.col, "%s %s is not in the source%s", use, quote(name), didYouMean(name, columns))
		case len(idx) > 1:
			errs.add(where.line, where.col, "%s %s appears %d times in the source header; rename the copies", use, quote(name), len(idx))
		default:
			p.idx[k] = idx[0]
			p.minLen = max(p.minLen, idx[0]+1)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	p.keyIdx = p.idx[m.colIdx[m.key]]
	for i, mapped := range m.mapped {
		if !mapped {
			p.unmapped = append(p.unmapped, i)
		}
	}
	p.pool.New = func() any { return &runner{m: m, idx: p.idx, args: make([]arg, 0, 16)} }
	return p, nil
}

// Mapping returns the mapping the program was bound from.
func (p *Program) Mapping() *Mapping { return p.m }

// Apply maps one row into rec: rec.Values gets one value per schema field
// (its backing array is reused when large enough; given with length 0,
// as the engine gives it, its fields are taken to be empty already),
// rec.Key the trimmed key column, rec.Row the row. A row the mapping cannot map is rejected with
// stage map; rec then holds what was mapped so far.
func (p *Program) Apply(row *pipeline.Row, rec *pipeline.Record) (rej *pipeline.Reject) {
	n := len(p.m.schema.Fields)
	if len(rec.Values) == 0 && cap(rec.Values) >= n {
		// The engine's fresh batch: every field is empty already, and
		// not touching the unmapped ones spares a wide schema's row the
		// memory traffic.
		rec.Values = rec.Values[:n]
	} else if cap(rec.Values) >= n {
		// The mapped fields are all set below (or cleared, from the one
		// that fails on); only the others need clearing now. Clearing the
		// whole slice was a tenth of mapping a row.
		rec.Values = rec.Values[:n]
		for _, i := range p.unmapped {
			rec.Values[i] = ""
		}
	} else {
		rec.Values = make([]string, n)
	}
	rec.Row, rec.Key = row, ""
	if row == nil {
		clear(rec.Values)
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: CodeFieldCount, Message: "no row"}
	}
	if len(row.Values) < p.minLen {
		clear(rec.Values)
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: CodeFieldCount,
			Message: fmt.Sprintf("the row has %d values; the mapping needs at least %d", len(row.Values), p.minLen)}
	}
	rec.Key = strings.TrimSpace(row.Values[p.keyIdx])
	if rec.Key == "" {
		clear(rec.Values)
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: CodeMissingKey, Column: p.m.key,
			Message: fmt.Sprintf("the key column %q is empty", p.m.key)}
	}

	var r *runner
	var f *fieldProg
	j := 0 // fields mapped so far
	defer func() {
		// Our functions do not panic; this guards against third-party code
		// (phone metadata, case tables) meeting a cell nobody foresaw, so
		// that one row is rejected rather than the run killed.
		if x := recover(); x != nil {
			name := ""
			if f != nil {
				name = f.name
			}
			rej = &pipeline.Reject{Stage: pipeline.StageMap, Code: CodeExpression, Field: name,
				Message: fmt.Sprintf("internal error while mapping: %v", x)}
		}
		if rej != nil {
			for _, g := range p.m.fields[j:] {
				rec.Values[g.field] = ""
			}
		}
		if r != nil {
			r.values = nil
			r.args = r.args[:0]
			p.pool.Put(r)
		}
	}()
	for _, f = range p.m.fields {
		v, rej := p.field(f, row, &r)
		if rej != nil {
			return rej
		}
		rec.Values[f.field] = v
		j++
	}
	return nil
}

// field maps one field of row. *r is the runner, taken from the pool when
// first needed; the caller puts it back.
func (p *Program) field(f *fieldProg, row *pipeline.Row, r **runner) (string, *pipeline.Reject) {
	var v string
	var err error
	switch f.kind {
	case fkConst:
		v = f.value
	case fkColumn:
		v = row.Values[p.idx[f.col]]
	case fkDirect:
		if *r == nil {
			*r = p.runner(row)
		}
		if f.memo && len(f.cols) == 1 {
			return p.memoized(f, row, *r)
		}
		v, err = (*r).eval(f.node)
	case fkVM:
		if *r == nil {
			*r = p.runner(row)
		}
		var out any
		out, err = (*r).vm.Run(f.prog, *r)
		if err == nil {
			var ok bool
			if v, ok = formatFor(f.target, out); !ok {
				return "", &pipeline.Reject{Stage: pipeline.StageMap, Code: CodeType, Field: f.name,
					Column: p.soleColumn(f), Message: fmt.Sprintf("the expression for %s gives %s", f.name, notFor(f.target, out))}
			}
		}
	case fkFinish:
		var rej *pipeline.Reject
		if v, rej = p.field(f.inner, row, r); rej != nil {
			return "", rej
		}
		v, err = f.inner.finishValue(v)
	}
	if err != nil {
		return "", p.reject(f, row, err)
	}
	return v, nil
}

// memoized evaluates a direct expression of one column through the
// runner's memo of the field. Only results are remembered, never errors,
// and keys and results are copied: a Parquet batch's values share one
// buffer, which a remembered substring would keep alive.
func (p *Program) memoized(f *fieldProg, row *pipeline.Row, r *runner) (string, *pipeline.Reject) {
	fm := r.memo(f.field, len(p.m.schema.Fields))
	in := row.Values[p.idx[f.cols[0]]]
	if !fm.off {
		fm.tries++
		if v, ok := fm.vals[in]; ok {
			fm.hits++
			return v, nil
		}
	}
	v, err := r.eval(f.node)
	if err != nil {
		return "", p.reject(f, row, err)
	}
	switch {
	case fm.off:
	case fm.tries >= memoProbe && fm.hits*2 < fm.tries:
		fm.off, fm.vals = true, nil
	case len(fm.vals) < memoSize:
		if fm.vals == nil {
			fm.vals = make(map[string]string, 64)
		}
		fm.vals[strings.Clone(in)] = strings.Clone(v)
	}
	return v, nil
}

var _ pipeline.SourceDigester = (*Program)(nil)

// SourceDigest implements pipeline.SourceDigester: the mapping's
// fingerprint, then each column the mapping reads, with its length.
func (p *Program) SourceDigest(row *pipeline.Row) uint64 {
	if row == nil || len(row.Values) < p.minLen {
		return 0
	}
	var buf [1024]byte
	b := binary.LittleEndian.AppendUint64(buf[:0], p.m.fingerprint)
	for _, i := range p.idx {
		v := row.Values[i]
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	if h := xxh3.Hash(b); h != 0 {
		return h
	}
	return 1
}

// Key implements pipeline.SourceDigester.
func (p *Program) Key(row *pipeline.Row) string {
	if row == nil || len(row.Values) < p.minLen {
		return ""
	}
	return strings.TrimSpace(row.Values[p.keyIdx])
}

// MapField implements pipeline.SourceDigester.
func (p *Program) MapField(row *pipeline.Row, field int) (v string, ok bool) {
	if row == nil || len(row.Values) < p.minLen {
		return "", false
	}
	var r *runner
	defer func() {
		if x := recover(); x != nil {
			v, ok = "", false
		}
		if r != nil {
			r.values = nil
			r.args = r.args[:0]
			p.pool.Put(r)
		}
	}()
	for _, f := range p.m.fields {
		if f.field == field {
			v, rej := p.field(f, row, &r)
			return v, rej == nil
		}
	}
	return "", false
}

func (p *Program) runner(row *pipeline.Row) *runner {
	r := p.pool.Get().(*runner)
	r.values = row.Values
	return r
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a map"
	case float64, float32:
		return "a number that is not finite"
	}
	if t := reflect.TypeOf(v); t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// reject turns an error of a field's expression into a Reject.
func (p *Program) reject(f *fieldProg, row *pipeline.Row, err error) *pipeline.Reject {
	rej := &pipeline.Reject{Stage: pipeline.StageMap, Code: CodeExpression, Field: f.name}
	if fe, ok := asFnError(err); ok {
		rej.Code = fe.code
		rej.Message = fe.msg
		rej.Column = p.columnOf(f, row, fe.value)
		return rej
	}
	rej.Column = p.soleColumn(f)
	rej.Message = fmt.Sprintf("the expression for %s failed: %s", f.name, runtimeMessage(err))
	return rej
}

// columnOf names the column a bad value came from: the expression's only
// column, or the one whose value is the value at fault. In
// phone(coalesce(mobile, landline)) that tells which of the two was bad.
func (p *Program) columnOf(f *fieldProg, row *pipeline.Row, value string) string {
	if c := p.soleColumn(f); c != "" {
		return c
	}
	if value == "" {
		return ""
	}
	tv := strings.TrimSpace(value)
	for _, k := range f.cols {
		if v := row.Values[p.idx[k]]; v == value || strings.TrimSpace(v) == tv {
			return p.m.cols[k]
		}
	}
	return ""
}

func (p *Program) soleColumn(f *fieldProg) string {
	if len(f.cols) == 1 {
		return p.m.cols[f.cols[0]]
	}
	return ""
}

// eval runs a direct expression. Arguments go on r.args, a stack shared by
// nested calls, so evaluation allocates nothing of its own.
func (r *runner) eval(d *dnode) (string, error) {
	switch d.op {
	case dCol:
		return r.values[r.idx[d.col]], nil
	case dText:
		return d.text, nil
	case dConcat:
		a, err := r.eval(d.args[0])
		if err != nil {
			return "", err
		}
		b, err := r.eval(d.args[1])
		if err != nil {
			return "", err
		}
		return a + b, nil
	case dCall:
		if d.unary != nil {
			s, err := r.eval(d.args[0])
			if err != nil {
				return "", err
			}
			return d.unary(s), nil
		}
		base := len(r.args)
		for _, a := range d.args {
			if a.op == dInt {
				r.args = append(r.args, arg{i: a.num})
				continue
			}
			s, err := r.eval(a)
			if err != nil {
				r.args = r.args[:base]
				return "", err
			}
			r.args = append(r.args, arg{s: s})
		}
		s, err := d.fn.call(r, r.args[base:])
		r.args = r.args[:base]
		return s, err
	case dCond:
		c, err := r.evalBool(d.args[0])
		if err != nil {
			return "", err
		}
		if c {
			return r.eval(d.args[1])
		}
		return r.eval(d.args[2])
	case dListCall:
		return r.evalList(d)
	case dBoolText:
		c, err := r.evalBool(d.args[0])
		if err != nil {
			return "", err
		}
		return strconv.FormatBool(c), nil
	}
	return "", fmt.Errorf("internal error: a whole number where text was expected")
}

// evalList runs a call that gives a list, and gives the list's text.
func (r *runner) evalList(d *dnode) (string, error) {
	base := len(r.args)
	for _, a := range d.args {
		if a.op == dInt {
			r.args = append(r.args, arg{i: a.num})
			continue
		}
		s, err := r.eval(a)
		if err != nil {
			r.args = r.args[:base]
			return "", err
		}
		r.args = append(r.args, arg{s: s})
	}
	items, err := d.fn.list(r, r.args[base:])
	r.args = r.args[:base]
	if err != nil {
		return "", err
	}
	return listText(items)
}

// evalBool runs a condition of the direct evaluator.
func (r *runner) evalBool(d *dnode) (bool, error) {
	switch d.op {
	case dBool:
		return d.num != 0, nil
	case dEq, dNe:
		a, err := r.eval(d.args[0])
		if err != nil {
			return false, err
		}
		b, err := r.eval(d.args[1])
		if err != nil {
			return false, err
		}
		return (a == b) == (d.op == dEq), nil
	case dAnd, dOr:
		a, err := r.evalBool(d.args[0])
		if err != nil || a == (d.op == dOr) {
			return a, err // and stops at false, or at true
		}
		return r.evalBool(d.args[1])
	case dNot:
		a, err := r.evalBool(d.args[0])
		return !a, err
	}
	return false, fmt.Errorf("internal error: text where a condition was expected")
}
