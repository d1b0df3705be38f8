package revnue_test

import (
	"context"
	"fmt"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// Creates whose answers are lost after Revnue stored them are retried,
// met with "name taken", and resolved by finding the customer the first
// attempt made: no customer is created twice, every row ends bound to
// its own customer, whether the run indexed the account first or not;
// dropped connections and the odd 5xx on the way change nothing. The
// keys are claimed in a state on a SQLite file.
func TestLostAnswersCreateNoDuplicates(t *testing.T) {
	const n = 60
	for _, index := range []bool{true, false} {
		t.Run(fmt.Sprint("index ", index), func(t *testing.T) {
			a := startAccount(t, revnuetest.Options{})
			for i := range 5 { // a list to walk and to miss in
				a.seed(t, map[string]any{"company": 1, "name": fmt.Sprint("Seeded ", i)})
			}
			a.srv.SetFaults(revnuetest.Faults{Seed: 7, LostAnswerRate: 0.4, DropRate: 0.05, ErrorRate: 0.02})
			s := revnue.Schema()
			chs := make([]pipeline.Change, n)
			for i := range chs {
				chs[i] = change(fmt.Sprint("k", i), "", values(s, map[string]string{"name": fmt.Sprintf("Lost %d", i), "phone": fmt.Sprint(i)}))
			}
			st := newState(t)
			res := run(t, a.sink(t, revnue.Options{MaxRetries: 20}), pipeline.Plan{Mapped: mapped(s, "name", "phone"), IndexAccount: index, Claim: st.Claim}, chs)
			a.srv.SetFaults(revnuetest.Faults{})
			if got := a.srv.Stats().Customers; got != n+5 {
				t.Errorf("%d customers after creating %d, want %d", got, n, n+5)
			}
			if lost := a.srv.Stats().ByStatus["lost"]; lost == 0 {
				t.Fatalf("no answer was lost: the test tests nothing (%v)", a.srv.Stats().ByStatus)
			}
			seen := map[string]bool{}
			for i, r := range res {
				if r.Outcome != pipeline.OutcomeCreated || r.ID == "" || seen[r.ID] {
					t.Errorf("row %d: %v %q %v", i, r.Outcome, r.ID, r.Reject)
					continue
				}
				seen[r.ID] = true
				if c := a.held(t, r.ID); c["name"] != fmt.Sprintf("Lost %d", i) || c["phone"] != fmt.Sprint(i) {
					t.Errorf("row %d bound to %s holding %v %v", i, r.ID, c["name"], c["phone"])
				}
			}
		})
	}
}

// Find reads the list once into its index of names and finds names as
// Revnue compares them: trimmed, without regard to case (Unicode simple
// folding, not "ß" = "SS"), reading the customer afresh.
func TestFindComparesNamesAsRevnue(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	acme := a.seed(t, map[string]any{"company": 1, "name": "ACME GmbH"})
	strasse := a.seed(t, map[string]any{"company": 1, "name": "Straße AG"})
	for i := range 150 {
		a.seed(t, map[string]any{"company": 1, "name": fmt.Sprint("Filler ", i)})
	}
	api, err := revnue.NewAPI(revnue.Options{BaseURL: a.url, Token: a.srv.Token, Rate: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ match, want string }{
		{"acme gmbh", acme}, {"  ACME GMBH ", acme}, {"straße ag", strasse}, {"STRASSE AG", ""}, {"ACME", ""}, {"", ""},
	} {
		cs, err := api.Find(ctx, tc.match)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && len(cs) != 0, tc.want != "" && (len(cs) != 1 || cs[0].ID != tc.want):
			t.Errorf("Find(%q): %v, want %q", tc.match, cs, tc.want)
		}
	}
	reqs := a.front.requests()
	if pages := count(reqs, "GET", "/api/v2/customer/") - 3; pages != 2 {
		t.Errorf("%d pages read for 152 customers (and 3 Gets), want 2", pages)
	}
}
