package tamio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
)

// fakeTamio answers every route the sink uses, with what a test gives:
// list is the body of every customers/list answer, create the body of a
// single create, and bulk/create answers 200 {}.
func fakeTamio(t *testing.T, list, create string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch p := r.URL.Path; {
		case strings.HasSuffix(p, "/teammates/list"):
			w.Write([]byte(`{"teammates":[]}`))
		case strings.HasSuffix(p, "/customers/list"):
			w.Write([]byte(list))
		case strings.HasSuffix(p, "/customers/bulk/create"):
			w.Write([]byte(`{}`))
		case strings.HasSuffix(p, "/customers/create"):
			w.Write([]byte(create))
		default:
			http.Error(w, `{"error":"not here"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCreateWithoutIDIsNotCreated is issue 13's fourth reproduction: a
// server that answers bulk/create 200 {}, create {"customer":{}} and lists
// nothing must not have its rows counted created; each is rejected no_id,
// so the run's exit status says so and the next run looks them up.
func TestCreateWithoutIDIsNotCreated(t *testing.T) {
	srv := fakeTamio(t, `{"customers":[],"total_results":0}`, `{"customer":{}}`)
	s, err := tamio.New(tamio.Options{BaseURL: srv.URL + "/v2", APIKey: "k", ConfirmTimeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chs := records(0, 8)
	res := applyAll(t, s, chs)
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeRejected || r.Reject == nil || r.Reject.Code != pipeline.CodeNoID {
			t.Errorf("row %d: %v %+v; want rejected %s", i, r.Outcome, r.Reject, pipeline.CodeNoID)
		}
	}
}

// TestAmbiguousListBindsNothing: an account that lists one customer id
// under two emails (a broken or hostile answer) binds neither row to it
// and writes nothing to it.
func TestAmbiguousListBindsNothing(t *testing.T) {
	chs := records(0, 2)
	var customers []map[string]any
	for _, ch := range chs {
		customers = append(customers, map[string]any{"id": "3f1c2b1e-7d4a-4c1e-9a55-0d8f6f0c1a11", "email": ch.Record.Values[s0Email(t)], "name": "Someone"})
	}
	list, _ := json.Marshal(map[string]any{"customers": customers, "total_results": len(customers)})
	srv := fakeTamio(t, string(list), `{"customer":{}}`)
	s, err := tamio.New(tamio.Options{BaseURL: srv.URL + "/v2", APIKey: "k", PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mapped := make([]bool, len(s.Schema().Fields))
	for i := range mapped {
		mapped[i] = true
	}
	ctx := context.Background()
	// Indexed, the way a first run against a full account reads it.
	if err := s.Prepare(ctx, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert, IndexAccount: true}); err != nil {
		t.Fatal(err)
	}
	res := make([]pipeline.Result, len(chs))
	if err := s.Apply(ctx, chs, res); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != pipeline.CodeAmbiguousMatch || r.ID != "" {
			t.Errorf("row %d: %v %+v id %q; want rejected %s, bound to nothing", i, r.Outcome, r.Reject, r.ID, pipeline.CodeAmbiguousMatch)
		}
	}
}

func s0Email(t *testing.T) int {
	t.Helper()
	s, err := tamio.New(tamio.Options{BaseURL: "http://127.0.0.1:1/v2", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	return s.Schema().Index("email")
}
