package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"crmsync/pipeline"
)

func init() { commands = append(commands, newCheckCommand) }

// checkOptions are the flags of `crmsync check`.
type checkOptions struct {
	g *globals

	mapping string
	src     sourceFlags
	rows    int
	stdout  io.Writer
}

func newCheckCommand(g *globals) *cobra.Command {
	o := &checkOptions{g: g, stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "check --mapping PATH [--source PATH]",
		Short: "Lint a mapping file, and try it on a source's first rows",
		Long: `Check compiles the mapping and reports every problem with its file, line and
column: unknown fields and functions, syntax errors, missing lookup files.
With --source it also checks that the columns it uses exist, then maps and
validates the first --rows rows and counts what would be rejected, by code.
Nothing is sent anywhere.`,
		Example: `  crmsync check --mapping samples/customers.tamio.yaml
  crmsync check --mapping samples/customers.tamio.yaml --source samples/customers.csv --rows 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.mapping == "" {
				return usageError("--mapping is required")
			}
			if o.rows < 1 {
				return usageError("--rows must be at least 1")
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Long += "\n" + `
EXIT STATUS
  0    the mapping is sound (and every row tried maps and validates)
  1    the source could not be read
  2    the mapping has errors, or does not fit the source
  3    some of the rows tried would be rejected`
	f := cmd.Flags()
	f.StringVar(&o.mapping, "mapping", "", "mapping file (YAML)")
	f.StringVar(&o.src.path, "source", "", "optional CSV or Parquet file to try the mapping on")
	o.src.register(f)
	f.IntVar(&o.rows, "rows", 1000, "how many rows of the source to try")
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
	if o.src.path == "" {
		return nil
	}
	src, err := o.src.open(0, m)
	if err != nil {
		return err
	}
	defer src.Close()
	prog, err := src.bind(m)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	tried, byCode, err := tryRows(ctx, src, o.rows, func(row *pipeline.Row, rec *pipeline.Record) *pipeline.Reject {
		if rej := prog.Apply(row, rec); rej != nil {
			return rej
		}
		return schema.Validate(rec, m.Mapped())
	})
	if err != nil {
		return err
	}
	rejected := int64(0)
	codes := make([]string, 0, len(byCode))
	for c, n := range byCode {
		codes = append(codes, c)
		rejected += n
	}
	sort.Strings(codes)
	fmt.Fprintf(o.stdout, "%s: %d rows tried, %d would be rejected\n", o.src.path, tried, rejected)
	for _, c := range codes {
		fmt.Fprintf(o.stdout, "  %-24s %d\n", c, byCode[c])
	}
	if rejected > 0 {
		return &exitError{code: ExitRejects, err: fmt.Errorf("%d of %d rows would be rejected", rejected, tried)}
	}
	return nil
}

// tryRows maps up to n rows of src, counting rejects by stage and code.
func tryRows(ctx context.Context, src pipeline.Source, n int, apply func(*pipeline.Row, *pipeline.Record) *pipeline.Reject) (int, map[string]int64, error) {
	byCode := map[string]int64{}
	tried := 0
	for tried < n {
		rows, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return tried, nil, err
		}
		for i := range rows {
			if tried == n {
				break
			}
			tried++
			rej := rows[i].Reject
			if rej == nil {
				var rec pipeline.Record
				rej = apply(&rows[i], &rec)
			}
			if rej != nil {
				byCode[string(rej.Stage)+"/"+rej.Code]++
			}
		}
	}
	return tried, byCode, nil
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
