package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"crmsync/crm"
	"crmsync/pipeline"
)

func init() { commands = append(commands, newFieldsCommand) }

// fieldsOptions are the flags of `crmsync fields`.
type fieldsOptions struct {
	api    string
	stdout io.Writer
}

func newFieldsCommand(*globals) *cobra.Command {
	o := &fieldsOptions{stdout: os.Stdout}
	cmd := &cobra.Command{
		Use:   "fields --api NAME",
		Short: "List the fields a mapping for an API may fill: kind, clearing, groups",
		Long: `Fields prints the customer fields of an API's schema, the names a mapping's
fields: section uses, with what a sync does with each: its kind (the values it
takes: text, email, country, date YYYY-MM-DD, int, decimal, bool, a list built
with split(…) or list(…)), whether it is required, how an update clears it
(null() or an empty value: sent as null, as "", or not at all), whether it is
sent on create only, and for a part of a nested object (address.city) whether
an update sends the changed parts alone (merge) or the whole object (replace).
The match field finds existing customers; "folded" means without regard to
case. Nothing is read or sent.`,
		Example: "  crmsync fields --api " + firstAPI(),
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if o.api == "" {
				return usageError("--api is required: crmsync knows %s", strings.Join(crm.Names(), ", "))
			}
			c, err := crm.Lookup(o.api)
			if err != nil {
				return usageError("--api: %v", err)
			}
			return writeFields(o.stdout, c.Schema)
		},
	}
	cmd.Long += "\n" + `
EXIT STATUS
  0    printed
  2    no --api, or an API crmsync does not know`
	cmd.Flags().StringVar(&o.api, "api", defaultAPI(), "the API: "+strings.Join(crm.Names(), ", "))
	return cmd
}

// writeFields prints a schema as a table, one field a line.
func writeFields(w io.Writer, s *pipeline.Schema) error {
	fold := "case-sensitive"
	if s.MatchFold {
		fold = "folded"
	}
	fmt.Fprintf(w, "%s: match field %s (%s)", s.API, s.MatchField, fold)
	if s.UpdateReplaces {
		fmt.Fprint(w, "; an update replaces the whole record (crmsync sends every field, those the mapping leaves alone as the CRM holds them)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tKIND\tREQUIRED\tCLEARED BY\tUPDATE\tNOTES")
	for i := range s.Fields {
		f := &s.Fields[i]
		kind := f.Kind.String()
		if f.Kind == pipeline.KindEnum {
			kind += " (" + strings.Join(f.Enum, "|") + ")"
		}
		var req []string
		if f.RequiredOnCreate {
			req = append(req, "create")
		}
		if f.RequiredOnUpdate {
			req = append(req, "update")
		}
		if f.RequiredInGroup {
			req = append(req, "with its group")
		}
		clear := map[pipeline.ClearRule]string{pipeline.ClearNever: "-", pipeline.ClearEmpty: `""`, pipeline.ClearNull: "null"}[f.Clear]
		update := "sent when changed"
		switch g := f.Group(); {
		case f.CreateOnly:
			update = "create only"
		case g != "" && s.GroupRule(g) == pipeline.GroupReplace:
			update = g + " sent whole"
		case g != "":
			update = g + " merged"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, kind, orDash(strings.Join(req, ", ")), clear, update, f.Doc)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
