package tamio

import (
	"context"
	"log/slog"
	"net/http"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/tamio/tamiotest"
)

// APIKeyCredential names tamio's one credential, a bearer key.
const APIKeyCredential = "api_key"

func init() {
	crm.Register(crm.Connector{
		Name:    "tamio",
		Title:   "tamio Operations API v2",
		Schema:  &schema,
		BaseURL: "https://api.tamio.com/v2",
		Credentials: []crm.Credential{{Name: APIKeyCredential, Env: "TAMIO_API_KEY",
			Doc: "an API key with the permissions view, create, edit (and remove for mirror runs and erasure)"}},
		NewSink: func(c crm.Config) (pipeline.Sink, error) {
			return New(Options{BaseURL: c.BaseURL, APIKey: c.Credentials[APIKeyCredential], HTTPClient: c.HTTPClient,
				Rate: c.Rate, Concurrency: c.Concurrency, Logger: c.Logger})
		},
		NewReader: func(c crm.Config) (pipeline.Reader, error) { return newReader(c) },
		NewEraser: func(c crm.Config) (pipeline.Eraser, error) { return newReader(c) },
		StartSandbox: func(_ context.Context, o crm.SandboxOptions) (crm.Sandbox, error) {
			var opts tamiotest.Options
			if o.ConfigFile != "" {
				var err error
				if opts, err = tamiotest.LoadConfig(o.ConfigFile); err != nil {
					return nil, &crm.ConfigError{Err: err}
				}
			}
			opts.DBPath, opts.Addr, opts.Logger = o.DBPath, o.Addr, o.Logger
			if o.RateLimit > 0 {
				opts.RateLimit = o.RateLimit
			}
			if o.Faults.Any() {
				opts.Faults = o.Faults
			}
			opts.Webhooks = append(opts.Webhooks, o.Webhooks...)
			srv, err := tamiotest.NewServer(opts)
			if err != nil {
				return nil, err
			}
			teammates := opts.Teammates
			if len(teammates) == 0 {
				teammates = tamiotest.DefaultTeammates()
			}
			sb := sandbox{srv: srv}
			for _, t := range teammates {
				sb.teammates = append(sb.teammates, t.ID)
			}
			return sb, nil
		},
		SandboxConfigHelp: sandboxConfigHelp,
		Export:            exportLayout,
	})
}

// sandbox is a running tamiotest server as the registry sees it.
type sandbox struct {
	srv       *tamiotest.Server
	teammates []string
}

func (s sandbox) URL() string { return s.srv.URL }
func (s sandbox) Credentials() map[string]string {
	return map[string]string{APIKeyCredential: s.srv.APIKey}
}
func (s sandbox) Close() error                       { return s.srv.Close() }
func (s sandbox) SetFaults(f crm.Faults)             { s.srv.SetFaults(f) }
func (s sandbox) Handler() http.Handler              { return s.srv.Handler() }
func (s sandbox) WaitIdle(ctx context.Context) error { return s.srv.WaitIdle(ctx) }

// SeedValues gives seeding (internal/seed.AccountValuer) the ids of the
// account's teammates, whom a customer's teammate_id must name.
func (s sandbox) SeedValues() map[string][]string {
	return map[string][]string{schema.Fields[fieldTeammateID].Name: s.teammates}
}

// Server returns the emulator behind a sandbox the tamio connector
// started, for tests and tools that inspect it; nil for another's.
func Server(s crm.Sandbox) *tamiotest.Server {
	if sb, ok := s.(sandbox); ok {
		return sb.srv
	}
	return nil
}

func newReader(c crm.Config) (*reader, error) {
	if c.BaseURL == "" || c.Credentials[APIKeyCredential] == "" {
		return nil, pipeline.Fatalf("tamio: a base URL and an API key are required")
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pacer := pipeline.NewPacer(pipeline.PacerOptions{Rate: c.Rate, Logger: log})
	return &reader{client: NewClient(c.BaseURL, c.Credentials[APIKeyCredential], c.HTTPClient, pacer), pacer: pacer, log: log}, nil
}

// sandboxConfigHelp is the configuration file `crmsync sandbox --help`
// shows, indented as the help shows it; a test loads it from the help.
const sandboxConfigHelp = `  # API keys; without any, the one key tamio-sandbox-key holds all four
  # permissions. --target sandbox calls with the first key.
  keys:
    - token: rehearsal-key
      name: rehearsal                 # names the key in logs and stats
      permissions: [view, edit, create, remove]
    - token: support-desk
      name: support
      permissions: [view]
      customers: [0f8fad5b-d9cb-469f-a165-70867728950e]  # sees only these (default: all)
  # The account's members, whom a customer's teammate_id may name; without
  # any, the three of samples/sandbox.yaml.
  teammates:
    - {id: 7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01, email: ana.garcia@example.com, name: Ana García}
    - {id: 2f1c0a4e-8b7d-4c3e-a1f2-0b9c8d7e6f50, email: jo.weber@example.com, name: Jo Weber}
  rate_limit: 10                      # requests per second per key, then 429 (default: no limit)
  rate_burst: 20                      # requests a key may send at once (default: rate_limit)
  bulk_delay: 2s                      # how long a bulk/create job waits before it runs
  webhooks: []                        # URLs to POST customer.created/updated/removed to
  faults:                             # drawn from seed: the same requests get the same faults
    seed: 7
    error_rate: 0.05                  # answered 500, 502 or 503, not applied
    latency: 20ms                     # added to every request
    drop_rate: 0.01                   # connection closed before any answer, not applied
    lost_answer_rate: 0.01            # a write applied, then its answer lost
`
