package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"crmsync/mappings"
	"crmsync/pipeline"
)

func init() { commands = append(commands, newCodesCommand) }

// codesOptions are the flags of `crmsync codes`.
type codesOptions struct {
	format string
	stdout io.Writer
}

func newCodesCommand(*globals) *cobra.Command {
	o := &codesOptions{stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "codes [CODE]",
		Short: "Explain the reject codes: what each means and how to fix it",
		Long: `Codes lists every code a rejected row can carry in the _code column of the
reject file, in summary.json and in report.html: its stage (read, map,
validate or api, in the order a row meets them), what it means and how to
fix it. Given a code, it prints that code's entry in full; a code used at two
stages (field_count) prints both.

--format markdown prints the list as the table the README holds.`,
		Example: `  crmsync codes
  crmsync codes email_owned
  crmsync codes 1002`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if o.format != "table" && o.format != "markdown" {
				return usageError("--format must be table or markdown, not %q", o.format)
			}
			if len(args) == 1 {
				return o.explain(args[0])
			}
			if o.format == "markdown" {
				_, err := io.WriteString(o.stdout, CodesMarkdown())
				return err
			}
			return o.list()
		},
	}
	cmd.Long += "\n" + `
EXIT STATUS
  0    printed
  2    no such code (the message suggests the closest), or bad flags`
	cmd.Flags().StringVar(&o.format, "format", "table", "how to print the list: table or markdown")
	return cmd
}

func (o *codesOptions) list() error {
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tSTAGE\tMEANING\tHOW TO FIX")
	for _, c := range pipeline.Codes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Stage, c.Meaning, c.Fix)
	}
	return tw.Flush()
}

func (o *codesOptions) explain(name string) error {
	found := pipeline.LookupCode(name)
	if len(found) == 0 {
		var names []string
		for _, c := range pipeline.Codes() {
			names = append(names, c.Name)
		}
		hint := ""
		if s := mappings.Suggest(name, slices.Compact(slices.Sorted(slices.Values(names)))); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", pipeline.Quote(s))
		}
		return usageError("no reject code %s%s; `crmsync codes` lists them all", pipeline.Quote(name), hint)
	}
	for i, c := range found {
		if i > 0 {
			fmt.Fprintln(o.stdout)
		}
		fmt.Fprintf(o.stdout, "%s (stage %s)\n  Meaning:    %s\n  How to fix: %s\n", c.Name, c.Stage, c.Meaning, c.Fix)
	}
	return nil
}

// CodesMarkdown renders the reference as the README's table.
func CodesMarkdown() string {
	cell := strings.NewReplacer("|", `\|`, "\n", " ")
	var b strings.Builder
	b.WriteString("| code | stage | meaning | how to fix |\n|---|---|---|---|\n")
	for _, c := range pipeline.Codes() {
		fmt.Fprintf(&b, "| <a id=\"%s\"></a>`%s` | %s | %s | %s |\n", c.Anchor(), c.Name, c.Stage, cell.Replace(c.Meaning), cell.Replace(c.Fix))
	}
	return b.String()
}
