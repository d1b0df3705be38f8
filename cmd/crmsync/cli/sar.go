package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"crmsync/gdpr"
	"crmsync/gdpr/sar"
)

// sarFlags are the flags of the readable subject-access reports an
// export writes beside its JSON files.
type sarFlags struct {
	controller  string
	template    string
	requestID   string
	requestedAt string

	// resolved by load
	ctl *sar.Controller
	tpl *sar.Template
	at  time.Time
}

func (f *sarFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.controller, "controller", "", "controller file (gdpr.yaml, see samples/gdpr.yaml): also write a readable report per subject, subjects/<row>.html, and report.html")
	fs.StringVar(&f.template, "report-template", "", "texts, field labels and pages of the readable reports (YAML; see gdpr/sar/default.yaml), to replace the default English ones")
	fs.StringVar(&f.requestID, "request-id", "", "the request's reference, shown on the readable reports")
	fs.StringVar(&f.requestedAt, "requested-at", "", "when the request was received, shown on the readable reports: 2026-11-28 or 2026-11-28T09:30:00Z")
}

// enabled reports whether the export writes readable reports.
func (f *sarFlags) enabled() bool { return f.controller != "" }

// sarHelp is what export --help says of the readable reports. The
// example's entry is keyed by an API's name, whichever API is registered
// first, since this package names none.
func sarHelp() string {
	return `
READABLE REPORTS (GDPR Art. 15)
With --controller FILE the export also writes, through the same staging,
permissions, encryption and manifest as its other files:

  subjects/row-<n>.html   per person named on row n of --subjects: every
                          field each CRM holds on them under a plain label
                          (empty fields left out), which CRM holds what,
                          the controller file's Art. 15(1)(a)-(h) items for
                          each CRM, their rights, and the JSON files as
                          the machine-readable copy
  report.html             the cover, for whoever answers the request: each
                          person, where each was found and not found, every
                          other file with its SHA-256 as in the manifest,
                          and what could not be read. It cannot hold its own
                          hash: the manifest lists it, as it lists every file

Each page is one file with nothing to load, and prints on A4. The controller
file names the controller, the DPO, and per CRM (by remote, target or API
name) the purposes, legal basis, recipients, retention, source and automated
decisions; ` + "`crmsync check --controller FILE`" + ` checks it, and the export
checks it before any API call. A complete one:

  controller:
    name: Lindenhof Outdoor GmbH
    contact: Lindenstraße 12, 10969 Berlin · privacy@lindenhof-outdoor.example
  dpo:
    contact: dpo@lindenhof-outdoor.example
  supervisory_authority:          # optional
    name: Berliner Beauftragte für Datenschutz und Informationsfreiheit
  crms:
    ` + fmt.Sprintf("%-30s", firstAPI()+":") + `# a remote's, target's or API's name
      title: Online shop customer accounts
      purposes: [Running your account and orders, Invoicing]
      legal_basis: Contract (Art. 6(1)(b) GDPR); legal obligation (6(1)(c))
      recipients: [Parcel carriers, our payment provider]
      retention: While the account is open, then 10 years for invoices
      source: From you, when you opened your account
      automated_decisions: None
      categories: [Contact details, addresses, orders]   # optional
      transfers: None outside the EU                     # optional

--report-template FILE replaces any of the texts, adds field labels, sets the
pages' language and may replace the pages (a Go html/template file): write
the reports in your own language and words.`
}

// load reads and checks the controller file and the template, before any
// API call: an export must not read a CRM whose report it cannot write.
func (f *sarFlags) load() error {
	if !f.enabled() {
		if f.template != "" || f.requestID != "" || f.requestedAt != "" {
			return usageError("--report-template, --request-id and --requested-at go with --controller")
		}
		return nil
	}
	ctl, err := loadController(f.controller)
	if err != nil {
		return err
	}
	f.ctl = ctl
	f.tpl = sar.DefaultTemplate()
	if f.template != "" {
		if f.tpl, err = sar.LoadTemplate(f.template); err != nil {
			return usageError("--report-template: %v", err)
		}
	}
	if f.requestedAt != "" {
		if f.at, err = parseRequestedAt(f.requestedAt); err != nil {
			return err
		}
	}
	return nil
}

// covers checks that the controller file has an entry for every CRM of
// the export, once their names and APIs are known and before any API
// call.
func (f *sarFlags) covers(targets ...sar.Target) error {
	if f.ctl == nil {
		return nil
	}
	if err := f.ctl.Covers(targets...); err != nil {
		return usageError("--controller: %v", err)
	}
	return nil
}

// loadController reads a controller file and checks that it gives every
// required item.
func loadController(path string) (*sar.Controller, error) {
	ctl, err := sar.LoadController(path)
	if err == nil {
		err = ctl.Validate()
	}
	if err != nil {
		return nil, usageError("--controller: %v", err)
	}
	return ctl, nil
}

