package revnue

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/revnue/revnuetest"
)

// TokenCredential names Revnue's one credential, the OAuth bearer token.
const TokenCredential = "token"

// CompanyEnv is the environment variable naming the company the connector
// reads and creates customers in; unset, DefaultCompany. It is a setting,
// not a secret, and optional, so it is no crm.Credential.
const CompanyEnv = "REVNUE_COMPANY"

func init() {
	crm.Register(crm.Connector{
		Name:    "revnue",
		Title:   "Revnue API v2 (customers)",
		Schema:  &schema,
		BaseURL: "https://dashboard-api.revnue.com",
		Credentials: []crm.Credential{{Name: TokenCredential, Env: "REVNUE_TOKEN",
			Doc: "an OAuth 2.0 access token, sent as a bearer token (the company is REVNUE_COMPANY, default 1)"}},
		NewSink: func(c crm.Config) (pipeline.Sink, error) {
			o, err := options(c)
			if err != nil {
				return nil, err
			}
			s, err := New(o)
			if err != nil {
				// A nil *Sink in the interface would not be nil.
				return nil, err
			}
			return s, nil
		},
		NewReader: func(c crm.Config) (pipeline.Reader, error) {
			o, err := options(c)
			if err != nil {
				return nil, err
			}
			a, err := NewAPI(o)
			if err != nil {
				return nil, err
			}
			return a, nil
		},
		// Revnue documents no way to delete a customer: an erasure
		// anonymises it.
		NewEraser: nil,
		NewAnonymiser: func(c crm.Config) (pipeline.Anonymiser, error) {
			o, err := options(c)
			if err != nil {
				return nil, err
			}
			x, err := NewAnonymiser(o)
			if err != nil {
				return nil, err
			}
			return x, nil
		},
		StartSandbox:      startSandbox,
		SandboxConfigHelp: sandboxConfigHelp,
		Export:            exportLayout,
	})
}

func options(c crm.Config) (Options, error) {
	company, err := companyFromEnv()
	if err != nil {
		return Options{}, err
	}
	return Options{BaseURL: c.BaseURL, Token: c.Credentials[TokenCredential], Company: company, Schema: c.Schema,
		HTTPClient: c.HTTPClient, Rate: c.Rate, Concurrency: c.Concurrency, Logger: c.Logger}, nil
}

// companyFromEnv reads CompanyEnv: unset or empty is 0 (DefaultCompany).
func companyFromEnv() (int64, error) {
	v := strings.TrimSpace(os.Getenv(CompanyEnv))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, pipeline.Fatalf("%s=%s: give the id of a company of the account, such as 1", CompanyEnv, pipeline.Quote(v))
	}
	return n, nil
}

// startSandbox starts revnuetest for --target sandbox and crmsync
// sandbox. The registry gives a rate limit in requests a second; Revnue
// counts them a minute.
func startSandbox(_ context.Context, o crm.SandboxOptions) (crm.Sandbox, error) {
	if len(o.Webhooks) > 0 {
		// Ignoring them would leave a rehearsal waiting for events.
		return nil, &crm.ConfigError{Err: errors.New("the Revnue sandbox sends no webhooks (Revnue documents none): leave out --webhook")}
	}
	var opts revnuetest.Options
	if o.ConfigFile != "" {
		var err error
		if opts, err = revnuetest.LoadConfig(o.ConfigFile); err != nil {
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
	srv, err := revnuetest.NewServer(opts)
	if err != nil {
		return nil, err
	}
	cats := opts.Categories
	if len(cats) == 0 {
		cats = revnuetest.DefaultCategories()
	}
	sb := sandbox{srv: srv}
	for _, c := range cats {
		sb.categories = append(sb.categories, strconv.FormatInt(c.ID, 10))
	}
	return sb, nil
}

// sandbox is a running revnuetest server as the registry sees it, with
// the ids of its account's categories.
type sandbox struct {
	srv        *revnuetest.Server
	categories []string
}

// SeedValues gives seeding (internal/seed.AccountValuer) the company the
// connector reads and writes (REVNUE_COMPANY) and the account's
// categories, which a customer's company and category must name.
func (s sandbox) SeedValues() map[string][]string {
	company, err := companyFromEnv()
	if err != nil || company == 0 {
		company = DefaultCompany
	}
	return map[string][]string{
		schema.Fields[fieldCompany].Name:  {strconv.FormatInt(company, 10)},
		schema.Fields[fieldCategory].Name: s.categories,
	}
}

func (s sandbox) URL() string { return s.srv.URL }
func (s sandbox) Credentials() map[string]string {
	return map[string]string{TokenCredential: s.srv.Token}
}
func (s sandbox) Close() error           { return s.srv.Close() }
func (s sandbox) SetFaults(f crm.Faults) { s.srv.SetFaults(f) }
func (s sandbox) Handler() http.Handler  { return s.srv.Handler() }

// WaitIdle returns at once: the emulator queues no work in the background.
func (s sandbox) WaitIdle(ctx context.Context) error { return ctx.Err() }

// Server returns the emulator behind a sandbox the Revnue connector
// started, for tests and tools that inspect it; nil for another's.
func Server(s crm.Sandbox) *revnuetest.Server {
	if sb, ok := s.(sandbox); ok {
		return sb.srv
	}
	return nil
}

// sandboxConfigHelp is the configuration file `crmsync sandbox --api
// revnue --help` shows, indented as the help shows it; a test loads it
// with revnuetest.LoadConfig. Revnue sends no webhooks.
const sandboxConfigHelp = `  # OAuth bearer tokens; without any, the one token rv_test_revnue_sandbox.
  # --target sandbox calls with the first token. All share the account's limit.
  tokens:
    - {token: rv_test_rehearsal, name: rehearsal}
  rate_limit: 100                     # requests in any sliding minute, for the account (Revnue's: 100)
  companies: [1]                      # the account's company ids (REVNUE_COMPANY picks one; default 1)
  categories:                         # lookup("revnue:categories", name) reads them
    - {id: 1, name: Default}
    - {id: 2, name: Partner}
    - {id: 3, name: Reseller}
  template:                           # the custom field template; a mapping fills template.<key>
    id: 1
    name: Default
    fields:
      - {id: 1, key: contract_value, type: money}   # 0.00 to 999999999999999.00
      - {id: 2, key: seats, type: number}           # ±999999999999999
      - {id: 3, key: renewal_date, type: date}      # YYYY-MM-DD
      - {id: 4, key: account_tier, type: text}      # 50 characters
  faults:                             # drawn from seed: the same requests get the same faults
    seed: 7
    error_rate: 0.05                  # answered 500, 502 or 503, not applied
    latency: 20ms                     # added to every request
    drop_rate: 0.01                   # connection closed before any answer, not applied
    lost_answer_rate: 0.01            # a write applied, then its answer lost
`
