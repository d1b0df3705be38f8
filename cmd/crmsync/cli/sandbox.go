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
restarted on the same file holds the same customers.

Keys with limited permissions, teammates, webhooks and faults can be set in a
YAML file (--config); flags override it.`,
		Example: `  crmsync sandbox --api tamio --listen 127.0.0.1:8787 --db sandbox.db
  # in another terminal:
  TAMIO_API_KEY=tamio-sandbox-key crmsync sync --target http://127.0.0.1:8787/v2 \
      --source samples/customers.csv --mapping samples/customers.tamio.yaml

  # with 5% server errors and 50 requests/s per key:
  crmsync sandbox --api tamio --fail-rate 0.05 --seed 7 --rate-limit 50/s`,
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
	f.StringVar(&o.listen, "listen", "127.0.0.1:8787", "address to listen on")
	f.StringVar(&o.db, "db", "sandbox.db", `SQLite file holding the customers ("" or :memory: keeps them in memory)`)
	f.StringVar(&o.config, "config", "", "YAML file with keys, permissions, teammates, webhooks, faults")
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
