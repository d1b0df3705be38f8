// Package crm is the registry of the CRM APIs crmsync reads and writes.
//
// Each API is one connector package (its schema, client, sink, reader,
// eraser and emulator) that registers a [Connector] from its init
// function; package crm/all links every connector in with blank imports.
// The commands, the engine, the state, the GDPR files and the reports
// reach an API only through this registry and the contracts of package
// pipeline, so that a new API is a new package and a line in crm/all.
// Connectors never import each other.
package crm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"crmsync/gdpr/layout"
	"crmsync/internal/emulator"
	"crmsync/pipeline"
)

// Connector is one CRM API.
type Connector struct {
	// Name is what a mapping's api: and --api say: lower case, no spaces.
	Name string
	// Title names the API for people ("tamio Operations API v2").
	Title string
	// Schema is the customer record a mapping fills. Callers must not
	// modify it.
	Schema *pipeline.Schema
	// Credentials are what a call needs beside the base URL, each read
	// from an environment variable, never from a flag or the URL.
	Credentials []Credential
	// BaseURL is the API's production base URL, for help texts and docs.
	BaseURL string
	// SignsRequests says every request carries a signature over its exact
	// body bytes, so that the API refuses a request changed after it was
	// signed (the conformance suite checks that it does).
	SignsRequests bool
	// NewSink returns a sink writing to the API.
	NewSink func(Config) (pipeline.Sink, error)
	// NewReader returns a reader of the API's customers.
	NewReader func(Config) (pipeline.Reader, error)
	// NewEraser returns what deletes customers for erasure requests; nil
	// when the API cannot delete customers.
	NewEraser func(Config) (pipeline.Eraser, error)
	// NewAnonymiser returns what anonymises customers for erasure
	// requests where the API cannot delete them; nil when the API deletes
	// (NewEraser) or cannot anonymise either. An erase uses it only when
	// NewEraser is nil.
	NewAnonymiser func(Config) (pipeline.Anonymiser, error)
	// StartSandbox starts the API's emulator, which users rehearse on.
	StartSandbox func(context.Context, SandboxOptions) (Sandbox, error)
	// SandboxConfigHelp documents the emulator's configuration file, for
	// `crmsync sandbox --help`.
	SandboxConfigHelp string
	// Export is the table a subject-access export writes of the API's
	// customers; nil for layout.Default of the schema. A reader that also
	// implements layout.RelatedReader hands over its related records.
	Export *layout.Layout
}

// ExportLayout returns the connector's export table.
func (c *Connector) ExportLayout() *layout.Layout {
	if c.Export != nil {
		return c.Export
	}
	return layout.Default(c.Schema)
}

// Credential is one secret a connector needs.
type Credential struct {
	// Name is the connector's name for it ("api_key", "client_secret").
	Name string
	// Env is the environment variable it is read from by default.
	Env string
	// Doc says what it is, for help texts.
	Doc string
}

// Config is what a connector's constructors are given.
type Config struct {
	// BaseURL is the API's base URL, checked by httpapi.CheckBaseURL.
	BaseURL string
	// Credentials holds a value for every Connector.Credentials name.
	Credentials map[string]string
	// HTTPClient is the client calls go through: no redirects, a timeout
	// per attempt.
	HTTPClient *http.Client
	// Rate is the most requests a second (0: the connector's default).
	Rate float64
	// Concurrency bounds the calls the connector makes at once on its own;
	// 0 for its default.
	Concurrency int
	// Logger receives the connector's log lines; never personal data.
	Logger *slog.Logger
	// Schema is the schema the run's mapping fills: Connector.Schema
	// extended with the fields of its open families the mapping names
	// (pipeline.Schema.Extend, mappings.Mapping.Schema). nil means
	// Connector.Schema. A connector whose schema has open families builds
	// its sink on it; the others may ignore it.
	Schema *pipeline.Schema
}

