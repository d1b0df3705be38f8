package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"crmsync/pipeline"
	"crmsync/sinks/tamio/tamiotest"
)

func init() { commands = append(commands, newSandboxCommand) }

// sandboxConfigExample is the configuration file shown by `crmsync sandbox
// --help`, indented as the help shows it; a test loads it from the help.
const sandboxConfigExample = `  # API keys; without any, the one key tamio-sandbox-key holds all four
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

// sandboxOptions are the flags of `crmsync sandbox`.
type sandboxOptions struct {
	g *globals

	api       string
	listen    string
	db        string
	config    string
	rateLimit string
	failRate  float64
	seed      int64
	webhooks  []string

	rate   float64
	stdout io.Writer
}

func newSandboxCommand(g *globals) *cobra.Command {
	o := &sandboxOptions{g: g, stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "sandbox --api tamio",
		Short: "Serve an emulator of a CRM's API, to rehearse syncs and migrations",
		Long: `Sandbox serves a faithful emulator of the CRM's API on a local address, with
the documented validation, uniqueness, permissions, pagination and rate limits,
and optional injected faults. It prints the base URL and the API key, then
serves until Ctrl-C. Customers are kept in the SQLite file --db, so a sandbox
restarted on the same file holds the same customers. --listen 127.0.0.1:0
takes a free port; the URL printed holds the port it got.

CONFIGURATION FILE
The account (keys, teammates, rate limit, faults) is set in a YAML file given
to --config here, or to --sandbox-config of every command run with
--target sandbox (sync, check, preview, export, erase...); flags given here
override it. Every setting is optional and
an unknown one is an error naming its line. A complete example:

` + sandboxConfigExample + `
A mapping that assigns owners (teammate_id) needs their teammates here, or
the sandbox rejects each such row with 1002 ("teammate not found");
samples/sandbox.yaml holds the teammates of the shipped sample.`,
		Example: `  crmsync sandbox --api tamio --listen 127.0.0.1:8787 --db sandbox.db
  # in another terminal:
  TAMIO_API_KEY=tamio-sandbox-key crmsync sync --target http://127.0.0.1:8787/v2 \
      --source samples/customers.csv --mapping samples/customers.tamio.yaml

  # on a free port, with the sample's teammates, 5% server errors and 50 requests/s per key:
  crmsync sandbox --api tamio --listen 127.0.0.1:0 --config samples/sandbox.yaml \
      --fail-rate 0.05 --seed 7 --rate-limit 50/s

  # the same account embedded in a sync, no server to start:
  crmsync sync --source samples/customers.csv --mapping samples/customers.tamio.yaml \
      --target sandbox --sandbox-config samples/sandbox.yaml --out out`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + exitCodesHelp
	f := cmd.Flags()
	f.StringVar(&o.api, "api", "tamio", "the API to emulate: tamio")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8787", "address to listen on; 127.0.0.1:0 takes a free port (the URL printed holds it)")
	f.StringVar(&o.db, "db", "sandbox.db", `SQLite file holding the customers ("" or :memory: keeps them in memory)`)
	f.StringVar(&o.config, "config", "", "YAML file of the account: keys, permissions, teammates, rate limit, webhooks, faults (see above)")
	f.StringVar(&o.rateLimit, "rate-limit", "", "requests per second per key, e.g. 50/s (default: no limit)")
	f.Float64Var(&o.failRate, "fail-rate", 0, "share of requests answered 500/502/503, from 0 to 1")
	f.Int64Var(&o.seed, "seed", 1, "seed of the injected faults, so a run can be replayed")
	f.StringArrayVar(&o.webhooks, "webhook", nil, "URL to POST customer.created/updated/removed events to (repeatable)")
	return cmd
}

func (o *sandboxOptions) check() error {
	if o.api != "tamio" {
		return usageError("--api %q: crmsync emulates tamio", o.api)
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usageError("--listen %q: want host:port (%v)", o.listen, err)
	}
	if o.rateLimit != "" {
		v, err := strconv.ParseFloat(strings.TrimSuffix(o.rateLimit, "/s"), 64)
		if err != nil || v <= 0 {
			return usageError("--rate-limit %q: want requests per second, like 50/s", o.rateLimit)
		}
		o.rate = v
	}
	if o.failRate < 0 || o.failRate > 1 {
		return usageError("--fail-rate %v: want a share from 0 to 1", o.failRate)
	}
	if o.db == ":memory:" {
		o.db = ""
	}
	return nil
}

func (o *sandboxOptions) run(ctx context.Context) error {
	log := o.g.log.newLogger(os.Stderr)
	opts := tamiotest.Options{}
	if o.config != "" {
		var err error
		if opts, err = tamiotest.LoadConfig(o.config); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
	}
	opts.Addr, opts.DBPath, opts.Logger = o.listen, o.db, log
	if o.rate > 0 {
		opts.RateLimit = o.rate
	}
	if o.failRate > 0 {
		opts.Faults.ErrorRate = o.failRate
		opts.Faults.Seed = o.seed
	}
	opts.Webhooks = append(opts.Webhooks, o.webhooks...)
	srv, err := tamiotest.NewServer(opts)
	if err != nil {
		return pipeline.Fatalf("starting the sandbox: %w", err)
	}
	fmt.Fprintf(o.stdout, "tamio sandbox serving at %s\nAPI key: %s\nstats:   %s/_sandbox/stats\nCtrl-C to stop.\n",
		srv.URL, srv.APIKey, srv.URL)
	<-ctx.Done()
	log.Info("sandbox stopping")
	if err := srv.Close(); err != nil {
		return pipeline.Fatalf("closing the sandbox: %w", err)
	}
	return nil
}
