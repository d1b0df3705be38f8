package revnuetest

import (
	"bytes"
	"encoding/json"

	"crmsync/sinks/revnue/internal/isocountry"
)

// record is a customer as stored: the write shape, checked. Every pointer
// is null when unset; a PUT replaces the whole record, so what it did not
// send is nil here.
type record struct {
	Company       int64           `json:"company"`
	Name          string          `json:"name"`
	Category      *int64          `json:"category,omitempty"`
	ContactPerson *contact        `json:"contact_person,omitempty"`
	Address1      *string         `json:"address_line_1,omitempty"`
	Address2      *string         `json:"address_line_2,omitempty"`
	City          *string         `json:"city,omitempty"`
	State         *string         `json:"state_province,omitempty"`
	Zip           *string         `json:"zip_postal_code,omitempty"`
	Country       *int            `json:"country,omitempty"`
	Phone         *string         `json:"phone,omitempty"`
	Mobile        *string         `json:"mobile,omitempty"`
	Fax           *string         `json:"fax,omitempty"`
	Website       *string         `json:"website,omitempty"`
	General       *string         `json:"general_description,omitempty"`
	NDASigned     bool            `json:"nda_signed"`
	NDADate       *string         `json:"nda_signed_date,omitempty"`
	MSASigned     bool            `json:"msa_signed"`
	MSADate       *string         `json:"msa_signed_date,omitempty"`
	Supplementary *string         `json:"supplementary_description,omitempty"`
	Additional    *string         `json:"additional_description,omitempty"`
	Template      *templateValues `json:"template,omitempty"`
}

// contact is the contact person, the same in both shapes. A contact
// person whose three parts are null is stored and read as null.
type contact struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
	Type  *string `json:"type"`
}

// templateValues are a customer's custom field values: the template's id
// and each value sent, in its canonical text (money with two decimals,
// a number in decimal digits, a date, a text). A field not sent has no
// entry and reads null.
type templateValues struct {
	ID     int64        `json:"id"`
	Fields []fieldValue `json:"fields"`
}

type fieldValue struct {
	ID    int64   `json:"id"`
	Value *string `json:"value"`
}

// textField is one of the record's plain text fields, its documented
// limit and a way to reach it, so that validation walks one list.
type textField struct {
	name string
	max  int
	get  func(*record) **string
}

// textFields are the record's text fields in the documented order.
var textFields = []textField{
	{"address_line_1", 50, func(r *record) **string { return &r.Address1 }},
	{"address_line_2", 50, func(r *record) **string { return &r.Address2 }},
	{"city", 50, func(r *record) **string { return &r.City }},
	{"state_province", 50, func(r *record) **string { return &r.State }},
	{"zip_postal_code", 20, func(r *record) **string { return &r.Zip }},
	{"phone", 20, func(r *record) **string { return &r.Phone }},
	{"mobile", 20, func(r *record) **string { return &r.Mobile }},
	{"fax", 20, func(r *record) **string { return &r.Fax }},
	{"website", 50, func(r *record) **string { return &r.Website }},
	{"general_description", 1000, func(r *record) **string { return &r.General }},
	{"supplementary_description", 1000, func(r *record) **string { return &r.Supplementary }},
	{"additional_description", 1000, func(r *record) **string { return &r.Additional }},
}

// customer is the read shape of a customer, its keys in the order of the
// API reference with id first: category, country and template are
// answered differently from how they are written.
type customer struct {
	ID            int64        `json:"id"`
	Company       int64        `json:"company"`
	Name          string       `json:"name"`
	Category      *categoryOut `json:"category"`
	ContactPerson *contact     `json:"contact_person"`
	Address1      *string      `json:"address_line_1"`
	Address2      *string      `json:"address_line_2"`
	City          *string      `json:"city"`
	State         *string      `json:"state_province"`
	Zip           *string      `json:"zip_postal_code"`
	Country       *string      `json:"country"`
	Phone         *string      `json:"phone"`
	Mobile        *string      `json:"mobile"`
	Fax           *string      `json:"fax"`
	Website       *string      `json:"website"`
	General       *string      `json:"general_description"`
	NDASigned     bool         `json:"nda_signed"`
	NDADate       *string      `json:"nda_signed_date"`
	MSASigned     bool         `json:"msa_signed"`
	MSADate       *string      `json:"msa_signed_date"`
	Supplementary *string      `json:"supplementary_description"`
	Additional    *string      `json:"additional_description"`
	Template      *templateOut `json:"template"`
}

type categoryOut struct {
	ID   int64   `json:"id"`
	Name *string `json:"name"`
}

// templateOut is the read shape of the template values: fields maps
// every key of the template to its value or null.
type templateOut struct {
	ID     int64       `json:"id"`
	Fields fieldsByKey `json:"fields"`
}

// fieldsByKey is a {key: value} object written in the template's order,
// which a Go map would not keep.
type fieldsByKey []keyValue

type keyValue struct {
	key   string
	value json.RawMessage
}

func (f fieldsByKey) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(kv.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(kv.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// readShape renders a stored record as the API answers it, naming its
// category and country and keying its template values by the
// configuration the server runs with. A category the configuration no
// longer has reads with a null name; values of fields the template no
// longer has are left out.
func (s *Server) readShape(id int64, r *record) *customer {
	c := &customer{
		ID: id, Company: r.Company, Name: r.Name, ContactPerson: r.ContactPerson,
		Address1: r.Address1, Address2: r.Address2, City: r.City, State: r.State, Zip: r.Zip,
		Phone: r.Phone, Mobile: r.Mobile, Fax: r.Fax, Website: r.Website, General: r.General,
		NDASigned: r.NDASigned, NDADate: r.NDADate, MSASigned: r.MSASigned, MSADate: r.MSADate,
		Supplementary: r.Supplementary, Additional: r.Additional,
	}
	if r.Category != nil {
		c.Category = &categoryOut{ID: *r.Category}
		if name, ok := s.categories[*r.Category]; ok {
			c.Category.Name = &name
		}
	}
	if r.Country != nil {
		name := isocountry.Names[*r.Country]
		c.Country = &name
	}
	if t := r.Template; t != nil {
		c.Template = &templateOut{ID: t.ID, Fields: make(fieldsByKey, 0, len(s.opts.Template.Fields))}
		for _, f := range s.opts.Template.Fields {
			kv := keyValue{key: f.Key, value: json.RawMessage("null")}
			for _, v := range t.Fields {
				if v.ID == f.ID && v.Value != nil {
					kv.value = valueJSON(f.Type, *v.Value)
				}
			}
			c.Template.Fields = append(c.Template.Fields, kv)
		}
	}
	return c
}

// valueJSON writes a stored template value: a number as a JSON number,
// money as a string with two decimals (as Django REST framework answers
// decimals, and because 17 significant digits do not survive a float64),
// a date or a text as a string.
func valueJSON(typ, v string) json.RawMessage {
	if typ == TypeNumber {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v) // a string always encodes
	return b
}
