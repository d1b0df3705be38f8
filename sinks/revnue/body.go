package revnue

import (
	"encoding/json"
	"strings"

	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

// body is the write shape of w, for a create (the fields w sends, and the
// connector's company when the record gives none) or for the PUT of an
// update (under UpdateReplaces every field, those the mapping leaves
// alone as Revnue holds them, and the template values the schema does
// not name carried over from w.Current). A value that cannot be sent as
// Revnue takes it is the row's error, and nothing is sent: a template
// value not of its type (CodeTemplateValue), or a value Revnue holds that
// the connector cannot write back (CodeCarryOver), which a PUT without it
// would erase.
func (a *API) body(w *rowsink.Write, create bool) (map[string]any, error) {
	s := a.schema
	send := make([]bool, len(s.Fields))
	for f := range min(numBaseFields, len(w.Send)) {
		send[f] = w.Send[f]
	}
	for _, f := range []int{fieldCompany, fieldCategory, fieldCountry} {
		v := w.Values[f]
		if !send[f] || pipeline.IsEmpty(v) {
			continue
		}
		if _, ok := pipeline.Canonical(pipeline.KindInt, v); !ok {
			// Records hold integers here (Validate checks them): only
			// what Revnue answered can be another text, a country name
			// without a code.
			return nil, carryOverError(s.Fields[f].Name, "Revnue holds a value crmsync cannot write back as the integer Revnue takes (a country name without an ISO 3166-1 numeric code?)")
		}
	}
	if err := checkContact(w.Values, send); err != nil {
		return nil, err
	}
	b := s.Body(w.Values, send)
	if create && b["company"] == nil {
		b["company"] = a.company
	}
	t, err := a.templateBody(w)
	if err != nil {
		return nil, err
	}
	if t != nil {
		b["template"] = t
	}
	return b, nil
}

// templateBody is the template of w's write, {id, fields: [{id, value}]}:
// the values of the template fields w sends, checked against their type,
// and those of the customer's other template fields as Revnue holds them.
// It is nil when there is nothing to send and the customer holds no
// template; a customer's template values are written to its own
// template, a new customer's to the account's first.
func (a *API) templateBody(w *rowsink.Write) (any, error) {
	s := a.schema
	var tmpl *Template
	values := map[int64]any{}
	held := false
	if w.Current != nil {
		var obj map[string]any
		d := json.NewDecoder(strings.NewReader(string(w.Current.Raw)))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return nil, pipeline.Fatalf("revnue: customer %s as read is not a JSON object", w.Current.ID)
		}
		fields, id := templateOf(obj)
		if id != 0 {
			held = true
			if tmpl = a.tmpls.byID(id); tmpl == nil {
				return nil, carryOverError("template", "the customer holds values of template %d, which the account's template list does not answer", id)
			}
			for key, v := range fields {
				if v == nil || s.Index(TemplatePrefix+key) >= 0 {
					continue
				}
				tf := tmpl.field(key)
				if tf == nil {
					return nil, carryOverError(TemplatePrefix+key, "Revnue answered a value of this field, which template %d does not list", id)
				}
				values[tf.ID] = v
			}
		}
	}
	if tmpl == nil && len(a.tmpls) > 0 {
		tmpl = &a.tmpls[0]
	}
	for f := numBaseFields; f < len(s.Fields); f++ {
		name := s.Fields[f].Name
		key, ok := strings.CutPrefix(name, TemplatePrefix)
		if !ok || f >= len(w.Send) || !w.Send[f] || pipeline.IsEmpty(w.Values[f]) {
			continue
		}
		var tf *TemplateField
		if tmpl != nil {
			tf = tmpl.field(key)
		}
		if tf == nil {
			return nil, carryOverError(name, "the customer's template has no such field")
		}
		v, err := templateValue(name, tf, w.Values[f])
		if err != nil {
			return nil, err
		}
		values[tf.ID] = v
	}
	if tmpl == nil || len(values) == 0 && !held {
		return nil, nil
	}
	items := make([]map[string]any, 0, len(values))
	for _, tf := range tmpl.Fields {
		if v, ok := values[tf.ID]; ok {
			items = append(items, map[string]any{"id": tf.ID, "value": v})
		}
	}
	return map[string]any{"id": tmpl.ID, "fields": items}, nil
}

// Positions of the contact person's name and email.
const (
	fieldContactName  = fieldCategory + 1
	fieldContactEmail = fieldCategory + 2
)

// checkContact refuses, before anything is sent, a write that would leave
// the contact person with a name and no email or an email and no name,
// which Revnue refuses: on create the engine checks it (RequiredInGroup),
// but an update that clears one of the two while Revnue holds the other
// meets it only here.
func checkContact(values []string, send []bool) error {
	if !send[fieldContactName] && !send[fieldContactEmail] {
		return nil
	}
	name, email := !pipeline.IsEmpty(values[fieldContactName]), !pipeline.IsEmpty(values[fieldContactEmail])
	switch {
	case name && !email:
		return requiredError("contact_person.email", "contact_person.name")
	case email && !name:
		return requiredError("contact_person.name", "contact_person.email")
	}
	return nil
}
