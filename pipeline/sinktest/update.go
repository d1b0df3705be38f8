package sinktest

import (
	"fmt"
	"slices"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
)

// widen adds to send every mapped part of a GroupReplace object one of
// whose parts it sends, as the engine does for the Send it computes.
func widen(s *pipeline.Schema, mapped, send []bool) []bool {
	out := slices.Clone(send)
	for f, on := range send {
		g := s.Fields[f].Group()
		if !on || g == "" || s.GroupRule(g) != pipeline.GroupReplace {
			continue
		}
		for o := range s.Fields {
			if mapped[o] && s.Fields[o].Group() == g {
				out[o] = true
			}
		}
	}
	return out
}

// only returns a Send marking fields, widened as the engine widens it.
func (s *suite) only(fields ...int) []bool {
	send := make([]bool, len(s.conn.Schema.Fields))
	for _, f := range fields {
		send[f] = true
	}
	return widen(s.conn.Schema, s.gen.mapped(), send)
}

// sameReplaceGroup reports whether fields a and b are parts of one object
// the API replaces whole.
func sameReplaceGroup(sc *pipeline.Schema, a, b int) bool {
	g := sc.Fields[a].Group()
	return g != "" && g == sc.Fields[b].Group() && sc.GroupRule(g) == pipeline.GroupReplace
}

// wantSent checks Result.Sent, when the sink fills it: the fields in want
// are marked, and no other but those every update sends (RequiredOnUpdate)
// and the parts of an object replaced whole with one of them.
func (s *suite) wantSent(t *testing.T, what string, r pipeline.Result, want ...int) {
	t.Helper()
	if r.Sent == nil {
		return
	}
	sc := s.conn.Schema
	for f := range sc.Fields {
		on := f < len(r.Sent) && r.Sent[f]
		wanted := slices.Contains(want, f)
		allowed := wanted || sc.Fields[f].RequiredOnUpdate || sc.UpdateReplaces
		for _, w := range want {
			allowed = allowed || sameReplaceGroup(sc, f, w)
		}
		switch {
		case on && sc.Fields[f].CreateOnly:
			t.Errorf("%s: Result.Sent marks %s, which is create-only", what, sc.Fields[f].Name)
		case wanted && !on:
			t.Errorf("%s: Result.Sent leaves out %s, which changed", what, sc.Fields[f].Name)
		case on && !allowed:
			t.Errorf("%s: Result.Sent marks %s, which did not change", what, sc.Fields[f].Name)
		}
	}
}

