package cli

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// schemas lists the targets crmsync can write, by the api name a mapping
// file gives.
var schemas = map[string]*pipeline.Schema{
	"tamio": tamio.Schema(),
}

func schemaFor(api string) (*pipeline.Schema, error) {
	s, ok := schemas[api]
	if !ok {
		return nil, fmt.Errorf("unknown api %q (crmsync knows: tamio)", api)
	}
	return s, nil
}

// targetFlags are the flags every command that talks to a CRM shares.
type targetFlags struct {
	target    string
	apiKeyEnv string
	sandboxDB string
}

const defaultSandboxDB = "crmsync-sandbox.db"

// endpoint is a resolved target: where to call, with which key, and what
// to stop when done.
type endpoint struct {
	baseURL string
	apiKey  string
	sandbox *tamiotest.Server
}

func (e *endpoint) Close() {
	if e.sandbox != nil {
		e.sandbox.Close()
	}
}

// describe names the target for reports without the key.
func (e *endpoint) describe() string {
	if e.sandbox != nil {
		return "sandbox (" + e.baseURL + ")"
	}
	return e.baseURL
}

// resolve turns --target into an endpoint. "sandbox" starts the embedded
// emulator on a local SQLite file; a URL takes its key from the
// environment variable named by --api-key-env, never from a flag value.
func (f *targetFlags) resolve(log *slog.Logger) (*endpoint, error) {
	if f.target == "" {
		return nil, usageError("--target is required: \"sandbox\" or the API's base URL")
	}
	if f.target == "sandbox" {
		srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: f.sandboxDB, Logger: log})
		if err != nil {
			return nil, pipeline.Fatalf("starting the sandbox on %s: %w", f.sandboxDB, err)
		}
		return &endpoint{baseURL: srv.URL, apiKey: srv.APIKey, sandbox: srv}, nil
	}
	u, err := url.Parse(f.target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("--target %q is neither \"sandbox\" nor an http(s) URL", f.target)
	}
	key := strings.TrimSpace(os.Getenv(f.apiKeyEnv))
	if key == "" {
		return nil, usageError("no API key: set the environment variable %s (or name another with --api-key-env)", f.apiKeyEnv)
	}
	return &endpoint{baseURL: strings.TrimRight(f.target, "/"), apiKey: key}, nil
}
