package tiquo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
	"crmsync/sinks/tiquo/tiquotest"
)

// rowsink's read-modify-write for APIs whose update replaces the whole
// record (Schema.UpdateReplaces; Revnue's PUT), seen on tiquo with its
// schema so flagged: a mapping of phone alone sends every field, those it
// does not map with what tiquo holds, a field it maps empty cleared, and
// the result names only what changed. (tiquo's PATCH merges, so what it
// holds afterwards shows nothing; the bodies sent do.)
func TestUpdateReplacesSendsTheWholeRecord(t *testing.T) {
	srv, err := tiquotest.NewServer(tiquotest.Options{DBPath: filepath.Join(t.TempDir(), "tiquo.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var mu sync.Mutex
	var patches []map[string]any
	api := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			json.Unmarshal(b, &m)
			mu.Lock()
			patches = append(patches, m)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		api.ServeHTTP(w, r)
	}))
	defer ts.Close()

	replacing := schema
	replacing.UpdateReplaces = true
	a, err := NewAPI(Options{BaseURL: ts.URL + "/v1", APIKey: srv.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	a.schema = &replacing
	ctx := context.Background()
	id, err := a.client.Create(ctx, map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
		"phone": "+1 555 0100", "notes": "keep me", "address": map[string]any{"city": "London"}, "tags": []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	mapped := make([]bool, len(schema.Fields))
	mapped[fieldEmail] = true
	mapped[schema.Index("phone")] = true
	mapped[schema.Index("companyId")] = true
	vals := make([]string, len(schema.Fields))
	vals[fieldEmail] = "ada@example.com"
	vals[schema.Index("phone")] = "+1 555 0199"

	for _, plan := range []pipeline.Plan{{IndexAccount: true}, {}} {
		plan.Mapped, plan.Mode = mapped, pipeline.ModeUpsert
		s := rowsink.New(a, rowsink.Options{})
		if err := s.Prepare(ctx, plan); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		patches = nil
		mu.Unlock()
		vals[schema.Index("phone")] += "9"
		res := make([]pipeline.Result, 1)
		chs := []pipeline.Change{{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "ada", Values: append([]string(nil), vals...)}}}
		if err := s.Apply(ctx, chs, res); err != nil {
			t.Fatal(err)
		}
		r := res[0]
		if r.Outcome != pipeline.OutcomeUpdated || r.ID != id {
			t.Fatalf("index %v: %v %v", plan.IndexAccount, r.Outcome, r.Reject)
		}
		var sent []string
		for f, on := range r.Sent {
			if on {
				sent = append(sent, schema.Fields[f].Name)
			}
		}
		if !reflect.DeepEqual(sent, []string{"phone"}) {
			t.Errorf("index %v: Result.Sent names %v, want phone alone", plan.IndexAccount, sent)
		}
		mu.Lock()
		got := patches
		mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("index %v: %d PATCHes", plan.IndexAccount, len(got))
		}
		want := map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": vals[schema.Index("phone")],
			"dateOfBirth": nil, "address": map[string]any{"line1": nil, "line2": nil, "city": "London", "state": nil, "postalCode": nil, "country": nil},
			"tags": []any{"vip"}, "notes": "keep me", "preferredLocationId": nil, "marketingConsent": nil, "companyId": nil}
		if !reflect.DeepEqual(got[0], want) {
			t.Errorf("index %v: sent\n%v\nwant the whole record\n%v", plan.IndexAccount, got[0], want)
		}
	}
}
