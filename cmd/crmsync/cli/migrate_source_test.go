package cli_test

// A CRM as the source of a sync (issue 18, item 2): `--source NAME:` and
// `--source sandbox:API:`, with the real binary on the embedded sandboxes.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/tamio/tamiotest"
	"crmsync/sinks/tiquo/tiquotest"
)

// tiquoCustomers reads every customer of a tiquo sandbox file through the
// tiquo connector's reader, by lower-cased email, each as field → value.
func tiquoCustomers(t *testing.T, db string) map[string]map[string]string {
	t.Helper()
	srv, err := tiquotest.NewServer(tiquotest.Options{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := crm.Lookup("tiquo")
	if err != nil {
		t.Fatal(err)
	}
	r, err := conn.NewReader(crm.Config{BaseURL: srv.URL, Credentials: map[string]string{"api_key": srv.APIKey},
		HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = r.Walk(ctx, func(page []pipeline.Customer) error {
		for _, c := range page {
			m := map[string]string{"id": c.ID}
			for i, f := range conn.Schema.Fields {
				m[f.Name] = c.Values[i]
			}
			out[strings.ToLower(m["email"])] = m
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateFromCRMSource loads 150 sample rows into the tiquo sandbox,
// then migrates the tiquo account into the tamio sandbox with
// `--source sandbox:tiquo:` and a small mapping keyed by the tiquo id:
// every tiquo customer is in tamio with its values (and preview shows
// the first of them as mapped beforehand, and check tries the mapping on
// every one of them), and the summary names
// the source "sandbox:tiquo:". A second migration with the same --state,
// reading the same account through a remote of the remotes file
// (`--source old:`), sends nothing. Both sandboxes keep their default
// files in the working directory, one per API.
func TestMigrateFromCRMSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := sampleHead(t, dir, 150)
	mapping, err := filepath.Abs(filepath.Join("testdata", "remotes", "tiquo-to-tamio.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := runBinaryIn(t, dir, nil, "sync", "--source", head, "--mapping", sampleAbs(t, "customers.tiquo.yaml"),
		"--target", "sandbox:tiquo", "--out", "seed", "--progress", "none")
	if r.code != cli.ExitOK && r.code != cli.ExitRejects {
		t.Fatalf("seeding: exit %d\n%s", r.code, r.stderr)
	}
	seeded := readSummary(t, filepath.Join(dir, "seed")).Rows.Created
	if seeded < 100 {
		t.Fatalf("seeding created %d customers", seeded)
	}

	r = runBinaryIn(t, dir, nil, "preview", "--source", "sandbox:tiquo:", "--mapping", mapping, "--rows", "3")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != cli.ExitOK || len(lines) != 4 || !strings.HasPrefix(lines[1], "1 ") {
		t.Errorf("preview of the tiquo account: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBinaryIn(t, dir, nil, "check", "--source", "sandbox:tiquo:", "--mapping", mapping)
	if want := fmt.Sprintf("sandbox:tiquo:: %d rows tried", seeded); r.code != cli.ExitOK && r.code != cli.ExitRejects || !strings.Contains(r.stdout, want) {
		t.Errorf("check of the tiquo account: exit %d, want %q\n%s%s", r.code, want, r.stdout, r.stderr)
	}

	migrate := func(source, out string, extra ...string) *cli.Summary {
		t.Helper()
		args := append(append([]string{}, extra...), "sync", "--source", source, "--mapping", mapping, "--target", "sandbox:tamio",
			"--state", "migrate.db", "--out", out, "--progress", "none")
		r := runBinaryIn(t, dir, nil, args...)
		if r.code != cli.ExitOK {
			t.Fatalf("migrating from %s: exit %d\n%s", source, r.code, r.stderr)
		}
		return readSummary(t, filepath.Join(dir, out))
	}
	s := migrate("sandbox:tiquo:", "first")
	if s.Rows.Read != seeded || s.Rows.Created != seeded || s.Rows.Rejected != 0 || s.Source != "sandbox:tiquo:" {
		t.Errorf("first migration: read %d, created %d, rejected %d of %d tiquo customers; source %q",
			s.Rows.Read, s.Rows.Created, s.Rows.Rejected, seeded, s.Source)
	}

	from := tiquoCustomers(t, filepath.Join(dir, "crmsync-sandbox-tiquo.db"))
	srv := newCRM(t, tamiotest.Options{DBPath: filepath.Join(dir, "crmsync-sandbox-tamio.db")})
	to := crmCustomers(t, srv)
	if int64(len(from)) != seeded || len(to) != len(from) {
		t.Errorf("tiquo holds %d customers, tamio %d; %d were seeded", len(from), len(to), seeded)
	}
	for email, c := range from {
		got, ok := to[email]
		switch {
		case !ok:
			t.Errorf("tiquo customer %s is not in tamio", c["id"])
		case got.Name != c["firstName"] || got.LastName != c["lastName"] || got.Phone != c["phone"] ||
			!strings.EqualFold(got.Country, c["address.country"]):
			t.Errorf("tiquo customer %s is in tamio as %+v, from %v", c["id"], got, c)
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	config := writeRemotes(t, dir, "remotes:\n  old: {api: tiquo, sandbox: true, sandbox_db: crmsync-sandbox-tiquo.db}\n")
	s = migrate("old:", "second", "--config", config)
	if s.Rows.Read != seeded || s.Rows.Unchanged != seeded || s.Rows.Created+s.Rows.Updated != 0 || s.Source != "old:" {
		t.Errorf("second migration: read %d, %d unchanged, %d created, %d updated; source %q",
			s.Rows.Read, s.Rows.Unchanged, s.Rows.Created, s.Rows.Updated, s.Source)
	}
}

// TestCRMSourceUsageErrors: a migration that cannot be right stops with
// exit 2 before anything is written: source and target on one sandbox
// file, a mapping not keyed by the source's id, a mapping naming a column
// the source CRM lacks (at its line, with the closest), and a file's
// format flags on a CRM.
func TestCRMSourceUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping, err := filepath.Abs(filepath.Join("testdata", "remotes", "tiquo-to-tamio.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tiquoToTiquo := write("copy.yaml", "api: tiquo\nkey: id\nfields:\n  email: email\n  firstName: firstName\n  lastName: lastName\n")
	byEmail := write("email.yaml", "api: tamio\nkey: email\nfields:\n  email: email\n  name: firstName\n  country: country(col(\"address.country\"))\n")
	misspelt := write("misspelt.yaml", "api: tamio\nkey: id\nfields:\n  email: email\n  name: firstname\n  country: country(col(\"address.country\"))\n")
	sync := func(source, mapping, target string, extra ...string) []string {
		return append([]string{"sync", "--source", source, "--mapping", mapping, "--target", target, "--out", "out", "--progress", "none"}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"one sandbox", sync("sandbox:tiquo:", tiquoToTiquo, "sandbox:tiquo"),
			"--source sandbox:tiquo and --target sandbox:tiquo would both run on the sandbox file crmsync-sandbox-tiquo.db"},
		{"one sandbox file", sync("sandbox:tiquo", mapping, "sandbox:tamio", "--sandbox-db", "one.db"),
			"--source sandbox:tiquo and --target sandbox:tamio would both run on the sandbox file one.db"},
		{"key", sync("sandbox:tiquo:", byEmail, "sandbox:tamio"), "the mapping " + byEmail + " must say key: id (it says email)"},
		{"column", sync("sandbox:tiquo:", misspelt, "sandbox:tamio"), misspelt + `:5:9: column "firstname" is not in the source (did you mean "firstName"?)`},
		{"format", sync("sandbox:tiquo:", mapping, "sandbox:tamio", "--delimiter", ";"), "--format, --encoding and --delimiter describe a file; --source sandbox:tiquo: reads a CRM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinaryIn(t, dir, nil, tc.args...)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", r.code, cli.ExitUsage, tc.want, r.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "crmsync-sandbox-tamio.db")); err == nil {
		t.Error("a refused migration started the target's sandbox")
	}
}

// TestMigrateReadsTemplateFields: a Revnue account's custom template
// fields are not in Revnue's schema, which lists their family only; a
// migration whose mapping reads one (template.account_tier) gets it as a
// column of the source. Ten sample rows loaded into the Revnue sandbox go
// to tiquo, each customer tagged with its tier (none without one); the row tiquo refuses is
// in rejects.csv with the source's columns.
func TestMigrateReadsTemplateFields(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rows := readLooseCSV(t, sample("customers.csv"))[:11]
	writeCSVFile(t, filepath.Join(dir, "head.csv"), rows)
	tiers := map[string]string{}
	email, tier := column(t, rows[0], "email"), column(t, rows[0], "tier")
	for _, row := range rows[1:] {
		tiers[strings.ToLower(strings.TrimSpace(row[email]))] = strings.TrimSpace(row[tier])
	}
	mapping, err := filepath.Abs(filepath.Join("testdata", "remotes", "revnue-to-tiquo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := runBinaryIn(t, dir, nil, "sync", "--source", "head.csv", "--mapping", sampleAbs(t, "customers.revnue.yaml"),
		"--target", "sandbox:revnue", "--out", "seed", "--progress", "none")
	if r.code != cli.ExitOK {
		t.Fatalf("seeding: exit %d\n%s", r.code, r.stderr)
	}
	r = runBinaryIn(t, dir, nil, "sync", "--source", "sandbox:revnue:", "--mapping", mapping, "--target", "sandbox:tiquo",
		"--out", "out", "--progress", "none")
	if r.code != cli.ExitRejects {
		t.Fatalf("migrating: exit %d, want %d\n%s", r.code, cli.ExitRejects, r.stderr)
	}
	s := readSummary(t, filepath.Join(dir, "out"))
	got := tiquoCustomers(t, filepath.Join(dir, "crmsync-sandbox-tiquo.db"))
	if s.Rows.Read != 10 || s.Rows.Created != int64(len(got)) || s.Rows.Rejected != 1 || len(got) != 9 {
		t.Errorf("read %d, created %d, rejected %d; tiquo holds %d", s.Rows.Read, s.Rows.Created, s.Rows.Rejected, len(got))
	}
	for e, c := range got {
		tier, ok := tiers[e]
		want := ""
		if tier != "" {
			want = `["` + tier + `"]`
		}
		if !ok || c["tags"] != want {
			t.Errorf("tiquo customer %s (in the source: %v) has tags %s, want %s", c["id"], ok, c["tags"], want)
		}
	}
	rejects := readCSVFile(t, filepath.Join(dir, s.RejectFile))
	if len(rejects) != 2 || strings.Join(rejects[0][:4], ",") != "id,contact_person.email,contact_person.name,template.account_tier" ||
		rejects[1][column(t, rejects[0], "_code")] != "email" {
		t.Errorf("rejects.csv: %q", rejects)
	}
}
