package mappings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// TestUnknownFieldListsTheFields wants the error of a field the target
// lacks to list the target's fields, so a person need not read code to
// find them; a schema of many fields is cut after pipeline.QuoteListMax.
func TestUnknownFieldListsTheFields(t *testing.T) {
	wide := &pipeline.Schema{API: "wide", MatchField: "email"}
	wide.Fields = append(wide.Fields, pipeline.Field{Name: "email"}, pipeline.Field{Name: "name", RequiredOnUpdate: true})
	for i := range 20 {
		wide.Fields = append(wide.Fields, pipeline.Field{Name: fmt.Sprintf("extra_%02d", i)})
	}
	for _, tc := range []struct {
		name   string
		schema *pipeline.Schema
		want   string
	}{
		{"all listed", tamioSchema(), `field "fax": not a tamio field; its fields are "email", "name", "last_name", "country", "locale", ` +
			`"timezone_offset", "priority", "category", "phone", "teammate_id" and 1 more`},
		{"cut", wide, `field "fax": not a wide field; its fields are "email", "name", "extra_00", "extra_01", "extra_02", ` +
			`"extra_03", "extra_04", "extra_05", "extra_06", "extra_07" and 12 more`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.yaml")
			data := "api: " + tc.schema.API + "\nkey: id\nfields:\n  name: full_name\n  fax: fax\n"
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, tc.schema)
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("Load: %v, want one error", err)
			}
			if got := errs[0].Msg; got != tc.want {
				t.Errorf("message\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
	// A short schema is listed whole.
	short := &pipeline.Schema{API: "short", MatchField: "email",
		Fields: []pipeline.Field{{Name: "email"}, {Name: "name", RequiredOnUpdate: true}}}
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte("api: short\nkey: id\nfields:\n  name: x\n  nmae: y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, short)
	if want := `field "nmae": not a short field (did you mean "name"?); its fields are "email", "name"`; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
}
