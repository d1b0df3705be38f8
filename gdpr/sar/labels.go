package sar

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// labelSep joins the labels of a path's parts: "Billing address – City".
const labelSep = " – "

// Label gives a field's human label from labels, a map of a template's
// labels: the label of the whole path when the map has one; otherwise
// each part of the path labelled on its own (by its path so far, then by
// its name alone, else made from its words: "billingAddress" and
// "billing_address" both read "Billing address") and joined with " – ".
// A part that is a list position joins the part before it: "Contacts 2 –
// Email". Keys match whatever their case and separators: the label of
// "postal_code" is that of "postalCode" too.
func Label(labels map[string]string, name string) string {
	return newLabeler(labels).label(name)
}

// labeler holds a template's labels by their folded keys.
type labeler map[string]string

func newLabeler(labels map[string]string) labeler {
	l := make(labeler, len(labels))
	for k, v := range labels {
		if v != "" {
			l[fold(k)] = v
		}
	}
	return l
}

// fold makes keys that differ only in case and separators equal.
func fold(key string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == ' ' {
			return -1
		}
		return unicode.ToLower(r)
	}, key)
}

func (l labeler) label(name string) string {
	if v, ok := l[fold(name)]; ok {
		return v
	}
	parts := strings.Split(name, ".")
	var out []string
	for i, p := range parts {
		if isNumber(p) && len(out) > 0 {
			out[len(out)-1] += " " + p
			continue
		}
		v := l[fold(strings.Join(parts[:i+1], "."))]
		if v == "" {
			v = l[fold(p)]
		}
		if v == "" {
			v = words(p)
		}
		out = append(out, v)
	}
	return strings.Join(out, labelSep)
}

// words makes a label of a key: its words split at underscores, hyphens
// and lower-to-upper case changes, lower-cased but for the first letter
// and words written in capitals throughout (VAT).
func words(key string) string {
	var ws []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			ws = append(ws, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == ' ':
			flush()
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) ||
			i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1])):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	for i, w := range ws {
		if w != strings.ToUpper(w) || utf8.RuneCountInString(w) == 1 {
			w = strings.ToLower(w)
		}
		if i == 0 {
			r, n := utf8.DecodeRuneInString(w)
			w = string(unicode.ToUpper(r)) + w[n:]
		}
		ws[i] = w
	}
	if len(ws) == 0 {
		return key
	}
	return strings.Join(ws, " ")
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