func parseRequestedAt(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError("--requested-at %q: give a date, 2026-11-28, or a time, 2026-11-28T09:30:00Z", s)
}

// checkController is `crmsync check --controller`: the file is read and
// checked, and what it covers printed.
func checkController(path string, stdout io.Writer) error {
	ctl, err := loadController(path)
	if err != nil {
		return err
	}
	keys := make([]string, len(ctl.CRMs))
	for i, e := range ctl.CRMs {
		keys[i] = e.Key
	}
	fmt.Fprintf(stdout, "%s: controller file of %s, every Art. 15 item given for %s\n", path, ctl.Name, strings.Join(keys, ", "))
	return nil
}

// sarPage is the page of the subject named on row n of the subjects
// file: a name that says nothing of the person and that whoever answers
// the request maps back to the request by its row.
func sarPage(row int) string { return "row-" + strconv.Itoa(row) }

// writeReports writes a page per subject (subjects/row-<n>.html) and the
// cover (report.html) into dir, adding their entries to out. The cover
// lists the entries of lists, the subjects' pages included (out is among
// them): every file but itself and the manifest, which lists the cover
// in turn.
func (f *sarFlags) writeReports(dir *gdpr.Dir, answers []gdpr.Answer, answeredAt time.Time, problems []string, out *gdpr.FileList, lists ...*gdpr.FileList) error {
	r := &sar.Request{Controller: f.ctl, RequestID: f.requestID, RequestedAt: f.at, AnsweredAt: answeredAt, Problems: problems}
	if err := dir.MkdirAll("subjects"); err != nil {
		return err
	}
	for _, a := range answers {
		s, err := sarSubject(a, dir.Encrypted())
		if err != nil {
			return err
		}
		e, err := writePage(dir, sar.PageName(s.ID), func(w io.Writer) error { return f.tpl.WriteSubject(w, r, &s) })
		if err != nil {
			return err
		}
		if err := out.Add(e); err != nil {
			return err
		}
		// The cover needs each subject's holdings, not their fields.
		for i := range s.Holdings {
			s.Holdings[i].Fields = nil
		}
		r.Subjects = append(r.Subjects, s)
	}
	for _, l := range lists {
		err := l.Each(func(e gdpr.FileEntry) error {
			r.Files = append(r.Files, sar.File{Path: e.Path, Bytes: e.Bytes, SHA256: e.SHA256})
			return nil
		})
		if err != nil {
			return err
		}
	}
	e, err := writePage(dir, sarCover, func(w io.Writer) error { return f.tpl.WriteCover(w, r) })
	if err != nil {
		return err
	}
	return out.Add(e)
}

// sarCover is the cover report's name at the top of the export.
const sarCover = "report.html"

// sarSubject is a subject's answer as its page shows it. In an encrypted
// export the page is read once decrypted, beside the JSON files decrypted
// with it: its links name them without the .age their names on disk end
// in.
func sarSubject(a gdpr.Answer, encrypted bool) (sar.Subject, error) {
	s := sar.Subject{ID: sarPage(a.Subject.Row), NotFoundIn: a.NotFoundIn, NotReadIn: a.NotReadIn}
	for _, named := range []string{a.Subject.Email, a.Subject.Match, a.Subject.ID} {
		if named != "" {
			s.Named = named
			break
		}
	}
	for _, h := range a.Holdings {
		fields, err := sar.FieldsFromJSON("", h.Customer)
		if err != nil {
			return s, fmt.Errorf("%s, customer %s: %w", h.Target, h.CustomerID, err)
		}
		for _, name := range slices.Sorted(maps.Keys(h.Related)) {
			more, err := sar.FieldsFromJSON(name, h.Related[name])
			if err != nil {
				return s, fmt.Errorf("%s, customer %s, %s: %w", h.Target, h.CustomerID, name, err)
			}
			fields = append(fields, more...)
		}
		copyName := h.File
		if encrypted {
			copyName = strings.TrimSuffix(copyName, gdpr.EncryptedSuffix)
		}
		s.Holdings = append(s.Holdings, sar.Holding{Target: h.Target, API: h.API, CustomerID: h.CustomerID, Fields: fields, Copy: copyName})
	}
	return s, nil
}

// writePage writes one page through dir: owner-only, encrypted when the
// export is, hashed for the manifest.
func writePage(dir *gdpr.Dir, name string, render func(io.Writer) error) (gdpr.FileEntry, error) {
	f, err := dir.Create(name)
	if err != nil {
		return gdpr.FileEntry{}, err
	}
	if err := render(f); err != nil {
		f.Abort()
		return gdpr.FileEntry{}, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Commit(true)
}
