package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"crmsync/pipeline"
)

func init() { commands = append(commands, newPreviewCommand) }

// previewOptions are the flags of `crmsync preview`.
type previewOptions struct {
	g *globals

	mapping string
	src     sourceFlags
	tgt     targetFlags
	rows    int
	width   int
	stdout  io.Writer
}

func newPreviewCommand(g *globals) *cobra.Command {
	o := &previewOptions{g: g, stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "preview --mapping PATH --source PATH",
		Short: "Print the first mapped rows as a table",
		Long: `Preview maps the first --rows rows of the source and prints them as a table
of the target's fields, with each row's number and, for a row that would be
rejected, the reason. Nothing is sent anywhere.`,
		Example: `  crmsync preview --mapping samples/customers.` + firstAPI() + `.yaml --source samples/customers.csv --rows 20`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.mapping == "" || o.src.path == "" {
				return usageError("--mapping and --source are required")
			}
			if o.rows < 1 {
				return usageError("--rows must be at least 1")
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += previewReferencesHelp + "\n" + `
EXIT STATUS
  0    printed
  1    the source, or with --target the lookup tables it holds, could not be read
  2    the mapping has errors, or does not fit the source`
	f := cmd.Flags()
	f.StringVar(&o.mapping, "mapping", "", "mapping file (YAML)")
	f.StringVar(&o.src.path, "source", "", sourceFlagHelp)
	o.src.register(f)
	registerTargetFlags(f, &o.tgt) // only to read the lookup tables a mapping takes from the target
	f.IntVar(&o.rows, "rows", 10, "how many rows to print")
	f.IntVar(&o.width, "width", 28, "widest cell, in characters (longer values are cut with …)")
	return cmd
}

func (o *previewOptions) run(ctx context.Context) error {
	m, schema, err := loadMapping(o.mapping)
	if err != nil {
		return err
	}
	if m, err = o.tgt.referencesFor(ctx, o.g.log.newLogger(os.Stderr), m, nil, true); err != nil {
		return err
	}
	src, err := o.src.openFor(ctx, o.g.log.newLogger(os.Stderr), &o.tgt, o.rows, m)
	if err != nil {
		return err
	}
	defer src.Close()
	prog, err := src.bind(m)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	mapped := m.Mapped()
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 2, ' ', 0)
	head := []string{"_row", "_key"}
	for i, f := range schema.Fields {
		if mapped[i] {
			head = append(head, f.Name)
		}
	}
	head = append(head, "_reject")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	printed := 0
	for printed < o.rows {
		rows, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		for i := range rows {
			if printed == o.rows {
				break
			}
			printed++
			row := &rows[i]
			var rec pipeline.Record
			rej := row.Reject
			if rej == nil {
				if rej = prog.Apply(row, &rec); rej == nil {
					rej = schema.Validate(&rec, mapped)
				}
			}
			cells := []string{strconv.FormatInt(row.Num, 10), o.cut(rec.Key)}
			for f := range schema.Fields {
				if mapped[f] {
					v := ""
					if rec.Values != nil {
						v = rec.Values[f]
					}
					cells = append(cells, o.cut(v))
				}
			}
			reason := ""
			if rej != nil {
				reason = rej.Error()
			}
			cells = append(cells, reason)
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	return tw.Flush()
}

func (o *previewOptions) cut(s string) string {
	s = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
	if r := []rune(s); len(r) > o.width {
		return string(r[:o.width-1]) + "…"
	}
	return s
}
