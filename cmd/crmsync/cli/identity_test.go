package cli_test

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"crmsync/cmd/crmsync/cli"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// identityMapping maps the id,first,email,country files of the identity
// tests.
const identityMapping = `api: tamio
key: id
fields:
  email: lower(trim(email))
  name: trim(first)
  country: country(country)
`

func writeIdentityMapping(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "people.tamio.yaml")
	if err := os.WriteFile(p, []byte(identityMapping), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// people is one identity test's emulator, mapping, state and source
// file of id,first,email,country rows.
type people struct {
	t                   *testing.T
	dir, mapping, state string
	src                 string
	srv                 *tamiotest.Server
}

func newPeople(t *testing.T) *people {
	dir := t.TempDir()
	return &people{t: t, dir: dir, mapping: writeIdentityMapping(t, dir), state: filepath.Join(dir, "state.db"),
		src: filepath.Join(dir, "people.csv"), srv: newCRM(t, tamiotest.Options{})}
}

// sync writes rows as the source and syncs it with the state into the
// folder out of the test's directory, wanting exit code; it returns the
// summary and the folder's path.
func (p *people) sync(out string, code int, rows [][]string, extra ...string) (*cli.Summary, string) {
	p.t.Helper()
	writeCSVFile(p.t, p.src, append([][]string{{"id", "first", "email", "country"}}, rows...))
	out = filepath.Join(p.dir, out)
	return syncState(p.t, p.srv.APIKey, p.src, p.mapping, p.srv.URL, out, p.state, code, extra...), out
}

// bindings reads the state's key → crm_id bindings straight from the file.
func bindings(t *testing.T, statePath string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+statePath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, crm_id FROM records WHERE crm_id IS NOT NULL AND crm_id <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, id string
		if err := rows.Scan(&k, &id); err != nil {
			t.Fatal(err)
		}
		out[k] = id
	}
	return out
}

// rejectCodes maps each rejected row's id column to its _code.
func rejectCodes(t *testing.T, out string) map[string]string {
	t.Helper()
	rows := readCSVFile(t, filepath.Join(out, "rejects.csv"))
	id, code := column(t, rows[0], "id"), column(t, rows[0], "_code")
	m := map[string]string{}
	for _, r := range rows[1:] {
		m[r[id]] = r[code]
	}
	return m
}

// TestOneKeyOneCustomer is issue 13's first reproduction. A customer bound
// to key B is never overwritten with, or bound to, another key's row that
// carries its email; a mirror run never deletes it while B is in the
// source; and within one input the first row carrying an email owns it,
// whatever becomes of that row.
func TestOneKeyOneCustomer(t *testing.T) {
	p := newPeople(t)
	srv, statePath, run := p.srv, p.state, p.sync
	ann := []string{"A", "Ann", "x@example.com", "Germany"}
	bob := []string{"B", "Bob", "x@example.com", "France"}
	cid := []string{"C", "Cid", "c@example.com", "Spain"}

	run("out1", cli.ExitOK, [][]string{bob, cid})
	bound := bindings(t, statePath)["B"]

	// A new key with B's email: matched to B's customer by email, which
	// it must not take.
	s2, out2 := run("out2", cli.ExitRejects, [][]string{ann, cid})
	if s2.Rows.Updated != 0 || s2.Rows.Created != 0 {
		t.Errorf("second run wrote: %+v; B's customer must not be overwritten with A's row", s2.Rows)
	}
	if c := crmCustomers(t, srv)["x@example.com"]; c.Name != "Bob" || c.Country != "fr" {
		t.Errorf("B's customer holds %q/%q, want Bob/fr", c.Name, c.Country)
	}
	if codes := rejectCodes(t, out2); codes["A"] != "email_owned" {
		t.Errorf("A rejected with %q, want email_owned", codes["A"])
	}
	if msg := rejectMessage(t, out2, "A"); !strings.Contains(msg, `key "B"`) {
		t.Errorf("A's reject does not name the key that owns the customer: %q", msg)
	}
	if b := bindings(t, statePath); b["B"] != bound || b["A"] != "" {
		t.Errorf("bindings: %v; want B still bound to %s and A unbound", b, bound)
	}

	// Both rows in the input, mirror: A comes first and owns the email in
	// the input, B's customer stays bound to B, and nothing is deleted
	// while B is in the source.
	_, out3 := run("out3", cli.ExitRejects, [][]string{ann, bob, cid}, "--mode", "mirror", "--max-delete", "1")
	codes := rejectCodes(t, out3)
	if codes["A"] != "email_owned" || codes["B"] != "duplicate_email" {
		t.Errorf("third run's rejects: %v; want A email_owned and B duplicate_email", codes)
	}
	if msg := rejectMessage(t, out3, "B"); !strings.Contains(msg, `row 1 (key "A")`) {
		t.Errorf("B's reject does not name the row that owns its email: %q", msg)
	}
	if _, ok := crmCustomers(t, srv)["x@example.com"]; !ok {
		t.Error("the mirror run deleted B's customer while B is in the source")
	}
	if b := bindings(t, statePath); b["B"] != bound || b["A"] != "" {
		t.Errorf("bindings after the mirror run: %v; want B still bound to %s and A unbound", b, bound)
	}
}

