package report_test

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"crmsync/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

func render(t *testing.T, r *report.Run) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return buf.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	tests := []struct {
		name string
		run  *report.Run
	}{
		{"nightly", nightlyRun()},
		{"dry-run-interrupted", dryRunInterrupted()},
		{"empty", &report.Run{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.run)
			path := filepath.Join("testdata", tt.name+".golden.html")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report/ -run TestHTMLGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output; if the change is meant, rerun with -update. First difference:\n%s",
					path, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first line that differs, enough to find it.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + w + "\n got: " + g
		}
	}
	return "(no line differs)"
}

// page is the parsed page: its text nodes, what a person reads, and its
// elements, what a browser would load or run.
type page struct {
	text     []string
	elements []*html.Node
}

func parse(t *testing.T, b []byte) *page {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p := &page{}
	for n := range doc.Descendants() {
		switch n.Type {
		case html.TextNode:
			p.text = append(p.text, n.Data)
		case html.ElementNode:
			p.elements = append(p.elements, n)
		}
	}
	return p
}

func (p *page) hasText(s string) bool {
	for _, t := range p.text {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// TestHTMLEscapesEveryString puts markup in every string of a Run and
// checks that each one shows as text and none becomes an element.
func TestHTMLEscapesEveryString(t *testing.T) {
	mark := func(name string) string { return `<u class="inj">` + name + `</u>&amp;"'` }
	r := nightlyRun()
	r.Source, r.Mapping, r.Target, r.Mode = mark("source"), mark("mapping"), mark("target"), mark("mode")
	r.Status, r.Error = mark("status"), mark("error")
	r.Phases[0].Name = mark("phase")
	r.FieldChanges[0].Field = mark("field-change")
	g := &r.Rejects[0]
	g.Stage, g.Code = mark("stage"), mark("code")
	e := &g.Examples[0]
	e.Column, e.Field, e.Message = mark("column"), mark("field"), mark("message")
	f := &r.Failing[0]
	f.Key, f.CRMID, f.Code, f.Message = mark("key"), mark("crmid"), mark("failing-code"), mark("failing-message")
	r.Warnings[0] = mark("warning")
	r.History[0].Status = mark("history-status")

	p := parse(t, render(t, r))
	for _, n := range p.elements {
		if n.Data == "u" {
			t.Fatalf("a string became a <u> element: markup is not escaped")
		}
	}
	for _, name := range []string{
		"source", "mapping", "target", "mode", "status", "error", "phase", "field-change", "stage", "code",
		"column", "field", "message", "key", "crmid", "failing-code", "failing-message", "warning", "history-status",
	} {
		if !p.hasText(mark(name)) {
			t.Errorf("the page does not show %q as text", mark(name))
		}
	}
}

// TestHTMLSelfContained checks that the page loads nothing: no script, no
// stylesheet, image, font or frame from anywhere, no link to follow out of
// the page (a link to one of its own elements, a code's entry, is one).
func TestHTMLSelfContained(t *testing.T) {
	for name, r := range map[string]*report.Run{"nightly": nightlyRun(), "extreme": extremeRun()} {
		b := render(t, r)
		p := parse(t, b)
		ids := map[string]bool{}
		for _, n := range p.elements {
			for _, a := range n.Attr {
				if a.Key == "id" {
					ids[a.Val] = true
				}
			}
		}
		for _, n := range p.elements {
			switch n.Data {
			case "script", "link", "img", "iframe", "object", "embed", "base", "image", "use", "foreignObject", "form":
				t.Errorf("%s: the page has a <%s> element", name, n.Data)
			case "a":
				for _, a := range n.Attr {
					if a.Key == "href" && strings.HasPrefix(a.Val, "#") && ids[a.Val[1:]] {
						continue
					}
					if a.Key != "class" && a.Key != "title" {
						t.Errorf("%s: <a %s=%q> is not a link to an element of the page", name, a.Key, a.Val)
					}
				}
				continue
			case "style":
				css := n.FirstChild.Data
				for _, bad := range []string{"url(", "@import", "@font-face", "http:", "https:"} {
					if strings.Contains(css, bad) {
						t.Errorf("%s: the stylesheet holds %q", name, bad)
					}
				}
			}
			for _, a := range n.Attr {
				switch strings.ToLower(a.Key) {
				case "src", "href", "srcset", "action", "formaction", "background", "poster":
					t.Errorf("%s: <%s %s=%q> refers outside the page", name, n.Data, a.Key, a.Val)
				case "style":
					t.Errorf("%s: <%s> has an inline style attribute; the stylesheet holds every style", name, n.Data)
				}
			}
		}
	}
}

// TestHTMLNumbers checks the figures a person reads: separators, shares
// that never round a non-zero count away, and charts that stay drawable
// whatever the counts.
func TestHTMLNumbers(t *testing.T) {
	tests := []struct {
		name     string
		run      *report.Run
		want     []string // texts the page must show
		wantNot  []string // anywhere in the source
		segments int      // circles drawn in the donut besides its track
	}{
		{
			name:     "nightly",
			run:      nightlyRun(),
			want:     []string{"1,048,576", "1,035,402", "10,482", "2,311", "381", "98.7%", "<0.1%", "#41", "7 min 38 s"},
			wantNot:  []string{"NaN", "Inf"},
			segments: 4,
		},
		{
			name:     "zero counts",
			run:      &report.Run{},
			want:     []string{"No row was rejected.", "No field changed.", "No timings were recorded.", "Unknown"},
			wantNot:  []string{"NaN", "Inf", "stroke-dasharray"},
			segments: 0,
		},
		{
			name:     "one outcome",
			run:      &report.Run{Status: "done", Counts: report.Counts{Read: 5, Unchanged: 5}},
			want:     []string{"100%"},
			wantNot:  []string{"NaN", "Inf"},
			segments: 1,
		},
		{
			name:     "extreme",
			run:      extremeRun(),
			want:     []string{"9,223,372,036,854,775,807", "2,305,843,009,213,693,951", "277,777 h 47 min"},
			wantNot:  []string{"NaN", "Inf", "-9,223"},
			segments: 5,
		},
		{
			name: "negative and NaN inputs",
			run: &report.Run{
				Counts:       report.Counts{Read: 3, Created: -2, Updated: 3},
				Phases:       []report.Phase{{Name: "a", Seconds: -1}, {Name: "b", Seconds: 0}, {Name: "c", Seconds: math.NaN()}},
				FieldChanges: []report.FieldCount{{Field: "f", Count: 0}},
			},
			want:     []string{"0.00 s"},
			wantNot:  []string{"NaN", "Inf"},
			segments: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := render(t, tt.run)
			p := parse(t, b)
			for _, w := range tt.want {
				if !p.hasText(w) {
					t.Errorf("the page does not show %q", w)
				}
			}
			for _, w := range tt.wantNot {
				if bytes.Contains(b, []byte(w)) {
					t.Errorf("the page holds %q", w)
				}
			}
			segs := 0
			for _, n := range p.elements {
				if n.Data == "circle" && attr(n, "class") != "ring" && strings.HasPrefix(attr(n, "class"), "seg ") {
					segs++
				}
			}
			if segs != tt.segments {
				t.Errorf("the donut has %d segments, want %d", segs, tt.segments)
			}
		})
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestHTMLDryRun checks the wording that keeps a dry run from being read
// as a run that wrote.
func TestHTMLDryRun(t *testing.T) {
	p := parse(t, render(t, dryRunInterrupted()))
	for _, w := range []string{"Dry run: nothing was written to the CRM", "Would create", "Would update", "Interrupted", "Pending", "1,500"} {
		if !p.hasText(w) {
			t.Errorf("the dry run's page does not show %q", w)
		}
	}
	p = parse(t, render(t, nightlyRun()))
	for _, w := range []string{"Dry run", "Would create"} {
		if p.hasText(w) {
			t.Errorf("a real run's page shows %q", w)
		}
	}
}

func TestHTMLLongListsAreCut(t *testing.T) {
	r := nightlyRun()
	r.FieldChanges = nil
	for i := range 40 {
		r.FieldChanges = append(r.FieldChanges, report.FieldCount{Field: "field" + strconv.Itoa(i), Count: int64(1000 - i)})
	}
	r.Failing = nil
	for i := range 130 {
		r.Failing = append(r.Failing, report.FailingRow{Key: "K" + strconv.Itoa(i), Runs: 3})
	}
	p := parse(t, render(t, r))
	// 15 fields are shown, the other 25 summed up.
	var rest int64
	for _, f := range r.FieldChanges[15:] {
		rest += f.Count
	}
	for _, w := range []string{"field14", "and 25 more fields, with " + commas(rest) + " changes between them", "K49", "and 80 more rows"} {
		if !p.hasText(w) {
			t.Errorf("the page does not show %q", w)
		}
	}
	for _, w := range []string{"field15", "K50"} {
		for _, s := range p.text {
			if s == w {
				t.Errorf("the page shows %q, past the cut", w)
			}
		}
	}
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestHTMLHistory checks that the run heads its trend table once, even
// when the history handed in lists it too.
func TestHTMLHistory(t *testing.T) {
	r := nightlyRun()
	r.History = append([]report.HistoryRun{{ID: r.ID, StartedAt: r.StartedAt, Status: r.Status, Counts: r.Counts}}, r.History...)
	p := parse(t, render(t, r))
	var ids []string
	for _, n := range p.elements {
		if n.Data == "td" && attr(n, "class") == "run" {
			ids = append(ids, strings.Fields(textOf(n))[0])
		}
	}
	want := []string{"#42", "#41", "#40", "#39", "#38", "#37"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("the history table lists runs %q, want %q", ids, want)
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
			b.WriteString(" ")
		}
	}
	return b.String()
}

func TestWriteHTMLNil(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, nil); err == nil {
		t.Error("WriteHTML(nil) succeeded")
	}
	if buf.Len() != 0 {
		t.Errorf("WriteHTML(nil) wrote %d bytes", buf.Len())
	}
}

func TestWriteHTMLFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	// An older, world-readable report is replaced, not rewritten in place.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTMLFile(path, nightlyRun()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %o, want 600", mode)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, render(t, nightlyRun())) {
		t.Error("the file differs from WriteHTML's output")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only report.html: a temporary file was left", len(entries))
	}

	if err := report.WriteHTMLFile(filepath.Join(dir, "missing", "report.html"), nightlyRun()); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