// UpdateSendsOnlyChanged: an update sends the fields that changed and no
// other. The proof is a field another writer changes after the sink read
// the account: an update that sent every field would put the old value
// back. Half the changes come without an id (matched from the sink's
// index of the account, as a run without a state does), half with an id
// and Send (as a run with a state does). Each changed customer costs at
// most one write, unchanged ones none.
func testUpdateOnlyChanged(t *testing.T, s *suite) {
	sc := s.conn.Schema
	upd := s.gen.updatable()
	if len(upd) < 2 {
		t.Skipf("the suite can change %d fields of the schema; this needs two", len(upd))
	}
	e := s.start(t, crm.SandboxOptions{})
	const n = 8
	ids, values := e.seed(0, n)
	mapped := s.gen.mapped()
	// Customer i (even) changes field a[i]; another writer changes b[i].
	a, b := make([]int, n), make([]int, n)
	for i := 0; i < n; i += 2 {
		a[i] = upd[(i/2)%len(upd)]
		b[i] = -1
		for k := 1; k < len(upd) && b[i] < 0; k++ {
			if c := upd[(i/2+k)%len(upd)]; !sameReplaceGroup(sc, a[i], c) {
				b[i] = c
			}
		}
		if b[i] < 0 {
			t.Skip("every field the suite changes is part of one object the API replaces whole")
		}
	}

	sk, rec := e.sink()
	ctx := t.Context()
	if err := sk.Prepare(ctx, s.plan()); err != nil {
		t.Fatal(err)
	}

	// The other writer sends b with an id and Send naming b only, while
	// its record also differs in a: what it sends must be b alone.
	other, _ := e.sink()
	var oc []pipeline.Change
	var changed []int
	for i := 0; i < n; i += 2 {
		v := s.gen.with(s.gen.with(values[i], b[i], i, 2), a[i], i, 3)
		ch := changes(i, [][]string{v})[0]
		ch.ID, ch.Send = ids[i], s.only(b[i])
		oc = append(oc, ch)
		changed = append(changed, i)
	}
	ores := run(t, other, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert}, oc)
	for k, i := range changed {
		if ores[k].Outcome != pipeline.OutcomeUpdated || ores[k].ID != ids[i] {
			t.Errorf("other writer, customer %d: %v with id %q %v, want updated with id %q", i, ores[k].Outcome, ores[k].ID, ores[k].Reject, ids[i])
		}
		s.wantSent(t, fmt.Sprintf("other writer, customer %d", i), ores[k], b[i])
		want := s.gen.with(values[i], b[i], i, 2)
		e.wantHeld(fmt.Sprintf("customer %d after an update with Send naming %s alone", i, sc.Fields[b[i]].Name), ids[i], want, mapped)
	}

	next := make([][]string, n)
	for i := range next {
		next[i] = values[i]
		if i%2 == 0 {
			next[i] = s.gen.with(values[i], a[i], i, 1)
		}
	}
	chs := changes(0, next)
	for i := 4; i < n; i += 2 {
		chs[i].ID, chs[i].Send = ids[i], s.only(a[i])
	}
	mark := rec.mark()
	res, err := applyAll(ctx, sk, chs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		want, how := pipeline.OutcomeUnchanged, "unchanged"
		if i%2 == 0 {
			want = pipeline.OutcomeUpdated
			how = fmt.Sprintf("%s changed", sc.Fields[a[i]].Name)
			if chs[i].ID == "" {
				how += ", matched from the index"
			} else {
				how += ", with an id and Send"
			}
		}
		if r.Outcome != want || r.ID != ids[i] {
			t.Errorf("customer %d (%s): %v with id %q %v, want %v with id %q", i, how, r.Outcome, r.ID, r.Reject, want, ids[i])
			continue
		}
		held := next[i]
		if i%2 == 0 {
			s.wantSent(t, fmt.Sprintf("customer %d (%s)", i, how), r, a[i])
			if !sc.UpdateReplaces || chs[i].ID != "" {
				// The other writer's value survives: it was not sent. (A
				// sink that replaces the whole record and matched the
				// customer from its index reads it fresh, sees b differ
				// and sends the record's.)
				held = s.gen.with(next[i], b[i], i, 2)
			}
		}
		e.wantHeld(fmt.Sprintf("customer %d (%s)", i, how), ids[i], held, mapped)
	}
	if w := writes(rec.since(mark)); w > len(changed) || w == 0 {
		t.Errorf("updating %d customers took %d writes, want between 1 and %d", len(changed), w, len(changed))
		logCalls(t, "sink", rec.since(mark))
	}
}

