package revnue_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// Countries are written as ISO numeric codes and read back by their
// English names; the reader turns a name into its code, so a second run
// of the same records, indexed or bound, finds nothing changed and writes
// nothing. Categories, read back as {id, name}, likewise.
func TestCountryReadBackAsItsCode(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	s := revnue.Schema()
	codes := []string{"276", "410", "384", "840", "792", "20", "4"}
	var chs []pipeline.Change
	for i, c := range codes {
		chs = append(chs, change(fmt.Sprint("k", i), "", values(s, map[string]string{"name": fmt.Sprint("Customer ", i), "country": c, "category": "2"})))
	}
	m := mapped(s, "name", "country", "category")
	res := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: m}, chs)
	wantOutcome(t, res, pipeline.OutcomeCreated)
	if got := a.held(t, res[1].ID)["country"]; got != "Korea, Republic of" {
		t.Fatalf("Revnue reads 410 as %v", got)
	}
	a.front.requests()
	for _, index := range []bool{true, false} {
		again := make([]pipeline.Change, len(chs))
		copy(again, chs)
		if !index {
			for i := range again {
				again[i].ID = res[i].ID
			}
		}
		res2 := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: m, IndexAccount: index}, again)
		wantOutcome(t, res2, pipeline.OutcomeUnchanged)
		if n := count(a.front.requests(), "PUT", ""); n != 0 {
			t.Errorf("index %v: the second run sent %d PUTs", index, n)
		}
	}
}

// A country Revnue names in a way the connector has no code for cannot
// be sent back: a whole-record update would erase it, so the row is
// rejected with CodeCarryOver and nothing is sent. (The emulator names
// every code it takes; a front renames Germany.)
func TestUnknownCountryNameIsNotErased(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	id := a.seed(t, a.srv.FullCustomer("ACME GmbH", 0)) // country 276
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/api/v2/customer") {
			return false
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		w.WriteHeader(rec.Code)
		w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"Germany"`), []byte(`"Deutschland"`)))
		return true
	})
	s := revnue.Schema()
	for _, index := range []bool{true, false} {
		ch := change("k", "", values(s, map[string]string{"name": "ACME GmbH", "phone": "+49 30 1"}))
		if !index {
			ch.ID, ch.Send = id, mapped(s, "phone")
		}
		res := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: mapped(s, "name", "phone"), IndexAccount: index}, []pipeline.Change{ch})
		if r := res[0]; r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != revnue.CodeCarryOver || r.Reject.Field != "country" {
			t.Errorf("index %v: %v %+v", index, r.Outcome, r.Reject)
		}
		if n := count(a.front.requests(), "PUT", ""); n != 0 {
			t.Errorf("index %v: %d PUTs sent", index, n)
		}
	}
	if c := a.held(t, id); c["country"] != "Germany" || c["phone"] != "+49 30 0" {
		t.Errorf("the customer after the rejects: %v %v", c["country"], c["phone"])
	}
	// Mapping the country gives the row a code to send.
	s = revnue.Schema()
	ch := change("k", id, values(s, map[string]string{"name": "ACME GmbH", "phone": "+49 30 1", "country": "276"}))
	ch.Send = mapped(s, "phone", "country")
	res := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: mapped(s, "name", "phone", "country")}, []pipeline.Change{ch})
	if res[0].Outcome != pipeline.OutcomeUpdated {
		t.Errorf("with the country mapped: %v %v", res[0].Outcome, res[0].Reject)
	}
}
