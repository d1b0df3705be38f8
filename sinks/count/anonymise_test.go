package count_test

import (
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
	"time"

	"crmsync/gdpr"
	"crmsync/pipeline"
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
	"crmsync/state"
)

// TestEraseAnonymises syncs the head of the shipped sample into a COUNT
// emulator on a SQLite file, fills every other field COUNT holds for two
// of the customers, and erases them by email with crmsync erase. COUNT
// cannot delete, so erase anonymises: after it, no table of the
// emulator's file holds any value of the first subject but in the
// contacts COUNT's update ignores, which the log and the summary name as
// left to clear by hand. The others are untouched, the state forgets the
// subject, a dry run and --max-delete write nothing, and a rerun, after a
// run killed between its write and its log row too, finds the subjects
// already anonymised and writes nothing.
func TestEraseAnonymises(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "count.db")
	srv, err := counttest.NewServer(counttest.Options{DBPath: db, RateLimit: noLimit})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("COUNT_TOKEN", srv.Token)
	t.Setenv("COUNT_CLIENT_ID", srv.ClientID)
	t.Setenv("COUNT_CLIENT_SECRET", srv.ClientSecret)
	creds := count.Credentials{Token: srv.Token, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret}
	client := count.NewClient(count.ClientOptions{BaseURL: srv.URL, Credentials: creds, Pacer: pipeline.NewPacer(pipeline.PacerOptions{})})
	defer client.CloseIdleConnections()

	statePath := filepath.Join(dir, "state.db")
	source := sampleHead(t, 8)
	if code, out := crmsync(t, "sync", "--source", source, "--mapping", "../../samples/customers.count.yaml", "--target", srv.URL,
		"--rate", "1000", "--state", statePath, "--out", filepath.Join(dir, "sync"), "--progress", "none"); code != 0 && code != 3 {
		t.Fatalf("sync: exit %d:\n%s", code, out)
	}
	page, err := client.List(ctx, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Customers) < 5 {
		t.Fatalf("the sync made %d customers", len(page.Customers))
	}
	ids := make([]string, len(page.Customers))
	for i, raw := range page.Customers {
		ids[i] = decodeObject(t, raw)["id"].(string)
	}
	subject, second, others := ids[0], ids[1], ids[2:]
	for i, id := range []string{subject, second} {
		c := decodeObject(t, mustGet(t, client, id))
		addr := func(kind string) map[string]any {
			return map[string]any{"street": fmt.Sprintf("Erasmusgracht %d%s", 10+i, kind), "city": "Zaandijk" + kind, "state": "Noord-Holland" + kind,
				"zipCode": fmt.Sprintf("15%d4 KL", i), "country": "Nederland" + kind}
		}
		err := client.Update(ctx, id, map[string]any{"customer": c["customer"], "email": c["email"], "website": fmt.Sprintf("https://person-%d.example.org/home", i),
			"billingAddress": addr(""), "shippingAddress": addr(" (shipping)")})
		if err != nil {
			t.Fatal(err)
		}
	}
	held := decodeObject(t, mustGet(t, client, subject))
	needles := personalValues(held)
	for _, k := range []string{"customer", "email", "mainPhone", "website"} {
		if v, _ := held[k].(string); v == "" || !slices.Contains(needles, v) {
			t.Fatalf("the subject holds no %s to erase: %v", k, held)
		}
	}
	if contacts, _ := held["contacts"].([]any); len(contacts) == 0 {
		t.Fatal("the subject has no contact: the test shows nothing of what is left")
	}
	email := held["email"].(string)
	secondEmail := decodeObject(t, mustGet(t, client, second))["email"].(string)
	before := map[string]string{}
	for _, id := range others {
		before[id] = string(mustGet(t, client, id))
	}
	puts := func() int64 {
		var n int64
		for _, c := range srv.Stats().Requests["PUT /customers/{uuid}"] {
			n += c
		}
		return n
	}

	out := filepath.Join(dir, "erase")
	subjects := filepath.Join(dir, "subjects.csv")
	if err := os.WriteFile(subjects, []byte("email\n"+strings.ToUpper(email)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	erase := func(extra ...string) (int, string) {
		return crmsync(t, append([]string{"erase", "--api", "count", "--target", srv.URL, "--rate", "1000", "--subjects", subjects,
			"--out", out, "--state", statePath}, extra...)...)
	}

	putsBefore := puts()
	if code, text := erase("--dry-run"); code != 0 || !strings.Contains(text, "would anonymise 1 customers") {
		t.Fatalf("dry run: exit %d:\n%s", code, text)
	}
	plan := logRows(t, filepath.Join(out, "erasure-dry-run.csv"))
	if len(plan) != 1 || plan[0]["outcome"] != gdpr.OutcomeWouldAnonymise || plan[0]["crm_id"] != subject {
		t.Errorf("dry-run plan %v", plan)
	}
	if code, text := erase("--max-delete", "0"); code != 4 {
		t.Fatalf("--max-delete 0: exit %d:\n%s", code, text)
	}
	if n := puts() - putsBefore; n != 0 {
		t.Fatalf("the dry run and the aborted run sent %d PUTs", n)
	}

	code, text := erase()
	if code != 0 || !strings.Contains(text, "1 customers anonymised") || !strings.Contains(text, "left to clear by hand: 1 anonymised customers still hold contacts") {
		t.Fatalf("erase: exit %d:\n%s", code, text)
	}
	if strings.Contains(strings.ToLower(text), strings.ToLower(email)) {
		t.Error("the erase's output holds the subject's email")
	}
	logPath := filepath.Join(out, "erasure-log.csv")
	log := logRows(t, logPath)
	var got []string
	for _, r := range log {
		if r["crm_id"] != subject || r["email_sha256"] != gdpr.EmailHash(email) {
			t.Errorf("log row %v does not name the subject", r)
		}
		got = append(got, r["outcome"]+"/"+r["left_to_clear"])
	}
	if want := []string{"anonymising/", "anonymised/" + count.LeftContacts}; !slices.Equal(got, want) {
		t.Errorf("log outcomes %v, want %v", got, want)
	}
	after := decodeObject(t, mustGet(t, client, subject))
	if after["customer"] != pipeline.ErasedPlaceholder(subject) || after["email"] != pipeline.ErasedEmail(subject) || after["status"] != held["status"] {
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
	if len(entries) < len(ids)-1 {
		t.Errorf("the state holds %d customers, want the %d not erased", len(entries), len(ids)-1)
	}

	// A run killed after its write and before its log row: the log says
	// anonymising, and the customer holds the placeholders already.
	elog, err := gdpr.OpenErasureLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	err = elog.Append(gdpr.ErasureEntry{Time: time.Now(), Run: "killed", CRMID: second, MatchSHA256: gdpr.EmailHash(secondEmail), Outcome: gdpr.OutcomeAnonymising})
	elog.Close()
	if err != nil {
		t.Fatal(err)
	}
	an, err := count.NewAnonymiser(count.Options{BaseURL: srv.URL, Credentials: creds, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	res := make([]pipeline.Anonymisation, 1)
	if err := an.Anonymise(ctx, []string{second}, res); err != nil || res[0].Outcome != pipeline.Anonymised || !slices.Equal(res[0].Left, []string{count.LeftContacts}) {
		t.Fatalf("anonymising the second subject: %+v, %v", res[0], err)
	}
	an.Close()
	if err := os.WriteFile(subjects, []byte("email\n"+email+"\n"+secondEmail+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	putsBefore = puts()
	code, text = erase()
	if code != 0 || !strings.Contains(text, "0 customers anonymised, 0 failed; 2 already anonymised") {
		t.Errorf("rerun: exit %d:\n%s", code, text)
	}
	if n := puts() - putsBefore; n != 0 {
		t.Errorf("the rerun sent %d PUTs", n)
	}
	log = logRows(t, logPath)
	last := log[len(log)-2:]
	for i, id := range []string{subject, second} {
		if r := last[i]; r["crm_id"] != id || r["outcome"] != gdpr.OutcomeAlreadyAnonymised || r["left_to_clear"] != count.LeftContacts {
			t.Errorf("rerun's row %d: %v", i, r)
		}
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range scanDB(t, db, needles, "customers.contacts") {
		t.Errorf("the emulator's file still holds the subject's %s", f)
	}
	if f := scanDB(t, db, []string{email}); len(f) != 1 || f[0] != email+" in customers.contacts" {
		t.Errorf("the subject's email is left in %v, want in its contacts alone", f)
	}
}

// mustGet reads a customer as COUNT answers it.
func mustGet(t *testing.T, c *count.Client, id string) json.RawMessage {
	t.Helper()
	raw, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodeObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// personalValues are the texts a customer object holds of the person:
// every string in it but its id, status and times.
func personalValues(obj map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if x != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for k, v := range obj {
		if k != "id" && k != "status" && k != "createdAt" && k != "updatedAt" {
			walk(v)
		}
	}
	return out
}

// logRows reads an erasure log or dry-run plan as maps by column.
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
// (without regard to case), but in the columns skip names.
func scanDB(t *testing.T, path string, needles []string, skip ...string) []string {
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
				if slices.Contains(skip, table+"."+cols[i]) {
					continue
				}
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

// TestAnonymiseUnderFaults anonymises 30 customers, half of them without
// contacts, while COUNT fails requests and loses the answers of PUTs it
// applied: each is retried until answered, every customer ends anonymised
// and reported with its contacts as left, and a customer COUNT does not
// hold is reported absent.
func TestAnonymiseUnderFaults(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	var ids []string
	for i := range 30 {
		m := full(i)
		if i%2 == 1 {
			m = only(m, "customer", "email", "mainPhone", "website", "billingAddress.street", "shippingAddress.city")
		}
		ids = append(ids, a.seed(t, body(m)))
	}
	an, err := count.NewAnonymiser(a.options(count.Options{Concurrency: 4}))
	if err != nil {
		t.Fatal(err)
	}
	defer an.Close()
	a.srv.SetFaults(counttest.Faults{Seed: 3, ErrorRate: 0.1, LostAnswerRate: 0.3})
	gone := "7c1f6a53-2d1e-4a4b-9c55-0d8e7f3a2b10"
	res := make([]pipeline.Anonymisation, len(ids)+1)
	err = an.Anonymise(context.Background(), append(ids, gone), res)
	a.srv.SetFaults(counttest.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	if a.srv.Stats().Requests["PUT /customers/{uuid}"]["lost"] == 0 {
		t.Fatal("no PUT answer was lost: the test shows nothing of retries")
	}
	reader, err := count.NewAPI(a.options(count.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for i, id := range ids {
		var left []string
		if i%2 == 0 {
			left = []string{count.LeftContacts}
		}
		if res[i].Outcome != pipeline.Anonymised || !slices.Equal(res[i].Left, left) {
			t.Errorf("customer %d: %+v", i, res[i])
		}
		c, err := reader.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		held := decodeObject(t, c.Raw)
		if held["customer"] != pipeline.ErasedPlaceholder(id) || held["email"] != pipeline.ErasedEmail(id) || held["mainPhone"] != nil ||
			held["website"] != nil || held["billingAddress"] != nil || held["shippingAddress"] != nil || held["status"] != "active" {
			t.Errorf("customer %d holds %v", i, held)
		}
		if done, l := an.Check(c); !done || !slices.Equal(l, left) {
			t.Errorf("customer %d checked anonymised %v, left %v", i, done, l)
		}
	}
	// One that holds an address again is not anonymised.
	if err := a.client.Update(context.Background(), ids[0], map[string]any{"customer": pipeline.ErasedPlaceholder(ids[0]),
		"email": pipeline.ErasedEmail(ids[0]), "shippingAddress": map[string]any{"city": "Tilbury"}}); err != nil {
		t.Fatal(err)
	}
	if c, err := reader.Get(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	} else if done, _ := an.Check(c); done {
		t.Error("a customer holding a shipping address checked anonymised")
	}
	if res[len(ids)].Outcome != pipeline.AnonymiseAbsent {
		t.Errorf("the customer COUNT does not hold: %+v", res[len(ids)])
	}
}
