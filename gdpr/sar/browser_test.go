package sar_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"crmsync/gdpr/sar"
	"crmsync/gdpr/sar/sartest"
)

var screenshots = flag.String("screenshots", "", "also copy the browser test's screenshots into this directory")

// TestReportsInBrowser opens both pages of the sample request in headless
// Chromium at a desktop and a phone width, and checks that the subject's
// page shows every non-empty field under its label, every Art. 15 item
// and right, the cover every file's hash, with no sideways scrolling, no
// value run as script and nothing loaded from elsewhere.
func TestReportsInBrowser(t *testing.T) {
	b := sartest.NewBrowser(t)
	b.CopyShots = *screenshots
	r := sampleRequest(t)
	dir := t.TempDir()
	tpl := sar.DefaultTemplate()
	subjectPath := filepath.Join(dir, "subject.html")
	coverPath := filepath.Join(dir, "report.html")
	for path, write := range map[string]func(f *os.File) error{
		subjectPath: func(f *os.File) error { return tpl.WriteSubject(f, r, &r.Subjects[0]) },
		coverPath:   func(f *os.File) error { return tpl.WriteCover(f, r) },
	} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range sartest.Widths {
		t.Run(fmt.Sprint(w.Width), func(t *testing.T) {
			s := b.Open(t, subjectPath, w.Width, w.Height, w.Mobile)
			sartest.CheckSubject(t, tpl, r, &r.Subjects[0], s)
			c := b.Open(t, coverPath, w.Width, w.Height, w.Mobile)
			for _, f := range r.Files {
				if c.Files[f.Path] != f.SHA256 {
					t.Errorf("the cover shows %s with SHA-256 %q, want %s", f.Path, c.Files[f.Path], f.SHA256)
				}
			}
		})
	}
	b.OnlyItself(t, []string{subjectPath, coverPath})
}
