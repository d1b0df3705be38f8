package cli_test

// Tests of `crmsync export --targets` and of finding people by email in
// a CRM without find-by-email, over real HTTP against the embedded
// sandboxes of every API, each seeded by a `crmsync sync` of the shipped
// sample mapping.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"crmsync/cmd/crmsync/cli"
	"crmsync/gdpr"
	"crmsync/internal/fixtures"
)

// runIn runs the crmsync binary in dir, where the sandboxes keep their
// files (crmsync-sandbox-<api>.db), with no remotes file of the user's.
func runIn(t *testing.T, dir string, args ...string) binResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return waitBinary(t, cmd, &stdout, &stderr, started, 3*time.Minute)
}

// sampleHeader is the header of samples/customers.csv, which every
// shipped mapping reads.
var sampleHeader = []string{"customer_id", "email", "full_name", "country", "phone", "owner_email", "tier", "language", "utc_offset", "signup_date"}

// seedSandbox loads rows into the API's sandbox in dir with the shipped
// mapping of the API.
func seedSandbox(t *testing.T, dir, api string, rows [][]string, extra ...string) {
	t.Helper()
	src := filepath.Join(dir, "seed-"+api+".csv")
	writeCSVFile(t, src, append([][]string{sampleHeader}, rows...))
	mapping, err := filepath.Abs(sample("customers." + api + ".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"sync", "--source", src, "--mapping", mapping, "--target", "sandbox",
		"--out", filepath.Join(dir, "sync-"+api), "--progress", "none"}, extra...)
	if r := runIn(t, dir, args...); r.code != 0 {
		t.Fatalf("seeding %s: exit %d\n%s\n%s", api, r.code, r.stdout, r.stderr)
	}
}

// exportedFile is a subject's own file of an export across CRMs.
type exportedFile struct {
	API      string         `json:"api"`
	Target   string         `json:"target"`
	Customer map[string]any `json:"customer"`
}

// holders returns, for each folder of out, the emails (lower case) its
// subjects' files hold anywhere in the customer object; named says the
// files name their target (an export across CRMs).
func holders(t *testing.T, out string, folders []string, named bool) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, folder := range folders {
		files, err := filepath.Glob(filepath.Join(out, folder, "subjects", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc exportedFile
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if (doc.Target == "") == named || doc.API == "" || doc.Customer == nil {
				t.Errorf("%s names its target %v, no API, or holds no customer: %s", f, !named, data)
			}
			got[folder] = append(got[folder], emailsIn(doc.Customer)...)
		}
	}
	return got
}

// emailsIn returns every string value that looks like an email in v, in
// lower case.
func emailsIn(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			out = append(out, emailsIn(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, emailsIn(x)...)
		}
	case string:
		if strings.Contains(v, "@") {
			out = append(out, strings.ToLower(v))
		}
	}
	return out
}

