// Package sartest opens subject-access reports in headless Chromium and
// checks what a person sees in them against the request they were made
// of. It serves the tests of package sar and of the export command.
package sartest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"crmsync/gdpr/sar"
)

// Chromium finds a Chromium or Chrome binary; "" when the machine has
// none, the only case in which the browser checks are skipped (CI sets
// CRMSYNC_BROWSER_TEST=required, so that it never skips them unseen).
func Chromium(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium (looked for /usr/bin/chromium, chromium, chromium-browser and google-chrome); " +
		"install it to run this check, on Debian: sudo apt-get install --no-install-recommends chromium"
	if os.Getenv("CRMSYNC_BROWSER_TEST") == "required" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Seen is what a page shows in the browser, measured in it.
type Seen struct {
	InnerWidth  float64             `json:"innerWidth"`
	ScrollWidth float64             `json:"scrollWidth"`
	Fields      map[string][]string `json:"fields"` // holding → "name\tlabel\tvalue" as rendered
	Items       map[string][]string `json:"items"`  // holding → "item\ttext"
	Page        []string            `json:"page"`   // "item\ttext" outside the holdings
	Rights      map[string]string   `json:"rights"`
	Files       map[string]string   `json:"files"` // path → SHA-256
	Wide        []string            `json:"wide"`
	Hidden      []string            `json:"hidden"`
	Title       string              `json:"title"`
}

// Measure runs in a page: what each element the tests look for shows as
// innerText (what a person sees: text hidden by CSS is left out), and the
// elements reaching past the viewport.
const Measure = `(() => {
  const vw = window.innerWidth;
  const name = e => e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className : "") +
    " " + JSON.stringify((e.textContent || "").trim().slice(0, 40));
  const seen = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&
    getComputedStyle(e).visibility !== "hidden"; };
  const fields = {}, items = {};
  for (const h of document.querySelectorAll("[data-holding]")) {
    const k = h.dataset.holding;
    fields[k] = [...h.querySelectorAll("[data-field]")].map(r =>
      r.dataset.field + "\t" + r.querySelector(".label").innerText.trim() + "\t" + r.querySelector(".value").innerText);
    items[k] = [...h.querySelectorAll("[data-item]")].map(e => e.dataset.item + "\t" + e.innerText);
  }
  const all = [...document.querySelectorAll("body *")];
  return {
    innerWidth: vw,
    scrollWidth: document.documentElement.scrollWidth,
    fields, items,
    page: [...document.querySelectorAll("[data-item]")].filter(e => !e.closest("[data-holding]")).map(e => e.dataset.item + "\t" + e.innerText),
    rights: Object.fromEntries([...document.querySelectorAll("[data-right]")].map(e => [e.dataset.right, e.innerText])),
    files: Object.fromEntries([...document.querySelectorAll("[data-file]")].map(e => [e.dataset.file, e.querySelector("[data-sha256]").innerText.trim()])),
    wide: all.filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5); }).slice(0, 8).map(name),
    hidden: [...document.querySelectorAll("[data-field], [data-item], [data-right], [data-file]")].filter(e => !seen(e)).slice(0, 8).map(name),
    title: document.title,
  };
})()`

// Browser is a headless Chromium tab.
type Browser struct {
	// CopyShots, when set, is a directory each screenshot is also
	// copied to.
	CopyShots string

	tab      context.Context
	mu       sync.Mutex
	requests []string
	shots    string
}

// NewBrowser starts headless Chromium for the test; screenshots go to a
// directory kept when the test fails.
func NewBrowser(t *testing.T) *Browser {
	exe := Chromium(t)
	shots, err := os.MkdirTemp("", "sar-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots kept in %s", shots)
			return
		}
		os.RemoveAll(shots)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	b := &Browser{shots: shots}
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		}
	}))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	b.tab = tab
	return b
}

// Widths are the screens every page is checked on: a desktop and a phone.
var Widths = []struct {
	Width, Height int64
	Mobile        bool
}{
	{1280, 900, false},
	{390, 844, true},
}

