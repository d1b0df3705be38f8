package sar_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"crmsync/gdpr/sar"
)

// doc is a rendered page parsed as a browser would.
type doc struct{ root *html.Node }

func parsePage(t *testing.T, b []byte) doc {
	t.Helper()
	n, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc{n}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// all returns the elements for which keep is true, in document order.
func (d doc) all(keep func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && keep(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

func (d doc) withAttr(key string) map[string]*html.Node {
	m := map[string]*html.Node{}
	for _, n := range d.all(func(n *html.Node) bool { _, ok := attr(n, key); return ok }) {
		v, _ := attr(n, key)
		m[v] = n
	}
	return m
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func render(t *testing.T, tpl *sar.Template, r *sar.Request) (subject, cover []byte) {
	t.Helper()
	var s, c bytes.Buffer
	if err := tpl.WriteSubject(&s, r, &r.Subjects[0]); err != nil {
		t.Fatal(err)
	}
	if err := tpl.WriteCover(&c, r); err != nil {
		t.Fatal(err)
	}
	return s.Bytes(), c.Bytes()
}

// TestHostileValuesAreText renders values a CRM may hold that would run
// script or load an image if pasted into a page: each must arrive as the
// text it is, and the pages must hold no element but the template's.
func TestHostileValuesAreText(t *testing.T) {
	r := sampleRequest(t)
	subject, cover := render(t, sar.DefaultTemplate(), r)
	for name, page := range map[string][]byte{"subject": subject, "cover": cover} {
		d := parsePage(t, page)
		for _, tag := range []string{"script", "img", "iframe", "link", "object"} {
			if n := d.all(func(n *html.Node) bool { return n.Data == tag }); len(n) > 0 {
				t.Errorf("%s page: a <%s> element: a value was not escaped", name, tag)
			}
		}
		for _, n := range d.all(func(*html.Node) bool { return true }) {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s page: <%s %s=…>: a value became an attribute", name, n.Data, a.Key)
				}
			}
		}
		body := text(d.root)
		if !strings.Contains(body, "SAR-2026-0117 "+scriptValue) {
			t.Errorf("%s page: the request id with <script> is not shown as text", name)
		}
		if name == "cover" && !strings.Contains(body, imgValue) {
			t.Errorf("cover page: the problem with %q is not shown as text", imgValue)
		}
	}
	d := parsePage(t, subject)
	fields := d.withAttr("data-field")
	if got := text(fields["custom_fields.favourite_store"]); !strings.Contains(got, scriptValue) {
		t.Errorf("custom_fields.favourite_store shows %q, want the <script> text", got)
	}
	if got := text(fields["name"]); !strings.Contains(got, `Ada "><img src=x onerror=`) {
		t.Errorf("name shows %q, want the img text", got)
	}
}

// TestSubjectPageShowsEveryFieldAndItem checks the subject's page against
// its input: every non-empty field of each CRM under its label, the empty
// ones left out, every Art. 15 item of each CRM's entry, every right,
// and a link to each JSON copy.
func TestSubjectPageShowsEveryFieldAndItem(t *testing.T) {
	r := sampleRequest(t)
	subject, _ := render(t, sar.DefaultTemplate(), r)
	d := parsePage(t, subject)

	holdings := d.withAttr("data-holding")
	for _, h := range r.Subjects[0].Holdings {
		sec := holdings[h.Target]
		if sec == nil {
			t.Fatalf("no section for %s", h.Target)
		}
		sd := doc{sec}
		rows := sd.withAttr("data-field")
		var want []string
		for _, f := range h.Fields {
			if strings.TrimSpace(f.Value) == "" {
				continue
			}
			want = append(want, f.Name)
			row := rows[f.Name]
			if row == nil {
				t.Errorf("%s: field %s (%q) is not shown", h.Target, f.Name, f.Value)
				continue
			}
			if got := text(row); !strings.Contains(got, f.Value) || !strings.Contains(got, sar.DefaultTemplate().Label(f.Name)) {
				t.Errorf("%s: field %s shows %q, want its label and %q", h.Target, f.Name, got, f.Value)
			}
		}
		if len(rows) != len(want) {
			t.Errorf("%s: %d fields shown, want the %d non-empty ones", h.Target, len(rows), len(want))
		}
		items := sd.withAttr("data-item")
		e, _ := r.Controller.For(h.Target, h.API)
		for key, vals := range map[string][]string{
			"purposes": e.Purposes, "legal_basis": {e.LegalBasis}, "categories": e.Categories,
			"recipients": e.Recipients, "retention": {e.Retention}, "source": {e.Source},
			"automated_decisions": {e.AutomatedDecisions}, "transfers": {e.Transfers},
			"customer_id": {h.CustomerID},
		} {
			n := items[key]
			if n == nil {
				t.Errorf("%s: Art. 15 item %s is missing", h.Target, key)
				continue
			}
			for _, v := range vals {
				if !strings.Contains(text(n), v) {
					t.Errorf("%s: item %s shows %q, want %q in it", h.Target, key, text(n), v)
				}
			}
		}
	}
	// Empty values of the tamio answer: phone "", company null,
	// billing_address.line2 "", shipping_address {}, notes []; and the
	// empty values handed over beside them.
	rows := d.withAttr("data-field")
	for _, empty := range []string{"phone", "company", "billing_address.line2", "shipping_address", "notes", "contacts.1.email", "contacts.2.name", "fax", "nickname"} {
		if rows[empty] != nil {
			t.Errorf("the empty field %s is shown", empty)
		}
	}
	labels := map[string]string{
		"billing_address.city": "Billing address – City", "billing_address.zip": "Billing address – Postcode",
		"tags": "Tags", "custom_fields.loyalty_points": "Custom fields – Loyalty points",
		"firstName": "First name", "address.postalCode": "Address – Postcode", "contacts.2.email": "Contacts 2 – Email",
	}
	for name, label := range labels {
		if rows[name] == nil || !strings.Contains(text(rows[name]), label) {
			t.Errorf("field %s: want the label %q", name, label)
		}
	}
	if got := text(rows["tags"]); !strings.Contains(got, "vip, newsletter") {
		t.Errorf("tags show %q", got)
	}
	if got := text(rows["marketing_opt_in"]); !strings.Contains(got, "false") {
		t.Errorf("a false value is a value: marketing_opt_in shows %q", got)
	}

	items := d.withAttr("data-item")
	c := r.Controller
	for key, want := range map[string]string{
		"controller": c.Name, "dpo": c.DPO.Contact, "authority": c.Authority.Name,
		"named": "ada@example.com", "requested_at": "28 November 2026", "answered_at": "2 December 2026",
	} {
		if items[key] == nil || !strings.Contains(text(items[key]), want) {
			t.Errorf("item %s: want %q", key, want)
		}
	}
	rights := d.withAttr("data-right")
	for _, right := range []string{"rectification", "erasure", "restriction", "objection", "portability", "complaint"} {
		if rights[right] == nil || text(rights[right]) == "" {
			t.Errorf("the right of %s is not stated", right)
		}
	}
	if !strings.Contains(text(rights["complaint"]), c.Authority.Name) {
		t.Error("the right to complain does not name the supervisory authority")
	}
	var links []string
	for _, a := range d.all(func(n *html.Node) bool { return n.Data == "a" }) {
		href, _ := attr(a, "href")
		links = append(links, href)
	}
	for _, h := range r.Subjects[0].Holdings {
		if !slices.Contains(links, "../"+h.Copy) {
			t.Errorf("no link to the machine-readable copy ../%s; links %v", h.Copy, links)
		}
	}
}

// TestCoverListsSubjectsFilesAndProblems checks the cover against its
// request: each subject with where it was found, not found and not read,
// each file with its hash, and the problems.
func TestCoverListsSubjectsFilesAndProblems(t *testing.T) {
	r := sampleRequest(t)
	_, cover := render(t, sar.DefaultTemplate(), r)
	d := parsePage(t, cover)
	subjects := d.withAttr("data-subject")
	if len(subjects) != len(r.Subjects) {
		t.Fatalf("%d subjects listed, want %d", len(subjects), len(r.Subjects))
	}
	for _, s := range r.Subjects {
		sd := doc{subjects[s.ID]}
		found, missing, unread := sd.withAttr("data-found"), sd.withAttr("data-not-found"), sd.withAttr("data-not-read")
		for _, h := range s.Holdings {
			if found[h.Target] == nil || !strings.Contains(text(found[h.Target]), h.CustomerID) {
				t.Errorf("subject %s: not listed as found in %s with id %s", s.ID, h.Target, h.CustomerID)
			}
		}
		for _, n := range s.NotFoundIn {
			if missing[n] == nil {
				t.Errorf("subject %s: not listed as not found in %s", s.ID, n)
			}
		}
		for _, n := range s.NotReadIn {
			if unread[n] == nil {
				t.Errorf("subject %s: not listed as not read in %s", s.ID, n)
			}
		}
		if len(unread) != len(s.NotReadIn) {
			t.Errorf("subject %s: %d CRMs not read, want %d", s.ID, len(unread), len(s.NotReadIn))
		}
		if len(found) != len(s.Holdings) || len(missing) != len(s.NotFoundIn) {
			t.Errorf("subject %s: %d found and %d not found, want %d and %d", s.ID, len(found), len(missing), len(s.Holdings), len(s.NotFoundIn))
		}
	}
	files := d.withAttr("data-file")
	for _, f := range r.Files {
		n := files[f.Path]
		if n == nil {
			t.Errorf("file %s not listed", f.Path)
			continue
		}
		if sha, _ := attr(doc{n}.withAttr("data-sha256")[f.SHA256], "data-sha256"); sha != f.SHA256 {
			t.Errorf("file %s: its SHA-256 is not %s", f.Path, f.SHA256)
		}
	}
	if len(files) != len(r.Files) {
		t.Errorf("%d files listed, want %d", len(files), len(r.Files))
	}
	if len(d.withAttr("data-problem")) != len(r.Problems) {
		t.Errorf("problems listed: %d, want %d", len(d.withAttr("data-problem")), len(r.Problems))
	}
}

// TestSubjectPageNamesCRMsNotHoldingOrNotRead renders the page of a
// person no CRM read holds, with a CRM that could not be read: the page
// says which systems hold nothing and which could not be read.
func TestSubjectPageNamesCRMsNotHoldingOrNotRead(t *testing.T) {
	r := sampleRequest(t)
	var b bytes.Buffer
	if err := sar.DefaultTemplate().WriteSubject(&b, r, &r.Subjects[1]); err != nil {
		t.Fatal(err)
	}
	d := parsePage(t, b.Bytes())
	items := d.withAttr("data-item")
	if n := items["not_held_in"]; n == nil || !strings.Contains(text(n), "sandbox:tamio, sandbox:tiquo") {
		t.Errorf("the page does not name the CRMs holding nothing")
	}
	if n := items["not_read"]; n == nil || (doc{n}).withAttr("data-not-read")["billing"] == nil {
		t.Errorf("the page does not name the CRM that could not be read")
	}
	if len(d.withAttr("data-holding")) != 0 {
		t.Errorf("the page shows a holding")
	}
}

// TestUserTemplateReplacesTextsLabelsAndPages loads a template in German
// with a page of its own, and refuses one naming an unknown text.
func TestUserTemplateReplacesTextsLabelsAndPages(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("footer.html", `{{define "style"}}body { font-family: serif; }{{end}}`)
	p := write("de.yaml", `
lang: de
texts:
  subject_title: Ihre bei uns gespeicherten Daten
  date_format: "02.01.2006"
labels:
  city: Ort
  billing_address: Rechnungsadresse
html: footer.html
`)
	tpl, err := sar.LoadTemplate(p)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := render(t, tpl, sampleRequest(t))
	d := parsePage(t, subject)
	page := string(subject)
	for _, want := range []string{`<html lang="de">`, "<h1>Ihre bei uns gespeicherten Daten</h1>", "28.11.2026", "font-family: serif", "Your rights"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if got := text(d.withAttr("data-field")["billing_address.city"]); !strings.Contains(got, "Rechnungsadresse – Ort") {
		t.Errorf("billing_address.city is labelled %q", got)
	}

	bad := write("bad.yaml", "texts:\n  subject_titel: x\ncolour: red\n")
	_, err = sar.LoadTemplate(bad)
	if err == nil || !strings.Contains(err.Error(), "colour: unknown key") || !strings.Contains(err.Error(), "texts.subject_titel: unknown text") {
		t.Errorf("LoadTemplate(bad) = %v, want colour and subject_titel named", err)
	}
	broken := write("broken.yaml", "html: broken.html\n")
	write("broken.html", `{{define "cover"}}{{.Nope`)
	if _, err := sar.LoadTemplate(broken); err == nil || !strings.Contains(err.Error(), "broken.yaml: html:") {
		t.Errorf("LoadTemplate(broken) = %v, want the html file's error", err)
	}
}

func TestLabels(t *testing.T) {
	for name, want := range map[string]string{
		"billingAddress.city":    "Billing address – City",
		"billing_address.city":   "Billing address – City",
		"VATNumber":              "VAT number",
		"contacts.2.email":       "Contacts 2 – Email",
		"custom_fields.vip_tier": "Custom fields – Vip tier",
		"id":                     "ID",
	} {
		if got := sar.DefaultTemplate().Label(name); got != want {
			t.Errorf("Label(%q) = %q, want %q", name, got, want)
		}
	}
	// A part's label by its path so far comes before its label by name.
	labels := map[string]string{"shipping.address": "Delivery address", "address": "Address", "Shipping_Address.Zip": "Delivery postcode"}
	for name, want := range map[string]string{
		"shipping.address.city": "Shipping – Delivery address – City",
		"billing.address.city":  "Billing – Address – City",
		"shipping_address.zip":  "Delivery postcode",
		"shippingAddress.ZIP":   "Delivery postcode",
	} {
		if got := sar.Label(labels, name); got != want {
			t.Errorf("Label(%v, %q) = %q, want %q", labels, name, got, want)
		}
	}
}

func TestFieldsFromJSON(t *testing.T) {
	got, err := sar.FieldsFromJSON("owner", []byte(`{"a": {"b": [1, 2.5, "x"], "c": [[]], "d": [{"e": true}]}, "f": "", "g": null, "h": ["a", null, "", "b"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []sar.Field{{"owner.a.b", "1, 2.5, x"}, {"owner.a.d.1.e", "true"}, {"owner.h", "a, b"}}
	if !slices.Equal(got, want) {
		t.Errorf("FieldsFromJSON = %v, want %v", got, want)
	}
	if _, err := sar.FieldsFromJSON("", []byte(`{"a": 1} {}`)); err == nil {
		t.Error("text after the object is accepted")
	}
}
