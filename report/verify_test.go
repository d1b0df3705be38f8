package report_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crmsync/report"
)

var verifyHeader = []string{"key", "row", "crm_id", "kind", "field", "expected", "found"}

// TestVerifyCSV writes differences whose values a spreadsheet would run
// as formulas: the file is 0600, starts with a byte order mark, and each
// cell reads back, unquoted by the documented rule, as written.
func TestVerifyCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verify.csv")
	w, err := report.CreateVerify(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := []report.VerifyRow{
		{Key: "k1", Row: 3, CRMID: "c1", Kind: "value", Field: "name", Expected: "=HYPERLINK(\"x\")", Found: "Ann, \"Jr\"\nII"},
		{Key: "@k2", Row: 9, Kind: "missing", Field: "email", Expected: "bob@example.com"},
		{Key: "k3", Row: 10, CRMID: "c3", Kind: "value", Field: "phone", Expected: "+4930123456", Found: "-1+1"},
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("verify.csv: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	recs := readCSV(t, path)
	if !slices.Equal(recs[0], verifyHeader) {
		t.Fatalf("header %q, want %q", recs[0], verifyHeader)
	}
	if len(recs) != len(rows)+1 {
		t.Fatalf("%d lines, want %d", len(recs), len(rows)+1)
	}
	for i, r := range rows {
		want := []string{r.Key, fmt.Sprint(r.Row), r.CRMID, r.Kind, r.Field, r.Expected, r.Found}
		got := recs[i+1]
		for j := range got {
			if u := unescape(got[j]); u != want[j] {
				t.Errorf("line %d column %s: %q reads back as %q, want %q", i+2, verifyHeader[j], got[j], u, want[j])
			}
			if strings.HasPrefix(got[j], "=") || strings.HasPrefix(got[j], "@") || strings.HasPrefix(got[j], "-1") {
				t.Errorf("line %d column %s: %q would run as a formula", i+2, verifyHeader[j], got[j])
			}
		}
	}
}

func verifiedRun() *report.Run {
	r := nightlyRun()
	r.Verify = &report.Verification{Checked: 120, Agree: 117, Differ: 2, Missing: 1, Rejected: 4, Total: 3,
		Differences: []report.VerifyRow{
			{Key: "k1", Row: 3, CRMID: "c1", Kind: "value", Field: "name", Expected: "Ann", Found: "Anne"},
			{Key: "k1", Row: 3, CRMID: "c1", Kind: "value", Field: "address.city", Expected: "Paris", Found: ""},
			{Key: "k9", Row: 9, Kind: "missing", Field: "email", Expected: "bob@example.com"},
		}}
	return r
}

// TestHTMLVerification shows the counts and the differences, every value
// as text, and cuts a long list with a pointer to verify.csv.
func TestHTMLVerification(t *testing.T) {
	mark := func(name string) string { return `<u class="inj">` + name + `</u>&amp;"'` }
	r := verifiedRun()
	d := &r.Verify.Differences[0]
	d.Key, d.CRMID, d.Field, d.Expected, d.Found = mark("key"), mark("crmid"), mark("field"), mark("expected"), mark("found")
	p := parse(t, render(t, r))
	for _, n := range p.elements {
		if n.Data == "u" {
			t.Fatalf("a difference's value became a <u> element: markup is not escaped")
		}
	}
	for _, name := range []string{"key", "crmid", "field", "expected", "found"} {
		if !p.hasText(mark(name)) {
			t.Errorf("the page does not show %q as text", mark(name))
		}
	}
	for _, s := range []string{"3 customers differ", "Paris", "bob@example.com", "117", "missing"} {
		if !p.hasText(s) {
			t.Errorf("the page does not show %q", s)
		}
	}
	tiles := map[string]string{}
	for _, n := range p.elements {
		if k := attr(n, "data-tile"); k != "" {
			tiles[k] = textOf(n)
		}
	}
	for k, want := range map[string]string{"checked": "120", "agree": "117", "differ": "2", "missing": "1", "not-compared": "4"} {
		if !strings.Contains(tiles[k], want) {
			t.Errorf("tile %s reads %q, want %s in it", k, tiles[k], want)
		}
	}

	r = verifiedRun()
	r.Verify.Total = 1000
	for i := range report.MaxVerifyDifferences + 10 {
		r.Verify.Differences = append(r.Verify.Differences, report.VerifyRow{Key: fmt.Sprintf("many%d", i), Kind: "value", Field: "name"})
	}
	p = parse(t, render(t, r))
	if p.hasText(fmt.Sprintf("many%d", report.MaxVerifyDifferences)) {
		t.Errorf("the page shows more than %d differences", report.MaxVerifyDifferences)
	}
	if !p.hasText(fmt.Sprintf("and %d more in verify.csv", 1000-report.MaxVerifyDifferences)) {
		t.Errorf("the page does not say how many more differences verify.csv lists")
	}
}

// TestHTMLVerifyOnly is the page of crmsync verify: a verification, and
// none of a sync's sections.
func TestHTMLVerifyOnly(t *testing.T) {
	r := &report.Run{Mode: "verify", Status: "done", Verify: &report.Verification{Checked: 5, Agree: 5}}
	p := parse(t, render(t, r))
	if !p.hasText("the two sides agree") || !p.hasText("Every customer holds what the mapping makes of the source.") {
		t.Errorf("the page does not say the two sides agree")
	}
	for _, n := range p.elements {
		if id := attr(n, "id"); id == "outcomes" || id == "rejects" || id == "history" {
			t.Errorf("a verification's page has the sync section %q", id)
		}
		if attr(n, "data-tile") == "created" {
			t.Errorf("a verification's page has the sync's count tiles")
		}
	}
	if p.hasText("Sync run") {
		t.Errorf("a verification's page calls itself a sync run")
	}
}
