package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crmsync/crm"
	"crmsync/internal/fixtures"
	"crmsync/sinks/revnue"
)

// The fields a Revnue mapping fills hide their paths in the read shape,
// and only those: category's {id, name}, a template field's value under
// template.fields, a contact person's part; the others, template values
// the mapping does not name included, are compared.
func TestUnmappedChanges(t *testing.T) {
	was := flatten(map[string]any{
		"id": 7, "name": "Acme (C1)", "fax": "+49 30 1", "website": nil,
		"category":       map[string]any{"id": 1, "name": "Default"},
		"contact_person": map[string]any{"name": "Ana", "email": "ana@example.com", "type": "sales"},
		"template":       map[string]any{"id": 1, "fields": map[string]any{"account_tier": "gold", "seats": 40}},
	})
	now := flatten(map[string]any{
		"id": 7, "name": "ACME (C1)", "fax": nil, "website": "https://acme.example.com",
		"category":       map[string]any{"id": 2, "name": "Partner"},
		"contact_person": map[string]any{"name": "Ana", "email": "ana@example.org", "type": "support"},
		"template":       map[string]any{"id": 1, "fields": map[string]any{"account_tier": "silver", "seats": 41}},
	})
	mapped := []string{"name", "category", "contact_person.email", "template.account_tier"}
	got := unmappedChanges(was, now, mapped)
	want := []string{
		`contact_person.type "support", entered "sales"`,
		`fax null, entered "+49 30 1"`,
		`template.fields.seats 41, entered 40`,
		`website "https://acme.example.com", entered null`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unmappedChanges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := unmappedChanges(was, now, append(mapped, "fax", "website", "contact_person", "template.seats")); len(d) != 0 {
		t.Errorf("with every changed field mapped: %q", d)
	}
	// An object that became null hides nothing: what was below it has
	// paths of its own.
	gone := map[string]string{}
	for p, v := range now {
		gone[p] = v
	}
	for _, p := range []string{"contact_person.name", "contact_person.email", "contact_person.type"} {
		delete(gone, p)
	}
	gone["contact_person"] = "null"
	d := unmappedChanges(was, gone, mapped)
	if len(d) != 5 || !strings.HasPrefix(d[0], "contact_person.name absent") || !strings.HasPrefix(d[1], "contact_person.type absent") {
		t.Errorf("contact_person null, its name and type unmapped: %q", d)
	}
	// A value gone from the template, or one that appeared, is a change.
	delete(now, "template.fields.seats")
	now["template.fields.renewal_date"] = `"2031-01-01"`
	if d := unmappedChanges(was, now, mapped); len(d) != 5 {
		t.Errorf("a template value dropped and one added: %d changes, want 5: %q", len(d), d)
	}
}

// After a clean sync of a first day into Revnue, with a third of its
// customers entered beforehand, the check of the fields outside the
// mapping finds nothing; after another client replaces one entered
// customer with only the fields it knows (what a sink that sends only
// the mapped fields would do), it finds that customer, once.
func TestCheckFindsOverwrittenFields(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := lookupAPI("revnue")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := crm.Lookup("revnue")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{RateLimit: 1000}
	conf := filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(conf, []byte(a.config(cfg, "rv_test_check")), 0o600); err != nil {
		t.Fatal(err)
	}
	sb, err := conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: filepath.Join(dir, "crm.db"), ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	mapping := mappingOf(t, "revnue")
	d, err := firstDay(filepath.Join(dir, "day1.csv"), 120, 5, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := expect(conn.Schema, mapping, fixtures.Columns, d.rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := enterRevnue(ctx, sb, exp)
	if err != nil {
		t.Fatal(err)
	}
	statePath, out := filepath.Join(dir, "state.db"), filepath.Join(dir, "out")
	env := credentialEnv(revnue.TokenCredential)
	cmd := exec.Command(binary, "sync", "--source", d.path, "--mapping", mapping, "--target", sb.URL(), "--rate", "1000",
		"--credential-env", revnue.TokenCredential+"="+env, "--state", statePath, "--out", out, "--progress", "none")
	cmd.Env = append(os.Environ(), env+"="+sb.Credentials()[revnue.TokenCredential])
	if b, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("sync: %v\n%s", err, b)
	}
	rd, err := conn.NewReader(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), Schema: exp.schema, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	clean, err := check(ctx, rd, filepath.Join(out, "rejects.csv"), statePath, exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := kept(ctx, clean); err != nil {
		t.Fatal(err)
	}
	if clean.differences() != 0 || clean.Entered != (len(exp.byKey)+enterEvery-1)/enterEvery || clean.InCRM != clean.Valid {
		t.Fatalf("a clean sync: %d differences (%q), %d entered of %d valid, %d in the CRM",
			clean.differences(), clean.Examples, clean.Entered, clean.Valid, clean.InCRM)
	}

	// Customer 1 is the first entered, for the first valid key. A PUT of
	// its name alone leaves its mapped fields wrong too, which the check
	// counts apart.
	keys := slices.Sorted(maps.Keys(exp.byKey))
	body, _ := json.Marshal(map[string]any{"company": 1, "name": exp.byKey[keys[0]].values[exp.schema.Index("name")]})
	req, err := http.NewRequest(http.MethodPut, sb.URL()+"/api/v2/customer/1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	a.authorizeRequest(req, body, sb.Credentials())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s %s", resp.Status, b)
	}
	f, err := check(ctx, rd, filepath.Join(out, "rejects.csv"), statePath, exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := kept(ctx, f); err != nil {
		t.Fatal(err)
	}
	if f.Overwritten != 1 || f.Wrong != 1 || f.differences() != 2 {
		t.Errorf("overwritten %d, wrong %d, differences %d; want 1, 1, 2\n%s", f.Overwritten, f.Wrong, f.differences(), strings.Join(f.Examples, "\n"))
	}
	if len(f.Examples) == 0 || !strings.Contains(strings.Join(f.Examples, "\n"), `fax null, entered "+49 30 90"`) {
		t.Errorf("the examples do not name the erased fax:\n%s", strings.Join(f.Examples, "\n"))
	}
}