// TestExportAcrossFourCRMs answers one request over the sandboxes of all
// four APIs: Ada is held by three of them and not the fourth, Bo by all
// four, a third person by none. Each CRM's folder holds the files of the
// people it holds, not_found.csv says where each person was not found,
// and the manifest's hashes are those of the files.
func TestExportAcrossFourCRMs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ada := []string{"C900001", "Ada.Quill@Example.org", "Ada Quill", "Germany", "+49 30 12345678", "", "gold", "de", "+01:00", "2024-01-01"}
	bo := []string{"C900002", "bo.ruth@example.net", "Bo Ruth", "France", "+33 1 42345678", "", "silver", "fr", "+01:00", "2023-05-06"}
	cy := []string{"C900003", "cy.only@example.com", "Cy Only", "Poland", "+48 22 1234567", "", "bronze", "pl", "+01:00", "2022-02-03"}
	for _, api := range []string{"tamio", "tiquo", "revnue"} {
		seedSandbox(t, dir, api, [][]string{ada, bo})
	}
	seedSandbox(t, dir, "count", [][]string{bo, cy})

	subjects := writeSubjects(t, filepath.Join(dir, "request.csv"), []string{"name", "Email"},
		[]string{"Ada", "ADA.QUILL@example.org"}, []string{"Bo", "bo.ruth@example.net"}, []string{"Nobody", "nobody.here@example.com"})
	targets := []string{"sandbox:tamio", "sandbox:tiquo", "sandbox:count", "sandbox:revnue"}
	folders := []string{"sandbox-tamio", "sandbox-tiquo", "sandbox-count", "sandbox-revnue"}
	out := filepath.Join(dir, "sar")
	r := runIn(t, dir, "export", "--targets", strings.Join(targets, ","), "--subjects", subjects, "--out", out, "--progress", "none")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("%s", r.stdout)
	for _, p := range []string{"ada.quill", "bo.ruth", "nobody.here"} {
		if strings.Contains(r.stdout+r.stderr, p) {
			t.Errorf("the output names a subject (%s):\n%s\n%s", p, r.stdout, r.stderr)
		}
	}

	// Every file as the manifest says, and nothing else in the export.
	files, err := gdpr.VerifyManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, out)
	var m cli.ExportTargetsManifest
	if _, err := gdpr.ReadManifest(out, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Targets) != 4 || m.Counts.Subjects != 3 || m.Counts.Exported != 7 || m.Counts.NotFoundSomewhere != 2 ||
		m.Counts.NotFoundAnywhere != 1 || m.Counts.Files != len(files) {
		t.Errorf("manifest counts %+v, %d targets, %d files", m.Counts, len(m.Targets), len(files))
	}
	wantFound := map[string]int64{"sandbox:tamio": 2, "sandbox:tiquo": 2, "sandbox:count": 1, "sandbox:revnue": 2}
	for i, tg := range m.Targets {
		if tg.Name != targets[i] || tg.Folder != folders[i] || tg.API != strings.TrimPrefix(targets[i], "sandbox:") ||
			!strings.HasPrefix(tg.KeyFingerprint, "sha256:") || tg.Counts.Found != wantFound[tg.Name] ||
			tg.Counts.Exported != wantFound[tg.Name] || tg.Counts.NotFound != 3-wantFound[tg.Name] || tg.Calls.Calls == 0 {
			t.Errorf("target %d: %+v", i, tg)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(out, gdpr.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(manifest, []byte("@")) {
		t.Errorf("the manifest holds an email:\n%s", manifest)
	}
	for _, f := range files {
		top, _, nested := strings.Cut(f.Path, "/")
		if !nested && f.Path != "not_found.csv" || nested && !slices.Contains(folders, top) {
			t.Errorf("%s is neither a CRM's file nor not_found.csv", f.Path)
		}
	}

	// Three folders hold Ada's files, the fourth does not; Bo is in all.
	held := holders(t, out, folders, true)
	for _, folder := range folders {
		hasAda := slices.Contains(held[folder], "ada.quill@example.org")
		if hasAda == (folder == "sandbox-count") {
			t.Errorf("%s: holds Ada %v (its emails: %v)", folder, hasAda, held[folder])
		}
		if !slices.Contains(held[folder], "bo.ruth@example.net") {
			t.Errorf("%s does not hold Bo (its emails: %v)", folder, held[folder])
		}
		if slices.Contains(held[folder], "cy.only@example.com") {
			t.Errorf("%s holds someone the request does not name", folder)
		}
		table := tableRows(t, "jsonl", mustRead(t, filepath.Join(out, folder, "customers.jsonl")))
		if want := wantFound[strings.Replace(folder, "-", ":", 1)]; int64(len(table)) != want {
			t.Errorf("%s's table has %d rows, want %d", folder, len(table), want)
		}
	}

	nf := readCSVFile(t, filepath.Join(out, "not_found.csv"))
	want := [][]string{
		{"row", "email", "not_found_in", "not_read_in", "found_in"},
		{"1", "ADA.QUILL@example.org", "sandbox:count", "", "sandbox:tamio;sandbox:tiquo;sandbox:revnue"},
		{"3", "nobody.here@example.com", strings.Join(targets, ";"), "", ""},
	}
	if !slices.EqualFunc(nf, want, slices.Equal) {
		t.Errorf("not_found.csv:\n%q\nwant\n%q", nf, want)
	}

	// Encrypted, into the same --out: every file but the manifest is
	// age ciphertext under .age, and the plain export is replaced whole.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	// In this process, so that the race detector watches the CRMs
	// exported at once.
	remotesFile := filepath.Join(dir, "remotes.yaml")
	if err := os.WriteFile(remotesFile, []byte("remotes: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := runMain(t, "", "export", "--targets", strings.Join(targets, ","), "--subjects", subjects, "--out", out, "--progress", "none",
		"--age-recipient", id.Recipient().String(), "--config", remotesFile,
		"--sandbox-db", filepath.Join(dir, "crmsync-sandbox-<api>.db")); code != 0 {
		t.Fatalf("encrypted: exit %d", code)
	}
	files, err = gdpr.VerifyManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, out)
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".age") {
			t.Errorf("%s is not encrypted", f.Path)
		}
	}
	if len(files) != m.Counts.Files {
		t.Errorf("encrypted: %d files, plain %d", len(files), m.Counts.Files)
	}
	ct, err := os.Open(filepath.Join(out, "not_found.csv.age"))
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	pr, err := age.Decrypt(ct, id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseCSV(t, plain); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("decrypted not_found.csv %q", got)
	}
}

