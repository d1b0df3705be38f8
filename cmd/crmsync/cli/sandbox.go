package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"crmsync/crm"
	"crmsync/internal/seed"
	"crmsync/pipeline"
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
	faultSeed int64
	webhooks  []string
	// seed customers are written into the account before it serves;
	// seedRandom picks which, seedOnly stops after them.
	seed         int
	seedRandom   int64
	seedOnly     bool
	seedComplete bool

	rate   float64
	conn   *crm.Connector
	stdout io.Writer
}

func newSandboxCommand(g *globals) *cobra.Command {
	o := &sandboxOptions{g: g, stdout: os.Stdout}
	api := firstAPI()
	cmd := &cobra.Command{
		Use:   "sandbox --api " + strings.Join(crm.Names(), "|"),
		Short: "Serve an emulator of a CRM's API, to rehearse syncs and migrations",
		Long: `Sandbox serves a faithful emulator of the CRM's API on a local address, with
the documented validation, uniqueness, permissions, pagination and rate limits,
and optional injected faults. It prints the base URL and the credentials, then
serves until Ctrl-C. Customers are kept in the SQLite file --db, so a sandbox
restarted on the same file holds the same customers. --listen 127.0.0.1:0
takes a free port; the URL printed holds the port it got.

SEEDING
--seed N writes N made-up customers into the account before it serves: every
field filled in its form (names with accents, apostrophes, commas and quotes,
E.164 phones, addresses whole or absent, lists, dates), some left empty, each
with its own email (or whatever the API matches customers by). They go in
through crmsync's own connector, as a sync would send them, with the rate
limit, faults and webhooks off while they do. The same --seed-random gives the
same customers, so seeding a file again updates none and duplicates no one.
--seed-complete fills every field of every customer instead, every address
whole: what a rehearsal of a migration needs when the target requires fields
the source may leave empty. --seed-only exits after seeding (exit 0), for
scripts that seed a sandbox file and then use it with --source sandbox:API:,
--target sandbox or a later sandbox.

CONFIGURATION FILE
The account (keys, limits, faults and what else the API has) is set in a YAML
file given to --config here, or to --sandbox-config of every command run with
--target sandbox (sync, check, preview, export, erase...); flags given here
override it. Every setting is optional and an unknown one is an error naming
its line. ` + sandboxConfigHelp(),
		Example: `  crmsync sandbox --api ` + api + ` --listen 127.0.0.1:8787 --db sandbox.db
  # in another terminal, with the credentials it printed:
  crmsync sync --target http://127.0.0.1:8787/... \
      --source samples/customers.csv --mapping samples/customers.` + api + `.yaml

  # on a free port, 5% server errors and 50 requests/s per key:
  crmsync sandbox --api ` + api + ` --listen 127.0.0.1:0 --fail-rate 0.05 --fault-seed 7 --rate-limit 50/s

  # seed 500 customers into a file, then exit; a later sandbox serves them:
  crmsync sandbox --api ` + api + ` --db source.db --seed 500 --seed-only
  crmsync sandbox --api ` + api + ` --db source.db --listen 127.0.0.1:8787

  # the same account embedded in a sync, no server to start:
  crmsync sync --source samples/customers.csv --mapping samples/customers.` + api + `.yaml \
      --target sandbox --out out`,
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
	f.StringVar(&o.api, "api", defaultAPI(), "the API to emulate: "+strings.Join(crm.Names(), ", "))
	f.StringVar(&o.listen, "listen", "127.0.0.1:8787", "address to listen on; 127.0.0.1:0 takes a free port (the URL printed holds it)")
	f.StringVar(&o.db, "db", "sandbox.db", `SQLite file holding the customers ("" or :memory: keeps them in memory)`)
	f.StringVar(&o.config, "config", "", "YAML file of the account: keys, permissions, rate limit, webhooks, faults (see above)")
	f.StringVar(&o.rateLimit, "rate-limit", "", "requests per second per key, e.g. 50/s (default: the configuration's)")
	f.Float64Var(&o.failRate, "fail-rate", 0, "share of requests answered 500/502/503, from 0 to 1")
	f.Int64Var(&o.faultSeed, "fault-seed", 1, "seed of the injected faults, so a run can be replayed")
	f.IntVar(&o.seed, "seed", 0, "write this many made-up customers into the account before serving (see SEEDING)")
	f.Int64Var(&o.seedRandom, "seed-random", 1, "which customers --seed makes: the same number gives the same customers")
	f.BoolVar(&o.seedOnly, "seed-only", false, "exit after --seed has written the customers, without serving")
	f.BoolVar(&o.seedComplete, "seed-complete", false, "--seed fills every field of every customer, none left empty")
	f.StringArrayVar(&o.webhooks, "webhook", nil, "URL to POST the API's customer events to (repeatable)")
	return cmd
}

// sandboxConfigHelp shows each emulator's configuration file.
func sandboxConfigHelp() string {
	var b strings.Builder
	for _, c := range crm.All() {
		if c.SandboxConfigHelp == "" {
			continue
		}
		fmt.Fprintf(&b, "A complete example for %s:\n\n%s\n", c.Name, c.SandboxConfigHelp)
	}
	return b.String()
}

func (o *sandboxOptions) check() error {
	if o.api == "" {
		return usageError("--api is required: crmsync emulates %s", strings.Join(crm.Names(), ", "))
	}
	conn, err := crm.Lookup(o.api)
	if err != nil {
		return usageError("--api: %v", err)
	}
	if conn.StartSandbox == nil {
		return usageError("--api %q: crmsync has no emulator of it", o.api)
	}
	o.conn = conn
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
	if o.seed < 0 {
		return usageError("--seed %d: give the number of customers to write", o.seed)
	}
	if (o.seedOnly || o.seedComplete) && o.seed == 0 {
		return usageError("--seed-only and --seed-complete need --seed N, the customers to write")
	}
	if o.seed > 0 && o.db == "" {
		return usageError("--seed writes the customers into --db: give a file, not %q", ":memory:")
	}
	return nil
}

func (o *sandboxOptions) run(ctx context.Context) error {
	log := o.g.log.newLogger(os.Stderr)
	if o.seed > 0 {
		if err := o.seedAccount(ctx, log); err != nil || o.seedOnly {
			return err
		}
	}
	sb, err := o.conn.StartSandbox(ctx, crm.SandboxOptions{Addr: o.listen, DBPath: o.db, ConfigFile: o.config, Logger: log,
		RateLimit: o.rate, Faults: crm.Faults{ErrorRate: o.failRate, Seed: o.faultSeed}, Webhooks: o.webhooks})
	var cfgErr *crm.ConfigError
	if errors.As(err, &cfgErr) {
		return &exitError{code: ExitUsage, err: err}
	}
	if err != nil {
		return pipeline.Fatalf("starting the sandbox: %w", err)
	}
	fmt.Fprintf(o.stdout, "%s sandbox serving at %s\n", o.conn.Name, sb.URL())
	for _, c := range o.conn.Credentials {
		fmt.Fprintf(o.stdout, "%s: %s\n", credentialLabel(c.Name), sb.Credentials()[c.Name])
	}
	fmt.Fprintf(o.stdout, "env:     %s\n", strings.Join(o.conn.CredentialEnvs(), ", "))
	fmt.Fprintf(o.stdout, "stats:   %s%s\nCtrl-C to stop.\n", sb.URL(), crm.StatsPath)
	<-ctx.Done()
	log.Info("sandbox stopping")
	if err := sb.Close(); err != nil {
		return pipeline.Fatalf("closing the sandbox: %w", err)
	}
	return nil
}

// seedAccount writes --seed customers into --db through the connector,
// on an emulator of its own on a free port, closed before the one that
// serves starts.
func (o *sandboxOptions) seedAccount(ctx context.Context, log *slog.Logger) error {
	fmt.Fprintf(os.Stderr, "seeding %d customers into %s\n", o.seed, o.db)
	step := max(int64(o.seed)/10, 1000)
	next := step
	progress := func(done int64) {
		if done >= next && done < int64(o.seed) {
			fmt.Fprintf(os.Stderr, "  %d of %d\n", done, o.seed)
			next = done + step
		}
	}
	// The emulator's INFO lines (a line a request) would bury the
	// progress: they show with --verbose only.
	c, err := seed.Sandbox(ctx, o.conn, crm.SandboxOptions{Addr: "127.0.0.1:0", DBPath: o.db, ConfigFile: o.config,
		Logger: slog.New(demoteInfo{log.Handler()})}, seed.Spec{N: o.seed, Seed: o.seedRandom, Complete: o.seedComplete}, progress)
	var cfgErr *crm.ConfigError
	if errors.As(err, &cfgErr) {
		return &exitError{code: ExitUsage, err: err}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return pipeline.Fatalf("seeding the sandbox: %w", err)
	}
	fmt.Fprintf(o.stdout, "seeded %d customers into %s: %d created, %d updated, %d unchanged\n",
		o.seed, o.db, c.Created, c.Updated, c.Unchanged)
	return nil
}

// credentialLabel names a credential for people: "api_key" is "API key".
func credentialLabel(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w == "api" || w == "id" {
			words[i] = strings.ToUpper(w)
		}
	}
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	return strings.Join(words, " ")
}
