package count_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
)

func records(n int) []pipeline.Change {
	out := make([]pipeline.Change, n)
	for i := range out {
		out[i] = change(fmt.Sprint("k", i), values(full(i)))
	}
	return out
}

// TestUnchangedCostsNoWrite: records COUNT already holds as they are,
// addresses and contacts included, cost no write, whether the sink
// compares with an index of the account or finds each by its email.
func TestUnchangedCostsNoWrite(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	wantOutcome(t, run(t, a.sink(t, count.Options{}), pipeline.Plan{IndexAccount: true}, records(5)), pipeline.OutcomeCreated)
	for _, index := range []bool{true, false} {
		a.front.requests()
		wantOutcome(t, run(t, a.sink(t, count.Options{}), pipeline.Plan{IndexAccount: index}, records(5)), pipeline.OutcomeUnchanged)
		if w := writes(a.front.requests()); len(w) != 0 {
			t.Errorf("index %v: %d writes, the first %s", index, len(w), w[0].Body)
		}
	}
}

// TestLostAnswersNoDuplicates: creates and updates whose answers are lost
// after COUNT applied them are retried, and the retried creates, refused
// as email_exists, are resolved by find-by-email: every customer exists
// once and every change has its outcome.
func TestLostAnswersNoDuplicates(t *testing.T) {
	a := startAccount(t, counttest.Options{Faults: counttest.Faults{Seed: 11, LostAnswerRate: 0.4}})
	res := run(t, a.sink(t, count.Options{MaxRetries: 20}), pipeline.Plan{}, records(30))
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated || r.ID == "" {
			t.Errorf("change %d: %+v %+v", i, r, r.Reject)
		}
	}
	if n := a.count(t); n != 30 {
		t.Errorf("%d customers, want 30", n)
	}
	st := a.srv.Stats().RequestStats.Requests
	if st["POST /customers"]["lost"] == 0 || st["POST /customers"]["409"] == 0 {
		t.Errorf("no create lost its answer and was refused on retry: %v", st["POST /customers"])
	}
	chs := records(30)
	for i := range chs {
		chs[i].ID = res[i].ID
		chs[i].Record.Values[sch.Index("website")] = "https://changed.example.com"
	}
	res = run(t, a.sink(t, count.Options{MaxRetries: 20}), pipeline.Plan{}, chs)
	wantOutcome(t, res, pipeline.OutcomeUpdated)
	if a.srv.Stats().RequestStats.Requests["PUT /customers/{uuid}"]["lost"] == 0 {
		t.Error("no update lost its answer")
	}
	if n := a.count(t); n != 30 {
		t.Errorf("%d customers after the updates, want 30", n)
	}
	a.srv.SetFaults(counttest.Faults{})
	r, err := count.NewAPI(a.options(count.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = r.Walk(t.Context(), func(page []pipeline.Customer) error {
		for _, c := range page {
			email := c.Values[sch.Index("email")]
			if seen[email] {
				t.Errorf("two customers with %s", email)
			}
			seen[email] = true
			if w := c.Values[sch.Index("website")]; w != "https://changed.example.com" {
				t.Errorf("%s: website %q", email, w)
			}
		}
		return nil
	})
	if err != nil || len(seen) != 30 {
		t.Errorf("walk: %v, %d customers", err, len(seen))
	}
}

// TestRefusedValueRejectedAlone: a value crmsync's checks let through and
// COUNT refuses (an email whose top-level domain holds a digit) rejects
// its row with COUNT's validation_error, the field and COUNT's words;
// the other rows are written.
func TestRefusedValueRejectedAlone(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	chs := records(3)
	chs[1].Record.Values[sch.Index("email")] = "ada@example.c0m"
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{}, chs)
	if r := res[1]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != count.CodeValidation || r.Reject.Field != "email" ||
		!strings.Contains(r.Reject.Message, "local@domain.tld") {
		t.Errorf("the refused row: %+v %+v", r, r.Reject)
	}
	if res[0].Outcome != pipeline.OutcomeCreated || res[2].Outcome != pipeline.OutcomeCreated {
		t.Errorf("the others: %+v %+v", res[0], res[2])
	}
	if len(pipeline.LookupCode(count.CodeValidation)) != 1 || len(pipeline.LookupCode(count.CodeEmailExists)) != 1 || len(pipeline.LookupCode(count.CodeNotFound)) != 1 {
		t.Error("COUNT's codes are not in the reference")
	}
}

