package cli_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/sinks/tamio/tamiotest"
)

// ownersMapping assigns each customer the teammate whose email is in the
// owner_email column, looked up in the target's own teammates.
const ownersMapping = `api: tamio
key: customer_id
fields:
  email: lower(trim(email))
  name: first_word(full_name)
  country: country(country)
  teammate_id: lookup("tamio:teammates", owner_email)
`

var refTeammates = []tamiotest.Teammate{
	{ID: "5e0c7a10-0000-4000-8000-00000000000a", Email: "Ana.Garcia@example.com", Name: "Ana García"},
	{ID: "5e0c7a10-0000-4000-8000-00000000000b", Email: "ben.okafor@example.com", Name: "Ben Okafor"},
	{ID: "5e0c7a10-0000-4000-8000-00000000000c", Email: "chloe.martin@example.com", Name: "Chloé Martin"},
}

// writeOwners writes the mapping and a source of n customers whose owners
// cycle through ana (in several cases and paddings), ben, chloe and no
// owner, plus one row owned by someone who is no teammate.
func writeOwners(t *testing.T, dir string, n int) (mapping, source string, owner map[string]string) {
	t.Helper()
	mapping = filepath.Join(dir, "owners.tamio.yaml")
	if err := os.WriteFile(mapping, []byte(ownersMapping), 0o600); err != nil {
		t.Fatal(err)
	}
	owners := []string{" ANA.garcia@example.com", "ben.okafor@example.com", "Chloe.Martin@Example.com ", "", "ana.garcia@EXAMPLE.com"}
	rows := [][]string{{"customer_id", "email", "full_name", "country", "owner_email"}}
	owner = map[string]string{}
	for i := range n {
		email := fmt.Sprintf("c%d@mail.example.net", i)
		o := owners[i%len(owners)]
		owner[email] = strings.ToLower(strings.TrimSpace(o))
		rows = append(rows, []string{fmt.Sprintf("K%d", i), email, "Kim Lee", "DE", o})
	}
	rows = append(rows, []string{"K-stranger", "stranger@mail.example.net", "Sam Roe", "DE", "nobody@example.com"})
	source = filepath.Join(dir, "owners.csv")
	writeCSVFile(t, source, rows)
	return mapping, source, owner
}

// checkAssigned fails unless every customer of owner is assigned the
// teammate whose email (case folded) is its owner in teammates.
func checkAssigned(t *testing.T, srv *tamiotest.Server, owner map[string]string, teammates []tamiotest.Teammate) {
	t.Helper()
	ids := map[string]string{"": ""}
	for _, tm := range teammates {
		ids[strings.ToLower(tm.Email)] = tm.ID
	}
	got := crmCustomers(t, srv)
	if len(got) != len(owner) {
		t.Errorf("the CRM holds %d customers, want %d", len(got), len(owner))
	}
	for email, o := range owner {
		if c := got[email]; c.TeammateID != ids[o] {
			t.Errorf("%s (owner %q): teammate %q, want %q", email, o, c.TeammateID, ids[o])
		}
	}
}

// TestTeammatesFromTarget syncs a mapping that looks owners up in
// lookup("tamio:teammates", owner_email): each customer gets the teammate
// of its owner's email whatever its case, an unknown owner is a
// lookup_miss reject. When two teammates swap emails in the CRM, the next
// run maps every row again (the rows did not change, their teammates did)
// and moves exactly the affected customers; the run after takes every row
// as unchanged from its source again.
func TestTeammatesFromTarget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "crm.db")
	srv := newCRM(t, tamiotest.Options{DBPath: db, Teammates: refTeammates})
	mapping, source, owner := writeOwners(t, dir, 40)
	statePath := filepath.Join(dir, "state.db")
	out := func(n string) string { return filepath.Join(dir, n) }

	s1 := syncState(t, srv.APIKey, source, mapping, srv.URL, out("out1"), statePath, cli.ExitRejects)
	if s1.Rows.Created != int64(len(owner)) || s1.Rows.Rejected != 1 || s1.RejectsByCode["lookup_miss"] != 1 {
		t.Fatalf("first run: %+v, rejects %v; want %d created and one lookup_miss", s1.Rows, s1.RejectsByCode, len(owner))
	}
	rejects := readCSVFile(t, filepath.Join(out("out1"), "rejects.csv"))
	if len(rejects) != 2 || !strings.Contains(strings.Join(rejects[1], ","), "tamio:teammates") {
		t.Errorf("rejects.csv: %q", rejects)
	}
	checkAssigned(t, srv, owner, refTeammates)

	// Ana and Ben swap emails in the CRM: the same rows now mean other
	// teammates. The emulator restarts on the same port and database.
	addr := strings.TrimPrefix(strings.TrimSuffix(srv.URL, "/v2"), "http://")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	swapped := append([]tamiotest.Teammate(nil), refTeammates...)
	swapped[0].Email, swapped[1].Email = refTeammates[1].Email, refTeammates[0].Email
	srv2 := newCRM(t, tamiotest.Options{DBPath: db, Addr: addr, Teammates: swapped})
	moved := 0
	for _, o := range owner {
		if o == strings.ToLower(refTeammates[0].Email) || o == refTeammates[1].Email {
			moved++
		}
	}
	s2 := syncState(t, srv2.APIKey, source, mapping, srv2.URL, out("out2"), statePath, cli.ExitRejects)
	if s2.Rows.UnchangedBySource != 0 || s2.Rows.Updated != int64(moved) || s2.Rows.Created != 0 {
		t.Errorf("after the teammates changed: %+v; want %d updated and no row taken as unchanged from its source", s2.Rows, moved)
	}
	checkAssigned(t, srv2, owner, swapped)

	s3 := syncState(t, srv2.APIKey, source, mapping, srv2.URL, out("out3"), statePath, cli.ExitRejects)
	if s3.Rows.UnchangedBySource != int64(len(owner)) || s3.Rows.Updated != 0 {
		t.Errorf("the run after: %+v; want every row unchanged from its source", s3.Rows)
	}
}

