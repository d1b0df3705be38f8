package revnue

import "crmsync/gdpr/layout"

// exportLayout is the table of a Revnue export, read from the customer
// object as Revnue answers it (not as a write sends it): the category as
// its id and name, the country as the English name Revnue answers, the
// contact person's parts, and the template's id and its fields (a JSON
// object of key to value), then other_fields.
var exportLayout = func() *layout.Layout {
	s, i, b := layout.String, layout.Int64, layout.Bool
	cols := []struct {
		name string
		kind layout.Kind
		path []string
	}{
		{"id", s, []string{"id"}}, {"company", i, []string{"company"}}, {"name", s, []string{"name"}},
		{"category_id", i, []string{"category", "id"}}, {"category_name", s, []string{"category", "name"}},
		{"contact_person_name", s, []string{"contact_person", "name"}},
		{"contact_person_email", s, []string{"contact_person", "email"}},
		{"contact_person_type", s, []string{"contact_person", "type"}},
		{"address_line_1", s, []string{"address_line_1"}}, {"address_line_2", s, []string{"address_line_2"}},
		{"city", s, []string{"city"}}, {"state_province", s, []string{"state_province"}},
		{"zip_postal_code", s, []string{"zip_postal_code"}}, {"country", s, []string{"country"}},
		{"phone", s, []string{"phone"}}, {"mobile", s, []string{"mobile"}}, {"fax", s, []string{"fax"}},
		{"website", s, []string{"website"}}, {"general_description", s, []string{"general_description"}},
		{"supplementary_description", s, []string{"supplementary_description"}},
		{"additional_description", s, []string{"additional_description"}},
		{"nda_signed", b, []string{"nda_signed"}}, {"nda_signed_date", s, []string{"nda_signed_date"}},
		{"msa_signed", b, []string{"msa_signed"}}, {"msa_signed_date", s, []string{"msa_signed_date"}},
		{"template_id", i, []string{"template", "id"}}, {"template_fields", s, []string{"template", "fields"}},
	}
	l := &layout.Layout{}
	for _, c := range cols {
		l.Columns = append(l.Columns, layout.Column{Name: c.name, Kind: c.kind, Path: c.path})
	}
	return l
}()
