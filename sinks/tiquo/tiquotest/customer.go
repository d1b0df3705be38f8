package tiquotest

import (
	"encoding/json"
	"slices"
	"time"
)

// customer is both the stored record and, through its JSON tags, the
// customer object of the API, its keys in the order the API reference
// lists the fields. Pointer fields are answered as null when unset.
type customer struct {
	ID                  string   `json:"id"`
	FirstName           string   `json:"firstName"`
	LastName            string   `json:"lastName"`
	Email               string   `json:"email"`
	Phone               *string  `json:"phone"`
	DateOfBirth         *string  `json:"dateOfBirth"`
	Address             *address `json:"address"`
	Tags                []string `json:"tags"`
	Notes               *string  `json:"notes"`
	PreferredLocationID *string  `json:"preferredLocationId"`
	MarketingConsent    *bool    `json:"marketingConsent"`
	CompanyID           *string  `json:"companyId"`
	LoyaltyPoints       int64    `json:"loyaltyPoints"`
	CreatedAt           stamp    `json:"createdAt"`
	UpdatedAt           stamp    `json:"updatedAt"`

	seq int64 // creation sequence: the list order and what a cursor stands for
}

// address is the customer's address. Every part is optional; an address
// whose parts are all null is answered as a null address.
type address struct {
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	PostalCode *string `json:"postalCode"`
	Country    *string `json:"country"`
}

// addressParts names the address fields in their documented order, with
// a way to reach each, so that validation and merging walk one list.
var addressParts = []struct {
	name string
	get  func(*address) **string
}{
	{"line1", func(a *address) **string { return &a.Line1 }},
	{"line2", func(a *address) **string { return &a.Line2 }},
	{"city", func(a *address) **string { return &a.City }},
	{"state", func(a *address) **string { return &a.State }},
	{"postalCode", func(a *address) **string { return &a.PostalCode }},
	{"country", func(a *address) **string { return &a.Country }},
}

func (a *address) empty() bool {
	for _, p := range addressParts {
		if *p.get(a) != nil {
			return false
		}
	}
	return true
}

func (a *address) clone() *address {
	if a == nil {
		return nil
	}
	c := &address{}
	for _, p := range addressParts {
		*p.get(c) = clonePtr(*p.get(a))
	}
	return c
}

// clone copies c deeply, so that a patch applied to the copy leaves c as
// the "before" of a customer.updated event.
func (c *customer) clone() *customer {
	n := *c
	n.Phone, n.DateOfBirth, n.Notes = clonePtr(c.Phone), clonePtr(c.DateOfBirth), clonePtr(c.Notes)
	n.PreferredLocationID, n.CompanyID = clonePtr(c.PreferredLocationID), clonePtr(c.CompanyID)
	n.MarketingConsent = clonePtr(c.MarketingConsent)
	n.Address = c.Address.clone()
	n.Tags = slices.Clone(c.Tags)
	if n.Tags == nil {
		n.Tags = []string{}
	}
	return &n
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func eqAddress(a, b *address) bool {
	if a == nil || b == nil {
		return a == b
	}
	for _, p := range addressParts {
		if !eqPtr(*p.get(a), *p.get(b)) {
			return false
		}
	}
	return true
}

// changes returns the prior value of every attribute that differs between
// old and c, keyed by its JSON name: the previousAttributes of a
// customer.updated event. updatedAt, which every PATCH moves, is left out.
func (c *customer) changes(old *customer) map[string]any {
	prev := map[string]any{}
	str := func(name string, now, was string) {
		if now != was {
			prev[name] = was
		}
	}
	opt := func(name string, now, was *string) {
		if !eqPtr(now, was) {
			prev[name] = was
		}
	}
	str("firstName", c.FirstName, old.FirstName)
	str("lastName", c.LastName, old.LastName)
	str("email", c.Email, old.Email)
	opt("phone", c.Phone, old.Phone)
	opt("dateOfBirth", c.DateOfBirth, old.DateOfBirth)
	if !eqAddress(c.Address, old.Address) {
		prev["address"] = old.Address
	}
	if !slices.Equal(c.Tags, old.Tags) {
		prev["tags"] = old.Tags
	}
	opt("notes", c.Notes, old.Notes)
	opt("preferredLocationId", c.PreferredLocationID, old.PreferredLocationID)
	if !eqPtr(c.MarketingConsent, old.MarketingConsent) {
		prev["marketingConsent"] = old.MarketingConsent
	}
	opt("companyId", c.CompanyID, old.CompanyID)
	return prev
}

// stamp is a time in Unix milliseconds, answered as ISO 8601 in UTC with
// milliseconds, so that two PATCHes within one second still give two
// updatedAt values.
type stamp int64

const stampLayout = "2006-01-02T15:04:05.000Z07:00"

func (s stamp) time() time.Time { return time.UnixMilli(int64(s)).UTC() }

func (s stamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.time().Format(stampLayout))
}
