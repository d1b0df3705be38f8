package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"crmsync/pipeline"
)

func init() { commands = append(commands, newCheckCommand) }

// checkOptions are the flags of `crmsync check`.
type checkOptions struct {
	g *globals

	mapping string
	src     sourceFlags
	tgt     targetFlags
	rows    int
	stdout  io.Writer

	controller string
}

func newCheckCommand(g *globals) *cobra.Command {
	o := &checkOptions{g: g, stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "check --mapping PATH [--source PATH]",
		Short: "Lint a mapping file, and predict which rows of a source a sync would reject",
		Long: `Check compiles the mapping and reports every problem with its file, line and
column: unknown fields and functions, syntax errors, missing lookup files.
With --source it also checks that the columns it uses exist, then runs the
first --rows rows (all by default) through the engine of a sync, with every
rule a dry run applies before the API: reading, mapping, validation, and
repeated keys and emails (the first row that carries an email owns it,
whatever becomes of that row). It counts what would be rejected, by stage
and code. Nothing is sent anywhere, so it cannot predict what the API
itself rejects, which rows match customers the CRM already holds (created
or updated, email_owned), or which rows a --state finds unchanged; a
sync --dry-run against the target tells those.`,
		Example: `  crmsync check --mapping samples/customers.` + firstAPI() + `.yaml
  crmsync check --mapping samples/customers.` + firstAPI() + `.yaml --source samples/customers.csv --rows 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.controller != "" {
				if err := checkController(o.controller, o.stdout); err != nil || o.mapping == "" {
					return err
				}
			}
			if o.mapping == "" {
				return usageError("--mapping or --controller is required")
			}
			if o.rows < 0 {
				return usageError("--rows must not be negative (0 tries every row)")
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += checkReferencesHelp + "\n" + `
EXIT STATUS
  0    the mapping is sound (and every row tried maps and validates), and
       the controller file (--controller) complete
  1    the source, or with --target the lookup tables it holds, could not be read
  2    the mapping has errors, or does not fit the source; the controller
       file has errors or misses a required item
  3    some of the rows tried would be rejected`
	f := cmd.Flags()
	f.StringVar(&o.mapping, "mapping", "", "mapping file (YAML)")
	f.StringVar(&o.controller, "controller", "", "also check a controller file (gdpr.yaml) for export --controller: every required Art. 15 item, no unknown key")
	f.StringVar(&o.src.path, "source", "", "optional: the source to try the mapping on, "+sourceFlagHelp)
	o.src.register(f)
	registerTargetFlags(f, &o.tgt) // only to read the lookup tables a mapping takes from the target
	f.IntVar(&o.rows, "rows", 0, "how many rows of the source to try (0: all, as a sync reads them)")
	return cmd
}

func (o *checkOptions) run(ctx context.Context) error {
	m, schema, err := loadMapping(o.mapping)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "%s: mapping for %s, key column %q, %d fields mapped\n", o.mapping, m.API(), m.KeyColumn(), countTrue(m.Mapped()))
	for _, w := range m.Warnings() {
		fmt.Fprintf(o.stdout, "warning: %s\n", w)
	}
	if names := createOnlyMapped(schema, m.Mapped()); len(names) > 0 {
		fmt.Fprintf(o.stdout, "note: %s sets %s only when it creates a customer; for a customer it already holds, these values are not sent\n",
			m.API(), strings.Join(names, ", "))
	}
	if m, err = o.tgt.referencesFor(ctx, o.g.log.newLogger(os.Stderr), m, o.stdout, o.src.path != ""); err != nil {
		return err
	}
	if o.src.path == "" {
		return nil
	}
	src, err := o.src.openFor(ctx, o.g.log.newLogger(os.Stderr), &o.tgt, 0, m)
	if err != nil {
		return err
	}
	defer src.Close()
	prog, err := src.bind(m)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	// The engine of a sync, with a sink that calls no API: the rules a dry
	// run applies before the API are applied by the same code.
	tally := &rejectTally{}
	run, err := pipeline.NewRun(pipeline.RunOptions{
		Source: &firstRows{openedSource: src, n: o.rows}, Mapper: prog, Mapped: m.Mapped(),
		Sink: &predictSink{schema: schema}, Rejects: tally, Mode: pipeline.ModeUpsert, DryRun: true,
		KeyColumn: slices.Index(src.Columns(), m.KeyColumn()),
	})
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if err := run.Execute(ctx); err != nil {
		return err
	}
	c := run.Progress()
	codes := make([]string, 0, len(tally.byCode))
	for code := range tally.byCode {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	fmt.Fprintf(o.stdout, "%s: %d rows tried, %d would be rejected\n", o.src.path, c.Read, c.Rejected)
	for _, code := range codes {
		fmt.Fprintf(o.stdout, "  %-24s %d\n", code, tally.byCode[code])
	}
	fmt.Fprintf(o.stdout, "prediction from the source and the mapping alone: %d rows would go to %s, %d would be rejected\n%s",
		c.Created, m.API(), c.Rejected, predictionLeavesOut(m.API()))
	if c.Rejected > 0 {
		return &exitError{code: ExitRejects, err: fmt.Errorf("%d of %d rows would be rejected", c.Rejected, c.Read)}
	}
	return nil
}

// createOnlyMapped names the mapped fields the target takes on create
// only.
func createOnlyMapped(s *pipeline.Schema, mapped []bool) []string {
	var names []string
	for i := range s.Fields {
		if i < len(mapped) && mapped[i] && s.Fields[i].CreateOnly {
			names = append(names, s.Fields[i].Name)
		}
	}
	return names
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}
