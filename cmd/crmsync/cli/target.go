package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/internal/httpapi"
	"crmsync/pipeline"
)

func schemaFor(api string) (*pipeline.Schema, error) {
	c, err := crm.Lookup(api)
	if err != nil {
		return nil, err
	}
	return c.Schema, nil
}

// targetFlags are the flags every command that talks to a CRM shares.
type targetFlags struct {
	// api names the connector of a command without a mapping (--api).
	api    string
	target string
	// apiKeyEnv overrides the environment variable of a connector's
	// "api_key" credential; credentialEnvs any credential's, by name.
	apiKeyEnv      string
	credentialEnvs map[string]string
	sandboxDB      string
	// sandboxConfig is the YAML file of the embedded sandbox's keys,
	// limits and faults, in the format of the API's emulator.
	sandboxConfig string
	// allowInsecureHTTP lets the key and customer data cross the network
	// unencrypted, to an http:// target that is not this machine.
	allowInsecureHTTP bool
	// apiTimeout bounds each attempt of an API call, answer body included.
	apiTimeout time.Duration
}

// defaultSandboxDB is the --sandbox-db default: the sandbox file of the
// API, named after it, so that rehearsals on two APIs keep two accounts.
const defaultSandboxDB = "crmsync-sandbox-<api>.db"

// sandboxDBFor resolves the default sandbox file of an API.
func sandboxDBFor(flag, api string) string {
	if flag == defaultSandboxDB {
		return "crmsync-sandbox-" + api + ".db"
	}
	return flag
}

// registerSafetyFlags declares the flags that say how a command may talk
// to the CRM: over cleartext or not, and how long one request may take.
func (t *targetFlags) registerSafetyFlags(f *pflag.FlagSet) {
	f.BoolVar(&t.allowInsecureHTTP, "allow-insecure-http", false,
		"allow an http:// --target on another machine, sending the API key and customer data unencrypted (http:// to localhost is always allowed)")
	f.DurationVar(&t.apiTimeout, "api-timeout", httpapi.DefaultTimeout,
		"longest one API request may take, from connecting to the last byte of the answer (a server that sends headers and then stalls counts); a request that takes longer is retried, then the run fails")
}

// registerCredentialFlags declares the flags naming the environment
// variables the API's credentials are read from.
func (t *targetFlags) registerCredentialFlags(f *pflag.FlagSet) {
	f.StringVar(&t.apiKeyEnv, "api-key-env", "", "environment variable holding the API key (default: the API's own, "+credentialDefaults()+")")
	f.StringToStringVar(&t.credentialEnvs, "credential-env", nil, "NAME=VARIABLE: read the API's credential NAME from another environment variable (repeatable)")
}

// firstBaseURL and firstCredentialEnv are the first API's, for examples.
func firstBaseURL() string {
	if c, err := crm.Lookup(firstAPI()); err == nil {
		return c.BaseURL
	}
	return ""
}

func firstCredentialEnv() string {
	if c, err := crm.Lookup(firstAPI()); err == nil && len(c.Credentials) > 0 {
		return c.Credentials[0].Env
	}
	return ""
}

// credentialsHelp lists, for help texts, the environment variables each
// API's credentials are read from.
func credentialsHelp() string {
	var b strings.Builder
	b.WriteString("\n\nCREDENTIALS\n")
	for _, c := range crm.All() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.Name, strings.Join(c.CredentialEnvs(), ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// exampleURLs lists the APIs' production base URLs, for help.
func exampleURLs() string {
	var urls []string
	for _, c := range crm.All() {
		urls = append(urls, c.BaseURL)
	}
	return strings.Join(urls, ", ")
}

// credentialDefaults lists each API's credential variables, for help.
func credentialDefaults() string {
	var parts []string
	for _, c := range crm.All() {
		parts = append(parts, c.Name+": "+strings.Join(c.CredentialEnvs(), ", "))
	}
	return strings.Join(parts, "; ")
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
	api     *crm.Connector
	baseURL string // never with user info, query or fragment
	creds   map[string]string
	http    *http.Client
	sandbox crm.Sandbox
}

// keyFingerprint names the credentials without revealing them: an export's
// manifest says which key read the data.
func (e *endpoint) keyFingerprint() string {
	if len(e.creds) == 1 {
		for _, v := range e.creds {
			return gdpr.KeyFingerprint(v)
		}
	}
	names := make([]string, 0, len(e.creds))
	for n := range e.creds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + "=" + e.creds[n] + "\n")
	}
	return gdpr.KeyFingerprint(b.String())
}

