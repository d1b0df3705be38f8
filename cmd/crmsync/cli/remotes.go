package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"crmsync/internal/remotes"
	"crmsync/pipeline"
)

func init() { commands = append(commands, newRemotesCommand) }

// configFlagHelp documents the root's --config.
const configFlagHelp = "remotes file naming the CRMs --target NAME and --source NAME: use (default: crmsync/remotes.yaml in the user's configuration directory; see crmsync remotes --help)"

// remotesOptions are the flags of `crmsync remotes`.
type remotesOptions struct {
	g *globals

	tgt     targetFlags
	doCheck bool
	names   []string

	stdout io.Writer
	stderr *os.File
}

const remotesExitCodesHelp = `
EXIT STATUS
  0    listed; with --check, every remote checked answered
  1    --check: a remote failed (a credential variable not set, 401/403,
       unreachable); its line says why
  2    usage error (a remotes file with a mistake, an unknown remote's name)`

func newRemotesCommand(g *globals) *cobra.Command {
	o := &remotesOptions{g: g, stdout: os.Stdout, stderr: os.Stderr}
	api := firstAPI()
	cmd := &cobra.Command{
		Use:   "remotes [NAME...] [--check]",
		Short: "List the named CRMs of the remotes file, and check their credentials",
		Long: `Remotes lists the CRMs that --target NAME and --source NAME: can name: those
of the remotes file (--config, by default crmsync/remotes.yaml in the user's
configuration directory, such as ~/.config/crmsync/remotes.yaml), then the
embedded sandbox of every API, always defined as ` + remotes.SandboxPrefix + `API. For each it shows
the API, the base URL (or the sandbox file), and the environment variables its
credentials are read from, each with whether it is set; never a value.

Listing makes no call. --check also calls each remote given as a URL once (a
read of the first page of its customers) with its credentials, and says per
remote whether it answered or why not (a variable not set, 401/403, a host
that does not answer); sandboxes hold their own key and are not called. Names
given as arguments limit the list, and the check, to those remotes.

THE REMOTES FILE
  remotes:
    old-crm:                    # --source old-crm:  --target old-crm
      api: ` + api + `
      url: ` + firstBaseURL() + `
      credentials:              # the NAMES of environment variables
        ` + firstCredentialName() + `: OLD_CRM_KEY
    rehearsal:                  # a sandbox with a file of its own
      api: ` + api + `
      sandbox: true
      sandbox_db: rehearsal.db  # relative to the remotes file
      sandbox_config: rehearsal.yaml

A remote's name is letters, digits, - and _. A credential the file does not
name is read from the API's own variable (below). The file holds no secret: a
value that is not the name of an environment variable is refused, as is a URL
holding a user name, password or query, so the file may be shared and its
permissions are not checked. Every mistake is reported with the file, the
line, the remote and the key.` + credentialsHelp(),
		Example: `  # What is defined, and which credential variables are set:
  crmsync remotes

  # Before a migration: can both sides be read with the credentials given?
  OLD_CRM_KEY=... crmsync remotes --check old-crm

  # Then use them by name:
  crmsync sync --source old-crm: --mapping migrate.yaml --target ` + remotes.SandboxPrefix + api + ` --state state.db`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.names = args
			if err := o.check(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + remotesExitCodesHelp
	f := cmd.Flags()
	f.BoolVar(&o.doCheck, "check", false, "call each remote given as a URL once with its credentials and report per remote")
	f.StringVar(&o.tgt.sandboxDB, "sandbox-db", defaultSandboxDB, "the sandbox file shown for "+remotes.SandboxPrefix+"API remotes (<api> stands for the API)")
	o.tgt.registerSafetyFlags(f)
	return cmd
}

// firstCredentialName is the first API's first credential, for examples.
func firstCredentialName() string {
	if c, err := connectorOf(firstAPI()); err == nil && len(c.Credentials) > 0 {
		return c.Credentials[0].Name
	}
	return "api_key"
}

func (o *remotesOptions) check() error {
	if o.tgt.apiTimeout <= 0 {
		return usageError("--api-timeout %v: give a positive duration such as 30s", o.tgt.apiTimeout)
	}
	return nil
}

// remoteStatus is what --check found of one remote.
type remoteStatus struct {
	ok  bool
	msg string
}

func (o *remotesOptions) run(ctx context.Context) error {
	log := o.g.log.newLogger(o.stderr)
	file, err := o.tgt.loadRemotes()
	if err != nil {
		return err
	}
	list := file.All()
	if len(o.names) > 0 {
		list = list[:0:0]
		for _, n := range o.names {
			name, _ := namedTarget(n)
			r, err := file.Lookup(name)
			if err != nil {
				return usageError("%v", err)
			}
			list = append(list, *r)
		}
	}
	switch {
	case file.Path == "":
		fmt.Fprintln(o.stdout, "remotes file: none (no user configuration directory; give --config)")
	case file.Exists:
		fmt.Fprintf(o.stdout, "remotes file: %s\n", file.Path)
	default:
		fmt.Fprintf(o.stdout, "remotes file: %s (absent: only the sandboxes are defined)\n", file.Path)
	}
	var status []remoteStatus
	if o.doCheck {
		status = o.checkAll(ctx, log, list)
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	header := "NAME\tAPI\tWHERE\tCREDENTIALS"
	if o.doCheck {
		header += "\tCHECK"
	}
	fmt.Fprintln(tw, header)
	failed := 0
	for i, r := range list {
		line := r.Name + "\t" + r.API + "\t" + o.where(r) + "\t" + credentialsOf(r)
		if o.doCheck {
			line += "\t" + status[i].msg
			if !status[i].ok {
				failed++
			}
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return pipeline.Fatal(err)
	}
	if failed > 0 {
		return pipeline.Fatalf("%d of %d remotes failed the check", failed, len(list))
	}
	return nil
}

// where names a remote's base URL, or its sandbox file.
func (o *remotesOptions) where(r remotes.Remote) string {
	if !r.Sandbox {
		return r.URL
	}
	db := r.SandboxDB
	if db == "" {
		db = sandboxDBFor(o.tgt.sandboxDB, r.API)
	}
	return "sandbox on " + db
}

// credentialsOf lists a remote's credential variables, each with whether
// it is set; never a value.
func credentialsOf(r remotes.Remote) string {
	if r.Sandbox {
		return "(the sandbox's own key)"
	}
	conn, err := connectorOf(r.API)
	if err != nil {
		return "?"
	}
	var parts []string
	for _, c := range conn.Credentials {
		env := r.Env[c.Name]
		state := "set"
		if strings.TrimSpace(os.Getenv(env)) == "" {
			state = "NOT SET"
		}
		parts = append(parts, c.Name+"="+env+" ("+state+")")
	}
	return strings.Join(parts, ", ")
}

// checkAll checks the remotes at once, each with its own one call.
func (o *remotesOptions) checkAll(ctx context.Context, log *slog.Logger, list []remotes.Remote) []remoteStatus {
	out := make([]remoteStatus, len(list))
	var wg sync.WaitGroup
	for i, r := range list {
		if r.Sandbox {
			out[i] = remoteStatus{ok: true, msg: "- (a sandbox holds its own key)"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = o.checkOne(ctx, log, r)
		}()
	}
	wg.Wait()
	return out
}

// errFirstPage stops a check's walk after the page that proved the
// credentials.
var errFirstPage = errors.New("first page read")

// checkOne reads the first page of a remote's customers. Each remote gets
// targetFlags of its own, so that the checks share no state.
func (o *remotesOptions) checkOne(ctx context.Context, log *slog.Logger, r remotes.Remote) remoteStatus {
	tf := targetFlags{allowInsecureHTTP: o.tgt.allowInsecureHTTP, apiTimeout: o.tgt.apiTimeout, remotes: o.tgt.remotes}
	ep, err := tf.resolveNamed(log, r.Name)
	if err != nil {
		return remoteStatus{msg: "FAILED: " + errorText(err)}
	}
	defer ep.Close()
	reader, err := newReader(ep, log, 0, 1)
	if err != nil {
		return remoteStatus{msg: "FAILED: " + errorText(err)}
	}
	defer closeQuietly(reader)
	err = reader.Walk(ctx, func([]pipeline.Customer) error { return errFirstPage })
	if err != nil && !errors.Is(err, errFirstPage) {
		return remoteStatus{msg: "FAILED: " + errorText(err)}
	}
	return remoteStatus{ok: true, msg: "ok"}
}

// errorText is an error on one line, as a table cell.
func errorText(err error) string {
	var ee *exitError
	if errors.As(err, &ee) {
		err = ee.err
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