// UnmappedFieldSurvives: a field the mapping does not fill is never
// sent, even where the record carries "" for it (as every record does for
// an unmapped field), so what the CRM holds survives an update, and a
// record whose mapped fields are unchanged costs no write.
func testUnmappedSurvives(t *testing.T, s *suite) {
	sc := s.conn.Schema
	var unmapped []int
	for f := range sc.Fields {
		fl := &sc.Fields[f]
		if s.gen.fillable[f] && f != s.gen.match && !fl.RequiredOnCreate && !fl.RequiredOnUpdate {
			unmapped = append(unmapped, f)
		}
	}
	if len(unmapped) == 0 {
		t.Skip("every field the suite fills is required, so none can be left unmapped")
	}
	change := -1
	for _, f := range s.gen.updatable() {
		if !slices.Contains(unmapped, f) {
			change = f
			break
		}
	}
	if change < 0 {
		// An optional field that an update can change (a create-only one
		// cannot) becomes the changed one.
		for k := len(unmapped) - 1; k >= 0; k-- {
			if !sc.Fields[unmapped[k]].CreateOnly {
				change = unmapped[k]
				unmapped = slices.Delete(unmapped, k, k+1)
				break
			}
		}
		if change < 0 || len(unmapped) == 0 {
			t.Skip("the schema has too few optional fields an update can change: none can be both unmapped and changed")
		}
	}
	e := s.start(t, crm.SandboxOptions{})
	const n = 8
	ids, values := e.seed(0, n)
	mapped := s.gen.mapped()
	for _, f := range unmapped {
		mapped[f] = false
	}
	next := make([][]string, n)
	for i := range next {
		next[i] = slices.Clone(values[i])
		for _, f := range unmapped {
			next[i][f] = ""
		}
		if i%2 == 0 {
			next[i] = s.gen.with(next[i], change, i, 1)
		}
	}
	names := make([]string, len(unmapped))
	for k, f := range unmapped {
		names[k] = sc.Fields[f].Name
	}
	for _, index := range []bool{true, false} {
		lo, hi := 0, n/2
		if !index {
			lo, hi = n/2, n
		}
		sk, rec := e.sink()
		plan := pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert, IndexAccount: index}
		res := run(t, sk, plan, changes(lo, next[lo:hi]))
		for k, r := range res {
			i := lo + k
			want := pipeline.OutcomeUnchanged
			if i%2 == 0 {
				want = pipeline.OutcomeUpdated
			}
			if r.Outcome != want || r.ID != ids[i] {
				t.Errorf("IndexAccount=%v, customer %d (%v unmapped): %v with id %q %v, want %v with id %q", index, i, names, r.Outcome, r.ID, r.Reject, want, ids[i])
			}
			if i%2 == 0 {
				s.wantSent(t, fmt.Sprintf("IndexAccount=%v, customer %d", index, i), r, change)
			}
			held := slices.Clone(values[i])
			held[change] = next[i][change]
			e.wantHeld(fmt.Sprintf("IndexAccount=%v, customer %d with %v unmapped", index, i, names), ids[i], held, s.gen.mapped())
		}
		if w := writes(rec.Calls()); w > (hi-lo)/2 {
			t.Errorf("IndexAccount=%v: %d writes for %d changed customers", index, w, (hi-lo)/2)
			logCalls(t, "sink", rec.Calls())
		}
	}
}

// ClearField: each field an update can clear is cleared by a record that
// holds no value for it (as the engine hands a sink an explicit null of a
// clearable field), reads back empty while every other field survives,
// and a second run of the same records writes nothing.
func testClear(t *testing.T, s *suite) {
	cl := s.gen.clearable()
	if len(cl) == 0 {
		t.Skip("the schema has no field an update can clear")
	}
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, len(cl))
	next := make([][]string, len(cl))
	for i, f := range cl {
		next[i] = slices.Clone(values[i])
		next[i][f] = ""
	}
	mapped := s.gen.mapped()
	sk, _ := e.sink()
	res := run(t, sk, s.plan(), changes(0, next))
	for i, f := range cl {
		name := s.conn.Schema.Fields[f].Name
		if r := res[i]; r.Outcome != pipeline.OutcomeUpdated || r.ID != ids[i] {
			t.Errorf("clearing %s: %v with id %q %v, want updated with id %q", name, r.Outcome, r.ID, r.Reject, ids[i])
			continue
		}
		s.wantSent(t, "clearing "+name, res[i], f)
		e.wantHeld("clearing "+name, ids[i], next[i], mapped)
	}
	sk, rec := e.sink()
	res = run(t, sk, s.plan(), changes(0, next))
	for i, f := range cl {
		if r := res[i]; r.Outcome != pipeline.OutcomeUnchanged {
			t.Errorf("a second run with %s still empty: %v %v, want unchanged", s.conn.Schema.Fields[f].Name, r.Outcome, r.Reject)
		}
	}
	if w := writes(rec.Calls()); w != 0 {
		t.Errorf("a second run of the cleared records made %d writes", w)
		logCalls(t, "sink", rec.Calls())
	}
}

// groupsOf lists the groups of rule whose parts the suite can change, at
// least two of them, with their parts.
func (s *suite) groupsOf(rule pipeline.GroupRule) (names []string, parts map[string][]int) {
	parts = s.gen.groupParts()
	for g, ps := range parts {
		if s.conn.Schema.GroupRule(g) == rule && len(ps) >= 2 {
			names = append(names, g)
		}
	}
	slices.Sort(names)
	return names, parts
}

