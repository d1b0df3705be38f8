package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"crmsync/cmd/crmsync/cli"
	"crmsync/gdpr"
	"crmsync/gdpr/sar"
	"crmsync/gdpr/sar/sartest"
	"crmsync/sinks/tamio/tamiotest"
)

// TestCheckController checks the shipped controller file, and names the
// file, line and key of a broken one with exit 2.
func TestCheckController(t *testing.T) {
	r := runBinary(t, "", "check", "--controller", sample("gdpr.yaml"))
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "every Art. 15 item given for tamio, tiquo") {
		t.Fatalf("check of samples/gdpr.yaml: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "gdpr.yaml")
	if err := os.WriteFile(bad, []byte("controller: {name: Shop}\ncrms:\n  shop:\n    purpose: Sales\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, "", "check", "--controller", bad)
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, bad+":4:5: crms.shop.purpose: unknown key") {
		t.Errorf("check of a file with an unknown key: exit %d, stderr %s", r.code, r.stderr)
	}
	if err := os.WriteFile(bad, []byte("controller: {name: Shop}\ncrms:\n  shop:\n    purposes: Sales\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, "", "check", "--controller", bad)
	for _, want := range []string{bad + ": controller.contact is missing", bad + ":3:3: crms.shop.retention is missing"} {
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("check of an incomplete file: exit %d, stderr lacks %q:\n%s", r.code, want, r.stderr)
		}
	}
}

// TestExportChecksTheControllerFileFirst: a controller file that misses
// an item, or has no entry for a CRM of the export, stops the export
// with exit 2 before any API call.
func TestExportChecksTheControllerFileFirst(t *testing.T) {
	srv := newCRM(t, tamiotest.Options{})
	dir := t.TempDir()
	subjects := writeSubjects(t, filepath.Join(dir, "s.csv"), []string{"email"}, []string{"ada@example.org"})
	incomplete := filepath.Join(dir, "incomplete.yaml")
	other := filepath.Join(dir, "other.yaml")
	files := map[string]string{
		incomplete: "controller: {name: Shop, contact: a@b.example}\ndpo: {contact: d@b.example}\ncrms:\n  tamio:\n    purposes: Orders\n",
		other:      strings.Replace(readText(t, sample("gdpr.yaml")), "  tamio: &shop", "  elsewhere: &shop", 1),
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	badTemplate := filepath.Join(dir, "de.yaml")
	if err := os.WriteFile(badTemplate, []byte("texts:\n  subject_titel: Ihre Daten\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--controller", incomplete}, "crms.tamio.legal_basis is missing"},
		{[]string{"--controller", other}, "no entry for the CRM"},
		{[]string{"--controller", sample("gdpr.yaml"), "--report-template", badTemplate}, "texts.subject_titel: unknown text"},
		{[]string{"--controller", sample("gdpr.yaml"), "--requested-at", "yesterday"}, `--requested-at "yesterday"`},
		{[]string{"--request-id", "SAR-1"}, "go with --controller"},
	} {
		path, want := strings.Join(c.args, " "), c.want
		before := total(sandboxStats(t, srv).ByStatus)
		r := runBinary(t, srv.APIKey, exportArgs(srv.URL, filepath.Join(dir, "out"), append([]string{"--subjects", subjects}, c.args...)...)...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr lacks %q:\n%s", path, r.code, want, r.stderr)
		}
		if after := total(sandboxStats(t, srv).ByStatus); after != before {
			t.Errorf("%s: the export called the API %d times before refusing", path, after-before)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a refused export left --out: %v", err)
	}
}

func total(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sarPerson is a person both CRMs hold, with values that would run as
// script if a page pasted them.
type sarPerson struct {
	email            string
	tamioID, tiquoID string
}

// TestExportSubjectAccessReports answers a request for two people held by
// two CRMs (and one neither holds) with readable reports, and checks them
// in headless Chromium against what the CRMs answer when read back
// through their APIs: every non-empty field of each CRM under its label,
// every Art. 15 item of samples/gdpr.yaml, no sideways scrolling at 1280
// and 390 px, hostile values shown as text; and that the cover lists
// every other file with the manifest's SHA-256, while the manifest lists
// the pages and the cover.
func TestExportSubjectAccessReports(t *testing.T) {
	b := sartest.NewBrowser(t)
	shop := newCRM(t, tamiotest.Options{})
	support := newTiquo(t)
	tc, qc := testClient(t, shop), tiquoClient(t, support)
	ctx := context.Background()

	hostile := []string{`<script>document.title="owned"</script>`, `"><img src=x onerror="document.title='owned'">`}
	people := make([]sarPerson, 2)
	for i := range people {
		p := &people[i]
		p.email = fmt.Sprintf("person%d.sar@example.org", i)
		body := personBody("sar", i+1) // 1 and 2: no teammate, addresses of both kinds
		body["email"], body["last_name"] = p.email, hostile[i]
		cu, err := tc.Create(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		p.tamioID = cu.ID
		if p.tiquoID, err = qc.Create(ctx, map[string]any{
			"firstName": hostile[1-i], "lastName": "Tester", "email": p.email, "phone": "+4930123456",
			"address": map[string]any{"line1": "Rue " + hostile[i], "city": "Lyon", "postalCode": "69001", "country": "FR"},
			"tags":    []string{"vip", hostile[i]}, "marketingConsent": i == 0,
		}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	remotes := filepath.Join(dir, "remotes.yaml")
	t.Setenv("SAR_TEST_SHOP_KEY", shop.APIKey)
	t.Setenv("SAR_TEST_SUPPORT_KEY", support.APIKey)
	if err := os.WriteFile(remotes, []byte(fmt.Sprintf(`remotes:
  shop:
    api: tamio
    url: %s
    credentials: {api_key: SAR_TEST_SHOP_KEY}
  support:
    api: tiquo
    url: %s
    credentials: {api_key: SAR_TEST_SUPPORT_KEY}
`, shop.URL, support.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	subjects := writeSubjects(t, filepath.Join(dir, "s.csv"), []string{"email"},
		[]string{strings.ToUpper(people[0].email)}, []string{people[1].email}, []string{"nobody@example.org"})
	out := filepath.Join(dir, "sar")
	if code := runMain(t, "", "export", "--config", remotes, "--targets", "shop,support", "--subjects", subjects, "--out", out,
		"--controller", sample("gdpr.yaml"), "--request-id", "SAR-2026-0117", "--requested-at", "2026-11-28", "--progress", "none"); code != cli.ExitOK {
		t.Fatalf("export: exit %d", code)
	}

	// The manifest lists the pages and the cover, and every file is as
	// it lists it.
	entries, err := gdpr.VerifyManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, e := range entries {
		listed[e.Path] = e.SHA256
	}
	for _, name := range []string{"report.html", "subjects/row-1.html", "subjects/row-2.html", "subjects/row-3.html"} {
		if listed[name] == "" {
			t.Errorf("the manifest does not list %s", name)
		}
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
	}

	ctl, err := sar.LoadController(sample("gdpr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	req := &sar.Request{Controller: ctl}
	tpl := sar.DefaultTemplate()
	var pages []string
	for i, p := range people {
		// What each CRM holds, read back through its API.
		tamioRaw, err := tc.RetrieveRaw(ctx, p.tamioID)
		if err != nil {
			t.Fatal(err)
		}
		tiquoRaw, err := qc.Get(ctx, p.tiquoID)
		if err != nil {
			t.Fatal(err)
		}
		subj := sar.Subject{ID: fmt.Sprintf("row-%d", i+1)}
		for _, h := range []struct {
			target, api, id string
			raw             []byte
		}{{"shop", "tamio", p.tamioID, tamioRaw}, {"support", "tiquo", p.tiquoID, tiquoRaw}} {
			fields, err := sar.FieldsFromJSON("", h.raw)
			if err != nil {
				t.Fatal(err)
			}
			subj.Holdings = append(subj.Holdings, sar.Holding{Target: h.target, API: h.api, CustomerID: h.id, Fields: fields})
		}
		page := filepath.Join(out, "subjects", subj.ID+".html")
		pages = append(pages, page)
		for _, w := range sartest.Widths {
			t.Run(fmt.Sprintf("%s/%d", subj.ID, w.Width), func(t *testing.T) {
				seen := b.Open(t, page, w.Width, w.Height, w.Mobile)
				sartest.CheckSubject(t, tpl, req, &subj, seen)
				for _, field := range []string{"last_name", "firstName", "tags", "address.line1"} {
					if !strings.Contains(strings.Join(append(seen.Fields["shop"], seen.Fields["support"]...), "\n"), field+"\t") {
						t.Errorf("the page lacks the field %s", field)
					}
				}
			})
		}
	}
	cover := filepath.Join(out, "report.html")
	for _, w := range sartest.Widths {
		t.Run(fmt.Sprintf("cover/%d", w.Width), func(t *testing.T) {
			seen := b.Open(t, cover, w.Width, w.Height, w.Mobile)
			want := map[string]string{}
			for path, sum := range listed {
				if path != "report.html" {
					want[path] = sum
				}
			}
			if fmt.Sprint(seen.Files) != fmt.Sprint(want) {
				t.Errorf("the cover lists the files\n%v\nthe manifest\n%v", seen.Files, want)
			}
		})
	}
	b.OnlyItself(t, append(pages, cover))
}

// TestControllerExamplesInDocs holds the controller files the README and
// export --help show to being complete: each parses strictly and gives
// every required item.
func TestControllerExamplesInDocs(t *testing.T) {
	readme := readText(t, filepath.Join("..", "..", "..", "README.md"))
	var blocks []string
	for _, block := range strings.Split(readme, "```yaml\n")[1:] {
		if text, _, _ := strings.Cut(block, "```"); strings.HasPrefix(text, "controller:") {
			blocks = append(blocks, text)
		}
	}
	if len(blocks) == 0 {
		t.Error("the README shows no controller file")
	}
	r := runBinary(t, "", "export", "--help")
	_, help, ok := strings.Cut(r.stdout, "checks it before any API call. A complete one:\n\n")
	help, _, _ = strings.Cut(help, "\n\n")
	if !ok || help == "" {
		t.Fatalf("export --help shows no controller file:\n%s", r.stdout)
	}
	lines := strings.Split(help, "\n")
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], "  ")
	}
	blocks = append(blocks, strings.Join(lines, "\n"))
	for i, text := range blocks {
		c, err := sar.ParseController(fmt.Sprintf("example %d", i+1), []byte(text))
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			t.Errorf("%v\n%s", err, text)
		}
	}
}

// TestEncryptedReports encrypts the reports with the rest of an export:
// the pages are age ciphertext holding no email in the clear, the
// manifest lists them under their .age names, and a page, once
// decrypted, links the JSON copy by the name it has decrypted.
func TestEncryptedReports(t *testing.T) {
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "sarenc", 1)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	subjects := writeSubjects(t, filepath.Join(dir, "s.csv"), []string{"email"}, []string{people[0].Email})
	out := filepath.Join(dir, "out")
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--subjects", subjects, "--controller", sample("gdpr.yaml"),
		"--age-recipient", id.Recipient().String())...); code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	entries, err := gdpr.VerifyManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Path)
	}
	for _, want := range []string{"subjects/row-1.html.age", "report.html.age"} {
		if !slices.Contains(names, want) {
			t.Errorf("the manifest lists %v, not %s", names, want)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "subjects", "row-1.html.age"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("@example.org")) {
		t.Error("the encrypted page holds an email in the clear")
	}
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf(`href="../subjects/%s.json"`, people[0].ID)
	if !bytes.Contains(page, []byte(link)) || !bytes.Contains(page, []byte(people[0].Email)) {
		t.Errorf("the decrypted page lacks %s or the person's email:\n%s", link, page)
	}
}