// Open loads a page at a width, keeps a screenshot and measures it.
func (b *Browser) Open(t *testing.T, path string, width, height int64, mobile bool) Seen {
	t.Helper()
	u := (&url.URL{Scheme: "file", Path: path}).String()
	opts := []chromedp.EmulateViewportOption{}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(b.tab, chromedp.EmulateViewport(width, height, opts...), chromedp.Navigate(u)); err != nil {
		t.Fatalf("load %s: %v", u, err)
	}
	shot, err := chromedp.Run(b.tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	name := fmt.Sprintf("%s-%d.png", strings.TrimSuffix(filepath.Base(path), ".html"), width)
	if err := os.WriteFile(filepath.Join(b.shots, name), shot, 0o600); err != nil {
		t.Fatal(err)
	}
	if b.CopyShots != "" {
		if err := os.WriteFile(filepath.Join(b.CopyShots, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := chromedp.Run(b.tab, chromedp.Evaluate[Seen](Measure))
	if err != nil {
		t.Fatalf("measure: %v", err)
	}
	if s.InnerWidth != float64(width) {
		// A phone widens the layout to fit content that does not fit.
		t.Errorf("%s at %d px: window.innerWidth = %v: the page does not fit the screen", name, width, s.InnerWidth)
	}
	if s.ScrollWidth > s.InnerWidth {
		t.Errorf("%s at %d px: the page scrolls sideways: scrollWidth %v > innerWidth %v", name, width, s.ScrollWidth, s.InnerWidth)
	}
	if len(s.Wide) > 0 {
		t.Errorf("%s at %d px: elements reach past the viewport: %s", name, width, strings.Join(s.Wide, "; "))
	}
	if len(s.Hidden) > 0 {
		t.Errorf("%s at %d px: elements the tests read are not shown: %s", name, width, strings.Join(s.Hidden, "; "))
	}
	if s.Title == "owned" {
		t.Errorf("%s: a value ran as script (document.title was changed)", name)
	}
	return s
}

// OnlyItself fails the test when a page loaded anything but the pages
// opened.
func (b *Browser) OnlyItself(t *testing.T, pages []string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		t.Error("no request seen, not even the pages': the check would pass blind")
	}
	for _, r := range b.requests {
		if !slices.ContainsFunc(pages, func(p string) bool { return r == (&url.URL{Scheme: "file", Path: p}).String() }) {
			t.Errorf("a page requested %s: it must load nothing but itself", r)
		}
	}
}

// CheckSubject compares what a subject's page shows with the subject:
// each holding's non-empty fields, each under its label and with its
// value as held (hostile text included), and nothing else; every item of
// the controller file's entry for the CRM; the rights; who is
// responsible.
func CheckSubject(t testing.TB, tpl *sar.Template, r *sar.Request, subj *sar.Subject, s Seen) {
	t.Helper()
	for _, h := range subj.Holdings {
		var want []string
		for _, f := range h.Fields {
			if strings.TrimSpace(f.Value) != "" {
				want = append(want, f.Name+"\t"+tpl.Label(f.Name)+"\t"+f.Value)
			}
		}
		got := s.Fields[h.Target]
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: the page does not show %q", h.Target, w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: the page shows %d fields, want the %d non-empty ones", h.Target, len(got), len(want))
		}
		e, ok := r.Controller.For(h.Target, h.API)
		if !ok {
			t.Fatalf("the controller file has no entry for %s", h.Target)
		}
		items := map[string]string{}
		for _, it := range s.Items[h.Target] {
			k, v, _ := strings.Cut(it, "\t")
			items[k] = v
		}
		for key, vals := range map[string][]string{
			"purposes": e.Purposes, "legal_basis": {e.LegalBasis}, "categories": e.Categories,
			"recipients": e.Recipients, "retention": {e.Retention}, "source": {e.Source},
			"automated_decisions": {e.AutomatedDecisions}, "transfers": {e.Transfers},
		} {
			got, ok := items[key]
			if !ok {
				t.Errorf("%s: the page does not show the item %s", h.Target, key)
			}
			for _, v := range vals {
				if v != "" && !strings.Contains(squash(got), squash(v)) {
					t.Errorf("%s: item %s shows %q, want %q in it", h.Target, key, got, v)
				}
			}
		}
	}
	page := strings.Join(s.Page, "\n")
	c := r.Controller
	for _, v := range []string{c.Name, c.Contact, c.DPO.Contact, c.Authority.Name} {
		if !strings.Contains(squash(page), squash(v)) {
			t.Errorf("the page does not show %q", v)
		}
	}
	for _, right := range []string{"rectification", "erasure", "restriction", "objection", "complaint"} {
		if strings.TrimSpace(s.Rights[right]) == "" {
			t.Errorf("the page does not state the right of %s", right)
		}
	}
}

// squash makes texts compare as a person reads them, whatever their line
// breaks and spaces.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
