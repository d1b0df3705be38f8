// Package sar writes the reports of a subject-access request (GDPR Art.
// 15) that a person can read: one page per subject, with every field each
// CRM holds on them under a human label, which CRM holds what, and for
// each CRM the items of Art. 15(1)(a)–(h) the controller file gives; and
// one cover page per request for the controller's staff, listing each
// subject, where each was found, every file delivered with its SHA-256,
// and what could not be read.
//
// # The controller file
//
// A YAML file (gdpr.yaml; samples/gdpr.yaml is a complete one), read
// strictly: an unknown key, a key given twice or a list where a text
// belongs is an error naming the file, the line and the key path.
//
//	controller:              required: the business answering
//	  name: …                required
//	  contact: …             required; several lines allowed
//	dpo:
//	  name: …                optional
//	  contact: …             required (the privacy contact where there is no DPO)
//	supervisory_authority:   optional, named with the right to complain
//	  name: …
//	  contact: …
//	crms:                    one entry per CRM, by remote/target name or API name
//	  NAME:
//	    title: …             optional: the CRM in plain words
//	    purposes: [ … ]      required (a)
//	    legal_basis: …       required
//	    categories: [ … ]    optional (b): the fields held stand for it otherwise
//	    recipients: [ … ]    required (c)
//	    retention: …         required (d)
//	    source: …            required (g)
//	    automated_decisions: required (h): "None" is an answer
//	    transfers: …         optional, Art. 15(2)
//
// The rights of (e) and (f) are fixed texts of the template, since the
// law, not the controller, gives them. A list may be written as a single
// text. YAML anchors and merge keys (<<: *shop) share what entries have
// in common.
//
// ParseController reads the file; Validate names every required item
// missing; Covers names the CRMs of an export the file has no entry for.
// Both run before an export calls any API.
//
// # Templates
//
// The texts, field labels and pages come from a Template. The default is
// embedded (default.yaml for texts and labels, report.html.tmpl for the
// pages); LoadTemplate reads a user's YAML file that replaces any texts
// (an unknown name is an error), adds or replaces labels, sets the pages'
// language, and may name a Go html/template file whose {{define}}s
// replace the default's ("subject", "cover", "style", …). Every value
// is escaped by html/template; the pages load nothing (their style is
// inline), print on A4, and wrap long values rather than scroll sideways.
//
// A field without a label is labelled from its path: each part's label,
// by its path so far or its own name, else made from its words, joined
// with " – ": "billingAddress.city" reads "Billing address – City".
//
// # Input
//
// Request, Subject, Holding and Field are what the pages are made of;
// they name no flag and no API. FieldsFromJSON flattens a CRM's answer
// into fields, nested objects, lists and custom fields included.
package sar
