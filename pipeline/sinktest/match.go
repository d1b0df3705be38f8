package sinktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
)

// MatchCase: match values are compared as the schema says. Where they
// fold case, a record whose match value differs from the customer's only
// in case is that customer (never a second one), whether matched from the
// index or looked up; where they keep case, "Ab" and "ab" are two
// customers.
func testMatchCase(t *testing.T, s *suite) {
	sc := s.conn.Schema
	if sc.Fields[s.gen.match].Kind == pipeline.KindEmail {
		t.Logf("%s matches by %s, an email: no non-email match value is exercised", s.conn.Name, sc.MatchField)
	}
	e := s.start(t, crm.SandboxOptions{})
	if sc.MatchFold {
		ids, values := e.seed(0, 4)
		cased := make([][]string, len(values))
		for i := range values {
			cased[i] = slices.Clone(values[i])
			cased[i][s.gen.match] = s.gen.matchCased(i)
			if cased[i][s.gen.match] == values[i][s.gen.match] {
				t.Fatalf("the suite's match value %q has no letter to change the case of", values[i][s.gen.match])
			}
		}
		for _, index := range []bool{true, false} {
			lo := map[bool]int{true: 0, false: 2}[index]
			sk, _ := e.sink()
			plan := s.plan()
			plan.IndexAccount = index
			res := run(t, sk, plan, changes(lo, cased[lo:lo+2]))
			for k, r := range res {
				i := lo + k
				if r.Outcome == pipeline.OutcomeCreated || r.Outcome == pipeline.OutcomeRejected || r.ID != ids[i] {
					t.Errorf("IndexAccount=%v: %q after %q was created: %v with id %q %v, want customer %q matched", index,
						cased[i][s.gen.match], values[i][s.gen.match], r.Outcome, r.ID, r.Reject, ids[i])
				}
			}
		}
		e.wantAccount(values)
		return
	}
	// Case kept: record 1 is record 0 with its match value in another
	// case, and both are created.
	values := s.gen.records(0, 2)
	values[1][s.gen.match] = s.gen.matchCased(0)
	sk, _ := e.sink()
	res := run(t, sk, s.plan(), changes(0, values))
	wantOutcome(t, res, pipeline.OutcomeCreated)
	if res[0].ID == res[1].ID {
		t.Errorf("%q and %q got one id, %q: the schema says match values keep their case", values[0][s.gen.match], values[1][s.gen.match], res[0].ID)
	}
	e.wantAccount(values)
	for _, index := range []bool{true, false} {
		sk, _ := e.sink()
		plan := s.plan()
		plan.IndexAccount = index
		again := run(t, sk, plan, changes(0, values))
		for i, r := range again {
			if r.Outcome != pipeline.OutcomeUnchanged || r.ID != res[i].ID {
				t.Errorf("IndexAccount=%v, second run of %q: %v with id %q, want unchanged with id %q", index, values[i][s.gen.match], r.Outcome, r.ID, res[i].ID)
			}
		}
	}
}

// ClaimRespectsOwners: customers matched for changes that came without
// an id are claimed through Plan.Claim before anything is written to them;
// a customer bound to another key is neither written nor returned, and
// its change is rejected with pipeline.OwnedReject's code. A Claim error
// stops the run with nothing written.
func testClaims(t *testing.T, s *suite) {
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
	const n = 8
	ids, values := e.seed(0, n)
	next := make([][]string, n)
	for i := range next {
		next[i] = s.gen.with(values[i], upd[0], i, 1)
	}
	owned := map[string]string{ids[1]: "other-1", ids[3]: "other-3", ids[5]: "other-5", ids[7]: "other-7"}
	for _, index := range []bool{true, false} {
		lo := map[bool]int{true: 0, false: 4}[index]
		var mu sync.Mutex
		claimed := map[string]string{}
		plan := s.plan()
		plan.IndexAccount = index
		plan.Claim = func(_ context.Context, keys, cids []string) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			owners := make([]string, len(keys))
			for i := range keys {
				claimed[keys[i]] = cids[i]
				owners[i] = owned[cids[i]]
			}
			return owners, nil
		}
		sk, _ := e.sink()
		res := run(t, sk, plan, changes(lo, next[lo:lo+4]))
		for k, r := range res {
			i := lo + k
			key := fmt.Sprintf("k%d", i)
			if claimed[key] != ids[i] {
				t.Errorf("IndexAccount=%v: key %s matched customer %s, which Claim was not asked for (it was asked %q)", index, key, ids[i], claimed[key])
			}
			if owner := owned[ids[i]]; owner != "" {
				wantReject(t, res, k, pipeline.OwnedCode(s.conn.Schema.MatchField))
				if r.ID == ids[i] {
					t.Errorf("IndexAccount=%v: the change of customer %s, bound to %s, returned its id", index, ids[i], owner)
				}
				e.wantHeld(fmt.Sprintf("IndexAccount=%v: customer %d, bound to %s", index, i, owner), ids[i], values[i], s.gen.mapped())
				continue
			}
			if r.Outcome != pipeline.OutcomeUpdated || r.ID != ids[i] {
				t.Errorf("IndexAccount=%v, customer %d, claimed: %v with id %q %v, want updated", index, i, r.Outcome, r.ID, r.Reject)
			}
			e.wantHeld(fmt.Sprintf("IndexAccount=%v: customer %d, claimed", index, i), ids[i], next[i], s.gen.mapped())
		}
	}

	// A Claim that fails (the state cannot be written) stops the run.
	more := make([][]string, n)
	for i := range more {
		more[i] = s.gen.with(values[i], upd[0], i, 2)
	}
	broken := errors.New("the state is broken")
	plan := s.plan()
	plan.Claim = func(context.Context, []string, []string) ([]string, error) { return nil, broken }
	sk, rec := e.sink()
	_, err := tryRun(t, sk, plan, changes(0, more))
	if !errors.Is(err, broken) {
		t.Errorf("a Claim that fails: Apply returned %v, want its error", err)
	}
	if w := writes(rec.Calls()); w != 0 {
		t.Errorf("a Claim that fails: %d writes were made", w)
	}
}

