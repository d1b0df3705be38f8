package revnuetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Seed stores a customer from a write body (anything that encodes to the
// JSON of one), checked exactly as POST /api/v2/customer/ checks it, and
// returns it in the read shape as decoded JSON. It bypasses the HTTP side:
// no token, no rate limit, no faults, not counted in the stats, so that a
// test or a bench can prepare an account without spending its requests.
// A body the API would refuse is an error naming the fields at fault.
// Safe for concurrent use until Close.
func (s *Server) Seed(ctx context.Context, body any) (map[string]any, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("revnuetest: seed: %w", err)
	}
	rec, aerr := s.readRecord(data)
	if aerr != nil {
		return nil, seedError(aerr)
	}
	id, err := s.st.create(ctx, rec)
	if err != nil {
		if aerr := s.asAPIError(err); aerr != nil {
			return nil, seedError(aerr)
		}
		return nil, fmt.Errorf("revnuetest: seed: %w", err)
	}
	return asMap(s.readShape(id, rec))
}

// Customer returns the customer with the id in the read shape, as decoded
// JSON, or nil when there is none; like Seed it bypasses the HTTP side,
// so that a test can look at what a sink left without a request of its
// own in the stats.
func (s *Server) Customer(ctx context.Context, id int64) (map[string]any, error) {
	rec, err := s.st.get(ctx, id)
	if err != nil || rec == nil {
		return nil, err
	}
	return asMap(s.readShape(id, rec))
}

func (s *Server) asAPIError(err error) *apiError {
	ae, _ := err.(*apiError)
	return ae
}

func seedError(e *apiError) error {
	errs, _ := json.Marshal(e.fields)
	return fmt.Errorf("revnuetest: seed: %d %s %s", e.status, e.detail, errs)
}

func asMap(c *customer) (map[string]any, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	err = json.Unmarshal(data, &m)
	return m, err
}

// FullCustomer returns a write body with every field of the record set,
// valid against s's companies, categories and template (every template
// field given a value of its type): what a test seeds to check that an
// update leaves the fields it does not map alone. n varies the values,
// so that two bodies differ in every field but the booleans.
func (s *Server) FullCustomer(name string, n int) map[string]any {
	o := s.opts
	fields := make([]any, 0, len(o.Template.Fields))
	for _, f := range o.Template.Fields {
		var v any
		switch f.Type {
		case TypeMoney:
			v = strconv.Itoa(1000+n) + ".25"
		case TypeNumber:
			v = 40 + n
		case TypeDate:
			v = fmt.Sprintf("2031-%02d-%02d", 1+n%12, 1+n%28)
		default:
			v = "tier " + strconv.Itoa(n)
		}
		fields = append(fields, map[string]any{"id": f.ID, "value": v})
	}
	suffix := strconv.Itoa(n)
	return map[string]any{
		"company":  o.Companies[0],
		"name":     name,
		"category": o.Categories[n%len(o.Categories)].ID,
		"contact_person": map[string]any{
			"name": "Contact " + suffix, "email": "contact" + suffix + "@example.com",
			"type": contactTypes[n%len(contactTypes)],
		},
		"address_line_1":            "Hauptstraße " + suffix,
		"address_line_2":            "Building " + suffix,
		"city":                      "Berlin",
		"state_province":            "Berlin",
		"zip_postal_code":           fmt.Sprintf("%05d", 10115+n),
		"country":                   []int{276, 250, 826, 840}[n%4],
		"phone":                     "+49 30 " + suffix,
		"mobile":                    "+49 151 " + suffix,
		"fax":                       "+49 30 9" + suffix,
		"website":                   "https://customer" + suffix + ".example.com",
		"general_description":       "General description " + suffix,
		"nda_signed":                true,
		"nda_signed_date":           fmt.Sprintf("2024-%02d-15", 1+n%12),
		"msa_signed":                true,
		"msa_signed_date":           fmt.Sprintf("2024-%02d-20", 1+n%12),
		"supplementary_description": strings.Repeat("Supplementary. ", 3) + suffix,
		"additional_description":    "Additional description " + suffix,
		"template":                  map[string]any{"id": o.Template.ID, "fields": fields},
	}
}
