package sar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// page is what every page's template is given.
type page struct {
	Lang        string
	T           map[string]string
	Controller  *Controller
	RequestID   string
	RequestedAt string
	AnsweredAt  string
	// Named is how the request named the person, on their own page.
	Named string
}

// subjectPage is a subject's page: Holdings in the request's order, the
// CRMs that hold nothing, and the rights, which follow the Art. 15 items.
type subjectPage struct {
	page
	Subject    *Subject
	Holdings   []holdingView
	NotFoundIn []string
	NotReadIn  []string
}

type holdingView struct {
	Title, Target, API, CustomerID string
	// Copy is the link to the machine-readable copy, relative to the
	// subject's page; CopyName the file's path in the export.
	Copy, CopyName string
	Fields         []fieldView
	About          *CRM
	// T is the template's texts, for the parts of the page that show a
	// holding on its own.
	T map[string]string
}

type fieldView struct {
	Name, Label, Value string
}

// coverPage is a request's cover report.
type coverPage struct {
	page
	Subjects []coverSubject
	Files    []File
	Problems []string
}

type coverSubject struct {
	ID, Named, Page string
	Found           []holdingView // Fields left empty
	NotFoundIn      []string
	NotReadIn       []string
}

func (t *Template) page(r *Request) page {
	p := page{Lang: t.lang, T: t.texts, Controller: r.Controller, RequestID: r.RequestID}
	if !r.RequestedAt.IsZero() {
		p.RequestedAt = t.date(r.RequestedAt)
	}
	if !r.AnsweredAt.IsZero() {
		p.AnsweredAt = t.date(r.AnsweredAt)
	}
	return p
}

func (t *Template) date(at time.Time) string {
	layout := t.texts["date_format"]
	if layout == "" {
		layout = time.RFC3339
	}
	return at.UTC().Format(layout)
}

// holding makes the view of one CRM's data on a subject: labelled, empty
// values left out, and the controller file's entry for the CRM.
func (t *Template) holding(r *Request, h *Holding, withFields bool) (holdingView, error) {
	v := holdingView{T: t.texts, Title: h.Title, Target: h.Target, API: h.API, CustomerID: h.CustomerID, CopyName: h.Copy}
	if h.Copy != "" {
		// Pages live in subjects/, one level below the top.
		v.Copy = "../" + path.Clean(h.Copy)
	}
	if r.Controller != nil {
		e, ok := r.Controller.For(h.Target, h.API)
		if !ok {
			return v, fmt.Errorf("%s names no CRM %s (API %s)", r.Controller.File, h.Target, h.API)
		}
		v.About = e
		if v.Title == "" {
			v.Title = e.Title
		}
	}
	if v.Title == "" {
		v.Title = h.Target
	}
	if withFields {
		for _, f := range h.Fields {
			if strings.TrimSpace(f.Value) == "" {
				continue
			}
			v.Fields = append(v.Fields, fieldView{Name: f.Name, Label: t.Label(f.Name), Value: f.Value})
		}
	}
	return v, nil
}

// WriteSubject writes the page of one subject of the request.
func (t *Template) WriteSubject(w io.Writer, r *Request, s *Subject) error {
	if r.Controller == nil {
		return errors.New("a subject's page needs the controller file")
	}
	p := subjectPage{page: t.page(r), Subject: s, NotFoundIn: s.NotFoundIn, NotReadIn: s.NotReadIn}
	p.Named = s.Named
	for i := range s.Holdings {
		v, err := t.holding(r, &s.Holdings[i], true)
		if err != nil {
			return err
		}
		p.Holdings = append(p.Holdings, v)
	}
	return t.execute(w, "subject", p)
}

// WriteCover writes the cover report of the request.
func (t *Template) WriteCover(w io.Writer, r *Request) error {
	p := coverPage{page: t.page(r), Files: r.Files, Problems: r.Problems}
	for i := range r.Subjects {
		s := &r.Subjects[i]
		cs := coverSubject{ID: s.ID, Named: s.Named, Page: PageName(s.ID), NotFoundIn: s.NotFoundIn, NotReadIn: s.NotReadIn}
		for j := range s.Holdings {
			v, err := t.holding(r, &s.Holdings[j], false)
			if err != nil {
				return err
			}
			cs.Found = append(cs.Found, v)
		}
		p.Subjects = append(p.Subjects, cs)
	}
	return t.execute(w, "cover", p)
}

// execute renders into memory first: a template failing halfway must
// not leave half a page in a file that is then committed.
func (t *Template) execute(w io.Writer, name string, data any) error {
	var buf bytes.Buffer
	if err := t.html.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("the %s page: %w", name, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
