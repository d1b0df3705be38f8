package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/crm"
	"crmsync/internal/emulator"
	"crmsync/internal/seed"
	"crmsync/mappings"
	"crmsync/pipeline"
)

// The shipped migrations (samples/migrate/SRC-to-DST.yaml), each run end
// to end as a user runs it: a source CRM's emulator filled with seeded
// customers through its own connector, the whole account migrated into
// another CRM's emulator with crmsync sync, every customer read back from
// the target and compared with what the mapping makes of the seeded
// record, then five customers edited in the source and migrated again.

// shippedMigrations are the pairs samples/migrate holds a mapping for.
var shippedMigrations = []struct{ src, dst string }{
	{"tiquo", "tamio"}, {"count", "tamio"}, {"revnue", "tamio"},
	{"tamio", "tiquo"}, {"tamio", "count"}, {"tamio", "revnue"},
}

// counterparts are, for each shipped migration, the target's fields
// that have a counterpart in the source, which its mapping must fill.
var counterparts = map[string][]string{
	"tiquo-to-tamio": {"email", "name", "last_name", "country", "phone", "priority", "category",
		"billing_information.name", "billing_information.last_name", "billing_information.address", "billing_information.city",
		"billing_information.postcode", "billing_information.state", "billing_information.country"},
	"count-to-tamio": {"email", "name", "last_name", "country", "phone",
		"billing_information.name", "billing_information.last_name", "billing_information.address", "billing_information.city",
		"billing_information.postcode", "billing_information.state", "billing_information.country",
		"billing_information.representative", "billing_information.email", "billing_information.phone",
		"shipping_information.name", "shipping_information.last_name", "shipping_information.address", "shipping_information.city",
		"shipping_information.postcode", "shipping_information.state", "shipping_information.country"},
	"revnue-to-tamio": {"email", "name", "last_name", "country", "phone", "priority",
		"billing_information.name", "billing_information.last_name", "billing_information.company", "billing_information.address",
		"billing_information.city", "billing_information.postcode", "billing_information.state", "billing_information.country",
		"billing_information.phone", "billing_information.is_company", "billing_information.representative"},
	"tamio-to-tiquo": {"email", "firstName", "lastName", "phone", "tags",
		"address.line1", "address.city", "address.state", "address.postalCode", "address.country"},
	"tamio-to-count": {"customer", "email", "mainPhone", "contact.name", "contact.email", "contact.phone",
		"billingAddress.street", "billingAddress.city", "billingAddress.state", "billingAddress.zipCode", "billingAddress.country",
		"shippingAddress.street", "shippingAddress.city", "shippingAddress.state", "shippingAddress.zipCode", "shippingAddress.country"},
	"tamio-to-revnue": {"company", "name", "contact_person.name", "contact_person.email", "phone", "template.account_tier",
		"address_line_1", "city", "state_province", "zip_postal_code", "country"},
}

// sameAs are, for each shipped migration, target fields that hold a
// source field's value as it is (text), without regard to case (fold), or
// in other punctuation (digits: a phone as typed and in E.164): what the
// migration must keep whatever its mapping's expressions say.
var sameAs = map[string][][3]string{
	"tiquo-to-tamio":  {{"email", "email", "fold"}, {"name", "firstName", "text"}, {"last_name", "lastName", "text"}, {"phone", "phone", "digits"}},
	"count-to-tamio":  {{"email", "email", "fold"}, {"phone", "mainPhone", "digits"}},
	"revnue-to-tamio": {{"email", "contact_person.email", "fold"}},
	"tamio-to-tiquo":  {{"email", "email", "fold"}, {"firstName", "name", "text"}, {"phone", "phone", "text"}},
	"tamio-to-count":  {{"email", "email", "fold"}, {"mainPhone", "phone", "text"}, {"contact.email", "email", "fold"}},
	"tamio-to-revnue": {{"contact_person.email", "email", "fold"}, {"phone", "phone", "text"}, {"template.account_tier", "priority", "text"}},
}

// migrationSeed makes the seeded accounts the same on every run.
const migrationSeed = 18

func TestShippedMigrations(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 50
	}
	for _, m := range shippedMigrations {
		t.Run(m.src+"-to-"+m.dst, func(t *testing.T) {
			t.Parallel()
			testMigration(t, m.src, m.dst, n)
		})
	}
}

