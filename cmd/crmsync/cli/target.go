package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/internal/httpapi"
	"crmsync/internal/remotes"
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

	// flags are the command's flags, parsed by the time a target is
	// resolved: the root's --config among them, and whether --api was
	// given.
	flags *pflag.FlagSet
	// remotes is the remotes file, read at the first named target.
	remotes *remotes.File
	// sandboxes are the files of the sandboxes the command started, by
	// absolute path, with the remote they ran for: a source and a target
	// on one file would read and write one account.
	sandboxes map[string]string
	// configUsed says a sandbox of the command took --sandbox-config.
	configUsed bool
}

// defaultSandboxDB is the --sandbox-db default: the sandbox file of the
// API, named after it, so that rehearsals on two APIs keep two accounts.
const defaultSandboxDB = "crmsync-sandbox-" + apiPlaceholder + ".db"

// apiPlaceholder stands for the sandbox's API in --sandbox-db and
// --sandbox-config, so that one command may run the sandboxes of two APIs
// (a migration's source and target).
const apiPlaceholder = "<api>"

// sandboxDBFor resolves a sandbox file of an API.
func sandboxDBFor(flag, api string) string {
	return strings.ReplaceAll(flag, apiPlaceholder, api)
}

// registerSafetyFlags declares the flags that say how a command may talk
// to the CRM: over cleartext or not, and how long one request may take.
func (t *targetFlags) registerSafetyFlags(f *pflag.FlagSet) {
	t.flags = f
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

// sandboxDBFlagHelp documents --sandbox-db.
const sandboxDBFlagHelp = "SQLite file of an embedded sandbox (--target sandbox, sandbox:API); " + apiPlaceholder + " in it stands for the sandbox's API, so that a migration's two sandboxes keep two files"

// targetFlagHelp documents --target.
var targetFlagHelp = `"sandbox", sandbox:API, a remote's name (see crmsync remotes) or the API's base URL (` + exampleURLs() + `)`

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
		"YAML file of the embedded sandbox's teammates, keys, rate limit and faults (the --target's sandbox, or every sandbox when "+apiPlaceholder+" in it stands for the API; format: crmsync sandbox --help)")
}

// endpoint is a resolved target: where to call, with which key and HTTP
// client, and what to stop when done.
type endpoint struct {
	api *crm.Connector
	// remote is the remote's name when the endpoint was named, "" for a
	// URL or "sandbox".
	remote  string
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
	switch {
	case e.remote != "":
		return e.remote + " (" + e.baseURL + ")"
	case e.sandbox != nil:
		return "sandbox (" + e.baseURL + ")"
	}
	return e.baseURL
}

// resolve turns --target into an endpoint of the API. "sandbox" starts
// the API's embedded emulator on a local SQLite file; a URL takes the
// API's credentials from environment variables (the connector's, or those
// --api-key-env and --credential-env name), never from a flag value or
// the URL (see httpapi.CheckBaseURL for what a URL may not hold); a
// remote's name or "sandbox:API" goes through the remotes file (see
// resolveNamed), and api, when not "", must be the remote's. Nothing is
// sent before the URL passed those checks.
func (f *targetFlags) resolve(log *slog.Logger, api string) (*endpoint, error) {
	if f.target == "" {
		return nil, usageError("--target is required: \"sandbox\", %sAPI, a remote's name or the API's base URL", remotes.SandboxPrefix)
	}
	if f.apiTimeout <= 0 {
		return nil, usageError("--api-timeout %v: give a positive duration such as 2m", f.apiTimeout)
	}
	if name, ok := namedTarget(f.target); ok {
		ep, err := f.named(log, name, "--target", api, true)
		if err != nil {
			return nil, err
		}
		if f.sandboxConfig != "" && ep.sandbox == nil && !f.configUsed {
			ep.Close()
			return nil, usageError("--sandbox-config configures an embedded sandbox, and --target %s is not one", f.target)
		}
		return ep, nil
	}
	if api == "" {
		return nil, usageError("--api is required: crmsync knows %s", strings.Join(crm.Names(), ", "))
	}
	conn, err := crm.Lookup(api)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if f.sandboxConfig != "" && f.target != "sandbox" && !f.configUsed {
		return nil, usageError("--sandbox-config configures the embedded sandbox: it needs --target sandbox")
	}
	if f.target == "sandbox" {
		return f.startSandbox(log, "--target", true, &remotes.Remote{API: conn.Name, Sandbox: true}, conn)
	}
	base, err := httpapi.CheckBaseURL(f.target, f.allowInsecureHTTP)
	if err != nil {
		if errors.Is(err, httpapi.ErrCleartext) {
			return nil, usageError("--target %v (--allow-insecure-http allows it)", err)
		}
		return nil, usageError("--target is neither \"sandbox\", %sAPI, a remote's name nor a usable API URL: %v", remotes.SandboxPrefix, err)
	}
	if u, _ := url.Parse(base); u.Scheme == "http" && !httpapi.IsLoopback(u.Hostname()) {
		log.Warn("the API key and customer data go to the target unencrypted (--allow-insecure-http)", "target", base)
	}
	creds, err := f.credentials(conn)
	if err != nil {
		return nil, err
	}
	return &endpoint{api: conn, baseURL: base, creds: creds, http: httpapi.NewHTTPClient(f.apiTimeout)}, nil
}

