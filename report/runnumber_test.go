package report_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestHTMLRunWithoutState wants a run without a state, whose id is 0, to
// show no run number anywhere on its page (a "#0" reads as a run the
// state recorded), and a run with one to show its number.
func TestHTMLRunWithoutState(t *testing.T) {
	r := dryRunInterrupted()
	r.ID, r.History = 0, nil
	out := string(render(t, r))
	p := parse(t, []byte(out))
	if m := regexp.MustCompile(`#0[^0-9a-fA-F]`).FindString(out); m != "" {
		t.Errorf("the page of a run without a state shows %q", m)
	}
	for _, want := range []string{"<title>crmsync run · Interrupted (dry run)</title>", "<h1>Sync run</h1>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page of a run without a state lacks %s", want)
		}
	}
	if !p.hasText("this run") {
		t.Error("the history table lost its row for this run")
	}

	out = string(render(t, nightlyRun()))
	for _, want := range []string{"<title>crmsync run #42 · ", `<h1>Sync run <span class="num">#42</span></h1>`, "run #42 · the full details"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page of run 42 lacks %s", want)
		}
	}
}
