package sar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Controller is a controller file (gdpr.yaml): who answers a
// subject-access request and, for each CRM, what GDPR Art. 15(1)(a)–(h)
// obliges the controller to tell the person besides the copy of the
// data. See the package documentation for the file's keys.
type Controller struct {
	// File is the path the controller file was read from, for messages.
	File string
	// Name and Contact are the controller's: the business that decides
	// why and how the data is processed.
	Name, Contact string
	// DPO is the data protection officer, or the privacy contact of a
	// business that needs none.
	DPO Party
	// Authority is the supervisory authority a complaint may be lodged
	// with (Art. 15(1)(f)); optional: the rights text names the right
	// without it.
	Authority Party
	// CRMs are the entries of "crms", in the file's order.
	CRMs []CRM
}

// Party is a person or body and how to reach them.
type Party struct {
	Name, Contact string
}

// CRM is what the controller tells a person about the data one CRM holds.
type CRM struct {
	// Key is the entry's name under "crms": a remote's or target's name,
	// or an API's name for every target of that API.
	Key string
	// Title names the system in plain words ("Online shop accounts");
	// optional, the key is shown without it.
	Title string
	// Purposes of the processing (Art. 15(1)(a)).
	Purposes []string
	// LegalBasis is the Art. 6 basis each purpose rests on.
	LegalBasis string
	// Categories of data (Art. 15(1)(b)); optional: the report lists the
	// fields the CRM holds, which are the categories at their finest.
	Categories []string
	// Recipients or categories of recipients (Art. 15(1)(c)).
	Recipients []string
	// Retention is how long the data is kept, or the criteria deciding
	// it (Art. 15(1)(d)).
	Retention string
	// Source is where the data came from, when not from the person
	// (Art. 15(1)(g)).
	Source string
	// AutomatedDecisions says whether decisions are made about the
	// person by automated means, profiling included, and if so their
	// logic and consequences (Art. 15(1)(h)).
	AutomatedDecisions string
	// Transfers describes transfers to third countries and their
	// safeguards (Art. 15(2)); optional.
	Transfers string

	line, col int
}

// maxControllerBytes bounds a controller file: it is a page of text.
const maxControllerBytes = 1 << 20

// LoadController reads and parses a controller file strictly: an unknown
// key, a list where a text belongs, or a key given twice is an error
// naming the file, the line and the key path. It does not check that the
// required items are present: Validate does.
func LoadController(path string) (*Controller, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseController(path, data)
}

// ParseController parses the text of a controller file; name is used in
// messages. See LoadController.
func ParseController(name string, data []byte) (*Controller, error) {
	if len(data) > maxControllerBytes {
		return nil, fmt.Errorf("%s: over %d KiB: not a controller file", name, maxControllerBytes>>10)
	}
	c := &Controller{File: name}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty; see samples/gdpr.yaml for a complete one", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	top := root(&doc)
	if top == nil || top.Tag == "!!null" {
		return nil, fmt.Errorf("%s: the file is empty; see samples/gdpr.yaml for a complete one", name)
	}
	w := &walker{file: name}
	w.fields(top, "", map[string]func(*yaml.Node, string){
		"controller":            w.party(&c.Name, &c.Contact),
		"dpo":                   w.party(&c.DPO.Name, &c.DPO.Contact),
		"supervisory_authority": w.party(&c.Authority.Name, &c.Authority.Contact),
		"crms": func(v *yaml.Node, path string) {
			ps, ok := w.pairs(v, path)
			if !ok {
				return
			}
			for _, p := range ps {
				e := CRM{Key: p.key, line: p.keyN.Line, col: p.keyN.Column}
				w.fields(p.value, join(path, p.key), map[string]func(*yaml.Node, string){
					"title":               w.str(&e.Title),
					"purposes":            w.list(&e.Purposes),
					"legal_basis":         w.str(&e.LegalBasis),
					"categories":          w.list(&e.Categories),
					"recipients":          w.list(&e.Recipients),
					"retention":           w.str(&e.Retention),
					"source":              w.str(&e.Source),
					"automated_decisions": w.str(&e.AutomatedDecisions),
					"transfers":           w.str(&e.Transfers),
				})
				c.CRMs = append(c.CRMs, e)
			}
		},
	})
	if err := w.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func (w *walker) party(name, contact *string) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) {
		w.fields(v, path, map[string]func(*yaml.Node, string){
			"name":    w.str(name),
			"contact": w.str(contact),
		})
	}
}