// TestExportAllAcrossCRMs exports two whole accounts with --all: each
// folder holds every customer of its CRM, and there is no not_found.csv.
func TestExportAllAcrossCRMs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, rows := generate(t, dir, "gen.csv", fixtures.Options{Rows: 30, Seed: 3})
	seedSandbox(t, dir, "tiquo", rows[1:21])
	seedSandbox(t, dir, "count", rows[11:])
	out := filepath.Join(dir, "all")
	r := runIn(t, dir, "export", "--targets", "sandbox:tiquo,sandbox:count", "--all", "--format", "csv", "--out", out, "--progress", "none")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	files, err := gdpr.VerifyManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	var m cli.ExportTargetsManifest
	if _, err := gdpr.ReadManifest(out, &m); err != nil {
		t.Fatal(err)
	}
	if m.Scope != "all" || m.Counts.Exported != 40 || m.Counts.Files != len(files) || len(files) != 40+2 {
		t.Errorf("manifest %+v, %d files", m.Counts, len(files))
	}
	for _, folder := range []string{"sandbox-tiquo", "sandbox-count"} {
		held := holders(t, out, []string{folder}, true)[folder]
		if table := readCSVFile(t, filepath.Join(out, folder, "customers.csv")); len(table) != 21 || len(held) < 20 {
			t.Errorf("%s: %d table rows, %d emails held", folder, len(table)-1, len(held))
		}
	}
	if _, err := os.Stat(filepath.Join(out, "not_found.csv")); !os.IsNotExist(err) {
		t.Errorf("--all wrote not_found.csv: %v", err)
	}
}

func parseCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestExportByEmailWithoutFindByEmail exports people from a CRM whose
// match field is no email (a company's name): by email, found in one walk
// of the list for all of them (two pages here), and by id.
func TestExportByEmailWithoutFindByEmail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sandbox.yaml")
	if err := os.WriteFile(cfg, []byte("rate_limit: 60000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, rows := generate(t, dir, "gen.csv", fixtures.Options{Rows: 150, Seed: 7})
	seedSandbox(t, dir, "revnue", rows[1:], "--sandbox-config", cfg, "--rate", "200")
	email := column(t, rows[0], "email")
	first, last := rows[3][email], rows[148][email] // on the first page and the second
	subjects := writeSubjects(t, filepath.Join(dir, "by-email.csv"), []string{"email"},
		[]string{strings.ToUpper(first)}, []string{last}, []string{"nobody.here@example.com"})
	out := filepath.Join(dir, "by-email")
	r := runIn(t, dir, "export", "--target", "sandbox:revnue", "--sandbox-config", cfg, "--subjects", subjects, "--out", out, "--progress", "none")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var m cli.ExportManifest
	files, err := gdpr.ReadManifest(out, &m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gdpr.VerifyManifest(out); err != nil {
		t.Fatal(err)
	}
	if m.API != "revnue" || m.Counts.Exported != 2 || m.Counts.NotFound != 1 {
		t.Errorf("manifest %+v", m)
	}
	// One walk of two pages for the three people, then a read of each
	// person found: a walk per person would take six pages.
	if m.Calls.Calls != 2+2 {
		t.Errorf("%d API calls, want 4: two list pages and two reads", m.Calls.Calls)
	}
	held := holders(t, out, []string{"."}, false)["."]
	var ids []string
	for _, f := range files {
		if id, ok := strings.CutPrefix(f.Path, "subjects/"); ok {
			ids = append(ids, strings.TrimSuffix(id, ".json"))
		}
	}
	if !slices.Contains(held, strings.ToLower(first)) || !slices.Contains(held, strings.ToLower(last)) || len(ids) != 2 {
		t.Fatalf("exported %v holding %v", ids, held)
	}
	nf := readCSVFile(t, filepath.Join(out, "not_found.csv"))
	if want := [][]string{{"row", "id", "name", "email"}, {"3", "", "", "nobody.here@example.com"}}; !slices.EqualFunc(nf, want, slices.Equal) {
		t.Errorf("not_found.csv %q, want %q", nf, want)
	}

	// By id, the same people, without a walk.
	byID := writeSubjects(t, filepath.Join(dir, "by-id.csv"), []string{"id"}, []string{ids[0]}, []string{ids[1]}, []string{"999999"})
	out2 := filepath.Join(dir, "by-id")
	r = runIn(t, dir, "export", "--api", "revnue", "--target", "sandbox", "--sandbox-config", cfg, "--subjects", byID, "--out", out2, "--progress", "none")
	if r.code != 0 {
		t.Fatalf("by id: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var m2 cli.ExportManifest
	if _, err := gdpr.ReadManifest(out2, &m2); err != nil {
		t.Fatal(err)
	}
	if m2.Counts.Exported != 2 || m2.Counts.NotFound != 1 || m2.Calls.Calls != 3 {
		t.Errorf("by id: manifest counts %+v, %d calls", m2.Counts, m2.Calls.Calls)
	}
	for _, id := range ids {
		a, b := mustRead(t, filepath.Join(out, "subjects", id+".json")), mustRead(t, filepath.Join(out2, "subjects", id+".json"))
		var da, db exportedFile
		if json.Unmarshal(a, &da) != nil || json.Unmarshal(b, &db) != nil || !jsonEqual(da.Customer, db.Customer) {
			t.Errorf("customer %s by email and by id differ:\n%s\n%s", id, a, b)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestExportTargetsUsageErrors refuses, before any sandbox starts or
// anything is written, what --targets cannot answer: flags naming one
// CRM, a target named twice, two targets sharing a folder or one taking a
// name of the export's own files, and subjects named by id.
func TestExportTargetsUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeSubjects(t, filepath.Join(dir, "good.csv"), []string{"email"}, []string{"secret.person@example.org"})
	byID := writeSubjects(t, filepath.Join(dir, "ids.csv"), []string{"id", "email"}, []string{"c9", "secret.person@example.org"})
	cases := []struct {
		name, targets, subjects, want string
		extra                         []string
	}{
		{"with --api", "sandbox:tamio,sandbox:tiquo", good, "--api names one CRM", []string{"--api", "tiquo"}},
		{"with --target", "sandbox:tamio,sandbox:tiquo", good, "--target names one CRM", []string{"--target", "sandbox"}},
		{"named twice", "sandbox:tamio,sandbox:tiquo,sandbox:tamio", good, "names sandbox:tamio twice", nil},
		{"one folder", "sandbox:tamio,sandbox-tamio", good, "would be written in one folder", nil},
		{"one folder whatever the case", "sandbox:tamio,Sandbox-Tamio", good, "would be written in one folder", nil},
		{"a reserved folder", "sandbox:tamio,subjects", good, "a name the export's own files take", nil},
		{"an empty name", "sandbox:tamio,,sandbox:tiquo", good, "an empty name", nil},
		{"subjects by id", "sandbox:tamio,sandbox:tiquo", byID, "each CRM has ids of its own", nil},
		{"no such remote", "sandbox:tamio,no-such-remote", good, "no-such-remote", nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out"+strings.Repeat("x", i))
			args := append([]string{"export", "--targets", tc.targets, "--subjects", tc.subjects, "--out", out, "--progress", "none"}, tc.extra...)
			r := runIn(t, dir, args...)
			if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s", r.code, cli.ExitUsage, tc.want, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "secret.person") {
				t.Errorf("the output names a subject:\n%s", r.stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a usage error created %s", out)
			}
		})
	}
	if dbs, _ := filepath.Glob(filepath.Join(dir, "crmsync-sandbox-*")); len(dbs) != 0 {
		t.Errorf("usage errors started sandboxes: %v", dbs)
	}
}

// TestNamedTargetNamesTheAPI erases and exports through --target
// sandbox:count without --api: the remote names its API, so neither
// command falls back to --api's default and calls the wrong connector.
func TestNamedTargetNamesTheAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bo := []string{"C900002", "bo.ruth@example.net", "Bo Ruth", "France", "+33 1 42345678", "", "silver", "fr", "+01:00", "2023-05-06"}
	cy := []string{"C900003", "cy.only@example.com", "Cy Only", "Poland", "+48 22 1234567", "", "bronze", "pl", "+01:00", "2022-02-03"}
	seedSandbox(t, dir, "count", [][]string{bo, cy})
	subjects := writeSubjects(t, filepath.Join(dir, "request.csv"), []string{"email"}, []string{"bo.ruth@example.net"})

	out := filepath.Join(dir, "sar")
	r := runIn(t, dir, "export", "--target", "sandbox:count", "--subjects", subjects, "--out", out, "--progress", "none")
	if r.code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if held := holders(t, out, []string{"."}, false)["."]; !slices.Contains(held, "bo.ruth@example.net") || slices.Contains(held, "cy.only@example.com") {
		t.Errorf("export holds %v, want Bo alone", held)
	}

	erasure := filepath.Join(dir, "erasure")
	r = runIn(t, dir, "erase", "--target", "sandbox:count", "--subjects", subjects, "--out", erasure)
	if r.code != 0 {
		t.Fatalf("erase: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := outcomes(erasureRows(t, filepath.Join(erasure, "erasure-log.csv")), ""); n[gdpr.OutcomeAnonymised] != 1 || n[gdpr.OutcomeDeleted] != 0 {
		t.Errorf("erasure log outcomes %v, want one anonymised", n)
	}
}

// TestExportKeepGoing answers a request across a sandbox and a tiquo
// account whose key is refused. Without --keep-going the export stops and
// --out keeps the earlier export as it was; with it the sandbox's part is
// published, and the refused CRM is named in the manifest, not_found.csv
// and both reports, with nothing of it delivered (its folder of the
// earlier export removed), and the export exits 6.
func TestExportKeepGoing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ada := []string{"C900001", "Ada.Quill@Example.org", "Ada Quill", "Germany", "+49 30 12345678", "", "gold", "de", "+01:00", "2024-01-01"}
	seedSandbox(t, dir, "tamio", [][]string{ada})
	srv := newTiquo(t)
	config := filepath.Join(dir, "remotes.yaml")
	writeFiles(t, dir, map[string]string{"remotes.yaml": "remotes:\n  billing:\n    api: tiquo\n    url: " + srv.URL + "\n    credentials:\n      api_key: BILLING_KEY\n"})
	subjects := writeSubjects(t, filepath.Join(dir, "request.csv"), []string{"email"}, []string{"ada.quill@example.org"}, []string{"nobody.here@example.com"})
	out := filepath.Join(dir, "sar")
	export := func(key string, extra ...string) binResult {
		args := append([]string{"--config", config, "export", "--targets", "sandbox:tamio,billing", "--subjects", subjects, "--out", out,
			"--controller", sampleAbs(t, "gdpr.yaml"), "--progress", "none"}, extra...)
		return runBinaryIn(t, dir, []string{"BILLING_KEY=" + key}, args...)
	}

	if r := export(srv.APIKey); r.code != cli.ExitOK {
		t.Fatalf("export with the right key: exit %d\n%s", r.code, r.stderr)
	}
	before := mustRead(t, filepath.Join(out, gdpr.ManifestName))
	if r := export("wrong-key"); r.code != cli.ExitFatal || !strings.Contains(r.stderr, "billing") {
		t.Errorf("a refused key without --keep-going: exit %d, want %d naming billing\n%s\n%s", r.code, cli.ExitFatal, r.stdout, r.stderr)
	}
	if after := mustRead(t, filepath.Join(out, gdpr.ManifestName)); !bytes.Equal(before, after) {
		t.Error("a stopped export changed the earlier one")
	}

	r := export("wrong-key", "--keep-going")
	if r.code != cli.ExitPartial || !strings.Contains(r.stdout, "billing: NOT READ (HTTP 401)") {
		t.Fatalf("--keep-going: exit %d, want %d\n%s\n%s", r.code, cli.ExitPartial, r.stdout, r.stderr)
	}
	if _, err := gdpr.VerifyManifest(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "billing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder of the CRM not read is delivered (%v)", err)
	}
	var m cli.ExportTargetsManifest
	if _, err := gdpr.ReadManifest(out, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Targets) != 2 || m.Targets[0].NotRead != "" || m.Targets[0].Counts.Found != 1 ||
		m.Targets[1].Name != "billing" || m.Targets[1].NotRead != "HTTP 401" || m.Targets[1].Folder != "" || m.Counts.TargetsNotRead != 1 {
		t.Errorf("manifest: %+v, counts %+v", m.Targets, m.Counts)
	}
	nf := readCSVFile(t, filepath.Join(out, "not_found.csv"))
	want := [][]string{
		{"row", "email", "not_found_in", "not_read_in", "found_in"},
		{"1", "ada.quill@example.org", "", "billing", "sandbox:tamio"},
		{"2", "nobody.here@example.com", "sandbox:tamio", "billing", ""},
	}
	if !slices.EqualFunc(nf, want, slices.Equal) {
		t.Errorf("not_found.csv:\n%q\nwant\n%q", nf, want)
	}
	cover := string(mustRead(t, filepath.Join(out, "report.html")))
	if !strings.Contains(cover, "<li data-problem>billing (tiquo): ") || strings.Count(cover, `data-not-read="billing"`) != 2 {
		t.Errorf("the cover does not name billing as not read, for each person and under its problems")
	}
	for _, page := range []string{"row-1.html", "row-2.html"} {
		if !strings.Contains(string(mustRead(t, filepath.Join(out, "subjects", page))), `data-not-read="billing"`) {
			t.Errorf("%s does not say billing could not be read", page)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "ada.quill") {
		t.Errorf("the output names a subject")
	}

	r = runIn(t, dir, "export", "--target", "sandbox:tamio", "--subjects", subjects, "--out", filepath.Join(dir, "one"), "--keep-going")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--keep-going goes with --targets") {
		t.Errorf("--keep-going without --targets: exit %d\n%s", r.code, r.stderr)
	}
}
