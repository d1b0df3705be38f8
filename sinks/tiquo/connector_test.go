package tiquo_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
)

// The connector is registered under "tiquo" with its schema, its key from
// TIQUO_API_KEY and every constructor; its sandbox starts from the
// example configuration its help shows, converts a rate limit a second to
// tiquo's a minute, and serves a sink built from the registry.
func TestRegistered(t *testing.T) {
	c, err := crm.Lookup("tiquo")
	if err != nil {
		t.Fatal(err)
	}
	if c.Schema != tiquo.Schema() || c.BaseURL != "https://api.tiquo.co/v1" || c.NewEraser == nil || c.StartSandbox == nil {
		t.Errorf("connector %+v", c)
	}
	if envs := c.CredentialEnvs(); len(envs) != 1 || envs[0] != "TIQUO_API_KEY" || !c.HasCredential(tiquo.APIKeyCredential) {
		t.Errorf("credentials %v", c.Credentials)
	}

	dir := t.TempDir()
	var b strings.Builder
	for _, line := range strings.Split(c.SandboxConfigHelp, "\n") {
		b.WriteString(strings.TrimPrefix(line, "  ") + "\n")
	}
	cfg := filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sb, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: filepath.Join(dir, "sandbox.db"), ConfigFile: cfg, RateLimit: 2,
		Faults: crm.Faults{Seed: 1}})
	if err != nil {
		t.Fatalf("the help's example configuration: %v", err)
	}
	defer sb.Close()
	if tiquo.Server(sb) == nil || !strings.HasPrefix(sb.URL(), "http://127.0.0.1:") {
		t.Errorf("sandbox at %q", sb.URL())
	}
	if k := sb.Credentials()[tiquo.APIKeyCredential]; k != "sk_test_rehearsal" {
		t.Errorf("sandbox key %q, want the configuration's first", k)
	}
	req, _ := http.NewRequest(http.MethodGet, sb.URL()+"/customers?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+sb.Credentials()[tiquo.APIKeyCredential])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-RateLimit-Limit"); got != "120" {
		t.Errorf("a rate limit of 2 a second became %s a minute, want 120", got)
	}

	conf := crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials()}
	s, err := c.NewSink(conf)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tryRun(s, pipeline.Plan{IndexAccount: true}, records(2))
	if err != nil || res[0].Outcome != pipeline.OutcomeCreated || res[1].Outcome != pipeline.OutcomeCreated {
		t.Fatalf("a sync through the registry: %v %v", res, err)
	}
	r, err := c.NewReader(conf)
	if err != nil {
		t.Fatal(err)
	}
	found, err := r.Find(context.Background(), "ADA1@example.com")
	if err != nil || len(found) != 1 || found[0].ID != res[1].ID {
		t.Errorf("Find: %v %v", found, err)
	}
	if _, err := c.NewSink(crm.Config{BaseURL: sb.URL()}); err == nil {
		t.Error("a sink without a key")
	}
}
