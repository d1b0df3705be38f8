package count_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
)

// emailChange is the change of a customer bound to its key whose email
// the source changed to email.
func emailChange(id string, n int, email string) pipeline.Change {
	m := full(n)
	m["email"] = email
	return pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: int64(n)}, Key: fmt.Sprint("k", n), Values: values(m)}, ID: id, Send: marks("email")}
}

// TestEmailChangeTaken: an update that would give a customer the email
// another customer holds (in another case) asks find-by-email once,
// writes nothing, and rejects the row with COUNT's email_exists on the
// email field. The customer keeps its email.
func TestEmailChangeTaken(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id1 := a.seed(t, body(full(1)))
	a.seed(t, body(full(2)))
	a.front.requests()
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{}, []pipeline.Change{emailChange(id1, 1, "ADA2@example.com")})
	r := res[0]
	if r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != count.CodeEmailExists || r.Reject.Field != "email" || r.Reject.Stage != pipeline.StageAPI {
		t.Fatalf("%+v %+v", r, r.Reject)
	}
	rs := a.front.requests()
	if n, w := len(finds(rs)), len(writes(rs)); n != 1 || w != 0 {
		t.Errorf("%d find-by-email and %d writes, want one find and no write", n, w)
	}
	if got := a.held(t, id1)["email"]; got != "ada1@example.com" {
		t.Errorf("the customer's email became %v", got)
	}
}

// TestEmailChangeFree: an email no customer holds costs one find-by-email
// and one PUT; a change of case only finds the customer itself and is
// written too; an update that leaves the email alone asks nothing.
func TestEmailChangeFree(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id1 := a.seed(t, body(full(1)))
	id2 := a.seed(t, body(full(2)))
	id3 := a.seed(t, body(full(3)))
	phone := emailChange(id3, 3, "ada3@example.com")
	phone.Record.Values[sch.Index("mainPhone")], phone.Send = "+44 20 7946 3333", marks("mainPhone")
	a.front.requests()
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{}, []pipeline.Change{
		emailChange(id1, 1, "ada.new@example.com"), emailChange(id2, 2, "Ada2@Example.com"), phone})
	wantOutcome(t, res, pipeline.OutcomeUpdated)
	rs := a.front.requests()
	if n, w := len(finds(rs)), len(writes(rs)); n != 2 || w != 3 {
		t.Errorf("%d find-by-email and %d writes, want one find per email change and one write per change", n, w)
	}
	for _, r := range finds(rs) {
		if !strings.Contains(r.Query, "email=") {
			t.Errorf("find-by-email without its email: %q", r.Query)
		}
	}
	if got := a.held(t, id1)["email"]; got != "ada.new@example.com" {
		t.Errorf("email %v", got)
	}
	if got := a.held(t, id2)["email"]; got != "Ada2@Example.com" {
		t.Errorf("email %v", got)
	}
}

// TestConflictIsARowReject: a PUT answered 409 (the email was taken
// between find-by-email and the update) rejects its row with COUNT's
// code; the run goes on and the batch's other change is written.
func TestConflictIsARowReject(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id1 := a.seed(t, body(full(1)))
	a.seed(t, body(full(2)))
	id3 := a.seed(t, body(full(3)))
	// find-by-email answers as if the address were free: another client
	// takes it between the two calls.
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ http.Handler) bool {
		if strings.HasSuffix(r.URL.Path, "/find-by-email") && r.URL.Query().Get("email") == "ada2@example.com" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"status":"error","message":"Customer not found","code":"not_found"}`)
			return true
		}
		return false
	})
	a.front.requests()
	res := run(t, a.sink(t, count.Options{Concurrency: 1}), pipeline.Plan{}, []pipeline.Change{
		emailChange(id1, 1, "ada2@example.com"), emailChange(id3, 3, "ada3.new@example.com")})
	if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != count.CodeEmailExists || r.Reject.Field != "email" {
		t.Errorf("the conflict: %+v %+v", r, r.Reject)
	}
	if res[1].Outcome != pipeline.OutcomeUpdated {
		t.Errorf("the other change: %+v", res[1])
	}
	if n := len(writes(a.front.requests())); n != 2 {
		t.Errorf("%d writes, want the refused one and the other", n)
	}
	if got := a.held(t, id1)["email"]; got != "ada1@example.com" {
		t.Errorf("email %v", got)
	}
}