// GroupMerge and GroupReplace: for each nested object, one customer
// updated from the sink's index and one with an id and Send change one
// part, after another writer changed a second part. Where the API merges,
// only the changed part is sent, so the other writer's part and every
// other part survive; where it replaces, the whole object is sent, so
// every part holds the record's value.
func testGroupMerge(t *testing.T, s *suite)   { testGroup(t, s, pipeline.GroupMerge) }
func testGroupReplace(t *testing.T, s *suite) { testGroup(t, s, pipeline.GroupReplace) }

func testGroup(t *testing.T, s *suite, rule pipeline.GroupRule) {
	word := map[pipeline.GroupRule]string{pipeline.GroupMerge: "merges", pipeline.GroupReplace: "replaces"}[rule]
	groups, parts := s.groupsOf(rule)
	if len(groups) == 0 {
		var createOnly []string
		for _, g := range s.conn.Schema.Groups {
			if g.Rule == rule {
				createOnly = append(createOnly, g.Name)
			}
		}
		if len(createOnly) > 0 {
			t.Skipf("the objects an update %s (%v) have fewer than two parts an update can change (the others are create-only); CreateOnlyKept tests them", word, createOnly)
		}
		t.Skipf("the schema has no nested object (with two parts the suite fills) that an update %s", word)
	}
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 2*len(groups))
	mapped := s.gen.mapped()
	sk, _ := e.sink()
	ctx := t.Context()
	if err := sk.Prepare(ctx, s.plan()); err != nil {
		t.Fatal(err)
	}
	other, _ := e.sink()
	var oc, chs []pipeline.Change
	for gi, g := range groups {
		p1, p2 := parts[g][0], parts[g][1]
		for _, i := range []int{2 * gi, 2*gi + 1} {
			ch := changes(i, [][]string{s.gen.with(values[i], p2, i, 2)})[0]
			ch.ID, ch.Send = ids[i], s.only(p2)
			oc = append(oc, ch)
			ch = changes(i, [][]string{s.gen.with(values[i], p1, i, 1)})[0]
			if i%2 == 1 {
				ch.ID, ch.Send = ids[i], s.only(p1)
			}
			chs = append(chs, ch)
		}
	}
	ores := run(t, other, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert}, oc)
	wantOutcome(t, ores, pipeline.OutcomeUpdated)
	res, err := applyAll(ctx, sk, chs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	for k, r := range res {
		i, g := k, groups[k/2]
		p1, p2 := parts[g][0], parts[g][1]
		how := fmt.Sprintf("%s changed, %s changed by another writer (%s)", s.conn.Schema.Fields[p1].Name, s.conn.Schema.Fields[p2].Name,
			map[bool]string{true: "with an id and Send", false: "matched from the index"}[chs[k].ID != ""])
		if r.Outcome != pipeline.OutcomeUpdated || r.ID != ids[i] {
			t.Errorf("object %s, customer %d (%s): %v with id %q %v, want updated", g, i, how, r.Outcome, r.ID, r.Reject)
			continue
		}
		held := chs[k].Record.Values
		if rule == pipeline.GroupMerge {
			held = s.gen.with(held, p2, i, 2)
			s.wantSent(t, fmt.Sprintf("object %s, customer %d (%s)", g, i, how), r, p1)
		} else {
			s.wantSent(t, fmt.Sprintf("object %s, customer %d (%s)", g, i, how), r, parts[g]...)
		}
		e.wantHeld(fmt.Sprintf("object %s %s, customer %d (%s)", g, word, i, how), ids[i], held, mapped)
	}
}

