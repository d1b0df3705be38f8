package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
	"crmsync/state"
)

// recorder is a reverse proxy on 127.0.0.1 in front of the emulator that
// keeps the body of every update request, so a test can see which fields
// a run sent.
type recorder struct {
	URL     string
	mu      sync.Mutex
	updates []map[string]any
}

func newRecorder(t *testing.T, srv *tamiotest.Server) *recorder {
	t.Helper()
	target, err := url.Parse(strings.TrimSuffix(srv.URL, "/v2"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/customers/update/") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("update body is not JSON: %s", body)
			}
			rec.mu.Lock()
			rec.updates = append(rec.updates, m)
			rec.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	rec.URL = "http://" + ln.Addr().String() + "/v2"
	return rec
}

func (r *recorder) taken() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.updates
	r.updates = nil
	return out
}

// syncState runs the binary against target with a state file and reads
// its summary.
func syncState(t *testing.T, key, source, mapping, target, out, statePath string, wantCode int, extra ...string) *cli.Summary {
	t.Helper()
	args := syncArgs(source, mapping, target, out, append([]string{"--state", statePath}, extra...)...)
	res := runBinary(t, key, args...)
	if res.code != wantCode {
		t.Fatalf("crmsync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, wantCode, res.stdout, res.stderr)
	}
	s := readSummary(t, out)
	checkCounts(t, s)
	return s
}

// TestIncrementalSync follows a nightly job: a first load, the same file
// again (no writes at all), a file with 1% of rows changed (exactly those
// updates, with only the changed fields and the name tamio requires), and
// an email changed under the same key (an update of the same customer).
func TestIncrementalSync(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	rec := newRecorder(t, srv)
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	day1, rows := generate(t, dir, "day1.csv", fixtures.Options{Rows: 2000, Seed: 3, BadShare: 0.02})

	s1 := syncState(t, srv.APIKey, day1, mapping, rec.URL, filepath.Join(dir, "out1"), statePath, cli.ExitRejects)
	if s1.Rows.Created == 0 {
		t.Fatalf("first run created nothing: %+v", s1.Rows)
	}
	before := writeCalls(sandboxStats(t, srv))

	s2 := syncState(t, srv.APIKey, day1, mapping, rec.URL, filepath.Join(dir, "out2"), statePath, cli.ExitRejects)
	if after := writeCalls(sandboxStats(t, srv)); !mapsEqual(before, after) {
		t.Errorf("the second run over the same file wrote: calls before %v, after %v", before, after)
	}
	if s2.RejectsByCode["duplicate_key"] != s1.RejectsByCode["duplicate_key"] || s2.RejectsByCode["duplicate_key"] == 0 {
		t.Errorf("repeated keys: %d rejected on the first run, %d on the second", s1.RejectsByCode["duplicate_key"], s2.RejectsByCode["duplicate_key"])
	}
	if s2.Rows.Unchanged != s1.Rows.Created || s2.Rows.Created+s2.Rows.Updated != 0 {
		t.Errorf("second run: %+v; want %d unchanged and nothing written", s2.Rows, s1.Rows.Created)
	}
	if s2.API.Calls > 2 {
		t.Errorf("second run made %d API calls; with the state it needs only the key check", s2.API.Calls)
	}
	if d := readCSVFile(t, filepath.Join(dir, "out2", "diff.csv")); len(d) != 1 {
		t.Errorf("second run's diff.csv has %d rows, want only the header", len(d)-1)
	}
	// Rejected rows were tried again, and the state counts their streak.
	if st, err := state.Open(context.Background(), statePath); err != nil {
		t.Fatal(err)
	} else {
		failing, err := st.Failing(context.Background(), 1, 10000)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(failing) == 0 || int64(len(failing)) > s2.Rows.Rejected {
			t.Errorf("%d keys failing in the state, after runs that rejected %d rows", len(failing), s2.Rows.Rejected)
		}
		for _, f := range failing {
			if f.Runs != 2 || f.Code == "" {
				t.Errorf("key %s: failing %d runs in a row (code %q), want 2 with a code", f.Key, f.Runs, f.Code)
				break
			}
		}
	}

	// Change 1% of the rows that were synced: the last name of half, the
	// phone of the other half.
	rejected := rejectedRows(t, filepath.Join(dir, "out1"))
	day2 := slices.Clone(rows)
	type change struct{ key, field, value string }
	var changes []change
	for i := 1; i < len(day2) && len(changes) < 20; i += 97 {
		if rejected[int64(i)] {
			continue
		}
		r := slices.Clone(day2[i])
		if len(changes)%2 == 0 {
			r[2] = strings.Fields(r[2])[0] + " Changedname"
			changes = append(changes, change{r[0], "last_name", "Changedname"})
		} else {
			r[4] = "+49 30 5550" + strings.Repeat("1", 4)
			changes = append(changes, change{r[0], "phone", "+493055501111"})
		}
		day2[i] = r
	}
	day2Path := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, day2Path, day2)
	rec.taken()
	s3 := syncState(t, srv.APIKey, day2Path, mapping, rec.URL, filepath.Join(dir, "out3"), statePath, cli.ExitRejects)
	if s3.Rows.Updated != int64(len(changes)) || s3.Rows.Created != 0 {
		t.Errorf("1%% changed: %+v; want exactly %d updates", s3.Rows, len(changes))
	}
	updates := rec.taken()
	if len(updates) != len(changes) {
		t.Errorf("%d update calls, want %d", len(updates), len(changes))
	}
	for _, body := range updates {
		var fields []string
		for k := range body {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		if len(fields) != 2 || (fields[0] != "last_name" && fields[1] != "phone") || !slices.Contains(fields, "name") {
			t.Errorf("an update sent %v; want name and the one changed field", fields)
		}
	}
	diff := readCSVFile(t, filepath.Join(dir, "out3", "diff.csv"))
	if len(diff)-1 != len(changes) {
		t.Errorf("diff.csv has %d rows, want %d:\n%v", len(diff)-1, len(changes), diff)
	}
	for _, ch := range changes {
		found := false
		for _, d := range diff[1:] {
			if d[0] == ch.key && d[2] == "update" && d[3] == ch.field && d[5] == ch.value && d[1] != "" {
				found = d[4] != "" && d[4] != d[5]
			}
		}
		if !found {
			t.Errorf("diff.csv lacks the update of %s %s to %q with its old value", ch.key, ch.field, ch.value)
		}
	}

	// An email change under the same key updates the same customer.
	day3 := slices.Clone(day2)
	i := firstSynced(rejected, len(day3))
	oldEmail := strings.ToLower(day3[i][1])
	day3[i] = slices.Clone(day3[i])
	day3[i][1] = "moved." + oldEmail
	day3Path := filepath.Join(dir, "day3.csv")
	writeCSVFile(t, day3Path, day3)
	customers := crmCustomers(t, srv)
	id := customers[oldEmail].ID
	s4 := syncState(t, srv.APIKey, day3Path, mapping, rec.URL, filepath.Join(dir, "out4"), statePath, cli.ExitRejects)
	if s4.Rows.Updated != 1 || s4.Rows.Created != 0 {
		t.Errorf("email change: %+v; want one update", s4.Rows)
	}
	after := crmCustomers(t, srv)
	if len(after) != len(customers) {
		t.Errorf("the CRM went from %d to %d customers on an email change", len(customers), len(after))
	}
	if c, ok := after["moved."+oldEmail]; !ok || c.ID != id {
		t.Errorf("the customer %s did not get the new email (found %+v)", id, c)
	}
}

func firstSynced(rejected map[int64]bool, n int) int {
	for i := 1; i < n; i++ {
		if !rejected[int64(i)] {
			return i
		}
	}
	return -1
}

func rejectedRows(t *testing.T, out string) map[int64]bool {
	t.Helper()
	rows := readCSVFile(t, filepath.Join(out, "rejects.csv"))
	at := column(t, rows[0], "_row")
	m := map[int64]bool{}
	for _, r := range rows[1:] {
		n, err := strconv.ParseInt(r[at], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = true
	}
	return m
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMirrorDeletes checks that a mirror run deletes exactly the customers
// whose keys left the source, and refuses to delete anything when the
// source is empty or shrank past --max-delete.
func TestMirrorDeletes(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	day1, rows := generate(t, dir, "day1.csv", fixtures.Options{Rows: 600, Seed: 5})
	syncState(t, srv.APIKey, day1, mapping, srv.URL, filepath.Join(dir, "out1"), statePath, cli.ExitOK, "--mode", "mirror")
	all := crmCustomers(t, srv)

	// Remove 12 rows (2%).
	var gone []string
	var kept [][]string
	for i, r := range rows {
		if i > 0 && i%50 == 0 {
			gone = append(gone, strings.ToLower(strings.TrimSpace(r[1])))
			continue
		}
		kept = append(kept, r)
	}
	day2 := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, day2, kept)

	// A dry run says what it would delete and deletes nothing.
	sd := syncState(t, srv.APIKey, day2, mapping, srv.URL, filepath.Join(dir, "dry"), statePath, cli.ExitOK, "--mode", "mirror", "--dry-run")
	if sd.Rows.Deleted != int64(len(gone)) || len(crmCustomers(t, srv)) != len(all) {
		t.Errorf("dry run: deleted %d (want %d reported, none done)", sd.Rows.Deleted, len(gone))
	}

	s := syncState(t, srv.APIKey, day2, mapping, srv.URL, filepath.Join(dir, "out2"), statePath, cli.ExitOK, "--mode", "mirror")
	if s.Rows.Deleted != int64(len(gone)) {
		t.Errorf("deleted %d, want %d", s.Rows.Deleted, len(gone))
	}
	after := crmCustomers(t, srv)
	for email := range all {
		_, still := after[email]
		if want := !slices.Contains(gone, email); still != want {
			t.Errorf("%s: in the CRM after mirror = %v, want %v", email, still, want)
		}
	}
	var deletes int
	for _, d := range readCSVFile(t, filepath.Join(dir, "out2", "diff.csv"))[1:] {
		if d[2] == "delete" {
			deletes++
		}
	}
	if deletes != len(gone) {
		t.Errorf("diff.csv lists %d deletes, want %d", deletes, len(gone))
	}

	// An empty source (the header only) deletes nothing.
	empty := filepath.Join(dir, "empty.csv")
	writeCSVFile(t, empty, rows[:1])
	se := syncState(t, srv.APIKey, empty, mapping, srv.URL, filepath.Join(dir, "out3"), statePath, cli.ExitAborted, "--mode", "mirror")
	if se.Rows.Deleted != 0 || len(crmCustomers(t, srv)) != len(after) {
		t.Errorf("an empty source deleted customers")
	}
	if len(se.Warnings) == 0 || !strings.Contains(se.Warnings[0], "empty") {
		t.Errorf("warnings %q do not say the source is empty", se.Warnings)
	}

	// A source that shrank by half is refused at the default 5%.
	writeCSVFile(t, filepath.Join(dir, "half.csv"), kept[:len(kept)/2])
	sh := syncState(t, srv.APIKey, filepath.Join(dir, "half.csv"), mapping, srv.URL, filepath.Join(dir, "out4"), statePath, cli.ExitAborted, "--mode", "mirror")
	if sh.Rows.Deleted != 0 || len(crmCustomers(t, srv)) != len(after) {
		t.Errorf("a halved source deleted customers")
	}
}

// TestMaxBlankGuard blanks the phone of every row, as a broken export
// would: the run aborts before blanking any, and a dry run warns.
func TestMaxBlankGuard(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	day1, rows := generate(t, dir, "day1.csv", fixtures.Options{Rows: 400, Seed: 9})
	syncState(t, srv.APIKey, day1, mapping, srv.URL, filepath.Join(dir, "out1"), statePath, cli.ExitOK)
	phones := 0
	for _, c := range crmCustomers(t, srv) {
		if c.Phone != "" {
			phones++
		}
	}
	broken := slices.Clone(rows)
	for i := 1; i < len(broken); i++ {
		broken[i] = slices.Clone(broken[i])
		broken[i][4] = ""
	}
	day2 := filepath.Join(dir, "day2.csv")
	writeCSVFile(t, day2, broken)

	sd := syncState(t, srv.APIKey, day2, mapping, srv.URL, filepath.Join(dir, "dry"), statePath, cli.ExitOK, "--dry-run")
	if len(sd.Warnings) == 0 || !strings.Contains(sd.Warnings[0], "phone") {
		t.Errorf("dry run warnings %q do not warn of blanking phone", sd.Warnings)
	}
	s := syncState(t, srv.APIKey, day2, mapping, srv.URL, filepath.Join(dir, "out2"), statePath, cli.ExitAborted)
	if s.Rows.Updated != 0 {
		t.Errorf("the guarded run updated %d customers", s.Rows.Updated)
	}
	left := 0
	for _, c := range crmCustomers(t, srv) {
		if c.Phone != "" {
			left++
		}
	}
	if left != phones {
		t.Errorf("%d customers lost their phone; the guard should have stopped every one", phones-left)
	}
	// Raised, the same run goes through.
	s2 := syncState(t, srv.APIKey, day2, mapping, srv.URL, filepath.Join(dir, "out3"), statePath, cli.ExitOK, "--max-blank", "100%")
	if s2.Rows.Updated != int64(phones) {
		t.Errorf("with --max-blank 100%%, %d updates, want %d", s2.Rows.Updated, phones)
	}
}

// stateMatchesCRM checks that every key the state links to a customer
// names one the CRM holds, with the email the state recorded, and that
// the CRM holds no customer the state does not know.
func stateMatchesCRM(t *testing.T, statePath string, srv *tamiotest.Server) {
	t.Helper()
	st, err := state.Open(context.Background(), statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	crm := crmCustomers(t, srv)
	byID := map[string]string{}
	for email, c := range crm {
		byID[c.ID] = email
	}
	linked := map[string]bool{}
	if err := st.Synced(context.Background(), func(key, id, match string) error {
		email, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("state: key %s → customer %s, which the CRM does not hold", key, id)
		case !strings.EqualFold(email, match):
			t.Errorf("state: key %s → %s recorded with %s, the CRM holds %s", key, id, match, email)
		case linked[id]:
			t.Errorf("state: customer %s is linked to two keys", id)
		}
		linked[id] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(linked) != len(crm) {
		t.Errorf("the state links %d customers, the CRM holds %d", len(linked), len(crm))
	}
}

// TestReconcileCatchesCRMEdits edits customers in the CRM behind crmsync's
// back: a normal incremental run trusts its state and sends nothing, a
// --reconcile run reads the CRM and puts the source's values back.
func TestReconcileCatchesCRMEdits(t *testing.T) {
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	day1, _ := generate(t, dir, "day1.csv", fixtures.Options{Rows: 300, Seed: 12})
	syncState(t, srv.APIKey, day1, mapping, srv.URL, filepath.Join(dir, "out1"), statePath, cli.ExitOK)

	c := tamio.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	edited := map[string]string{}
	n := 0
	for email, cu := range crmCustomers(t, srv) {
		if n == 3 {
			break
		}
		n++
		if _, err := c.Update(context.Background(), cu.ID, map[string]any{"name": cu.Name, "last_name": "EditedInCRM"}); err != nil {
			t.Fatal(err)
		}
		edited[email] = cu.LastName
	}

	s := syncState(t, srv.APIKey, day1, mapping, srv.URL, filepath.Join(dir, "out2"), statePath, cli.ExitOK)
	if s.Rows.Updated != 0 {
		t.Errorf("a normal run updated %d; it trusts the state", s.Rows.Updated)
	}
	s = syncState(t, srv.APIKey, day1, mapping, srv.URL, filepath.Join(dir, "out3"), statePath, cli.ExitOK, "--reconcile")
	if s.Rows.Updated != int64(len(edited)) || s.Rows.Created != 0 {
		t.Errorf("--reconcile: %+v; want %d updates", s.Rows, len(edited))
	}
	after := crmCustomers(t, srv)
	for email, want := range edited {
		if got := after[email].LastName; got != want {
			t.Errorf("%s: last name %q after --reconcile, want %q back", email, got, want)
		}
	}
	diff := readCSVFile(t, filepath.Join(dir, "out3", "diff.csv"))
	if len(diff)-1 != len(edited) {
		t.Errorf("diff.csv of the reconcile has %d rows, want %d", len(diff)-1, len(edited))
	}
}
