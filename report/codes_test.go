package report_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"crmsync/pipeline"
	"crmsync/report"
)

// TestHTMLLinksCodesToTheirEntries: each code the page shows that the
// reference explains links to an entry on the page that holds its meaning
// and fix; a code the reference lacks (at that stage) links nowhere, and
// codes the run did not meet get no entry.
func TestHTMLLinksCodesToTheirEntries(t *testing.T) {
	r := nightlyRun()
	r.Rejects = []report.RejectGroup{
		{Stage: "validate", Code: pipeline.CodeEmail, Count: 5},
		{Stage: "api", Code: pipeline.CodeNoID, Count: 3},
		{Stage: "map", Code: pipeline.CodeEmail, Count: 2}, // email is a validate code
		{Stage: "validate", Code: "not_a_code", Count: 1},
	}
	r.Failing = []report.FailingRow{{Key: "k1", Runs: 2, Code: pipeline.CodeDuplicateKey, Message: "repeated"}}
	p := parse(t, render(t, r))

	byID := map[string]*html.Node{}
	var links []string
	for _, n := range p.elements {
		for _, a := range n.Attr {
			if a.Key == "id" {
				byID[a.Val] = n
			}
			if n.Data == "a" && a.Key == "href" {
				links = append(links, a.Val)
			}
		}
	}
	var want []string
	for _, c := range []struct {
		stage pipeline.Stage
		name  string
	}{{pipeline.StageValidate, pipeline.CodeEmail}, {pipeline.StageAPI, pipeline.CodeNoID}, {pipeline.StageValidate, pipeline.CodeDuplicateKey}} {
		var entry pipeline.Code
		for _, e := range pipeline.LookupCode(c.name) {
			if e.Stage == c.stage {
				entry = e
			}
		}
		if entry.Name == "" {
			t.Fatalf("code %s at %s is not in the reference", c.name, c.stage)
		}
		want = append(want, "#"+entry.Anchor())
		n := byID[entry.Anchor()]
		if n == nil {
			t.Errorf("the page has no entry with id %q", entry.Anchor())
			continue
		}
		var text strings.Builder
		for d := range n.Descendants() {
			if d.Type == html.TextNode {
				text.WriteString(d.Data)
			}
		}
		if !strings.Contains(text.String(), entry.Meaning) || !strings.Contains(text.String(), entry.Fix) {
			t.Errorf("the entry of %s says %q, without its meaning and fix", c.name, text.String())
		}
	}
	if strings.Join(links, " ") != strings.Join(want, " ") {
		t.Errorf("the page links %v, want %v", links, want)
	}
	entries := 0
	for id := range byID {
		if strings.HasPrefix(id, "code-") {
			entries++
		}
	}
	if entries != len(want) {
		t.Errorf("the page holds %d code entries, want %d: only the codes it shows", entries, len(want))
	}
}
