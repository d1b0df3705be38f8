package sar

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The default template: its texts and labels (default.yaml) and its
// pages (report.html.tmpl). A user's template file overrides any of them.
//
//go:embed default.yaml report.html.tmpl
var defaults embed.FS

// Template is what the reports are written with: the fixed texts, the
// field labels and the pages.
type Template struct {
	lang   string
	texts  map[string]string
	labels map[string]string
	byKey  labeler
	html   *template.Template
}

// DefaultTemplate returns the embedded template (English).
func DefaultTemplate() *Template {
	t, err := parseTemplate("default.yaml", mustRead("default.yaml"), nil, "")
	if err != nil {
		panic("gdpr/sar: the embedded template: " + err.Error())
	}
	return t
}

func mustRead(name string) []byte {
	b, err := defaults.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// DefaultTemplateText returns the embedded template's files, for a user
// to copy and change: the texts and labels, and the pages.
func DefaultTemplateText() (yamlText, htmlText []byte) {
	return mustRead("default.yaml"), mustRead("report.html.tmpl")
}

// LoadTemplate reads a user's template file: YAML with any of the keys
//
//	lang:   the pages' language tag (en, de, …)
//	texts:  fixed texts by name, replacing the default's (the names are
//	        those of the default; an unknown name is an error)
//	labels: field labels by path ("billing_address.city") or by a path's
//	        part ("city"), added to and replacing the default's
//	html:   a Go html/template file, relative to this file, whose
//	        {{define}}s replace the default's ("subject", "cover",
//	        "style", …)
//
// Whatever the file leaves out comes from the default template.
func LoadTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	base := DefaultTemplate()
	return parseTemplate(path, data, base, filepath.Dir(path))
}

// parseTemplate reads a template file over base (nil: the file is the
// default itself and must give every text).
func parseTemplate(name string, data []byte, base *Template, dir string) (*Template, error) {
	t := &Template{texts: map[string]string{}, labels: map[string]string{}}
	if base != nil {
		t.lang = base.lang
		for k, v := range base.texts {
			t.texts[k] = v
		}
		for k, v := range base.labels {
			t.labels[k] = v
		}
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w := &walker{file: name}
	texts := map[string]string{}
	var htmlFile string
	if top := root(&doc); top != nil && top.Tag != "!!null" {
		w.fields(top, "", map[string]func(*yaml.Node, string){
			"lang":   w.str(&t.lang),
			"texts":  w.strMap(texts),
			"labels": w.strMap(t.labels),
			"html":   w.str(&htmlFile),
		})
	}
	if base != nil {
		var unknown []string
		for k := range texts {
			if _, ok := base.texts[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		for _, k := range unknown {
			w.errorf(nil, "texts."+k, "unknown text; the texts are those of the default template, gdpr/sar/default.yaml in crmsync's source")
		}
	}
	for k, v := range texts {
		t.texts[k] = v
	}
	if err := w.err(); err != nil {
		return nil, err
	}
	var err error
	t.html, err = template.New("report").Option("missingkey=error").Funcs(funcs).Parse(string(mustRead("report.html.tmpl")))
	if err != nil {
		return nil, fmt.Errorf("the default pages: %w", err)
	}
	if htmlFile != "" {
		if base == nil {
			return nil, fmt.Errorf("%s: html: the default template names no html file", name)
		}
		p := htmlFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: html: %w", name, err)
		}
		if t.html, err = t.html.Parse(string(src)); err != nil {
			return nil, fmt.Errorf("%s: html: %w", name, err)
		}
	}
	for _, page := range []string{"subject", "cover"} {
		if t.html.Lookup(page) == nil {
			return nil, fmt.Errorf("%s: the pages define no %q template", name, page)
		}
	}
	if t.lang == "" {
		t.lang = "en"
	}
	t.byKey = newLabeler(t.labels)
	return t, nil
}

// Text returns one of the template's fixed texts.
func (t *Template) Text(name string) string { return t.texts[name] }

// Label returns a field's label (see the function Label).
func (t *Template) Label(field string) string { return t.byKey.label(field) }

var funcs = template.FuncMap{
	// lines splits a text of the controller file at its line breaks,
	// for an address given as a block.
	"lines": func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
}