// account is a CRM emulator a test runs, reached by crmsync as a named
// remote whose credentials are in the environment.
type account struct {
	name string // the remote's name
	conn *crm.Connector
	sb   crm.Sandbox
	// env maps each credential to the environment variable holding it.
	env map[string]string
}

// startAccount starts api's emulator on an SQLite file of dir, its rate
// limit out of the way (the pacing is not what these tests are about),
// and puts its credentials in the environment.
func startAccount(t *testing.T, name, api, dir string) *account {
	t.Helper()
	conn, err := crm.Lookup(api)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := conn.StartSandbox(context.Background(), crm.SandboxOptions{
		DBPath: filepath.Join(dir, name+"-"+api+".db"), RateLimit: 10000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	a := &account{name: name, conn: conn, sb: sb, env: map[string]string{}}
	for _, c := range conn.Credentials {
		// Named after the test, whose parallel neighbours set their own.
		v := "CRMSYNC_TEST_" + strings.ToUpper(name+"_"+c.Name+"_"+sanitize(t.Name()))
		a.env[c.Name] = v
		os.Setenv(v, sb.Credentials()[c.Name])
		t.Cleanup(func() { os.Unsetenv(v) })
	}
	return a
}

// sanitize keeps the letters and digits of a test's name, for an
// environment variable's.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// remote is the account's entry in a remotes file.
func (a *account) remote() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    api: %s\n    url: %s\n    credentials:\n", a.name, a.conn.Name, a.sb.URL())
	for _, c := range a.conn.Credentials {
		fmt.Fprintf(&b, "      %s: %s\n", c.Name, a.env[c.Name])
	}
	return b.String()
}

// credentialFlags name the account's credential variables to a command
// given its URL as --target.
func (a *account) credentialFlags() []string {
	var out []string
	for _, c := range a.conn.Credentials {
		out = append(out, "--credential-env", c.Name+"="+a.env[c.Name])
	}
	return out
}

// reader reads the account's customers in the fields of schema.
func (a *account) reader(t *testing.T, schema *pipeline.Schema) pipeline.Reader {
	t.Helper()
	r, err := a.conn.NewReader(crm.Config{BaseURL: a.sb.URL(), Credentials: a.sb.Credentials(),
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, Rate: 1000, Schema: schema,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// customers reads every customer of the account by its match value, in
// lower case when the API matches without regard to case; a match value
// held twice fails the test.
func (a *account) customers(t *testing.T, schema *pipeline.Schema) map[string]pipeline.Customer {
	t.Helper()
	out := map[string]pipeline.Customer{}
	match := schema.Index(schema.MatchField)
	err := a.reader(t, schema).Walk(t.Context(), func(page []pipeline.Customer) error {
		for _, c := range page {
			k := matchKey(schema, c.Values[match])
			if _, dup := out[k]; dup {
				return fmt.Errorf("%s holds %q twice", a.conn.Name, k)
			}
			out[k] = c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func matchKey(s *pipeline.Schema, v string) string {
	if s.MatchFold {
		return strings.ToLower(v)
	}
	return v
}

// writeCalls reads the emulator's request counters and counts the
// requests that were not GETs, by route.
func (a *account) writeCalls(t *testing.T) map[string]int64 {
	t.Helper()
	u, err := url.Parse(a.sb.URL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path, u.RawQuery = crm.StatsPath, ""
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st emulator.RequestStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", u, resp.Status, err)
	}
	out := map[string]int64{}
	for route, byStatus := range st.Requests {
		if strings.HasPrefix(route, "GET ") {
			continue
		}
		for _, n := range byStatus {
			out[route] += n
		}
	}
	return out
}

// seeded is the source account's customers as the test made them.
type seeded struct {
	schema  *pipeline.Schema
	records [][]string // values indexed like schema.Fields
	filled  []bool     // the fields some record fills
	csv     string     // the records as a CSV file, under the key seed_key
	mapping string     // the mapping that copies each column into its field
	state   string
}

// seedAccount fills the account with n seeded customers of schema (the
// API's, with the open fields a migration reads) through its own
// connector: a sync of the records from a CSV file, every column copied
// into its field. Every other customer has every field filled; the others
// leave fields and nested objects empty as real accounts do.
func seedAccount(t *testing.T, a *account, schema *pipeline.Schema, dir string, n int) *seeded {
	t.Helper()
	s := &seeded{schema: schema, csv: filepath.Join(dir, "seed.csv"),
		mapping: filepath.Join(dir, "seed.yaml"), state: filepath.Join(dir, "seed-state.db")}
	g := seed.New(s.schema, migrationSeed, seed.ValuesOf(a.sb))
	full := seed.New(s.schema, migrationSeed, seed.ValuesOf(a.sb)).Complete()
	s.filled = full.Filled()
	for i := range n {
		if i%2 == 0 {
			s.records = append(s.records, full.Record(i))
		} else {
			s.records = append(s.records, g.Record(i))
		}
	}
	markers(s)
	var y strings.Builder
	fmt.Fprintf(&y, "api: %s\nkey: seed_key\nfields:\n", a.conn.Name)
	for i, f := range s.schema.Fields {
		if s.filled[i] {
			fmt.Fprintf(&y, "  %s: col(%q)\n", f.Name, f.Name)
		}
	}
	if err := os.WriteFile(s.mapping, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := s.write(t, a, "seed-out")
	if sum.Rows.Created != int64(n) {
		t.Fatalf("seeding %s created %d customers of %d: %+v", a.conn.Name, sum.Rows.Created, n, sum.Rows)
	}
	return s
}

// sourceSchema is the schema of a migration's source: the API's,
// extended with the fields of its open families the mapping reads.
func sourceSchema(t *testing.T, s *pipeline.Schema, m *mappings.Mapping) *pipeline.Schema {
	t.Helper()
	var open []string
	for _, c := range m.Columns() {
		if s.Index(c) < 0 && s.OpenFor(c) != nil {
			open = append(open, c)
		}
	}
	ext, err := s.Extend(open)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// markers gives some records the values a migration from tamio leaves
// in the source for what has no field there, so that the mapping that
// reads them back meets each: among a list's items (tiquo's tags) "lead"
// and "priority:high", and a priority as a custom field's text (Revnue's
// template.account_tier), in any case.
func markers(s *seeded) {
	priorities := []string{"low", "normal", "Medium", "HIGH"}
	for i, f := range s.schema.Fields {
		if !s.filled[i] {
			continue
		}
		for k, rec := range s.records {
			switch {
			case f.Kind == pipeline.KindList:
				items, _ := pipeline.ParseList(rec[i])
				switch k % 4 {
				case 1:
					items = append(items, "lead")
				case 2:
					items = append(items, "priority:"+strings.ToLower(priorities[k%len(priorities)]))
				}
				rec[i] = ""
				if len(items) > 0 {
					rec[i] = pipeline.FormatList(items)
				}
			case f.Name == "template.account_tier" && k%3 != 0:
				rec[i] = priorities[k%len(priorities)]
			}
		}
	}
}

// write syncs the records into the account and returns the run's
// summary, failing the test unless the run ended with exit 0.
func (s *seeded) write(t *testing.T, a *account, out string) *cli.Summary {
	t.Helper()
	rows := [][]string{append([]string{"seed_key"}, fieldNames(s.schema)...)}
	for i, rec := range s.records {
		rows = append(rows, append([]string{strconv.Itoa(i + 1)}, rec...))
	}
	writeCSVFile(t, s.csv, rows)
	out = filepath.Join(filepath.Dir(s.csv), out)
	args := append([]string{"sync", "--source", s.csv, "--mapping", s.mapping, "--target", a.sb.URL(),
		"--state", s.state, "--out", out, "--progress", "none", "--rate", "1000", "--verify=false"}, a.credentialFlags()...)
	if code := cli.Main(args); code != 0 {
		t.Fatalf("seeding %s: exit %d", a.conn.Name, code)
	}
	return readSummary(t, out)
}

func fieldNames(s *pipeline.Schema) []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

func testMigration(t *testing.T, src, dst string, n int) {
	dir := t.TempDir()
	old := startAccount(t, "old", src, dir)
	dest := startAccount(t, "new", dst, dir)
	remotes := filepath.Join(dir, "remotes.yaml")
	if err := os.WriteFile(remotes, []byte("remotes:\n"+old.remote()+dest.remote()), 0o600); err != nil {
		t.Fatal(err)
	}
	mapping := sample(filepath.Join("migrate", src+"-to-"+dst+".yaml"))
	m, err := mappings.Load(mapping, dest.conn.Schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range counterparts[src+"-to-"+dst] {
		if i := m.Schema().Index(f); i < 0 || !m.Mapped()[i] {
			t.Errorf("%s does not fill %s, which has a counterpart in %s", mapping, f, src)
		}
	}
	s := seedAccount(t, old, sourceSchema(t, old.conn.Schema, m), dir, n)
	ids := sourceIDs(t, old, s)
	prog, err := m.Bind(append([]string{"id"}, fieldNames(s.schema)...), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCoverage(t, m, s)
	want, rejected, keys := expectMigrated(t, prog, s, ids)
	// tamio requires a country and an email, which some source customers
	// lack: the mapping leaves those to be completed in the source, and
	// the migration rejects them, each with its reason.
	for id, code := range rejected {
		if !strings.HasPrefix(code, pipeline.CodeRequired+" ") {
			t.Errorf("the mapping rejects seeded customer %s: %s", id, code)
		}
	}
	if len(rejected)*2 > n {
		t.Fatalf("the mapping would reject %d of %d seeded customers", len(rejected), n)
	}
	t.Logf("%d of %d seeded customers lack what %s requires", len(rejected), n, dst)

	state := filepath.Join(dir, "migrate-state.db")
	migrate := func(out string) *cli.Summary {
		t.Helper()
		out = filepath.Join(dir, out)
		code := cli.Main([]string{"sync", "--config", remotes, "--source", old.name + ":", "--mapping", mapping,
			"--target", dest.name, "--state", state, "--out", out, "--progress", "none", "--rate", "1000"})
		// Exit 3: done, with the rejects expected.
		if wantCode := min(len(rejected), 1) * 3; code != wantCode {
			t.Errorf("migration: exit %d, want %d", code, wantCode)
		}
		sum := readSummary(t, out)
		checkCounts(t, sum)
		checkRejects(t, out, rejected)
		// The migration's own verification read every migrated customer
		// back and found it as the mapping makes it.
		if v := sum.Verify; v == nil || v.Checked != int64(len(want)) || v.Agree != v.Checked || v.Differ != 0 || v.Missing != 0 {
			t.Errorf("the migration's verification: %+v, want %d customers agreeing; %s", v, len(want),
				firstLines(t, filepath.Join(out, "verify.csv"), 5))
		}
		return sum
	}

	sum := migrate("out1")
	if r := sum.Rows; r.Read != int64(n) || r.Created != int64(len(want)) || r.Rejected != int64(len(rejected)) {
		t.Errorf("first migration: %+v; want %d read, %d created, %d rejected", r, n, len(want), len(rejected))
	}
	got := checkTarget(t, dest, m, want)
	checkSameAs(t, got, m.Schema(), s, keys, sameAs[src+"-to-"+dst])
	// crmsync verify, on its own, agrees.
	vout := filepath.Join(dir, "verify")
	if code := cli.Main([]string{"verify", "--config", remotes, "--source", old.name + ":", "--mapping", mapping,
		"--target", dest.name, "--state", state, "--out", vout, "--progress", "none", "--rate", "1000"}); code != 0 {
		t.Errorf("crmsync verify: exit %d; %s", code, firstLines(t, filepath.Join(vout, "verify.csv"), 5))
	}

	// Five customers change in the source; the next migration sends
	// exactly those five, as updates.
	edited := editSource(t, old, s, rejected, ids)
	before := dest.writeCalls(t)
	sum = migrate("out2")
	if r := sum.Rows; r.Created != 0 || r.Updated != int64(len(edited)) || r.Unchanged != int64(len(want)-len(edited)) {
		t.Errorf("second migration: %+v; want %d updated and %d unchanged", r, len(edited), len(want)-len(edited))
	}
	after := dest.writeCalls(t)
	var writes int64
	for route, n := range after {
		if d := n - before[route]; d != 0 {
			writes += d
			t.Logf("second migration: %s %d", route, d)
		}
	}
	if writes != int64(len(edited)) {
		t.Errorf("the second migration made %d write calls to %s, want %d", writes, dst, len(edited))
	}
	want2, _, _ := expectMigrated(t, prog, s, ids)
	keepCreateOnly(m.Schema(), want2, want)
	checkTarget(t, dest, m, want2)
}

// sourceIDs reads the source account back and returns the id of each
// seeded record, checking that the account holds what was seeded.
func sourceIDs(t *testing.T, a *account, s *seeded) []string {
	t.Helper()
	held := a.customers(t, s.schema)
	if len(held) != len(s.records) {
		t.Fatalf("%s holds %d customers, %d were seeded", a.conn.Name, len(held), len(s.records))
	}
	match := s.schema.Index(s.schema.MatchField)
	ids := make([]string, len(s.records))
	bad := 0
	for i, rec := range s.records {
		c, ok := held[matchKey(s.schema, rec[match])]
		if !ok {
			t.Fatalf("seeded customer %d (%s) is not in %s", i, rec[match], a.conn.Name)
		}
		ids[i] = c.ID
		for f, v := range rec {
			if s.filled[f] && !sameValue(&s.schema.Fields[f], c.Values[f], v) && bad < 10 {
				bad++
				t.Errorf("%s holds %s=%q for seeded customer %d, seeded %q", a.conn.Name, s.schema.Fields[f].Name, c.Values[f], i, v)
			}
		}
	}
	return ids
}

// checkCoverage fails unless the seeded records give a value to every
// source column the mapping reads.
func checkCoverage(t *testing.T, m *mappings.Mapping, s *seeded) {
	t.Helper()
	for _, col := range m.Columns() {
		i := s.schema.Index(col)
		if col == "id" || i < 0 {
			continue
		}
		some := false
		for _, rec := range s.records {
			some = some || rec[i] != ""
		}
		if !some {
			t.Errorf("no seeded customer has a value for %s, which the mapping reads", col)
		}
	}
}

// expectMigrated maps each seeded record, under its source id, through
// the mapping and the target's checks, as the migration should: the
// target's records by their match value, and the source ids of those the
// mapping or the checks reject, with the code.
func expectMigrated(t *testing.T, prog *mappings.Program, s *seeded, ids []string) (want map[string][]string, rejected map[string]string, keys []string) {
	t.Helper()
	m := prog.Mapping()
	schema, mapped := m.Schema(), m.Mapped()
	match := schema.Index(schema.MatchField)
	want, rejected, keys = map[string][]string{}, map[string]string{}, make([]string, len(s.records))
	for i, rec := range s.records {
		row := &pipeline.Row{Num: int64(i + 1), Values: append([]string{ids[i]}, rec...)}
		var r pipeline.Record
		rej := prog.Apply(row, &r)
		for f := range r.Values {
			if rej != nil || !mapped[f] || pipeline.IsEmpty(r.Values[f]) {
				continue
			}
			v, ok := pipeline.Canonical(schema.Fields[f].Kind, r.Values[f])
			if !ok {
				t.Fatalf("customer %s: %s=%q is not a %s", ids[i], schema.Fields[f].Name, r.Values[f], schema.Fields[f].Kind)
			}
			r.Values[f] = v
		}
		if rej == nil {
			rej = schema.Validate(&r, mapped)
		}
		if rej == nil {
			rej = schema.ValidateCreate(&r)
		}
		if rej != nil {
			rejected[ids[i]] = rej.Code + " " + rej.Field
			continue
		}
		k := matchKey(schema, r.Values[match])
		if _, dup := want[k]; dup {
			t.Fatalf("two seeded customers map to %s %q", schema.MatchField, k)
		}
		want[k], keys[i] = r.Values, k
	}
	return want, rejected, keys
}

// checkRejects fails unless the run's reject file names exactly the
// source ids the mapping rejects, each with its code.
func checkRejects(t *testing.T, out string, rejected map[string]string) {
	t.Helper()
	rows := readCSVFile(t, filepath.Join(out, "rejects.csv"))
	key, code, field := column(t, rows[0], "id"), column(t, rows[0], "_code"), column(t, rows[0], "_field")
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[key]] = r[code] + " " + r[field]
	}
	for id, c := range rejected {
		if got[id] != c {
			t.Errorf("customer %s: rejected %q, want %q", id, got[id], c)
		}
	}
	for id, c := range got {
		if _, ok := rejected[id]; !ok {
			t.Errorf("customer %s rejected (%s), but it maps and validates", id, c)
		}
	}
}

// checkTarget reads every customer of the target and fails unless it
// holds exactly the wanted ones, each with every mapped field's value.
func checkTarget(t *testing.T, a *account, m *mappings.Mapping, want map[string][]string) map[string]pipeline.Customer {
	t.Helper()
	schema, mapped := m.Schema(), m.Mapped()
	got := a.customers(t, schema)
	if len(got) != len(want) {
		t.Errorf("%s holds %d customers, want %d", a.conn.Name, len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		c, ok := got[k]
		if !ok {
			t.Errorf("%s has no customer %q", a.conn.Name, k)
			continue
		}
		for f := range w {
			if mapped[f] && !sameValue(&schema.Fields[f], c.Values[f], w[f]) && bad < 20 {
				bad++
				t.Errorf("%s customer %q: %s=%q, want %q", a.conn.Name, k, schema.Fields[f].Name, c.Values[f], w[f])
			}
		}
	}
	return got
}

// sameValue compares a value read from a CRM with the one a record
// carries: an empty or null value as no value, a country code in any
// case.
func sameValue(f *pipeline.Field, got, want string) bool {
	if pipeline.IsEmpty(want) {
		return got == "" || (f.Kind == pipeline.KindList && got == "[]")
	}
	if f.Kind == pipeline.KindCountry {
		return strings.EqualFold(got, want)
	}
	return got == want
}

// keepCreateOnly copies into want the create-only values of first: a
// customer created keeps them whatever its source becomes.
func keepCreateOnly(s *pipeline.Schema, want, first map[string][]string) {
	for k, w := range want {
		f0, ok := first[k]
		if !ok {
			continue
		}
		for f := range w {
			if s.Fields[f].CreateOnly {
				w[f] = f0[f]
			}
		}
	}
}

// editFields are the source fields the test edits: a phone, which every
// shipped mapping migrates into a field the target updates.
var editFields = map[string]string{"tamio": "phone", "tiquo": "phone", "count": "mainPhone", "revnue": "mobile"}

// editSource gives five migrated customers a new phone in the source,
// through the source's own connector, and returns their ids.
func editSource(t *testing.T, a *account, s *seeded, rejected map[string]string, ids []string) []string {
	t.Helper()
	f := s.schema.Index(editFields[a.conn.Name])
	if f < 0 {
		t.Fatalf("%s has no field %s", a.conn.Name, editFields[a.conn.Name])
	}
	var edited []string
	for i := 0; len(edited) < 5; i += 7 {
		if _, ok := rejected[ids[i]]; ok {
			continue
		}
		v := fmt.Sprintf("+49 30 %08d", 12345600+i)
		if s.schema.Fields[f].Kind == pipeline.KindPhone {
			v = strings.ReplaceAll(v, " ", "")
		}
		s.records[i][f] = v
		edited = append(edited, ids[i])
	}
	sum := s.write(t, a, "edit-out")
	if sum.Rows.Updated != int64(len(edited)) || sum.Rows.Created != 0 {
		t.Fatalf("editing %s: %+v, want %d updated", a.conn.Name, sum.Rows, len(edited))
	}
	return edited
}

// firstLines returns the first n lines of a file, for a message.
func firstLines(t *testing.T, path string, n int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// checkSameAs fails unless each migrated customer among the target's
// customers got holds in each field of pairs the value of its source
// field.
func checkSameAs(t *testing.T, got map[string]pipeline.Customer, schema *pipeline.Schema, s *seeded, keys []string, pairs [][3]string) {
	t.Helper()
	norm := map[string]func(string) string{
		"text": func(v string) string { return v },
		"fold": strings.ToLower,
		"digits": func(v string) string {
			return strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, v)
		},
	}
	bad := 0
	for _, p := range pairs {
		dst, src := schema.Index(p[0]), s.schema.Index(p[1])
		if dst < 0 || src < 0 {
			t.Fatalf("no field %s in the target or %s in the source", p[0], p[1])
		}
		for i, rec := range s.records {
			c, ok := got[keys[i]]
			if keys[i] == "" || !ok {
				continue
			}
			if g, w := norm[p[2]](c.Values[dst]), norm[p[2]](rec[src]); g != w && bad < 10 {
				bad++
				t.Errorf("%s customer %q: %s=%q, but the source's %s is %q", schema.API, keys[i], p[0], c.Values[dst], p[1], rec[src])
			}
		}
	}
}