// namedTarget reports whether a --target or --source names a remote
// ("NAME", "NAME:") or a built-in sandbox ("sandbox:API", "sandbox:API:"),
// and returns the name without its colon. A URL, a path and "sandbox"
// are not names.
func namedTarget(s string) (string, bool) {
	if api, ok := strings.CutPrefix(s, remotes.SandboxPrefix); ok && api != "" {
		return strings.TrimSuffix(s, ":"), true
	}
	name := strings.TrimSuffix(s, ":")
	return name, remotes.ValidName(name)
}

// resolveNamed resolves a remote's name or "sandbox:API" (a trailing
// colon allowed) to an endpoint of the remote's API: a sandbox remote
// starts the emulator (on the remote's sandbox_db, else --sandbox-db with
// <api> for its API; --sandbox-config only when it holds <api>), any other
// is called at its URL with the credentials read from the variables the
// remote names. --api-key-env and --credential-env do not apply: they
// name the variables of --target. Two sandboxes resolved through f may
// not share a file. Close the endpoint when done.
func (f *targetFlags) resolveNamed(log *slog.Logger, name string) (*endpoint, error) {
	n, ok := namedTarget(name)
	if !ok {
		return nil, usageError("%q is neither a remote's name nor %sAPI", name, remotes.SandboxPrefix)
	}
	return f.named(log, n, "", "", false)
}

// targetAPI is the API of a command without a mapping: the remote's when
// --target names one and --api was not given, --api's otherwise. It starts
// nothing, so that the command's inputs can be checked first.
func (f *targetFlags) targetAPI() (string, error) {
	name, ok := namedTarget(f.target)
	if !ok || (f.flags != nil && f.flags.Changed("api")) {
		return f.api, nil
	}
	file, err := f.loadRemotes()
	if err != nil {
		return "", err
	}
	r, err := file.Lookup(name)
	if err != nil {
		return "", usageError("--target: %v", err)
	}
	return r.API, nil
}

// loadRemotes reads the remotes file once: --config, or the default file,
// which may be absent.
func (f *targetFlags) loadRemotes() (*remotes.File, error) {
	if f.remotes != nil {
		return f.remotes, nil
	}
	path, explicit := configPath(f.flags)
	if path == "" {
		f.remotes = &remotes.File{}
		return f.remotes, nil
	}
	file, err := remotes.Load(path, explicit)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageError("--config %s: no such file", path)
	}
	if err != nil {
		return nil, usageError("%v", err)
	}
	f.remotes = file
	return file, nil
}

// configPath returns the remotes file a command reads and whether
// --config named it; "" when there is no user configuration directory.
func configPath(fs *pflag.FlagSet) (string, bool) {
	if fs != nil {
		if fl := fs.Lookup("config"); fl != nil && fl.Changed {
			return fl.Value.String(), true
		}
	}
	path, err := remotes.DefaultPath()
	if err != nil {
		return "", false
	}
	return path, false
}

// named resolves a remote for the flag that named it ("" for none), which
// messages name. want
// is the API the command needs ("" for any); asTarget applies
// --api-key-env and --credential-env.
func (f *targetFlags) named(log *slog.Logger, name, flag, want string, asTarget bool) (*endpoint, error) {
	file, err := f.loadRemotes()
	if err != nil {
		return nil, err
	}
	r, err := file.Lookup(name)
	if err != nil {
		if flag == "" {
			return nil, usageError("%v", err)
		}
		return nil, usageError("%s: %v", flag, err)
	}
	label := labelOf(flag, name)
	if want != "" && r.API != want {
		return nil, usageError("%s is a %s remote, but %s %s", label, r.API, f.apiSource(want), want)
	}
	conn, err := crm.Lookup(r.API)
	if err != nil {
		return nil, usageError("%s: %v", label, err)
	}
	if r.Sandbox {
		return f.startSandbox(log, flag, asTarget, r, conn)
	}
	base, err := httpapi.CheckBaseURL(r.URL, f.allowInsecureHTTP)
	if err != nil {
		if errors.Is(err, httpapi.ErrCleartext) {
			return nil, usageError("%s: %v (--allow-insecure-http allows it)", label, err)
		}
		return nil, usageError("%s: %v", label, err)
	}
	if u, _ := url.Parse(base); u.Scheme == "http" && !httpapi.IsLoopback(u.Hostname()) {
		log.Warn("the API key and customer data go to the remote unencrypted (--allow-insecure-http)", "remote", name, "url", base)
	}
	env := r.Env
	if asTarget {
		env = f.overrideEnv(conn, env)
		if err := f.checkCredentialNames(conn); err != nil {
			return nil, err
		}
	}
	creds := make(map[string]string, len(conn.Credentials))
	for _, c := range conn.Credentials {
		v := strings.TrimSpace(os.Getenv(env[c.Name]))
		if v == "" {
			return nil, usageError("%s: no %s for %s: set the environment variable %s (%s), or name another in the remote's credentials: (%s)",
				label, c.Name, conn.Name, env[c.Name], c.Doc, file.Path)
		}
		creds[c.Name] = v
	}
	return &endpoint{api: conn, remote: name, baseURL: base, creds: creds, http: httpapi.NewHTTPClient(f.apiTimeout)}, nil
}

