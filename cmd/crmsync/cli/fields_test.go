package cli_test

import (
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/crm"
)

// TestFieldsCommand: `crmsync fields` lists every field of each registered
// API with what an update does with it, and needs --api.
func TestFieldsCommand(t *testing.T) {
	t.Parallel()
	for _, c := range crm.All() {
		res := runBinary(t, "", "fields", "--api", c.Name)
		if res.code != cli.ExitOK {
			t.Fatalf("fields --api %s: exit %d\n%s", c.Name, res.code, res.stderr)
		}
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		if len(lines) != len(c.Schema.Fields)+2 {
			t.Errorf("fields --api %s: %d lines for %d fields\n%s", c.Name, len(lines), len(c.Schema.Fields), res.stdout)
		}
		for i, f := range c.Schema.Fields {
			if i+2 < len(lines) && !strings.HasPrefix(lines[i+2], f.Name+" ") {
				t.Errorf("fields --api %s: line %d is %q, want field %s", c.Name, i+3, lines[i+2], f.Name)
			}
		}
		if !strings.Contains(lines[0], "match field "+c.Schema.MatchField) {
			t.Errorf("fields --api %s: first line %q does not name the match field", c.Name, lines[0])
		}
	}
	tiquo := runBinary(t, "", "fields", "--api", "tiquo")
	for _, want := range []string{"address.city", "address merged", "tags", "list", "null"} {
		if !strings.Contains(tiquo.stdout, want) {
			t.Errorf("fields --api tiquo lacks %q:\n%s", want, tiquo.stdout)
		}
	}
	if res := runBinary(t, "", "fields"); res.code != cli.ExitUsage || !strings.Contains(res.stderr, "--api") {
		t.Errorf("fields without --api: exit %d, want %d naming --api\n%s", res.code, cli.ExitUsage, res.stderr)
	}
}