// TestFirstRowOwnsItsEmail: a row rejected before the API still owns its
// email; the later row that repeats it is rejected naming it, on every
// run, until the first row is fixed, which then creates the customer.
func TestFirstRowOwnsItsEmail(t *testing.T) {
	p := newPeople(t)
	_, out1 := p.sync("out1", cli.ExitRejects, [][]string{{"A", "", "x@example.com", "Germany"}, {"B", "Bob", "x@example.com", "France"}})
	if codes := rejectCodes(t, out1); codes["B"] != "duplicate_email" {
		t.Errorf("B rejected with %q, want duplicate_email: A's row carries the email first", codes["B"])
	}
	if msg := rejectMessage(t, out1, "B"); !strings.Contains(msg, `row 1 (key "A")`) {
		t.Errorf("B's reject does not name the owning row and key: %q", msg)
	}
	s2, _ := p.sync("out2", cli.ExitRejects, [][]string{{"A", "Ann", "x@example.com", "Germany"}, {"B", "Bob", "x@example.com", "France"}})
	if s2.Rows.Created != 1 || s2.Rows.Updated != 0 {
		t.Errorf("second run: %+v; want A created", s2.Rows)
	}
	if c := crmCustomers(t, p.srv)["x@example.com"]; c.Name != "Ann" {
		t.Errorf("x@example.com holds %q, want Ann", c.Name)
	}
}

// rejectMessage returns the _message of the rejected row whose id is id.
func rejectMessage(t *testing.T, out, id string) string {
	t.Helper()
	rows := readCSVFile(t, filepath.Join(out, "rejects.csv"))
	col, msg := column(t, rows[0], "id"), column(t, rows[0], "_message")
	for _, r := range rows[1:] {
		if r[col] == id {
			return r[msg]
		}
	}
	return ""
}

// TestStateRefusesOneCustomerForTwoKeys holds the promise in the state
// file itself: whatever the code above it does, SQLite refuses a second
// key for one customer.
func TestStateRefusesOneCustomerForTwoKeys(t *testing.T) {
	p := newPeople(t)
	p.sync("out", cli.ExitOK, [][]string{{"A", "Ann", "a@example.com", "Germany"}, {"B", "Bob", "b@example.com", "France"}})
	b := bindings(t, p.state)
	db, err := sql.Open("sqlite", "file:"+p.state)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE records SET crm_id = ? WHERE key = 'A'`, b["B"]); err == nil {
		t.Fatal("the state took a second key for one customer")
	}
}

// TestDeletedCustomerIsCreatedAgain is issue 13's third reproduction: a
// customer deleted in the CRM after it was synced comes back on the next
// run that writes its row, and --reconcile notices it is gone; a key whose
// last attempt failed is never counted unchanged.
func TestDeletedCustomerIsCreatedAgain(t *testing.T) {
	p := newPeople(t)
	srv, statePath := p.srv, p.state
	rows := [][]string{{"A", "Ann", "a@example.com", "Germany"}, {"B", "Bob", "b@example.com", "France"}, {"C", "Cid", "c@example.com", "Spain"}}
	p.sync("out1", cli.ExitOK, rows)
	gone := bindings(t, statePath)["B"]
	deleteCustomer(t, srv, gone)

	s2, out2 := p.sync("out2", cli.ExitOK, rows, "--reconcile")
	if s2.Rows.Created != 1 || s2.Rows.Unchanged != 2 || s2.Rows.Rejected != 0 {
		t.Errorf("reconcile after a customer was deleted in the CRM: %+v; want it created again, the others unchanged", s2.Rows)
	}
	if c, ok := crmCustomers(t, srv)["b@example.com"]; !ok || c.Name != "Bob" {
		t.Errorf("b@example.com is not back in the CRM: %+v", c)
	}
	again := bindings(t, statePath)["B"]
	if again == "" || again == gone {
		t.Errorf("B is bound to %q after its customer %q was re-created", again, gone)
	}
	diff := readCSVFile(t, filepath.Join(out2, "diff.csv"))
	if len(diff) != 2 || diff[1][0] != "B" || diff[1][2] != "create" {
		t.Errorf("diff.csv after the re-create: %v", diff)
	}

	// Deleted again, then a plain run: the update finds it gone and
	// creates it again.
	deleteCustomer(t, srv, again)
	rows[1] = []string{"B", "Bobby", "b@example.com", "France"}
	s3, _ := p.sync("out3", cli.ExitOK, rows)
	if s3.Rows.Created != 1 || s3.Rows.Updated != 0 {
		t.Errorf("plain run after the customer was deleted: %+v; want it created again", s3.Rows)
	}
	if c := crmCustomers(t, srv)["b@example.com"]; c.Name != "Bobby" {
		t.Errorf("b@example.com holds %q, want Bobby", c.Name)
	}
}

// TestFailedKeyIsNeverUnchanged: a key whose last write failed is sent
// again, even when its row did not change since its last confirmed write.
func TestFailedKeyIsNeverUnchanged(t *testing.T) {
	p := newPeople(t)
	statePath := p.state
	rows := [][]string{{"A", "Ann", "a@example.com", "Germany"}, {"B", "Bob", "b@example.com", "France"}}
	p.sync("out1", cli.ExitOK, rows)
	// A failure recorded against B's unchanged row, as a run that could
	// not write it leaves.
	db, err := sql.Open("sqlite", "file:"+statePath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE records SET failures = 1, last_code = '500' WHERE key = 'B'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Remove(statePath + ".index")
	s, _ := p.sync("out2", cli.ExitOK, rows)
	if s.Rows.Unchanged != 1 || s.Rows.Updated != 1 {
		t.Errorf("after B's failure: %+v; want B written again (updated) and A unchanged", s.Rows)
	}
}

func deleteCustomer(t *testing.T, srv *tamiotest.Server, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := tamio.NewClient(srv.URL, srv.APIKey, &http.Client{Timeout: 10 * time.Second}, pipeline.NewPacer(pipeline.PacerOptions{}))
	if _, err := c.BulkDelete(ctx, []string{id}); err != nil {
		t.Fatal(err)
	}
}