// apiSource words where the API a command needs comes from, for the
// error of a remote of another API.
func (f *targetFlags) apiSource(want string) string {
	if f.flags != nil && f.flags.Changed("api") && f.api == want {
		return "--api says"
	}
	return "the mapping says api:"
}

// overrideEnv applies --api-key-env and --credential-env to a remote's
// variables.
func (f *targetFlags) overrideEnv(conn *crm.Connector, env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for _, c := range conn.Credentials {
		out[c.Name] = env[c.Name]
		if f.apiKeyEnv != "" && c.Name == "api_key" {
			out[c.Name] = f.apiKeyEnv
		}
		if e, ok := f.credentialEnvs[c.Name]; ok {
			out[c.Name] = e
		}
	}
	return out
}

// startSandbox starts the embedded emulator of a sandbox remote (or of
// --target sandbox, a remote without a name) for the flag that named it.
// A remote's sandbox_db and sandbox_config come first; else --sandbox-db,
// <api> in it standing for the API, and --sandbox-config for the target's
// sandbox, or for every sandbox when it holds <api>. Two sandboxes of one
// command may not share a file: they would be one account.
func (f *targetFlags) startSandbox(log *slog.Logger, flag string, isTarget bool, r *remotes.Remote, conn *crm.Connector) (*endpoint, error) {
	if conn.StartSandbox == nil {
		return nil, usageError("%s: crmsync has no emulator of %s", labelOf(flag, orSandbox(r.Name)), conn.Name)
	}
	db, dbFlag := r.SandboxDB, "sandbox_db of remote "+r.Name
	if db == "" {
		db, dbFlag = sandboxDBFor(f.sandboxDB, conn.Name), "--sandbox-db"
	}
	config, configFlag := r.SandboxConfig, "sandbox_config of remote "+r.Name
	if config == "" && f.sandboxConfig != "" && (isTarget || strings.Contains(f.sandboxConfig, apiPlaceholder)) {
		config, configFlag = sandboxDBFor(f.sandboxConfig, conn.Name), "--sandbox-config"
		f.configUsed = true
	}
	abs, err := filepath.Abs(db)
	if err != nil {
		return nil, pipeline.Fatalf("%s %s: %w", dbFlag, db, err)
	}
	if other, taken := f.sandboxes[abs]; taken {
		return nil, usageError("%s and %s would both run on the sandbox file %s: give one of them its own (%s in --sandbox-db stands for the API; a sandbox remote may name its sandbox_db)",
			other, labelOf(flag, orSandbox(r.Name)), db, apiPlaceholder)
	}
	// The emulator's INFO lines (every request or job it serves) are its
	// own bookkeeping: under a sync they would bury the progress bar and
	// the summary, so they show with --verbose only.
	sb, err := conn.StartSandbox(context.Background(), crm.SandboxOptions{DBPath: db, ConfigFile: config,
		Logger: slog.New(demoteInfo{log.Handler()})})
	var cfgErr *crm.ConfigError
	if errors.As(err, &cfgErr) {
		return nil, usageError("%s: %w", configFlag, err)
	}
	if err != nil {
		return nil, pipeline.Fatalf("starting the %s sandbox on %s: %w", conn.Name, db, err)
	}
	if f.sandboxes == nil {
		f.sandboxes = map[string]string{}
	}
	f.sandboxes[abs] = labelOf(flag, orSandbox(r.Name))
	return &endpoint{api: conn, remote: r.Name, baseURL: sb.URL(), creds: sb.Credentials(),
		http: httpapi.NewHTTPClient(f.apiTimeout), sandbox: sb}, nil
}

// labelOf names a remote in messages, after the flag that named it if
// any.
func labelOf(flag, name string) string {
	if flag == "" {
		return name
	}
	return flag + " " + name
}

func orSandbox(name string) string {
	if name == "" {
		return "sandbox"
	}
	return name
}

// credentials reads the connector's credentials from the environment.
func (f *targetFlags) credentials(conn *crm.Connector) (map[string]string, error) {
	if err := f.checkCredentialNames(conn); err != nil {
		return nil, err
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

// checkCredentialNames refuses a --credential-env of a credential the
// API does not have.
func (f *targetFlags) checkCredentialNames(conn *crm.Connector) error {
	for name := range f.credentialEnvs {
		if !conn.HasCredential(name) {
			var names []string
			for _, c := range conn.Credentials {
				names = append(names, c.Name)
			}
			sort.Strings(names)
			return usageError("--credential-env %s: %s has no credential of that name (it has: %s)", name, conn.Name, strings.Join(names, ", "))
		}
	}
	return nil
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
