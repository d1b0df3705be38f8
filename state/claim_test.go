package state_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"crmsync/pipeline"
)

// TestClaim binds matched customers to keys on a real state: a free
// customer is taken, and the key's values of its old customer are
// dropped; a customer bound to another key is refused and named; a key
// claiming its own customer keeps what the state knew.
func TestClaim(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "state.db"))
	if err := st.Commit(ctx, []pipeline.StateOutcome{
		{Key: "B", Outcome: pipeline.OutcomeCreated, CRMID: "id-b", Digest: 2, Source: 22, Fields: map[string]string{"email": "b@x.test"}},
		{Key: "C", Outcome: pipeline.OutcomeCreated, CRMID: "id-c", Digest: 3, Source: 33, Fields: map[string]string{"email": "c@x.test"}},
		{Key: "D", Outcome: pipeline.OutcomeCreated, CRMID: "id-old", Digest: 4, Source: 44, Fields: map[string]string{"email": "d@x.test"}},
	}); err != nil {
		t.Fatal(err)
	}
	owners, err := st.Claim(ctx, []string{"A", "A2", "C", "D", ""}, []string{"id-new", "id-b", "id-c", "id-d", "id-x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "B", "", "", ""}; !slices.Equal(owners, want) {
		t.Errorf("owners %q, want %q", owners, want)
	}
	es, err := st.Entries(ctx, []string{"A", "A2", "B", "C", "D"})
	if err != nil {
		t.Fatal(err)
	}
	if e := es["A"]; e == nil || e.CRMID != "id-new" {
		t.Errorf("A: %+v, want bound to id-new", e)
	}
	if e := es["A2"]; e != nil {
		t.Errorf("A2: %+v, want nothing: id-b is B's", e)
	}
	if e := es["B"]; e == nil || e.CRMID != "id-b" || e.Fields["email"] != "b@x.test" {
		t.Errorf("B: %+v, want its binding and values kept", e)
	}
	if e := es["C"]; e == nil || e.CRMID != "id-c" || e.Fields["email"] != "c@x.test" {
		t.Errorf("C: %+v, want its binding and values kept", e)
	}
	if e := es["D"]; e == nil || e.CRMID != "id-d" || e.Fields != nil {
		t.Errorf("D: %+v, want bound to id-d with no values of id-old", e)
	}
	got := scanAll(t, st)
	if got[pipeline.KeyHash("C")] != (scanned{3, 33}) || got[pipeline.KeyHash("D")] != (scanned{}) {
		t.Errorf("Scan: C %+v, D %+v; want C's digests kept and D's dropped", got[pipeline.KeyHash("C")], got[pipeline.KeyHash("D")])
	}
	if o, err := st.Owners(ctx, []string{"id-new", "id-old", "id-d"}); err != nil || len(o) != 2 || o["id-new"] != "A" || o["id-d"] != "D" {
		t.Errorf("Owners: %v, %v", o, err)
	}
}
