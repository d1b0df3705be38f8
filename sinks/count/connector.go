package count

import (
	"context"
	"errors"
	"math"
	"net/http"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/count/counttest"
)

// The names of COUNT's three credentials in crm.Config.Credentials.
const (
	TokenCredential        = "token"
	ClientIDCredential     = "client_id"
	ClientSecretCredential = "client_secret"
)

func init() {
	crm.Register(crm.Connector{
		Name:          "count",
		Title:         "COUNT partner API (customers)",
		Schema:        &schema,
		BaseURL:       "https://api.getcount.com/partners",
		SignsRequests: true,
		Credentials: []crm.Credential{
			{Name: TokenCredential, Env: "COUNT_TOKEN", Doc: "the OAuth access token, sent as a bearer token"},
			{Name: ClientIDCredential, Env: "COUNT_CLIENT_ID", Doc: "the partner client id, sent as x-client-id; COUNT's rate limit counts per client id"},
			{Name: ClientSecretCredential, Env: "COUNT_CLIENT_SECRET", Doc: "the partner client secret, which keys each request's signature and is never sent"},
		},
		NewSink: func(c crm.Config) (pipeline.Sink, error) {
			s, err := New(options(c))
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		NewReader: func(c crm.Config) (pipeline.Reader, error) {
			a, err := NewAPI(options(c))
			if err != nil {
				return nil, err
			}
			return a, nil
		},
		// COUNT documents no way to delete a customer: an erasure
		// anonymises it.
		NewEraser: nil,
		NewAnonymiser: func(c crm.Config) (pipeline.Anonymiser, error) {
			x, err := NewAnonymiser(options(c))
			if err != nil {
				return nil, err
			}
			return x, nil
		},
		StartSandbox:      startSandbox,
		SandboxConfigHelp: sandboxConfigHelp,
	})
}

func options(c crm.Config) Options {
	return Options{BaseURL: c.BaseURL, HTTPClient: c.HTTPClient, Rate: c.Rate, Concurrency: c.Concurrency, Logger: c.Logger,
		Credentials: Credentials{Token: c.Credentials[TokenCredential], ClientID: c.Credentials[ClientIDCredential],
			ClientSecret: c.Credentials[ClientSecretCredential]}}
}

// startSandbox starts counttest for --target sandbox and crmsync sandbox.
// The registry gives a rate limit in requests a second; COUNT counts
// them a minute.
func startSandbox(_ context.Context, o crm.SandboxOptions) (crm.Sandbox, error) {
	if len(o.Webhooks) > 0 {
		// Ignoring them would leave a rehearsal waiting for events.
		return nil, &crm.ConfigError{Err: errors.New("COUNT documents no webhooks, so its sandbox sends none: leave out --webhook")}
	}
	var opts counttest.Options
	if o.ConfigFile != "" {
		var err error
		if opts, err = counttest.LoadConfig(o.ConfigFile); err != nil {
			return nil, &crm.ConfigError{Err: err}
		}
	}
	opts.DBPath, opts.Addr, opts.Logger = o.DBPath, o.Addr, o.Logger
	if o.RateLimit > 0 {
		opts.RateLimit = max(1, int(math.Round(o.RateLimit*60)))
	}
	if o.Faults.Any() {
		opts.Faults = o.Faults
	}
	srv, err := counttest.NewServer(opts)
	if err != nil {
		return nil, err
	}
	return sandbox{srv}, nil
}

// sandbox is a running counttest server as the registry sees it.
type sandbox struct{ srv *counttest.Server }

func (s sandbox) URL() string { return s.srv.URL }
func (s sandbox) Credentials() map[string]string {
	return map[string]string{TokenCredential: s.srv.Token, ClientIDCredential: s.srv.ClientID,
		ClientSecretCredential: s.srv.ClientSecret}
}
func (s sandbox) Close() error           { return s.srv.Close() }
func (s sandbox) SetFaults(f crm.Faults) { s.srv.SetFaults(f) }
func (s sandbox) Handler() http.Handler  { return s.srv.Handler() }

// WaitIdle returns at once: the emulator queues no work in the background.
func (s sandbox) WaitIdle(ctx context.Context) error { return ctx.Err() }

// Server returns the emulator behind a sandbox the COUNT connector
// started, for tests and tools that inspect it; nil for another's.
func Server(s crm.Sandbox) *counttest.Server {
	if sb, ok := s.(sandbox); ok {
		return sb.srv
	}
	return nil
}

// sandboxConfigHelp is the configuration file `crmsync sandbox --api
// count --help` shows, indented as the help shows it; a test loads it
// with counttest.LoadConfig. COUNT sends no webhooks, so the emulator
// has none to configure.
const sandboxConfigHelp = `  # API clients; without any, one client with the token
  # count_sandbox_token, client id count-sandbox-client and client secret
  # count-sandbox-secret. --target sandbox calls as the first client.
  clients:
    - token: count_rehearsal_token
      client_id: rehearsal
      client_secret: rehearsal-secret
      name: rehearsal                 # names the client in logs and stats; default the client id
  rate_limit: 100                     # requests a minute per client id (COUNT's: 100)
  faults:                             # drawn from seed: the same requests get the same faults
    seed: 7
    error_rate: 0.05                  # answered 500, 502 or 503, not applied
    latency: 20ms                     # added to every request
    drop_rate: 0.01                   # connection closed before any answer, not applied
    lost_answer_rate: 0.01            # a write applied, then its answer lost
`
