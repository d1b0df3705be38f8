package tiquo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// rewriteLists makes the front pass each list answer through edit.
func rewriteLists(a *account, edit func(r *http.Request, data []map[string]any) []map[string]any) {
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/customers" {
			return false
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		var env map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &env) != nil {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return true
		}
		var data []map[string]any
		raw, _ := json.Marshal(env["data"])
		json.Unmarshal(raw, &data)
		env["data"] = edit(r, data)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(env)
		return true
	})
}

// A target whose answers list one customer id under two emails, or two
// customers under one email, leaves those emails' records unbound and
// unwritten: whose customer it is cannot be told.
func TestAmbiguousMatchesAreRejected(t *testing.T) {
	// With an index: the list shows the first customer a second time,
	// under another email.
	a := startAccount(t, tiquotest.Options{})
	a.seed(t, body(full(0)))
	a.seed(t, body(full(1)))
	rewriteLists(a, func(_ *http.Request, data []map[string]any) []map[string]any {
		if len(data) == 0 {
			return data
		}
		twin := map[string]any{}
		for k, v := range data[0] {
			twin[k] = v
		}
		twin["email"] = "twin@example.com"
		return append(data, twin)
	})
	chs := []pipeline.Change{
		change("k0", values(with(map[string]string{"notes": "x"}))),
		change("kt", values(with(map[string]string{"email": "twin@example.com", "notes": "x"}))),
		change("k1", values(full(1))),
	}
	res := run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{IndexAccount: true}, chs)
	for i := range 2 {
		if r := res[i]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeAmbiguousMatch {
			t.Errorf("change %d: %v %v, want rejected as ambiguous", i, r.Outcome, r.Reject)
		}
	}
	if res[2].Outcome != pipeline.OutcomeUnchanged {
		t.Errorf("the customer listed once: %v %v, want unchanged", res[2].Outcome, res[2].Reject)
	}

	// Looking up by email: the answer holds two customers of that email.
	rewriteLists(a, func(r *http.Request, data []map[string]any) []map[string]any {
		if r.URL.Query().Get("email") == "" || len(data) != 1 {
			return data
		}
		twin := map[string]any{}
		for k, v := range data[0] {
			twin[k] = v
		}
		twin["id"] = "cust_000000000000000000000042"
		return append(data, twin)
	})
	res = run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{}, chs[:1])
	if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeAmbiguousMatch {
		t.Errorf("found twice: %v %v, want rejected as ambiguous", r.Outcome, r.Reject)
	}
	if w := writes(a.front.requests()); len(w) > 0 {
		t.Errorf("%d writes for ambiguous matches", len(w))
	}
}

// A target that ignores the email filter (answers the first customers of
// the account, whatever the email) is refused with a fatal error before
// anything is written: matching by it would update the wrong customer,
// and not finding a lost create would make it twice. The error names no
// email.
func TestTargetIgnoringTheEmailFilterIsFatal(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	a.seed(t, body(full(0)))
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/customers" {
			q := r.URL.Query()
			q.Del("email")
			r.URL.RawQuery = q.Encode()
		}
		return false
	})
	chs := []pipeline.Change{change("k5", values(full(5)))}
	_, err := tryRun(a.sink(t, tiquo.Options{}), pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert}, chs)
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), "ignores the email filter") {
		t.Fatalf("err = %v, want a fatal refusal of the target", err)
	}
	if strings.Contains(err.Error(), "@") {
		t.Errorf("the error quotes an email: %v", err)
	}
	if w := writes(a.front.requests()); len(w) > 0 {
		t.Errorf("%d writes to a target that ignores the filter", len(w))
	}
	// The reader refuses it too, for exports and migrations.
	api, err := tiquo.NewAPI(tiquo.Options{BaseURL: a.url, APIKey: a.srv.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Find(context.Background(), "ada5@example.com"); pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("Reader.Find: %v, want fatal", err)
	}
}

// A refused key stops the run in Prepare; a key without customers:write
// stops it at the first write. Both are fatal and neither error holds the
// key.
func TestRefusedKeysAreFatal(t *testing.T) {
	a := startAccount(t, tiquotest.Options{Keys: []tiquotest.Key{
		{Token: "sk_test_writer_0123456789", Scopes: []string{tiquotest.ScopeRead, tiquotest.ScopeWrite}},
		{Token: "sk_test_reader_0123456789", Scopes: []string{tiquotest.ScopeRead}},
	}})
	_, err := tryRun(a.sink(t, tiquo.Options{APIKey: "sk_test_wrong_0123456789"}), pipeline.Plan{}, records(1))
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong_0123") {
		t.Errorf("a wrong key: %v, want a fatal 401 without the key", err)
	}
	res, err := tryRun(a.sink(t, tiquo.Options{APIKey: "sk_test_reader_0123456789"}), pipeline.Plan{}, records(3))
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), "insufficient_scope") || strings.Contains(err.Error(), "reader_0123") {
		t.Errorf("a read-only key: %v, want a fatal 403 without the key", err)
	}
	for i, r := range res {
		if r.Outcome == pipeline.OutcomeRejected {
			t.Errorf("change %d rejected (%v): a refused scope is the run's, not the row's", i, r.Reject)
		}
	}
	if a.count(t) != 0 {
		t.Errorf("%d customers written with a read-only key", a.count(t))
	}
}

