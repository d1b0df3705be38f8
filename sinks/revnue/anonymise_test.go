package revnue_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/gdpr"
	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
	"crmsync/state"
)

// TestEraseAnonymises syncs the head of the shipped sample into a Revnue
// emulator on a SQLite file, fills every field of one customer, template
// values and signed flags included, and erases it with crmsync erase,
// named by the email of its contact person (Revnue matches by name: the
// erase finds the email by reading the list).
// Revnue cannot delete, so erase anonymises with a PUT of the whole
// record: afterwards no table of the emulator's file holds any value of
// the subject, the customer keeps its company and category under a
// placeholder name, the others are untouched, the state forgets it, the
// log says anonymised with nothing left to clear, and a second erase
// finds it already anonymised and writes nothing.
func TestEraseAnonymises(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "revnue.db")
	srv, err := revnuetest.NewServer(revnuetest.Options{DBPath: db, RateLimit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("REVNUE_TOKEN", srv.Token)
	client := revnue.NewClient(srv.URL, srv.Token, 1, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	defer client.CloseIdleConnections()

	statePath := filepath.Join(dir, "state.db")
	if code, out := crmsync(t, "sync", "--source", sampleHead(t, 8), "--mapping", "../../samples/customers.revnue.yaml", "--target", srv.URL,
		"--rate", "1000", "--state", statePath, "--out", filepath.Join(dir, "sync"), "--progress", "none"); code != 0 && code != 3 {
		t.Fatalf("sync: exit %d:\n%s", code, out)
	}
	page, err := client.List(ctx, "/api/v2/customer/", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) < 5 {
		t.Fatalf("the sync made %d customers", len(page.Items))
	}
	var ids []string
	for _, raw := range page.Items {
		ids = append(ids, fmt.Sprint(decodeObject(t, raw)["id"]))
	}
	subject, others := ids[0], ids[1:]
	name := decodeObject(t, mustGet(t, client, subject))["name"].(string)
	full := map[string]any{
		"company": 1, "name": name, "category": 2,
		"contact_person": map[string]any{"name": "Saskia Verbeek-Hollander", "email": "saskia.verbeek@person.example.org", "type": "billing"},
		"address_line_1": "Erasmusgracht 17", "address_line_2": "derde verdieping", "city": "Zaandijk", "state_province": "Noord-Holland",
		"zip_postal_code": "1544 KL", "country": 528, "phone": "+31 75 6123456", "mobile": "+31 6 98765432", "fax": "+31 75 6123457",
		"website": "https://saskia.example.org/", "general_description": "Saskia prefers calls after five",
		"supplementary_description": "Met Saskia at the Utrecht fair", "additional_description": "Allergic to peanuts, per her assistant",
		"nda_signed": true, "nda_signed_date": "2031-07-19", "msa_signed": true, "msa_signed_date": "2032-08-23",
		"template": map[string]any{"id": 1, "fields": []map[string]any{{"id": 1, "value": "987654.32"}, {"id": 2, "value": 4242421},
			{"id": 3, "value": "2033-09-27"}, {"id": 4, "value": "tier-of-saskia"}}},
	}
	if err := client.Replace(ctx, subject, full); err != nil {
		t.Fatal(err)
	}
	held := decodeObject(t, mustGet(t, client, subject))
	needles := personalValues(held)
	for _, v := range []string{name, "saskia.verbeek@person.example.org", "Netherlands", "2031-07-19", "987654.32", "4242421", "tier-of-saskia"} {
		if !slices.Contains(needles, v) {
			t.Fatalf("the subject holds no %q to erase: %v", v, held)
		}
	}
	before := map[string]string{}
	for _, id := range others {
		before[id] = string(mustGet(t, client, id))
	}
	puts := func() int64 {
		var n int64
		for route, byStatus := range srv.Stats().Requests {
			if strings.HasPrefix(route, "PUT ") {
				for _, c := range byStatus {
					n += c
				}
			}
		}
		return n
	}

	out := filepath.Join(dir, "erase")
	subjects := filepath.Join(dir, "subjects.csv")
	email := "saskia.verbeek@person.example.org"
	if err := os.WriteFile(subjects, []byte("email\n"+strings.ToUpper(email)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	erase := func() (int, string) {
		return crmsync(t, "erase", "--api", "revnue", "--target", srv.URL, "--rate", "1000", "--subjects", subjects,
			"--out", out, "--state", statePath)
	}
	putsBefore := puts()
	code, text := erase()
	if code != 0 || !strings.Contains(text, "1 customers anonymised, 0 failed") || strings.Contains(text, "left to clear") {
		t.Fatalf("erase: exit %d:\n%s", code, text)
	}
	if n := puts() - putsBefore; n != 1 {
		t.Errorf("the erase sent %d PUTs, want 1", n)
	}
	logPath := filepath.Join(out, "erasure-log.csv")
	var got []string
	for _, r := range logRows(t, logPath) {
		if r["crm_id"] != subject || r["email_sha256"] != gdpr.EmailHash(email) {
			t.Errorf("log row %v does not name the subject", r)
		}
		got = append(got, r["outcome"]+"/"+r["left_to_clear"])
	}
	if want := []string{"anonymising/", "anonymised/"}; !slices.Equal(got, want) {
		t.Errorf("log outcomes %v, want %v", got, want)
	}
	after := decodeObject(t, mustGet(t, client, subject))
	cat, _ := after["category"].(map[string]any)
	if after["name"] != pipeline.ErasedPlaceholder(subject) || fmt.Sprint(after["company"]) != "1" || cat == nil || fmt.Sprint(cat["id"]) != "2" ||
		after["nda_signed"] != false || after["msa_signed"] != false || after["template"] != nil || after["country"] != nil {
		t.Errorf("the anonymised customer: %v", after)
	}
	for _, id := range others {
		if now := string(mustGet(t, client, id)); now != before[id] {
			t.Errorf("customer %s, not named, changed:\n%s\n%s", id, before[id], now)
		}
	}
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = fmt.Sprintf("C1%05d", i+1)
	}
	entries := stateEntries(t, statePath, keys)
	for _, e := range entries {
		if e.CRMID == subject {
			t.Error("the state still holds the anonymised customer")
		}
	}
	if len(entries) != len(others) {
		t.Errorf("the state holds %d customers, want the %d not erased", len(entries), len(others))
	}

	putsBefore = puts()
	code, text = erase()
	if code != 0 || !strings.Contains(text, "0 customers anonymised, 0 failed; 1 already anonymised") {
		t.Errorf("rerun: exit %d:\n%s", code, text)
	}
	if n := puts() - putsBefore; n != 0 {
		t.Errorf("the rerun sent %d PUTs", n)
	}
	log := logRows(t, logPath)
	if r := log[len(log)-1]; r["crm_id"] != subject || r["outcome"] != gdpr.OutcomeAlreadyAnonymised {
		t.Errorf("the rerun logged %v", r)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range scanDB(t, db, needles) {
		t.Errorf("the emulator's file still holds the subject's %s", f)
	}
}

// sampleHead writes the header and the first n rows of the shipped sample
// to a file and returns its path.
func sampleHead(t *testing.T, n int) string {
	t.Helper()
	in, err := os.Open("../../samples/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	for i := 0; i <= n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	path := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// crmsync runs the command line with args and returns its exit code and
// what it wrote to standard output and standard error. It swaps the
// process's os.Stdout and os.Stderr, so its callers do not run in
// parallel.
func crmsync(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, out
	code := cli.Main(args)
	os.Stdout, os.Stderr = stdout, stderr
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(b)
}

// mustGet reads a customer as Revnue answers it.
func mustGet(t *testing.T, c *revnue.Client, id string) json.RawMessage {
	t.Helper()
	raw, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodeObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// personalValues are the texts and numbers a customer object holds of
// the person: every value in it but its id, company and category, and
// the signed flags.
func personalValues(obj map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if x != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		case json.Number:
			walk(x.String())
		case map[string]any:
			for k, e := range x {
				if k != "id" { // the template's
					walk(e)
				}
			}
		}
	}
	for k, v := range obj {
		if k != "id" && k != "company" && k != "category" {
			walk(v)
		}
	}
	return out
}

// logRows reads an erasure log as maps by column.
func logRows(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], gdpr.ErasureColumns) {
		t.Fatalf("%s has header %v", path, recs[0])
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// stateEntries reads the state's entries of keys.
func stateEntries(t *testing.T, path string, keys []string) map[string]*pipeline.StateEntry {
	t.Helper()
	st, err := state.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := st.Entries(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// scanDB reads every cell of every table of the SQLite file at path, as
// text, and returns "needle in table.column" for each needle a cell holds
// (without regard to case).
func scanDB(t *testing.T, path string, needles []string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var found []string
	cells := 0
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				cells++
				for _, n := range needles {
					if strings.Contains(strings.ToLower(v.String), strings.ToLower(n)) {
						found = append(found, fmt.Sprintf("%s in %s.%s", n, table, cols[i]))
					}
				}
			}
		}
		rows.Close()
	}
	if cells == 0 {
		t.Fatalf("%s holds no cell", path)
	}
	return found
}

// TestAnonymiserReadsFirst anonymises three customers and one Revnue does
// not hold: each is read first, a customer anonymised already is not
// written again, the PUT keeps the company and category, and the unknown
// id is reported absent, not refused.
func TestAnonymiserReadsFirst(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	var ids []string
	for i := range 3 {
		contact := map[string]any{"name": "Joost Dijkstra", "email": fmt.Sprintf("joost%d@person.example.org", i)}
		tmpl := map[string]any{"id": 1, "fields": []map[string]any{{"id": 4, "value": "gold"}}}
		ids = append(ids, a.seed(t, map[string]any{"company": 1, "name": fmt.Sprintf("Utrecht Fietsen %d", i), "category": 3,
			"contact_person": contact, "city": "Utrecht", "nda_signed": true, "template": tmpl}))
	}
	an, err := revnue.NewAnonymiser(revnue.Options{BaseURL: a.url, Token: a.srv.Token, Rate: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	defer an.Close()
	ctx := context.Background()
	res := make([]pipeline.Anonymisation, 1)
	if err := an.Anonymise(ctx, ids[:1], res); err != nil || res[0].Outcome != pipeline.Anonymised || res[0].Left != nil {
		t.Fatalf("first: %+v, %v", res[0], err)
	}
	a.front.requests() // forgets the first's
	res = make([]pipeline.Anonymisation, 4)
	if err := an.Anonymise(ctx, append(slices.Clone(ids), "987654"), res); err != nil {
		t.Fatal(err)
	}
	want := []pipeline.AnonymiseOutcome{pipeline.AlreadyAnonymised, pipeline.Anonymised, pipeline.Anonymised, pipeline.AnonymiseAbsent}
	for i, r := range res {
		if r.Outcome != want[i] || r.Left != nil || r.Err != nil {
			t.Errorf("customer %d: %+v, want outcome %d", i, r, want[i])
		}
	}
	rs := a.front.requests()
	if gets, puts := count(rs, "GET", ""), count(rs, "PUT", ""); gets != 4 || puts != 2 {
		t.Errorf("%d GETs and %d PUTs, want one GET each and a PUT for the two not anonymised", gets, puts)
	}
	for _, id := range ids {
		c := a.held(t, id)
		cat, _ := c["category"].(map[string]any)
		if c["name"] != pipeline.ErasedPlaceholder(id) || c["contact_person"] != nil || c["city"] != nil || c["nda_signed"] != false ||
			c["template"] != nil || cat == nil || fmt.Sprint(cat["id"]) != "3" || fmt.Sprint(c["company"]) != "1" {
			t.Errorf("customer %s holds %v", id, c)
		}
	}
}
