package mappings

import (
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// digitDFA is a deterministic automaton over the ten digits that tells
// whether a whole string matches a pattern. libphonenumber's patterns are
// regular expressions over digits; package regexp runs them with a
// backtracker at several hundred nanoseconds a number, the automaton in
// a few nanoseconds a digit.
type digitDFA struct {
	next   [][10]int32 // state × digit → state, -1 for no match possible
	accept []bool
}

// maxDFAStates bounds the subset construction; a pattern that needs more
// keeps package regexp.
const maxDFAStates = 4096

// compileDigitDFA builds the automaton for a full match of pattern. ok is
// false when the pattern uses what the construction does not handle
// (anchors or other empty-width assertions) or needs too many states.
func compileDigitDFA(pattern string) (d *digitDFA, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	for i := range prog.Inst {
		if prog.Inst[i].Op == syntax.InstEmptyWidth {
			return nil, false
		}
	}
	// closure adds to set the instructions reachable from pc without
	// reading: the ones that read a digit, and Match.
	var closure func(set []uint32, pc uint32) []uint32
	closure = func(set []uint32, pc uint32) []uint32 {
		if slices.Contains(set, pc) {
			return set
		}
		set = append(set, pc)
		switch in := &prog.Inst[pc]; in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			set = closure(set, in.Out)
			set = closure(set, in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			set = closure(set, in.Out)
		}
		return set
	}
	// A state is the set of reading instructions and Match it stands for.
	norm := func(set []uint32) []uint32 {
		out := set[:0]
		for _, pc := range set {
			switch prog.Inst[pc].Op {
			case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL, syntax.InstMatch:
				out = append(out, pc)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	key := func(set []uint32) string {
		var b strings.Builder
		for _, pc := range set {
			b.WriteString(strconv.FormatUint(uint64(pc), 36))
			b.WriteByte(',')
		}
		return b.String()
	}
	d = &digitDFA{}
	index := map[string]int32{}
	var states [][]uint32
	add := func(set []uint32) int32 {
		k := key(set)
		if i, ok := index[k]; ok {
			return i
		}
		i := int32(len(states))
		index[k] = i
		states = append(states, set)
		accept := false
		for _, pc := range set {
			accept = accept || prog.Inst[pc].Op == syntax.InstMatch
		}
		d.accept = append(d.accept, accept)
		d.next = append(d.next, [10]int32{})
		return i
	}
	add(norm(closure(nil, uint32(prog.Start))))
	for s := 0; s < len(states); s++ {
		if len(states) > maxDFAStates {
			return nil, false
		}
		for digit := range 10 {
			var set []uint32
			for _, pc := range states[s] {
				in := &prog.Inst[pc]
				if in.Op != syntax.InstMatch && in.MatchRune(rune('0'+digit)) {
					set = closure(set, in.Out)
				}
			}
			set = norm(set)
			if len(set) == 0 {
				d.next[s][digit] = -1
				continue
			}
			d.next[s][digit] = add(set)
		}
	}
	return d, true
}

// match reports whether all of b, digits only, matches.
func (d *digitDFA) match(b []byte) bool {
	s := int32(0)
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		if s = d.next[s][c-'0']; s < 0 {
			return false
		}
	}
	return d.accept[s]
}
