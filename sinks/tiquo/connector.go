package tiquo

import (
	"context"
	"math"
	"net/http"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/tiquo/tiquotest"
)

// APIKeyCredential names tiquo's one credential, a bearer key.
const APIKeyCredential = "api_key"

func init() {
	crm.Register(crm.Connector{
		Name:    "tiquo",
		Title:   "tiquo customers API v1",
		Schema:  &schema,
		BaseURL: "https://api.tiquo.co/v1",
		Credentials: []crm.Credential{{Name: APIKeyCredential, Env: "TIQUO_API_KEY",
			Doc: "an API key (sk_live_… or sk_test_…) with the scopes customers:read and customers:write"}},
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
		NewEraser: func(c crm.Config) (pipeline.Eraser, error) {
			a, err := NewAPI(options(c))
			if err != nil {
				return nil, err
			}
			return a, nil
		},
		StartSandbox:      startSandbox,
		SandboxConfigHelp: sandboxConfigHelp,
	})
}

func options(c crm.Config) Options {
	return Options{BaseURL: c.BaseURL, APIKey: c.Credentials[APIKeyCredential], HTTPClient: c.HTTPClient,
		Rate: c.Rate, Concurrency: c.Concurrency, Logger: c.Logger}
}

// startSandbox starts tiquotest for --target sandbox and crmsync sandbox.
// The registry gives a rate limit in requests a second; tiquo counts them
// a minute.
func startSandbox(_ context.Context, o crm.SandboxOptions) (crm.Sandbox, error) {
	var opts tiquotest.Options
	if o.ConfigFile != "" {
		var err error
		if opts, err = tiquotest.LoadConfig(o.ConfigFile); err != nil {
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
	opts.Webhooks = append(opts.Webhooks, o.Webhooks...)
	srv, err := tiquotest.NewServer(opts)
	if err != nil {
		return nil, err
	}
	return sandbox{srv}, nil
}

// sandbox is a running tiquotest server as the registry sees it.
type sandbox struct{ srv *tiquotest.Server }

func (s sandbox) URL() string { return s.srv.URL }
func (s sandbox) Credentials() map[string]string {
	return map[string]string{APIKeyCredential: s.srv.APIKey}
}
func (s sandbox) Close() error           { return s.srv.Close() }
func (s sandbox) SetFaults(f crm.Faults) { s.srv.SetFaults(f) }
func (s sandbox) Handler() http.Handler  { return s.srv.Handler() }

// WaitIdle returns at once: the emulator queues no work in the background.
func (s sandbox) WaitIdle(ctx context.Context) error { return ctx.Err() }

// Server returns the emulator behind a sandbox the tiquo connector
// started, for tests and tools that inspect it; nil for another's.
func Server(s crm.Sandbox) *tiquotest.Server {
	if sb, ok := s.(sandbox); ok {
		return sb.srv
	}
	return nil
}

// sandboxConfigHelp is the configuration file `crmsync sandbox --api
// tiquo --help` shows, indented as the help shows it; a test loads it with
// tiquotest.LoadConfig.
const sandboxConfigHelp = `  # API keys; without any, the one key sk_test_tiquo_sandbox holds both
  # scopes. --target sandbox calls with the first key.
  keys:
    - token: sk_test_rehearsal
      name: rehearsal                 # names the key in logs and stats
      scopes: [customers:read, customers:write]
    - token: sk_test_reader
      name: reader
      scopes: [customers:read]        # a write with it is 403 insufficient_scope
  rate_limit: 1000                    # requests a minute per key (tiquo's plans: 100, 1000, 10000; default 10000)
  webhooks: []                        # URLs to POST customer.created/updated/deleted to
  faults:                             # drawn from seed: the same requests get the same faults
    seed: 7
    error_rate: 0.05                  # answered 500, 502 or 503, not applied
    latency: 20ms                     # added to every request
    drop_rate: 0.01                   # connection closed before any answer, not applied
    lost_answer_rate: 0.01            # a write applied, then its answer lost
`