// APIRejectCarriesCode: a change the API refuses (an update giving a
// customer the match value another holds) is rejected alone, at the API
// stage, with a code the reject reference explains (not the catch-all
// pipeline.CodeAPI), and the rest of its batch is written.
func testAPIReject(t *testing.T, s *suite) {
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 3)
	taken := slices.Clone(values[1])
	taken[s.gen.match] = values[0][s.gen.match]
	ok := s.gen.with(values[2], upd[0], 2, 1)
	chs := changes(1, [][]string{taken, ok})
	chs[0].ID, chs[0].Send = ids[1], s.only(s.gen.match)
	chs[1].ID, chs[1].Send = ids[2], s.only(upd[0])
	sk, _ := e.sink()
	plan := s.plan()
	plan.IndexAccount = false
	res := run(t, sk, plan, chs)
	wantExplainedReject(t, fmt.Sprintf("an update to the %s customer %s holds", s.conn.Schema.MatchField, ids[0]), res[0])
	wantOutcome(t, res, pipeline.OutcomeUpdated, 1)
	e.wantHeld("the customer whose update was refused", ids[1], values[1], s.gen.mapped())
	e.wantHeld("the customer whose match value was asked for", ids[0], values[0], s.gen.mapped())
	e.wantHeld("the other change of the batch", ids[2], ok, s.gen.mapped())
}

// wantExplainedReject checks r is rejected at the API stage with a code
// the reference explains at that stage, other than the catch-alls.
func wantExplainedReject(t *testing.T, what string, r pipeline.Result) {
	t.Helper()
	switch {
	case r.Outcome != pipeline.OutcomeRejected || r.Reject == nil:
		t.Errorf("%s: %v %v, want rejected", what, r.Outcome, r.Reject)
	case r.Reject.Stage != pipeline.StageAPI:
		t.Errorf("%s: rejected at stage %s, want %s", what, r.Reject.Stage, pipeline.StageAPI)
	case r.Reject.Code == pipeline.CodeAPI || r.Reject.Code == pipeline.CodeUnknown || r.Reject.Code == pipeline.CodeNoOutcome:
		t.Errorf("%s: rejected with the catch-all code %q (%s): the connector should register the API's code", what, r.Reject.Code, r.Reject.Message)
	case pipeline.KnownCode(pipeline.StageAPI, r.Reject.Code, "") == "":
		t.Errorf("%s: code %q is not in the reject reference at the api stage", what, r.Reject.Code)
	case r.Reject.Message == "":
		t.Errorf("%s: rejected with code %s and no message", what, r.Reject.Code)
	}
}

// RefusedRowRejectedAlone: a record carrying a value the hints say the API
// refuses, although it passes the schema's checks, is rejected alone with
// an explained code; the rest of its batch is created.
func testRefused(t *testing.T, s *suite) {
	if len(s.gen.hints.Refused) == 0 {
		t.Skip("the hints name no value the API refuses beyond the schema's checks (Hints.Refused)")
	}
	names := make([]string, 0, len(s.gen.hints.Refused))
	for name := range s.gen.hints.Refused {
		names = append(names, name)
	}
	slices.Sort(names)
	e := s.start(t, crm.SandboxOptions{})
	// Each refused record between two good ones.
	values := s.gen.records(0, max(9, 2*len(names)+1))
	mapped := s.gen.mapped()
	for _, name := range names {
		mapped[s.conn.Schema.Index(name)] = true
	}
	bad := map[int]string{}
	for k, name := range names {
		i := 2*k + 1
		values[i][s.conn.Schema.Index(name)] = s.gen.hints.Refused[name]
		bad[i] = name
	}
	sk, _ := e.sink()
	plan := s.plan()
	plan.Mapped = mapped
	res := run(t, sk, plan, changes(0, values))
	var good [][]string
	for i, r := range res {
		if name, ok := bad[i]; ok {
			wantExplainedReject(t, fmt.Sprintf("a record with %s %q", name, s.gen.hints.Refused[name]), r)
			continue
		}
		good = append(good, values[i])
		if r.Outcome != pipeline.OutcomeCreated {
			t.Errorf("change %d, beside a refused one: %v %v, want created", i, r.Outcome, r.Reject)
			continue
		}
		e.wantHeld(fmt.Sprintf("change %d", i), r.ID, values[i], s.gen.mapped())
	}
	e.wantAccount(good)
}