// required are the items every CRM entry must give, with what each is
// for: the words of the error that names one missing.
var required = []struct {
	key, what string
	get       func(*CRM) bool
}{
	{"purposes", "why the data is processed (Art. 15(1)(a))", func(e *CRM) bool { return len(e.Purposes) > 0 }},
	{"legal_basis", "the Art. 6 legal basis of the processing", func(e *CRM) bool { return e.LegalBasis != "" }},
	{"recipients", `who receives the data, or "no one outside <controller>" (Art. 15(1)(c))`, func(e *CRM) bool { return len(e.Recipients) > 0 }},
	{"retention", "how long the data is kept, or the criteria that decide it (Art. 15(1)(d))", func(e *CRM) bool { return e.Retention != "" }},
	{"source", `where the data came from, or "from you" (Art. 15(1)(g))`, func(e *CRM) bool { return e.Source != "" }},
	{"automated_decisions", `whether automated decisions or profiling are made, or "none" (Art. 15(1)(h))`, func(e *CRM) bool { return e.AutomatedDecisions != "" }},
}

// Validate reports every required item missing, each naming the file,
// the key path and what the item is for.
func (c *Controller) Validate() error {
	var errs []string
	missing := func(line, col int, path, what string) {
		pos := c.File
		if line > 0 {
			pos = fmt.Sprintf("%s:%d:%d", c.File, line, col)
		}
		errs = append(errs, fmt.Sprintf("%s: %s is missing: %s", pos, path, what))
	}
	if c.Name == "" {
		missing(0, 0, "controller.name", "the name of the business answering the request")
	}
	if c.Contact == "" {
		missing(0, 0, "controller.contact", "how the person reaches the controller (address, email)")
	}
	if c.DPO.Contact == "" {
		missing(0, 0, "dpo.contact", "how the person reaches the data protection officer, or the privacy contact where there is none")
	}
	if c.Authority.Contact != "" && c.Authority.Name == "" {
		missing(0, 0, "supervisory_authority.name", "the authority's name, given its contact")
	}
	if len(c.CRMs) == 0 {
		missing(0, 0, "crms", "an entry per CRM the export reads, under its remote's, target's or API's name")
	}
	for i := range c.CRMs {
		e := &c.CRMs[i]
		for _, r := range required {
			if !r.get(e) {
				missing(e.line, e.col, join(join("crms", e.Key), r.key), r.what)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &FileError{Problems: errs}
}

// For returns the entry of a target: the one under its name, else the
// one under its API's name.
func (c *Controller) For(target, api string) (*CRM, bool) {
	for _, key := range []string{target, api} {
		for i := range c.CRMs {
			if key != "" && c.CRMs[i].Key == key {
				return &c.CRMs[i], true
			}
		}
	}
	return nil, false
}

// Target names a CRM an export reads: its remote's or target's name and
// its API.
type Target struct {
	Name, API string
}

// Covers reports the targets the file has no entry for, naming the keys
// that would give one. An export checks it before any API call, so that
// no report goes out without the Art. 15 items of a CRM.
func (c *Controller) Covers(targets ...Target) error {
	var errs []string
	for _, t := range targets {
		if _, ok := c.For(t.Name, t.API); ok {
			continue
		}
		keys := []string{t.Name}
		if t.API != "" && t.API != t.Name {
			keys = append(keys, t.API)
		}
		for i := range keys {
			keys[i] = join("crms", keys[i])
		}
		have := make([]string, len(c.CRMs))
		for i := range c.CRMs {
			have[i] = c.CRMs[i].Key
		}
		slices.Sort(have)
		errs = append(errs, fmt.Sprintf("%s: no entry for the CRM %s (API %s): add %s; the file has %s",
			c.File, t.Name, t.API, strings.Join(keys, " or "), orNone(have)))
	}
	if len(errs) == 0 {
		return nil
	}
	return &FileError{Problems: errs}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
