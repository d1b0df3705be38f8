package report_test

import (
	"context"
	"flag"
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

	"crmsync/report"
)

var screenshots = flag.String("screenshots", "", "also copy the browser test's screenshots into this directory")

// chromium finds a Chromium or Chrome binary; "" when the machine has
// none, the only case in which the browser test is skipped.
func chromium() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// layout is what the page measures of itself in the browser.
type layout struct {
	InnerWidth  float64           `json:"innerWidth"`
	ScrollWidth float64           `json:"scrollWidth"`
	Donut       box               `json:"donut"`
	Tiles       map[string]string `json:"tiles"`
	Legend      map[string]string `json:"legend"`
	Bars        int               `json:"bars"`
	FlatBars    []string          `json:"flatBars"`
	Wide        []string          `json:"wide"`
	Overflowing []string          `json:"overflowing"`
}

type box struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// measure runs in the page. Wide lists elements reaching past the
// viewport's edges; Overflowing lists elements whose content is wider than
// their box, which a hidden overflow would otherwise clip unseen.
const measure = `(() => {
  const vw = window.innerWidth;
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className ? "." + e.className.trim().replace(/\s+/g, ".") : "") +
    " " + JSON.stringify((e.textContent || "").trim().slice(0, 40));
  const all = [...document.querySelectorAll("body *")];
  const d = document.querySelector("svg.donut").getBoundingClientRect();
  const bars = [...document.querySelectorAll("svg.bar")];
  return {
    innerWidth: vw,
    scrollWidth: document.documentElement.scrollWidth,
    donut: {width: d.width, height: d.height},
    tiles: Object.fromEntries([...document.querySelectorAll("[data-tile]")].map(
      e => [e.dataset.tile, e.querySelector(".tile-value").textContent.trim()])),
    legend: Object.fromEntries([...document.querySelectorAll("[data-legend]")].map(
      e => [e.dataset.legend, e.querySelector(".count").textContent.trim()])),
    bars: bars.length,
    flatBars: bars.filter(b => { const r = b.getBoundingClientRect(); return r.width < 20 || r.height < 4; }).map(name),
    wide: all.filter(e => { const r = e.getBoundingClientRect();
      return r.width > 0 && (r.right > vw + 0.5 || r.left < -0.5); }).slice(0, 8).map(name),
    overflowing: all.filter(e => !(e instanceof SVGElement) && e.scrollWidth > e.clientWidth + 1 &&
      getComputedStyle(e).display !== "inline").slice(0, 8).map(name),
  };
})()`

// TestHTMLInBrowser opens the page in headless Chromium at a desktop and
// a phone width and checks what a person would see go wrong: a page wider
// than the screen, an element past its edge, a chart with no size, tiles
// showing other numbers than the run's. It keeps its screenshots when it
// fails.
func TestHTMLInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		const msg = "no Chromium (looked for /usr/bin/chromium, chromium, chromium-browser and google-chrome); " +
			"install it to run this check, on Debian: sudo apt-get install --no-install-recommends chromium"
		// .ci/run installs Chromium and sets this, so that CI never skips
		// the check unseen.
		if os.Getenv("CRMSYNC_BROWSER_TEST") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	shotDir, err := os.MkdirTemp("", "report-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("screenshots kept in %s", shotDir)
			return
		}
		os.RemoveAll(shotDir)
	})
	pages := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
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
	defer cancelAlloc()

	// Every request the tab makes: a self-contained page makes one, for
	// itself.
	var mu sync.Mutex
	var requests []string
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}))
	defer cancelTab()
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}

	runs := []struct {
		name string
		run  *report.Run
	}{
		{"nightly", nightlyRun()},
		{"empty", &report.Run{}},
		{"extreme", extremeRun()},
		{"dry-run", dryRunInterrupted()},
	}
	widths := []struct {
		width, height int64
		mobile        bool
	}{
		{1280, 900, false},
		{390, 844, true},
	}
	var pageURLs []string
	for _, rr := range runs {
		path := filepath.Join(pages, rr.name+".html")
		if err := report.WriteHTMLFile(path, rr.run); err != nil {
			t.Fatal(err)
		}
		u := (&url.URL{Scheme: "file", Path: path}).String()
		pageURLs = append(pageURLs, u)
		for _, w := range widths {
			t.Run(fmt.Sprintf("%s/%d", rr.name, w.width), func(t *testing.T) {
				opts := []chromedp.EmulateViewportOption{}
				if w.mobile {
					opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
				}
				if err := chromedp.Do(tab,
					chromedp.EmulateViewport(w.width, w.height, opts...),
					chromedp.Navigate(u),
				); err != nil {
					t.Fatalf("load %s: %v", u, err)
				}
				shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				name := fmt.Sprintf("%s-%d.png", rr.name, w.width)
				if err := os.WriteFile(filepath.Join(shotDir, name), shot, 0o600); err != nil {
					t.Fatal(err)
				}
				if *screenshots != "" {
					if err := os.WriteFile(filepath.Join(*screenshots, name), shot, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				l, err := chromedp.Run(tab, chromedp.Evaluate[layout](measure))
				if err != nil {
					t.Fatalf("measure: %v", err)
				}
				checkLayout(t, l, rr.run, w.width)
			})
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Error("no request seen, not even the pages': the check below would pass blind")
	}
	for _, r := range requests {
		if !slices.Contains(pageURLs, r) {
			t.Errorf("the page requested %s: it must load nothing but itself", r)
		}
	}
}

func checkLayout(t *testing.T, l layout, r *report.Run, width int64) {
	t.Helper()
	if l.InnerWidth != float64(width) {
		// A phone widens the layout to fit content that does not fit.
		t.Errorf("window.innerWidth = %v, want %d: the page does not fit the screen", l.InnerWidth, width)
	}
	if l.ScrollWidth > l.InnerWidth {
		t.Errorf("the page scrolls sideways: scrollWidth %v > innerWidth %v", l.ScrollWidth, l.InnerWidth)
	}
	if len(l.Wide) > 0 {
		t.Errorf("elements reach past the viewport: %s", strings.Join(l.Wide, "; "))
	}
	if len(l.Overflowing) > 0 {
		t.Errorf("elements are wider inside than their box: %s", strings.Join(l.Overflowing, "; "))
	}
	if l.Donut.Width < 100 || l.Donut.Height < 100 {
		t.Errorf("the outcome chart is %v×%v px", l.Donut.Width, l.Donut.Height)
	}
	if l.Bars == 0 && (len(r.Rejects) > 0 || len(r.Phases) > 0 || len(r.FieldChanges) > 0) {
		t.Error("no bar chart was drawn")
	}
	if len(l.FlatBars) > 0 {
		t.Errorf("bar charts with no room: %s", strings.Join(l.FlatBars, "; "))
	}
	c := r.Counts
	want := map[string]string{
		"read": commas(c.Read), "created": commas(c.Created), "updated": commas(c.Updated),
		"unchanged": commas(c.Unchanged), "rejected": commas(c.Rejected), "deleted": commas(c.Deleted),
		"pending": commas(c.Pending), "calls": commas(r.API.Calls), "retries": commas(r.API.Retries),
		"rate-limited": commas(r.API.RateLimited),
	}
	for k, v := range want {
		if got := l.Tiles[k]; got != v {
			t.Errorf("tile %s shows %q, want %q", k, got, v)
		}
	}
	if got, want := l.Legend["created"], commas(c.Created); got != want {
		t.Errorf("the chart's legend shows %q created, want %q", got, want)
	}
}