// TestTeammatesCommand lists the target's teammates, sorted by email, and
// checks the exit codes its help names.
func TestTeammatesCommand(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{Teammates: refTeammates})
	res := runBinary(t, srv.APIKey, "teammates", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv)
	if res.code != cli.ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	want := [][]string{{"EMAIL", "NAME", "ID"}}
	for _, tm := range refTeammates { // already in email order
		want = append(want, []string{tm.Email, tm.Name, tm.ID})
	}
	if len(lines) != len(want) {
		t.Fatalf("stdout:\n%s", res.stdout)
	}
	for i, w := range want {
		l := lines[i]
		if !strings.HasPrefix(l, w[0]+" ") || !strings.Contains(l, "  "+w[1]+"  ") || !strings.HasSuffix(strings.TrimSpace(l), "  "+w[2]) {
			t.Errorf("line %d: %q, want %q", i, l, w)
		}
	}
	if strings.Contains(res.stderr, "example.com") {
		t.Errorf("the log holds an email:\n%s", res.stderr)
	}

	if res := runBinary(t, "not-the-key", "teammates", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv); res.code != cli.ExitFatal {
		t.Errorf("a refused key: exit %d, want %d\n%s", res.code, cli.ExitFatal, res.stderr)
	}
	if res := runBinary(t, srv.APIKey, "teammates", "--target", srv.URL, "--api-key-env", keyEnv, "--api", "nocrm"); res.code != cli.ExitUsage {
		t.Errorf("an unknown api: exit %d, want %d", res.code, cli.ExitUsage)
	}
	if res := runBinary(t, srv.APIKey, "teammates", "--api", "tamio"); res.code != cli.ExitUsage || !strings.Contains(res.stderr, "--target") {
		t.Errorf("no target: exit %d, want %d\n%s", res.code, cli.ExitUsage, res.stderr)
	}
}

// TestReferenceTableErrors: a table the target does not offer stops a
// sync before anything is sent, naming the tables it offers; check and
// preview say where a table comes from and read it with --target.
func TestReferenceTableErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{Teammates: refTeammates})
	mapping, source, _ := writeOwners(t, dir, 5)

	wrong := filepath.Join(dir, "wrong.tamio.yaml")
	if err := os.WriteFile(wrong, []byte(strings.Replace(ownersMapping, "tamio:teammates", "tamio:owners", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	res := runBinary(t, srv.APIKey, syncArgs(source, wrong, srv.URL, out)...)
	if res.code != cli.ExitFatal || !strings.Contains(res.stderr, `"tamio:owners"`) || !strings.Contains(res.stderr, `"tamio:teammates"`) {
		t.Errorf("an unknown table: exit %d, want %d naming the tables tamio offers\n%s", res.code, cli.ExitFatal, res.stderr)
	}
	if s := readSummary(t, out); s.Status != "failed" {
		t.Errorf("summary: %+v", s)
	}
	if n := len(crmCustomers(t, srv)); n != 0 {
		t.Errorf("the failed sync created %d customers", n)
	}

	res = runBinary(t, "", "check", "--mapping", mapping)
	if res.code != cli.ExitOK || !strings.Contains(res.stdout, "lookup table tamio:teammates: read from the target at the start of each run") {
		t.Errorf("check without a target: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runBinary(t, srv.APIKey, "check", "--mapping", mapping, "--target", srv.URL, "--api-key-env", keyEnv)
	u, _ := url.Parse(srv.URL)
	if res.code != cli.ExitOK || !strings.Contains(res.stdout, "lookup table tamio:teammates: 3 rows read from "+u.String()) {
		t.Errorf("check with a target: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runBinary(t, srv.APIKey, "check", "--mapping", wrong, "--target", srv.URL, "--api-key-env", keyEnv)
	if res.code != cli.ExitFatal || !strings.Contains(res.stderr, `"tamio:teammates"`) {
		t.Errorf("check of an unknown table with a target: exit %d\n%s", res.code, res.stderr)
	}
	res = runBinary(t, "", "check", "--mapping", mapping, "--source", source)
	if res.code != cli.ExitUsage || !strings.Contains(res.stderr, "give --target") {
		t.Errorf("check --source without a target: exit %d\n%s", res.code, res.stderr)
	}
	res = runBinary(t, srv.APIKey, "check", "--mapping", mapping, "--source", source, "--target", srv.URL, "--api-key-env", keyEnv)
	if res.code != cli.ExitRejects || !strings.Contains(res.stdout, "lookup_miss") {
		t.Errorf("check --source with a target: exit %d, want %d with the stranger's lookup_miss\n%s%s", res.code, cli.ExitRejects, res.stdout, res.stderr)
	}
	res = runBinary(t, srv.APIKey, "preview", "--mapping", mapping, "--source", source, "--target", srv.URL, "--api-key-env", keyEnv, "--width", "40")
	if res.code != cli.ExitOK || !strings.Contains(res.stdout, refTeammates[1].ID) {
		t.Errorf("preview with a target: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := runBinary(t, "", "preview", "--mapping", mapping, "--source", source); res.code != cli.ExitUsage {
		t.Errorf("preview without a target: exit %d, want %d", res.code, cli.ExitUsage)
	}
}
