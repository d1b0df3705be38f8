package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"

	"crmsync/pipeline"
)

func init() { commands = append(commands, newTeammatesCommand) }

// teammatesOptions are the flags of `crmsync teammates`.
type teammatesOptions struct {
	g *globals

	tgt    targetFlags
	stdout io.Writer
}

// teammatesTable is the name, after "<api>:", of the reference table of a
// target's teammates.
const teammatesTable = "teammates"

func newTeammatesCommand(g *globals) *cobra.Command {
	o := &teammatesOptions{g: g, stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "teammates --api API --target sandbox|URL",
		Short: "List the target's teammates: email, name and id",
		Long: `Teammates reads the target's teammates from its API and prints them as a table
of email, name and id, sorted by email. It is the table a mapping looks owner
emails up in with lookup("API:` + teammatesTable + `", owner_email), which a sync reads
from the target at its start: emails match ignoring case and surrounding
spaces, and an email that is not a teammate's rejects the row (lookup_miss)
unless the lookup gives a default. Nothing is written. An API without
teammates has no such table, and the command says so (exit 1).`,
		Example: `  crmsync teammates --api ` + firstAPI() + ` --target sandbox --sandbox-config samples/sandbox.yaml
  ` + firstCredentialEnv() + `=... crmsync teammates --api ` + firstAPI() + ` --target ` + firstBaseURL(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + `
EXIT STATUS
  0    listed
  1    fatal error (unreachable target, 401/403, a target without teammates)
  2    usage error (bad flags, no --target, no API key)`
	f := cmd.Flags()
	registerTargetFlags(f, &o.tgt)
	return cmd
}

func (o *teammatesOptions) run(ctx context.Context) error {
	log := o.g.log.newLogger(os.Stderr)
	api, err := o.tgt.targetAPI()
	if err != nil {
		return err
	}
	ep, err := o.tgt.resolve(log, api)
	if err != nil {
		return err
	}
	defer ep.Close()
	sink, err := newSink(ep, log)
	if err != nil {
		return err
	}
	defer sink.Close()
	name := ep.api.Name + ":" + teammatesTable
	tables, err := pipeline.ReadReferences(ctx, sink, []string{name})
	if err != nil {
		return err
	}
	t := tables[name]
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.Columns, "\t")))
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = printable(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printable turns control characters into spaces: a value from the API
// must neither break the table's rows and columns nor reach the terminal
// as an escape sequence.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