// ListReplace: a list is sent whole: an update to a shorter list, or to
// the same items in another order, reads back exactly as sent, and a
// second run writes nothing.
func testListReplace(t *testing.T, s *suite) {
	var lists []int
	for f := range s.conn.Schema.Fields {
		if s.gen.fillable[f] && s.conn.Schema.Fields[f].Kind == pipeline.KindList {
			lists = append(lists, f)
		}
	}
	if len(lists) == 0 {
		t.Skip("the schema has no list field the suite fills")
	}
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 2*len(lists))
	next := make([][]string, len(values))
	for k, f := range lists {
		for j, items := range [][]string{{"a"}, {"z", "a", "tag-x"}} {
			i := 2*k + j
			next[i] = slices.Clone(values[i])
			next[i][f] = pipeline.FormatList(items)
		}
	}
	for i := range next {
		if next[i] == nil {
			next[i] = values[i]
		}
	}
	mapped := s.gen.mapped()
	sk, _ := e.sink()
	res := run(t, sk, s.plan(), changes(0, next))
	for k, f := range lists {
		for i := 2 * k; i < 2*k+2; i++ {
			if r := res[i]; r.Outcome != pipeline.OutcomeUpdated || r.ID != ids[i] {
				t.Errorf("list %s from %s to %s: %v %v, want updated", s.conn.Schema.Fields[f].Name, values[i][f], next[i][f], r.Outcome, r.Reject)
				continue
			}
			e.wantHeld(fmt.Sprintf("list %s replaced by %s", s.conn.Schema.Fields[f].Name, next[i][f]), ids[i], next[i], mapped)
		}
	}
	sk, rec := e.sink()
	res = run(t, sk, s.plan(), changes(0, next))
	wantOutcome(t, res, pipeline.OutcomeUnchanged)
	if w := writes(rec.Calls()); w != 0 {
		t.Errorf("a second run of the replaced lists made %d writes", w)
	}
}

// CreateOnlyKept: a create-only field is sent when a customer is created
// and never on update: a record that differs from its customer only
// there is unchanged and costs no write, and one that also changes
// another field is updated with the create-only value left as the CRM
// holds it.
func testCreateOnly(t *testing.T, s *suite) {
	sc := s.conn.Schema
	var co []int
	for f := range sc.Fields {
		if sc.Fields[f].CreateOnly && s.gen.changeable(f) {
			co = append(co, f)
		}
	}
	if len(co) == 0 {
		t.Skip("the schema has no create-only field the suite fills")
	}
	upd := s.gen.updatable()
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 2*len(co))
	mapped := s.gen.mapped()
	next := make([][]string, len(values))
	for k, f := range co {
		i := 2 * k
		next[i] = s.gen.with(values[i], f, i, 1)
		next[i+1] = s.gen.with(values[i+1], f, i+1, 1)
		if len(upd) > 0 {
			next[i+1] = s.gen.with(next[i+1], upd[0], i+1, 1)
		}
	}
	for _, index := range []bool{true, false} {
		sk, rec := e.sink()
		plan := s.plan()
		plan.IndexAccount = index
		res := run(t, sk, plan, changes(0, next))
		updates := 0
		for k, f := range co {
			name := sc.Fields[f].Name
			i := 2 * k
			if r := res[i]; r.Outcome != pipeline.OutcomeUnchanged || r.ID != ids[i] {
				t.Errorf("IndexAccount=%v, customer %d with create-only %s changed alone: %v with id %q %v, want unchanged", index, i, name, r.Outcome, r.ID, r.Reject)
			}
			e.wantHeld(fmt.Sprintf("IndexAccount=%v, customer %d with create-only %s changed alone", index, i, name), ids[i], values[i], mapped)
			if len(upd) == 0 {
				continue
			}
			held := s.gen.with(values[i+1], upd[0], i+1, 1)
			want := pipeline.OutcomeUpdated
			if !index {
				// The first run updated it already.
				want = pipeline.OutcomeUnchanged
			} else {
				updates++
			}
			if r := res[i+1]; r.Outcome != want || r.ID != ids[i+1] {
				t.Errorf("IndexAccount=%v, customer %d with create-only %s and %s changed: %v with id %q %v, want %v", index, i+1, name, sc.Fields[upd[0]].Name, r.Outcome, r.ID, r.Reject, want)
			} else if want == pipeline.OutcomeUpdated {
				s.wantSent(t, fmt.Sprintf("customer %d", i+1), r, upd[0])
			}
			e.wantHeld(fmt.Sprintf("IndexAccount=%v, customer %d with create-only %s and %s changed", index, i+1, name, sc.Fields[upd[0]].Name), ids[i+1], held, mapped)
		}
		if w := writes(rec.Calls()); w > updates {
			t.Errorf("IndexAccount=%v: %d writes for %d customers with a field an update can change", index, w, updates)
			logCalls(t, "sink", rec.Calls())
		}
	}
}