// TestCredentialsNeverLeak: a server that echoes the request's
// credentials in its answers (a refusal of one row, 5xx answers retried,
// a 401) gets none of them into a reject, an error or a log line, at
// debug level.
func TestCredentialsNeverLeak(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	creds := count.Credentials{Token: a.srv.Token, ClientID: a.srv.ClientID, ClientSecret: a.srv.ClientSecret}
	echo := func(r *http.Request) string {
		return fmt.Sprintf("you sent Authorization: %s, client %s, secret %s, token %s", r.Header.Get("Authorization"),
			r.Header.Get("x-client-id"), creds.ClientSecret, creds.Token)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var n int
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ http.Handler) bool {
		if r.Method != http.MethodPost {
			return false
		}
		n++
		w.Header().Set("Content-Type", "application/json")
		switch n {
		case 1:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","code":"validation_error","message":%q,"errors":[{"field":"customer","message":%q}]}`, echo(r), echo(r))
		case 2, 3:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, echo(r))
		default:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"status":"error","code":"unauthorized","message":%q}`, echo(r))
		}
		return true
	})
	s := a.sink(t, count.Options{Logger: logger, Concurrency: 1})
	res, err := tryRun(s, pipeline.Plan{}, records(3))
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Fatalf("the 401: %v", err)
	}
	if res[0].Outcome != pipeline.OutcomeRejected || res[0].Reject.Field != "customer" {
		t.Fatalf("the echoing refusal: %+v %+v", res[0], res[0].Reject)
	}
	texts := map[string]string{"reject": res[0].Reject.Message, "error": err.Error(), "logs": logs.String()}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry was logged:\n%s", logs.String())
	}
	for what, text := range texts {
		if !strings.Contains(text, "you sent") && what != "logs" {
			t.Errorf("the %s lost the server's words: %s", what, text)
		}
		for _, secret := range []string{creds.Token, creds.ClientID, creds.ClientSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s holds a credential: %s", what, text)
			}
		}
	}
}

// TestWalkPages: the reader lists every customer once over pages of 100,
// or of the smaller size a server answers, and Get and Find read one.
func TestWalkPages(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	for i := range 230 {
		a.seed(t, body(only(full(i), "customer", "email")))
	}
	r, err := count.NewAPI(a.options(count.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	a.front.requests()
	ids := map[string]bool{}
	pages := 0
	err = r.Walk(t.Context(), func(page []pipeline.Customer) error {
		pages++
		for _, c := range page {
			if ids[c.ID] {
				t.Errorf("%s listed twice", c.ID)
			}
			ids[c.ID] = true
		}
		return nil
	})
	if err != nil || len(ids) != 230 || pages != 3 {
		t.Errorf("walk: %v, %d customers in %d pages", err, len(ids), pages)
	}
	if n := len(a.front.requests()); n != 3 {
		t.Errorf("%d requests for 3 pages", n)
	}
	// A server that caps pages at 50 says so in pagination.limit.
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		if q := r.URL.Query(); r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/customers") && q.Get("limit") == "100" {
			q.Set("limit", "50")
			r.URL.RawQuery = q.Encode()
		}
		return false
	})
	listed := 0
	err = r.Walk(t.Context(), func(page []pipeline.Customer) error {
		listed += len(page)
		return nil
	})
	if err != nil || listed != 230 {
		t.Errorf("walk of pages capped at 50: %v, %d customers", err, listed)
	}
	a.front.set(nil)
	found, err := r.Find(t.Context(), "ADA7@EXAMPLE.COM")
	if err != nil || len(found) != 1 || !ids[found[0].ID] {
		t.Fatalf("Find: %v %v", found, err)
	}
	none, err := r.Find(t.Context(), "nobody@example.com")
	if err != nil || len(none) != 0 {
		t.Errorf("Find of nobody: %v %v", none, err)
	}
	got, err := r.Get(t.Context(), found[0].ID)
	if err != nil || got.Values[sch.Index("customer")] != "Lovelace Analytics 7" {
		t.Errorf("Get: %+v %v", got, err)
	}
	if _, err := r.Get(t.Context(), "00000000-0000-4000-8000-000000000000"); !pipeline.IsNotFound(err) {
		t.Errorf("Get of an unknown id: %v", err)
	}
}

// TestClaimRespectsOwners: a record whose email leads to a customer the
// state binds to another key is rejected without a write to it; the key
// that owns it writes to it.
func TestClaimRespectsOwners(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	st := newState(t)
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{Claim: st.Claim}, []pipeline.Change{change("owner", values(full(1)))})
	if res[0].Outcome != pipeline.OutcomeCreated {
		t.Fatalf("%+v", res[0])
	}
	// The engine binds a created customer to its key as it records the
	// result; here the test does.
	if owners, err := st.Claim(t.Context(), []string{"owner"}, []string{res[0].ID}); err != nil || owners[0] != "" {
		t.Fatalf("binding: %v %v", owners, err)
	}
	m := full(1)
	m["website"] = "https://intruder.example.com"
	a.front.requests()
	res = run(t, a.sink(t, count.Options{}), pipeline.Plan{Claim: st.Claim}, []pipeline.Change{change("other", values(m))})
	if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.OwnedCode("email") {
		t.Errorf("another key: %+v %+v", r, r.Reject)
	}
	if w := writes(a.front.requests()); len(w) != 0 {
		t.Errorf("%d writes to a customer another key owns", len(w))
	}
	res = run(t, a.sink(t, count.Options{}), pipeline.Plan{Claim: st.Claim}, []pipeline.Change{change("owner", values(m))})
	if res[0].Outcome != pipeline.OutcomeUpdated || a.held(t, res[0].ID)["website"] != "https://intruder.example.com" {
		t.Errorf("the owner: %+v", res[0])
	}
}
