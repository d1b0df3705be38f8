package sinktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
)

// Create: new records are created, each with an id of its own, through
// the client the connector was given, and the account holds each once
// with the values sent.
func testCreate(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	values := s.gen.records(0, 25)
	sk, rec := e.sink()
	res := run(t, sk, s.plan(), changes(0, values))
	wantOutcome(t, res, pipeline.OutcomeCreated)
	ids := map[string]bool{}
	for i, r := range res {
		if r.ID == "" || ids[r.ID] {
			t.Errorf("change %d: id %q is empty or repeated", i, r.ID)
		}
		ids[r.ID] = true
	}
	if writes(rec.Calls()) == 0 {
		t.Errorf("the sink created %d customers without one write through crm.Config.HTTPClient: it must call through the client it is given", len(values))
	}
	e.wantAccount(values)
	for i, r := range res {
		e.wantHeld(fmt.Sprintf("created record %d", i), r.ID, values[i], s.gen.mapped())
	}
}

// ReadBack: what was written comes back through the reader in canonical
// text, by Walk, Get and Find, and Find compares match values as the
// schema says (MatchFold).
func testReadBack(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 12)
	mapped := s.gen.mapped()
	byMatch := e.wantAccount(values)
	for i, v := range values {
		c := byMatch[e.matchKey(v[s.gen.match])]
		if c.ID != ids[i] {
			t.Errorf("Walk lists %s %q under id %q, the create answered %q", s.conn.Schema.MatchField, v[s.gen.match], c.ID, ids[i])
		}
		e.wantValues(fmt.Sprintf("Walk, record %d", i), &c, v, mapped)
		if len(c.Raw) == 0 {
			t.Errorf("Walk: customer %s has no Raw answer", c.ID)
		}
		e.wantHeld(fmt.Sprintf("Get, record %d", i), ids[i], v, mapped)
	}
	r := e.reader()
	ctx := t.Context()
	find := func(match string) []pipeline.Customer {
		t.Helper()
		cs, err := r.Find(ctx, match)
		if err != nil {
			t.Fatalf("Find(%q): %v", match, err)
		}
		return cs
	}
	for i, v := range values[:4] {
		m := v[s.gen.match]
		if cs := find(m); len(cs) != 1 || cs[0].ID != ids[i] {
			t.Errorf("Find(%q) = %v, want customer %s", m, customerIDs(cs), ids[i])
		} else {
			e.wantValues(fmt.Sprintf("Find, record %d", i), &cs[0], v, mapped)
		}
		cased := s.gen.matchCased(i)
		if cased == m {
			continue
		}
		cs := find(cased)
		switch {
		case s.conn.Schema.MatchFold && (len(cs) != 1 || cs[0].ID != ids[i]):
			t.Errorf("Find(%q) = %v, want customer %s: the schema says match values fold case", cased, customerIDs(cs), ids[i])
		case !s.conn.Schema.MatchFold && len(cs) != 0:
			t.Errorf("Find(%q) = %v, want none: the schema says match values keep their case", cased, customerIDs(cs))
		}
	}
	if cs := find(s.gen.record(9999)[s.gen.match]); len(cs) != 0 {
		t.Errorf("Find of a match value nobody holds answered %v", customerIDs(cs))
	}
}

