package revnue_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/crm"
	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// The connector is registered under "revnue" with its schema, its token
// from REVNUE_TOKEN, no eraser (Revnue documents no delete) and a sink
// that cannot delete; its sandbox starts from the example configuration
// its help shows, converts a rate limit a second to Revnue's a minute,
// and serves a sink built from the registry on the schema the mapping
// fills (crm.Config.Schema), in the company REVNUE_COMPANY names.
func TestRegistered(t *testing.T) {
	c, err := crm.Lookup("revnue")
	if err != nil {
		t.Fatal(err)
	}
	if c.Schema != revnue.Schema() || c.BaseURL != "https://dashboard-api.revnue.com" || c.NewEraser != nil || c.StartSandbox == nil || c.NewReader == nil {
		t.Errorf("connector %+v", c)
	}
	if envs := c.CredentialEnvs(); len(envs) != 1 || envs[0] != "REVNUE_TOKEN" || !c.HasCredential(revnue.TokenCredential) {
		t.Errorf("credentials %v", c.Credentials)
	}

	dir := t.TempDir()
	var b strings.Builder
	for _, line := range strings.Split(c.SandboxConfigHelp, "\n") {
		b.WriteString(strings.TrimPrefix(line, "  ") + "\n")
	}
	cfg := filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(b.String(), "companies: [1]", "companies: [1, 2]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	sb, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: filepath.Join(dir, "sandbox.db"), ConfigFile: cfg, RateLimit: 0.05,
		Faults: crm.Faults{Seed: 1}})
	if err != nil {
		t.Fatalf("the help's example configuration: %v", err)
	}
	defer sb.Close()
	if revnue.Server(sb) == nil || !strings.HasPrefix(sb.URL(), "http://127.0.0.1:") {
		t.Errorf("sandbox at %q", sb.URL())
	}
	if tok := sb.Credentials()[revnue.TokenCredential]; tok != "rv_test_rehearsal" {
		t.Errorf("sandbox token %q, want the configuration's first", tok)
	}
	// 0.05 a second is 3 a minute: the fourth request is refused.
	var status []int
	for range 4 {
		req, _ := http.NewRequest(http.MethodGet, sb.URL()+"/api/v2/category/?company=1", nil)
		req.Header.Set("Authorization", "Bearer "+sb.Credentials()[revnue.TokenCredential])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status = append(status, resp.StatusCode)
	}
	if status[2] != 200 || status[3] != 429 {
		t.Errorf("a rate limit of 0.05 a second answered %v, want 3 a minute", status)
	}
	if _, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: filepath.Join(dir, "other.db"), Webhooks: []string{"http://127.0.0.1:1/"}}); err == nil {
		t.Error("a sandbox with webhooks started")
	}

	srv := startAccount(t, revnuetest.Options{Companies: []int64{1, 2}})
	conf := crm.Config{BaseURL: srv.url, Credentials: map[string]string{revnue.TokenCredential: srv.srv.Token}, Rate: 1000,
		Schema: extended(t, "template.seats")}
	t.Setenv(revnue.CompanyEnv, "2")
	s, err := c.NewSink(conf)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Properties()
	if p.CanDelete || p.MaxBatch != 100 || p.Rate != 1000 || p.BulkCreate {
		t.Errorf("properties %+v", p)
	}
	if _, ok := s.(pipeline.Deleter); ok {
		t.Error("the sink implements pipeline.Deleter")
	}
	sch := s.Schema()
	if sch != conf.Schema || sch.Index("template.seats") < 0 {
		t.Fatalf("the sink's schema is not the one the mapping fills")
	}
	res, err := tryRun(s, pipeline.Plan{Mapped: mapped(sch, "name", "template.seats")},
		[]pipeline.Change{change("k", "", values(sch, map[string]string{"name": "ACME", "template.seats": "3"}))})
	if err != nil || res[0].Outcome != pipeline.OutcomeCreated {
		t.Fatalf("a sync through the registry: %v %v", res, err)
	}
	if got := srv.held(t, res[0].ID); got["company"] != float64(2) {
		t.Errorf("created in company %v, want REVNUE_COMPANY's 2", got["company"])
	}
	r, err := c.NewReader(crm.Config{BaseURL: srv.url, Credentials: conf.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	if found, err := r.Find(context.Background(), "acme"); err != nil || len(found) != 1 || found[0].ID != res[0].ID {
		t.Errorf("Find in company 2: %v %v", found, err)
	}
	t.Setenv(revnue.CompanyEnv, "two")
	if _, err := c.NewSink(conf); err == nil || !strings.Contains(err.Error(), "REVNUE_COMPANY") {
		t.Errorf("REVNUE_COMPANY=two: %v", err)
	}
	t.Setenv(revnue.CompanyEnv, "")
	if _, err := c.NewSink(crm.Config{BaseURL: srv.url}); err == nil {
		t.Error("a sink without a token")
	}
	other := *revnue.Schema()
	other.API = "tiquo"
	if _, err := c.NewSink(crm.Config{BaseURL: srv.url, Credentials: conf.Credentials, Schema: &other}); err == nil {
		t.Error("a sink on another API's schema")
	}
}

// The categories are a reference table, revnue:categories (name → id),
// read from the category list whatever its pages, matched without regard
// to case: a mapping's lookup of a segment gives the category's id.
func TestCategoriesReference(t *testing.T) {
	cats := []revnuetest.Category{{ID: 7, Name: "Wholesale"}}
	for i := range 120 {
		cats = append(cats, revnuetest.Category{ID: int64(100 + i), Name: "Segment " + string(rune('A'+i%26)) + strings.Repeat("x", i/26)})
	}
	a := startAccount(t, revnuetest.Options{Categories: cats})
	s := a.sink(t, revnue.Options{})
	tables, err := pipeline.ReadReferences(context.Background(), s, []string{revnue.CategoriesTable})
	if err != nil {
		t.Fatal(err)
	}
	tbl := tables[revnue.CategoriesTable]
	if len(tbl.Rows) != len(cats) || strings.Join(tbl.Columns, ",") != "name,id" || !tbl.IgnoreCase {
		t.Fatalf("table %+v", tbl)
	}
	if reqs := a.front.requests(); count(reqs, "GET", "/api/v2/category/") != 2 {
		t.Errorf("%d requests for 121 categories, want 2 pages", len(reqs))
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte("api: revnue\nkey: id\nfields:\n  name: name\n  category: lookup(\"revnue:categories\", segment)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := mappings.Load(path, revnue.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if m, err = m.WithReferences(tables); err != nil {
		t.Fatal(err)
	}
	prog, err := m.Bind([]string{"id", "name", "segment"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for seg, want := range map[string]string{"wholesale": "7", "Segment B": "101", "SEGMENT Cx": "128"} {
		var rec pipeline.Record
		if rej := prog.Apply(&pipeline.Row{Num: 1, Values: []string{"1", "ACME", seg}}, &rec); rej != nil {
			t.Errorf("%s: %v", seg, rej)
			continue
		}
		if got := rec.Values[revnue.Schema().Index("category")]; got != want {
			t.Errorf("%s gives category %q, want %s", seg, got, want)
		}
	}
	if _, err := s.ReadReference(context.Background(), "revnue:teammates"); err == nil {
		t.Error("a table Revnue does not offer")
	}
}