// tiquo's refusals of one row reject that row alone, with tiquo's code
// as the reference names it, the field, and tiquo's words.
func TestRowRefusalsCarryTiquosCode(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	taken := a.seed(t, body(full(9)))
	mine := a.seed(t, body(full(0)))
	// crmsync's check lets this email through; tiquo's wants a top-level
	// domain of letters.
	bad := change("k1", values(with(map[string]string{"email": "ada1@example.c0m"})))
	steal := change("k0", values(with(map[string]string{"email": "ADA9@example.com"})))
	steal.ID = mine
	ok := change("k2", values(full(2)))
	res := run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{}, []pipeline.Change{bad, steal, ok})
	if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != tiquo.CodeValidation || r.Reject.Field != "email" {
		t.Errorf("a bad email: %v %+v, want rejected %s on email", r.Outcome, r.Reject, tiquo.CodeValidation)
	}
	if r := res[1]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != tiquo.CodeEmailExists || r.Reject.Field != "email" {
		t.Errorf("another's email: %v %+v, want rejected %s", r.Outcome, r.Reject, tiquo.CodeEmailExists)
	}
	if res[2].Outcome != pipeline.OutcomeCreated {
		t.Errorf("the good row: %v %v", res[2].Outcome, res[2].Reject)
	}
	if held := a.held(t, taken); held["email"] != "ada9@example.com" {
		t.Errorf("the customer whose email was asked for holds %v", held["email"])
	}
	for _, code := range []string{tiquo.CodeValidation, tiquo.CodeEmailExists, tiquo.CodeNotFound, pipeline.OwnedCode("email"), pipeline.DuplicateCode("email")} {
		if len(pipeline.LookupCode(code)) == 0 {
			t.Errorf("code %s is not in the reference", code)
		}
	}
}

// --mode create refuses (and binds) no existing customer; --mode update
// creates none; a dry run writes nothing and reports what each change
// would have been.
func TestModesAndDryRun(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	st := newState(t)
	existing := a.seed(t, body(full(0)))
	chs := func() []pipeline.Change {
		return []pipeline.Change{change("k0", values(with(map[string]string{"notes": "new"}))), change("k1", values(full(1))), change("k2", values(full(2)))}
	}
	res := run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{IndexAccount: true, Mode: pipeline.ModeCreate, Claim: st.Claim}, chs()[:2])
	if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeExists {
		t.Errorf("create mode, existing: %v %v", r.Outcome, r.Reject)
	}
	if res[1].Outcome != pipeline.OutcomeCreated {
		t.Errorf("create mode, new: %v %v", res[1].Outcome, res[1].Reject)
	}
	if owners, _ := st.Owners(context.Background(), []string{existing}); len(owners) != 0 {
		t.Errorf("create mode bound %v", owners)
	}

	res = run(t, a.sink(t, tiquo.Options{}), pipeline.Plan{Mode: pipeline.ModeUpdate}, chs())
	if res[0].Outcome != pipeline.OutcomeUpdated || res[1].Outcome != pipeline.OutcomeUnchanged {
		t.Errorf("update mode: %v %v", res[0].Outcome, res[1].Outcome)
	}
	if r := res[2]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeNotFound {
		t.Errorf("update mode, new: %v %v", r.Outcome, r.Reject)
	}
	a.front.requests()

	for _, plan := range []pipeline.Plan{{IndexAccount: true, DryRun: true}, {DryRun: true}} {
		cs := chs()
		cs[0].Record.Values[sch.Index("notes")] = "dry"
		res = run(t, a.sink(t, tiquo.Options{}), plan, cs)
		if r := res[0]; r.Outcome != pipeline.OutcomeUpdated || !slicesEqual(sentFields(r.Sent), []string{"notes"}) {
			t.Errorf("dry run %v: %v %v sent %v, want updated (notes)", plan.IndexAccount, r.Outcome, r.Reject, sentFields(r.Sent))
		}
		if res[1].Outcome != pipeline.OutcomeUnchanged || res[2].Outcome != pipeline.OutcomeCreated {
			t.Errorf("dry run %v: %v %v, want unchanged and created", plan.IndexAccount, res[1].Outcome, res[2].Outcome)
		}
		if w := writes(a.front.requests()); len(w) > 0 {
			t.Errorf("dry run %v wrote %d times", plan.IndexAccount, len(w))
		}
	}
	if a.count(t) != 2 {
		t.Errorf("%d customers, want 2", a.count(t))
	}
}

// Mirror runs delete one customer per call; one gone already counts as
// deleted. The eraser does the same.
func TestDeleteAndErase(t *testing.T) {
	a := startAccount(t, tiquotest.Options{})
	ids := []string{a.seed(t, body(full(0))), a.seed(t, body(full(1))), a.seed(t, body(full(2)))}
	if err := a.client.Delete(context.Background(), ids[1]); err != nil {
		t.Fatal(err)
	}
	s := a.sink(t, tiquo.Options{})
	if !s.Properties().CanDelete {
		t.Fatal("the tiquo sink says it cannot delete")
	}
	if err := s.Prepare(context.Background(), pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeMirror}); err != nil {
		t.Fatal(err)
	}
	deleted := make([]bool, 2)
	if err := s.(pipeline.Deleter).Delete(context.Background(), ids[:2], deleted); err != nil {
		t.Fatal(err)
	}
	if !deleted[0] || !deleted[1] || a.held(t, ids[0]) != nil {
		t.Errorf("deleted %v", deleted)
	}
	api, _ := tiquo.NewAPI(tiquo.Options{BaseURL: a.url, APIKey: a.srv.APIKey})
	erased := make([]bool, 2)
	if err := api.Erase(context.Background(), []string{ids[2], ids[0]}, erased); err != nil {
		t.Fatal(err)
	}
	if !erased[0] || !erased[1] || a.count(t) != 0 {
		t.Errorf("erased %v, %d left", erased, a.count(t))
	}
}