func customerIDs(cs []pipeline.Customer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// UnchangedCostsNoWrite: records the account already holds are
// unchanged, matched to their customers, and cost no write, whether the
// sink indexed the account or looked each record up.
func testUnchanged(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	ids, values := e.seed(0, 10)
	for _, index := range []bool{true, false} {
		sk, rec := e.sink()
		plan := s.plan()
		plan.IndexAccount = index
		res := run(t, sk, plan, changes(0, values))
		for i, r := range res {
			if r.Outcome != pipeline.OutcomeUnchanged || r.ID != ids[i] {
				t.Errorf("IndexAccount=%v, change %d: %v with id %q %v, want unchanged with id %q", index, i, r.Outcome, r.ID, r.Reject, ids[i])
			}
		}
		if n := writes(rec.Calls()); n != 0 {
			t.Errorf("IndexAccount=%v: the sink made %d writes for records the account holds unchanged", index, n)
			logCalls(t, "sink", rec.Calls())
		}
	}
	e.wantAccount(values)
}

// ModeCreateRejectsExisting: --mode create creates what is new and
// rejects (with pipeline.CodeExists) what the account holds, writing
// nothing to it.
func testModeCreate(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	ids, seeded := e.seed(0, 3)
	values := s.gen.records(0, 5)
	for i := range 3 {
		if f := s.gen.updatable(); len(f) > 0 {
			values[i] = s.gen.with(values[i], f[0], i, 1)
		}
	}
	sk, _ := e.sink()
	plan := s.plan()
	plan.Mode = pipeline.ModeCreate
	res := run(t, sk, plan, changes(0, values))
	for i := range 3 {
		wantReject(t, res, i, pipeline.CodeExists)
		e.wantHeld(fmt.Sprintf("existing customer %d after --mode create", i), ids[i], seeded[i], s.gen.mapped())
	}
	wantOutcome(t, res, pipeline.OutcomeCreated, 3, 4)
	e.wantAccount(values)
}

// ModeUpdateRejectsMissing: --mode update updates what the account holds
// and rejects (with pipeline.CodeNotFound) what it does not, creating
// nothing.
func testModeUpdate(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	ids, _ := e.seed(0, 2)
	values := s.gen.records(0, 4)
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	values[0] = s.gen.with(values[0], upd[0], 0, 1)
	sk, _ := e.sink()
	plan := s.plan()
	plan.Mode = pipeline.ModeUpdate
	res := run(t, sk, plan, changes(0, values))
	wantOutcome(t, res, pipeline.OutcomeUpdated, 0)
	wantOutcome(t, res, pipeline.OutcomeUnchanged, 1)
	wantReject(t, res, 2, pipeline.CodeNotFound)
	wantReject(t, res, 3, pipeline.CodeNotFound)
	e.wantAccount(values[:2])
	e.wantHeld("updated customer", ids[0], values[0], s.gen.mapped())
}

// DryRunWritesNothing: a dry run reports the outcome each change would
// have had and makes no write.
func testDryRun(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	ids, seeded := e.seed(0, 2)
	values := s.gen.records(0, 4)
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Fatal("the suite can change no field of the schema")
	}
	values[0] = s.gen.with(values[0], upd[0], 0, 1)
	for _, index := range []bool{true, false} {
		sk, rec := e.sink()
		plan := s.plan()
		plan.DryRun, plan.IndexAccount = true, index
		res := run(t, sk, plan, changes(0, values))
		wantOutcome(t, res, pipeline.OutcomeUpdated, 0)
		wantOutcome(t, res, pipeline.OutcomeUnchanged, 1)
		wantOutcome(t, res, pipeline.OutcomeCreated, 2, 3)
		if n := writes(rec.Calls()); n != 0 {
			t.Errorf("IndexAccount=%v: a dry run made %d writes", index, n)
			logCalls(t, "sink", rec.Calls())
		}
	}
	e.wantAccount(seeded)
	e.wantHeld("customer a dry run would update", ids[0], seeded[0], s.gen.mapped())
}

// ConcurrentApply: Apply runs from several goroutines at once on one
// prepared sink, and every change gets its own customer.
func testConcurrent(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	sk, _ := e.sink()
	ctx := t.Context()
	if err := sk.Prepare(ctx, s.plan()); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 6, 20
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all [][]string
		ids = map[string]int{}
	)
	for w := range goroutines {
		wg.Go(func() {
			values := s.gen.records(100+w*each, each)
			chs := changes(100+w*each, values)
			res := make([]pipeline.Result, len(chs))
			if err := sk.Apply(ctx, chs, res); err != nil {
				t.Errorf("goroutine %d: Apply: %v", w, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			all = append(all, values...)
			for i, r := range res {
				if r.Outcome != pipeline.OutcomeCreated {
					t.Errorf("goroutine %d, change %d: %v %v, want created", w, i, r.Outcome, r.Reject)
				}
				ids[r.ID]++
			}
		})
	}
	wg.Wait()
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q was answered for %d changes", id, n)
		}
	}
	e.wantAccount(all)
}

