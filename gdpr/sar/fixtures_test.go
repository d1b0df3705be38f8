package sar_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/gdpr/sar"
)

// Values a CRM may hold that must reach the page as text.
const (
	scriptValue = `<script>document.title="owned"</script>`
	imgValue    = `"><img src=x onerror="document.title='owned'">`
	// A value with no break opportunity, wider than a phone.
	longValue = "https://very-long-company-domain-name-without-spaces.example/customers/0123456789abcdef0123456789abcdef/profile"
)

// sampleController is samples/gdpr.yaml: the pages are checked with the
// file users copy.
func sampleController(t testing.TB) *sar.Controller {
	t.Helper()
	c, err := sar.LoadController(filepath.Join("..", "..", "samples", "gdpr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tamioAnswer is a customer as a CRM answers it: nested addresses, tags,
// custom fields, empty values, and hostile text in several places.
const tamioAnswer = `{
  "id": "cus_1001",
  "name": "Ada ` + "\\\"><img src=x onerror=\\\"document.title='owned'\\\">" + `",
  "email": "ada@example.com",
  "phone": "",
  "company": null,
  "billing_address": {"line1": "Lindenstraße 12", "city": "Berlin", "zip": "10969", "country": "DE", "line2": ""},
  "shipping_address": {},
  "tags": ["vip", "newsletter"],
  "custom_fields": {"favourite_store": "<script>document.title=\"owned\"</script>", "loyalty_points": 0, "profile_url": "` + longValue + `"},
  "marketing_opt_in": false,
  "notes": []
}`

const tiquoAnswer = `{"id": "t-77", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
  "address": {"street": "Lindenstraße 12", "postalCode": "10969"},
  "contacts": [{"name": "Bob", "email": ""}, {"name": "", "email": "carol@example.com"}]}`

// sampleRequest is a request for two subjects: one held by two CRMs, the
// other by neither.
func sampleRequest(t testing.TB) *sar.Request {
	t.Helper()
	fields := func(raw string) []sar.Field {
		f, err := sar.FieldsFromJSON("", json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	return &sar.Request{
		Controller:  sampleController(t),
		RequestID:   "SAR-2026-0117 " + scriptValue,
		RequestedAt: time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC),
		AnsweredAt:  time.Date(2026, 12, 2, 17, 41, 0, 0, time.UTC),
		Subjects: []sar.Subject{
			{
				ID: "1", Named: "ada@example.com",
				Holdings: []sar.Holding{
					// A caller may hand over empty values too: the page
					// leaves them out.
					{Target: "sandbox:tamio", API: "tamio", CustomerID: "cus_1001", Copy: "sandbox-tamio/subjects/cus_1001.json",
						Fields: append(fields(tamioAnswer), sar.Field{Name: "fax", Value: ""}, sar.Field{Name: "nickname", Value: " \n"})},
					{Target: "sandbox:tiquo", API: "tiquo", CustomerID: "t-77", Fields: fields(tiquoAnswer), Copy: "sandbox-tiquo/subjects/t-77.json"},
				},
			},
			{ID: "2", Named: "nobody@example.org", NotFoundIn: []string{"sandbox:tamio", "sandbox:tiquo"}, NotReadIn: []string{"billing"}},
		},
		Files: []sar.File{
			{Path: "sandbox-tamio/subjects/cus_1001.json", Bytes: 912, SHA256: strings.Repeat("ab", 32)},
			{Path: "sandbox-tiquo/subjects/t-77.json", Bytes: 411, SHA256: strings.Repeat("0f", 32)},
			{Path: "subjects/1.html", Bytes: 9000, SHA256: strings.Repeat("c3", 32)},
		},
		Problems: []string{"billing (count): not read: GET /customers answered 503 nine times " + imgValue},
	}
}
