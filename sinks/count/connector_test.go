package count_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/count"
)

// The connector is registered under "count" with its schema, its three
// credentials from COUNT_TOKEN, COUNT_CLIENT_ID and COUNT_CLIENT_SECRET,
// no eraser, and its sandbox, which starts from the example configuration
// its help shows, converts a rate limit a second to COUNT's a minute,
// refuses webhooks, and serves a sink built from the registry.
func TestRegistered(t *testing.T) {
	c, err := crm.Lookup("count")
	if err != nil {
		t.Fatal(err)
	}
	if c.Schema != count.Schema() || c.NewEraser != nil || c.StartSandbox == nil || c.NewReader == nil || !strings.HasSuffix(c.BaseURL, "/partners") {
		t.Errorf("connector %+v", c)
	}
	if envs := strings.Join(c.CredentialEnvs(), " "); envs != "COUNT_TOKEN COUNT_CLIENT_ID COUNT_CLIENT_SECRET" {
		t.Errorf("credentials from %s", envs)
	}
	for _, name := range []string{count.TokenCredential, count.ClientIDCredential, count.ClientSecretCredential} {
		if !c.HasCredential(name) {
			t.Errorf("no credential %q", name)
		}
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
	if _, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: filepath.Join(dir, "hooks.db"), Webhooks: []string{"http://127.0.0.1:9/hook"}}); err == nil {
		t.Error("a sandbox with webhooks, which COUNT does not send")
	} else if ce := new(crm.ConfigError); !errors.As(err, &ce) {
		t.Errorf("webhooks: %v, want a configuration error", err)
	}
	// 0.05 a second is 3 a minute: the fourth request is refused.
	sb, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: filepath.Join(dir, "sandbox.db"), ConfigFile: cfg, RateLimit: 0.05,
		Faults: crm.Faults{Seed: 1}})
	if err != nil {
		t.Fatalf("the help's example configuration: %v", err)
	}
	defer sb.Close()
	if count.Server(sb) == nil || !strings.HasPrefix(sb.URL(), "http://127.0.0.1:") || !strings.HasSuffix(sb.URL(), "/partners") {
		t.Fatalf("sandbox at %q", sb.URL())
	}
	creds := sb.Credentials()
	if creds[count.TokenCredential] != "count_rehearsal_token" || creds[count.ClientIDCredential] != "rehearsal" || creds[count.ClientSecretCredential] != "rehearsal-secret" {
		t.Errorf("sandbox credentials %v, want the configuration's first client", creds)
	}
	api, err := count.NewAPI(count.Options{BaseURL: sb.URL(), Credentials: count.Credentials{Token: creds[count.TokenCredential],
		ClientID: creds[count.ClientIDCredential], ClientSecret: creds[count.ClientSecretCredential]}, Rate: 1000, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		_, err := api.Client().List(context.Background(), 1, 1)
		if limited := errors.Is(err, pipeline.ErrRateLimited); (i == 3) != limited {
			t.Errorf("request %d of a sandbox limited to 3 a minute: %v", i+1, err)
		}
	}

	sb2, err := c.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: filepath.Join(dir, "sandbox2.db"), RateLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer sb2.Close()
	conf := crm.Config{BaseURL: sb2.URL(), Credentials: sb2.Credentials(), Rate: 1000}
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
	if _, err := c.NewSink(crm.Config{BaseURL: sb.URL(), Credentials: map[string]string{count.TokenCredential: "t"}}); err == nil {
		t.Error("a sink without a client id and secret")
	}
}
