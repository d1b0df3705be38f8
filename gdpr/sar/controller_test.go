package sar_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crmsync/gdpr/sar"
)

// TestSampleControllerFileLoads holds samples/gdpr.yaml, the example the
// README and export --help point to, to being complete: it parses, every
// required item is there, the merge key gives tiquo what it does not say
// itself, and it covers both sandboxes of the sample run.
func TestSampleControllerFileLoads(t *testing.T) {
	c, err := sar.LoadController(filepath.Join("..", "..", "samples", "gdpr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("samples/gdpr.yaml is incomplete:\n%v", err)
	}
	if err := c.Covers(sar.Target{Name: "sandbox:tamio", API: "tamio"}, sar.Target{Name: "sandbox:tiquo", API: "tiquo"}); err != nil {
		t.Fatal(err)
	}
	tamio, _ := c.For("sandbox:tamio", "tamio")
	tiquo, _ := c.For("sandbox:tiquo", "tiquo")
	if tiquo.AutomatedDecisions == "" || tiquo.AutomatedDecisions != tamio.AutomatedDecisions {
		t.Errorf("tiquo's automated_decisions %q, want tamio's through the merge key", tiquo.AutomatedDecisions)
	}
	if slices.Equal(tiquo.Purposes, tamio.Purposes) || tiquo.Title == tamio.Title {
		t.Error("tiquo's own purposes and title were overridden by the merge key")
	}
	if c.Name == "" || !strings.Contains(c.Contact, "\n") || c.Authority.Name == "" {
		t.Errorf("controller %+v: want the name, a contact of several lines and the authority", c)
	}
}

func parse(t *testing.T, text string) (*sar.Controller, error) {
	t.Helper()
	return sar.ParseController("gdpr.yaml", []byte(text))
}

const complete = `
controller: {name: Shop Ltd, contact: privacy@shop.example}
dpo: {contact: dpo@shop.example}
crms:
  shop:
    purposes: [Orders]
    legal_basis: Contract
    recipients: Carriers
    retention: 10 years
    source: From you
    automated_decisions: None
`

func TestControllerRefusesUnknownKeysNamingThePath(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"top", complete + "controler: {name: X}\n", "gdpr.yaml:12:1: controler: unknown key; the keys allowed here are controller, crms, dpo, supervisory_authority"},
		{"crm", strings.Replace(complete, "    retention:", "    purpose: Sales\n    retention:", 1), "gdpr.yaml:9:5: crms.shop.purpose: unknown key;"},
		{"party", strings.Replace(complete, "dpo: {contact:", "dpo: {email: x, contact:", 1), "gdpr.yaml:3:7: dpo.email: unknown key; the keys allowed here are contact, name"},
		{"twice", complete + "  shop:\n    purposes: x\n", "crms.shop: given twice"},
		{"list for text", strings.Replace(complete, "retention: 10 years", "retention: [1, 2]", 1), "crms.shop.retention: want a text, found a list"},
		{"map in list", strings.Replace(complete, "purposes: [Orders]", "purposes: [{a: b}]", 1), "crms.shop.purposes[1]: want a text, found a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.text)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestControllerValidateNamesEveryMissingItem(t *testing.T) {
	c, err := parse(t, `
controller: {name: Shop Ltd}
crms:
  shop:
    purposes: []
    legal_basis: Contract
    recipients: Carriers
    source: From you
  tiquo:
    title: Tickets
`)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	var fe *sar.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate = %v, want a *FileError", err)
	}
	want := []string{
		"gdpr.yaml: controller.contact is missing: how the person reaches the controller",
		"gdpr.yaml: dpo.contact is missing",
		"gdpr.yaml:4:3: crms.shop.purposes is missing: why the data is processed (Art. 15(1)(a))",
		"gdpr.yaml:4:3: crms.shop.retention is missing: how long the data is kept",
		"gdpr.yaml:4:3: crms.shop.automated_decisions is missing",
		"gdpr.yaml:9:3: crms.tiquo.legal_basis is missing",
		"gdpr.yaml:9:3: crms.tiquo.recipients is missing",
		"gdpr.yaml:9:3: crms.tiquo.source is missing",
	}
	for _, w := range want {
		if !slices.ContainsFunc(fe.Problems, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem starts %q; got:\n%s", w, err)
		}
	}
	if len(fe.Problems) != 2+3+6 {
		t.Errorf("%d problems, want 11 (controller.contact, dpo.contact, 3 of shop, 6 of tiquo):\n%s", len(fe.Problems), err)
	}

	c, err = parse(t, complete)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("a complete file: %v", err)
	}
}

func TestControllerEmptyFile(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "~\n"} {
		if _, err := parse(t, text); err == nil || !strings.Contains(err.Error(), "gdpr.yaml: the file is empty") {
			t.Errorf("%q: error %v, want the file named empty", text, err)
		}
	}
	if _, err := sar.LoadController(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestControllerPicksTheTargetsEntryThenTheAPIs(t *testing.T) {
	c, err := parse(t, strings.Replace(complete, "  shop:", "  tamio:\n    title: any tamio\n  shop:", 1))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := c.For("shop", "tamio"); !ok || e.Key != "shop" {
		t.Errorf("For(shop, tamio) = %+v, want the entry shop", e)
	}
	if e, ok := c.For("eu", "tamio"); !ok || e.Key != "tamio" {
		t.Errorf("For(eu, tamio) = %+v, want the entry tamio", e)
	}
	err = c.Covers(sar.Target{Name: "shop", API: "tamio"}, sar.Target{Name: "support", API: "tiquo"})
	want := "gdpr.yaml: no entry for the CRM support (API tiquo): add crms.support or crms.tiquo; the file has shop, tamio"
	if err == nil || err.Error() != want {
		t.Errorf("Covers = %v, want %q", err, want)
	}
}