// config is what the connector's constructors take.
func (e *endpoint) config(log *slog.Logger, rate float64, concurrency int) crm.Config {
	return crm.Config{BaseURL: e.baseURL, Credentials: e.creds, HTTPClient: e.http, Rate: rate, Concurrency: concurrency, Logger: log}
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

// resolve turns --target into an endpoint of the API. "sandbox" starts
// the API's embedded emulator on a local SQLite file; a URL takes the
// API's credentials from environment variables (the connector's, or those
// --api-key-env and --credential-env name), never from a flag value or
// the URL (see httpapi.CheckBaseURL for what a URL may not hold). Nothing
// is sent before the URL passed those checks.
func (f *targetFlags) resolve(log *slog.Logger, api string) (*endpoint, error) {
	if api == "" {
		return nil, usageError("--api is required: crmsync knows %s", strings.Join(crm.Names(), ", "))
	}
	conn, err := crm.Lookup(api)
	if err != nil {
		return nil, usageError("%v", err)
	}
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
		if conn.StartSandbox == nil {
			return nil, usageError("--target sandbox: crmsync has no emulator of %s", conn.Name)
		}
		// The emulator's INFO lines (every request or job it serves) are
		// its own bookkeeping: under a sync they would bury the progress
		// bar and the summary, so they show with --verbose only.
		db := sandboxDBFor(f.sandboxDB, conn.Name)
		sb, err := conn.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: db, ConfigFile: f.sandboxConfig,
			Logger: slog.New(demoteInfo{log.Handler()})})
		var cfgErr *crm.ConfigError
		if errors.As(err, &cfgErr) {
			return nil, usageError("--sandbox-config: %w", err)
		}
		if err != nil {
			return nil, pipeline.Fatalf("starting the %s sandbox on %s: %w", conn.Name, db, err)
		}
		return &endpoint{api: conn, baseURL: sb.URL(), creds: sb.Credentials(), http: hc, sandbox: sb}, nil
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
	creds, err := f.credentials(conn)
	if err != nil {
		return nil, err
	}
	return &endpoint{api: conn, baseURL: base, creds: creds, http: hc}, nil
}

// credentials reads the connector's credentials from the environment.
func (f *targetFlags) credentials(conn *crm.Connector) (map[string]string, error) {
	for name := range f.credentialEnvs {
		if !conn.HasCredential(name) {
			var names []string
			for _, c := range conn.Credentials {
				names = append(names, c.Name)
			}
			sort.Strings(names)
			return nil, usageError("--credential-env %s: %s has no credential of that name (it has: %s)", name, conn.Name, strings.Join(names, ", "))
		}
	}
	creds := make(map[string]string, len(conn.Credentials))
	for _, c := range conn.Credentials {
		env := c.Env
		if f.apiKeyEnv != "" && c.Name == "api_key" {
			env = f.apiKeyEnv
		}
		if e, ok := f.credentialEnvs[c.Name]; ok {
			env = e
		}
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return nil, usageError("no %s for %s: set the environment variable %s (%s), or name another with --credential-env %s=VARIABLE", c.Name, conn.Name, env, c.Doc, c.Name)
		}
		creds[c.Name] = v
	}
	return creds, nil
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
