package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"crmsync/internal/httpapi"
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
	// sandboxConfig is the YAML file of the embedded sandbox's keys,
	// teammates, limits and faults (tamiotest.LoadConfig).
	sandboxConfig string
	// allowInsecureHTTP lets the key and customer data cross the network
	// unencrypted, to an http:// target that is not this machine.
	allowInsecureHTTP bool
	// apiTimeout bounds each attempt of an API call, answer body included.
	apiTimeout time.Duration
}

const defaultSandboxDB = "crmsync-sandbox.db"

// registerSafetyFlags declares the flags that say how a command may talk
// to the CRM: over cleartext or not, and how long one request may take.
func (t *targetFlags) registerSafetyFlags(f *pflag.FlagSet) {
	f.BoolVar(&t.allowInsecureHTTP, "allow-insecure-http", false,
		"allow an http:// --target on another machine, sending the API key and customer data unencrypted (http:// to localhost is always allowed)")
	f.DurationVar(&t.apiTimeout, "api-timeout", httpapi.DefaultTimeout,
		"longest one API request may take, from connecting to the last byte of the answer (a server that sends headers and then stalls counts); a request that takes longer is retried, then the run fails")
}

// registerSandboxConfigFlag declares --sandbox-config, beside --sandbox-db
// on every command that takes --target sandbox.
func (t *targetFlags) registerSandboxConfigFlag(f *pflag.FlagSet) {
	f.StringVar(&t.sandboxConfig, "sandbox-config", "",
		"YAML file of the embedded sandbox's teammates, keys, rate limit and faults (--target sandbox; format: crmsync sandbox --help)")
}

// endpoint is a resolved target: where to call, with which key and HTTP
// client, and what to stop when done.
type endpoint struct {
	baseURL string // never with user info, query or fragment
	apiKey  string
	http    *http.Client
	sandbox *tamiotest.Server
}

func (e *endpoint) Close() {
	if e.sandbox != nil {
		e.sandbox.Close()
	}
	if e.http != nil {
		e.http.CloseIdleConnections()
	}
}

// describe names the target for logs, reports and the state without the
// key. baseURL went through httpapi.CheckBaseURL, so it holds no user
// name, password or query either.
func (e *endpoint) describe() string {
	if e.sandbox != nil {
		return "sandbox (" + e.baseURL + ")"
	}
	return e.baseURL
}

// resolve turns --target into an endpoint. "sandbox" starts the embedded
// emulator on a local SQLite file; a URL takes its key from the
// environment variable named by --api-key-env, never from a flag value or
// the URL (see httpapi.CheckBaseURL for what a URL may not hold). Nothing
// is sent before the URL passed those checks.
func (f *targetFlags) resolve(log *slog.Logger) (*endpoint, error) {
	if f.target == "" {
		return nil, usageError("--target is required: \"sandbox\" or the API's base URL")
	}
	if f.apiTimeout <= 0 {
		return nil, usageError("--api-timeout %v: give a positive duration such as 2m", f.apiTimeout)
	}
	if f.sandboxConfig != "" && f.target != "sandbox" {
		return nil, usageError("--sandbox-config configures the embedded sandbox: it needs --target sandbox")
	}
	hc := httpapi.NewHTTPClient(f.apiTimeout)
	if f.target == "sandbox" {
		var opts tamiotest.Options
		if f.sandboxConfig != "" {
			var err error
			if opts, err = tamiotest.LoadConfig(f.sandboxConfig); err != nil {
				return nil, usageError("--sandbox-config: %w", err)
			}
		}
		opts.DBPath = f.sandboxDB
		// The emulator's INFO lines (every bulk job queued and done) are
		// its own bookkeeping: under a sync they would bury the progress
		// bar and the summary, so they show with --verbose only.
		opts.Logger = slog.New(demoteInfo{log.Handler()})
		srv, err := tamiotest.NewServer(opts)
		if err != nil {
			return nil, pipeline.Fatalf("starting the sandbox on %s: %w", f.sandboxDB, err)
		}
		return &endpoint{baseURL: srv.URL, apiKey: srv.APIKey, http: hc, sandbox: srv}, nil
	}
	base, err := httpapi.CheckBaseURL(f.target, f.allowInsecureHTTP)
	if err != nil {
		if errors.Is(err, httpapi.ErrCleartext) {
			return nil, usageError("--target %v (--allow-insecure-http allows it)", err)
		}
		return nil, usageError("--target is neither \"sandbox\" nor a usable API URL: %v", err)
	}
	if u, _ := url.Parse(base); u.Scheme == "http" && !httpapi.IsLoopback(u.Hostname()) {
		log.Warn("the API key and customer data go to the target unencrypted (--allow-insecure-http)", "target", base)
	}
	key := strings.TrimSpace(os.Getenv(f.apiKeyEnv))
	if key == "" {
		return nil, usageError("no API key: set the environment variable %s (or name another with --api-key-env)", f.apiKeyEnv)
	}
	return &endpoint{baseURL: base, apiKey: key, http: hc}, nil
}

// demoteInfo passes records on at debug level when they are INFO, leaving
// warnings and errors as they are.
type demoteInfo struct{ h slog.Handler }

func (d demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, demote(l))
}

func (d demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demoteInfo) WithAttrs(as []slog.Attr) slog.Handler { return demoteInfo{d.h.WithAttrs(as)} }
func (d demoteInfo) WithGroup(name string) slog.Handler    { return demoteInfo{d.h.WithGroup(name)} }

func demote(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}