// Delete: a sink that says it can delete (Properties().CanDelete)
// implements pipeline.Deleter; deleted customers are gone, a second
// delete of them reports them gone, and the connector's eraser does the
// same.
func testDelete(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	sk, _ := e.sink()
	del, isDeleter := sk.(pipeline.Deleter)
	can := sk.Properties().CanDelete
	switch {
	case can && !isDeleter:
		t.Fatal("Properties().CanDelete is true, but the sink does not implement pipeline.Deleter")
	case !can && isDeleter:
		t.Fatal("the sink implements pipeline.Deleter, but Properties().CanDelete is false: mirror runs would never call it")
	case !can:
		t.Skip("the sink cannot delete (Properties().CanDelete is false)")
	}
	ids, values := e.seed(0, 6)
	ctx := t.Context()
	plan := s.plan()
	plan.Mode = pipeline.ModeMirror
	if err := sk.Prepare(ctx, plan); err != nil {
		t.Fatal(err)
	}
	gone := make([]bool, 3)
	if err := del.Delete(ctx, ids[:3], gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	again := make([]bool, 2)
	if err := del.Delete(ctx, ids[:2], again); err != nil {
		t.Fatalf("Delete of customers deleted already: %v", err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
	for i, ok := range append(gone, again...) {
		if !ok {
			t.Errorf("delete %d reported the customer not gone", i)
		}
	}
	for _, id := range ids[:3] {
		if c := e.get(id); c != nil {
			t.Errorf("deleted customer %s is still held", id)
		}
	}
	if s.conn.NewEraser == nil {
		e.wantAccount(values[3:])
		return
	}
	er, err := s.conn.NewEraser(e.config(&recorder{}, nil))
	if err != nil {
		t.Fatalf("NewEraser: %v", err)
	}
	erased := make([]bool, 2)
	if err := er.Erase(ctx, []string{ids[3], ids[0]}, erased); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if !erased[0] || !erased[1] {
		t.Errorf("Erase reported %v, want both gone (one erased now, one deleted before)", erased)
	}
	e.wantAccount(values[4:])
}

// UnauthorizedIsFatal: credentials the API refuses stop the run at
// Prepare, whether or not the plan indexes the account, with a fatal
// error that is the API's refusal; the reader's calls fail fatally too.
// Every credential is checked on its own: where an API takes several
// (a secret that signs each request beside a token, say), each one wrong
// while the others are right is refused.
func testUnauthorized(t *testing.T, s *suite) {
	e := s.start(t, crm.SandboxOptions{})
	e.seed(0, 1)
	good := e.sb.Credentials()
	bad := maps.Clone(good)
	for k, v := range bad {
		bad[k] = "wrong-" + v
	}
	variants := map[string]map[string]string{"every credential": bad}
	if len(good) > 1 {
		for k := range good {
			one := maps.Clone(good)
			one[k] = bad[k]
			variants[k+" alone"] = one
		}
	}
	for name, creds := range variants {
		for _, index := range []bool{true, false} {
			sk, err := s.conn.NewSink(e.config(&recorder{}, creds))
			if err != nil {
				t.Fatalf("NewSink: %v", err)
			}
			plan := s.plan()
			plan.IndexAccount = index
			err = sk.Prepare(t.Context(), plan)
			sk.Close()
			switch {
			case err == nil:
				t.Errorf("%s wrong, IndexAccount=%v: Prepare succeeded", name, index)
			case pipeline.ClassOf(err) != pipeline.ClassFatal:
				t.Errorf("%s wrong, IndexAccount=%v: error class %v, want fatal: %v", name, index, pipeline.ClassOf(err), err)
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				t.Errorf("%s wrong, IndexAccount=%v: the error is the context's, want the API's refusal: %v", name, index, err)
			}
		}
	}
	r, err := s.conn.NewReader(e.config(&recorder{}, bad))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	err = r.Walk(t.Context(), func([]pipeline.Customer) error { return nil })
	if err == nil || pipeline.IsNotFound(err) || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("Walk with refused credentials: %v, want a fatal error", err)
	}
}

// TamperedRequestRefused: where the API signs each request over its body
// (crm.Connector.SignsRequests), a write whose body is changed on its way,
// after the connector signed it, is refused: the run stops with a fatal
// error and the account keeps its values. The change is one space added
// to the JSON, which means the same to a parser: only a signature over
// the exact bytes sent catches it.
func testTampered(t *testing.T, s *suite) {
	if !s.conn.SignsRequests {
		t.Skip("the API signs no request: a body changed on its way is simply the body sent")
	}
	upd := s.gen.updatable()
	if len(upd) == 0 {
		t.Skip("the suite can change no field of the schema")
	}
	e := s.start(t, crm.SandboxOptions{})
	_, values := e.seed(0, 1)
	cfg := e.config(&recorder{}, nil)
	tam := &tamperer{next: cfg.HTTPClient.Transport}
	cfg.HTTPClient.Transport = tam
	sk, err := s.conn.NewSink(cfg)
	if err != nil {
		t.Fatalf("NewSink: %v", err)
	}
	changed := s.gen.with(values[0], upd[0], 0, 2)
	_, err = tryRun(t, sk, s.plan(), changes(0, [][]string{changed}))
	if tam.count() == 0 {
		t.Fatalf("the sink sent no write to change on its way (error %v)", err)
	}
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("a write changed after signing: %v, want a fatal error", err)
	}
	e.wantAccount(values)
}

// tamperer is an http.RoundTripper that adds a space to the body of every
// write before the next transport sends it.
type tamperer struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (tp *tamperer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Method == http.MethodGet || req.Method == http.MethodHead {
		return tp.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	body = append(body, ' ')
	out := req.Clone(req.Context())
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	tp.mu.Lock()
	tp.n++
	tp.mu.Unlock()
	return tp.next.RoundTrip(out)
}

func (tp *tamperer) count() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.n
}