// SandboxOptions configures an emulator started for a run or for
// `crmsync sandbox`.
type SandboxOptions struct {
	// DBPath is the SQLite file that keeps the emulator's data.
	DBPath string
	// ConfigFile is the emulator's YAML configuration (keys, limits,
	// faults); "" for its defaults.
	ConfigFile string
	// Addr is the address to listen on; "" for a free port on 127.0.0.1.
	Addr string
	// RateLimit, when above 0, overrides the configuration's rate limit:
	// requests a second per key.
	RateLimit float64
	// Faults, when any of its rates or its latency is set (Faults.Any),
	// replaces the configuration's faults.
	Faults Faults
	// Webhooks are URLs the emulator posts its events to, beside the
	// configuration's.
	Webhooks []string
	Logger   *slog.Logger
}

// Faults are the faults an emulator injects, drawn from Seed so that the
// same requests get the same faults: every emulator is built on the one
// emulator kit and takes them as they are.
type Faults = emulator.Faults

// ConfigError is an emulator configuration file that cannot be used: a
// mistake of the user's, not a failure of the emulator.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Sandbox is a running emulator.
type Sandbox interface {
	// URL is the base URL a connector calls, as BaseURL in Config.
	URL() string
	// Credentials holds a working value for each Connector.Credentials
	// name.
	Credentials() map[string]string
	// SetFaults replaces the faults the emulator injects, from its next
	// request on; safe while requests are served.
	SetFaults(Faults)
	// Handler is the emulator's API, for a caller serving it behind a
	// front of its own in the same process (the chaos run's, which cuts
	// answers and kills crmsync at a chosen request).
	Handler() http.Handler
	// WaitIdle returns once the work the emulator queued in the
	// background (bulk jobs) is done, at once for an emulator that queues
	// none, or with ctx's error.
	WaitIdle(ctx context.Context) error
	// Close stops the server and closes its database.
	Close() error
}

// StatsPath is where every emulator serves its request counters, beside
// its API and without authentication.
const StatsPath = "/_sandbox/stats"

var (
	mu         sync.RWMutex
	connectors = map[string]*Connector{}
)

// Register adds a connector. It is called from a connector package's init
// and panics on a connector without a name, a schema or a sink, or with a
// name taken: those are programming errors found at start.
func Register(c Connector) {
	if c.Name == "" || c.Schema == nil || c.NewSink == nil || c.NewReader == nil {
		panic(fmt.Sprintf("crm.Register(%q): name, schema, sink and reader are required", c.Name))
	}
	if c.Schema.API != c.Name {
		panic(fmt.Sprintf("crm.Register(%q): the schema names api %q", c.Name, c.Schema.API))
	}
	if err := c.ExportLayout().Check(); err != nil {
		panic(fmt.Sprintf("crm.Register(%q): export layout: %v", c.Name, err))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := connectors[c.Name]; dup {
		panic(fmt.Sprintf("crm.Register(%q): registered twice", c.Name))
	}
	connectors[c.Name] = &c
}

// Lookup returns the connector of an API name.
func Lookup(name string) (*Connector, error) {
	mu.RLock()
	c, ok := connectors[name]
	mu.RUnlock()
	if !ok {
		names := Names()
		if len(names) == 0 {
			return nil, fmt.Errorf("unknown api %q: this build of crmsync has no connectors", name)
		}
		return nil, fmt.Errorf("unknown api %q (crmsync knows: %s)", name, strings.Join(names, ", "))
	}
	return c, nil
}

// Names lists the registered APIs, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(connectors))
	for n := range connectors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All returns the registered connectors, sorted by name.
func All() []*Connector {
	var out []*Connector
	for _, n := range Names() {
		c, _ := Lookup(n)
		out = append(out, c)
	}
	return out
}

// Known reports whether name is a registered API.
func Known(name string) bool { return slices.Contains(Names(), name) }

// CredentialEnvs returns the environment variables a connector's
// credentials are read from, in order.
func (c *Connector) CredentialEnvs() []string {
	out := make([]string, len(c.Credentials))
	for i, cr := range c.Credentials {
		out[i] = cr.Env
	}
	return out
}

// HasCredential reports whether the connector needs a credential of that
// name.
func (c *Connector) HasCredential(name string) bool {
	for _, cr := range c.Credentials {
		if cr.Name == name {
			return true
		}
	}
	return false
}
