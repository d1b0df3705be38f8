package counttest

import (
	"encoding/json"
	"time"
)

// customer is both the stored record and, through its JSON tags, the
// customer object of the API, its keys in the order COUNT lists them.
// Pointer fields are answered as null when unset.
type customer struct {
	ID              string    `json:"id"`
	Customer        string    `json:"customer"`
	Email           string    `json:"email"`
	MainPhone       *string   `json:"mainPhone"`
	Website         *string   `json:"website"`
	Status          string    `json:"status"`
	BillingAddress  *address  `json:"billingAddress"`
	ShippingAddress *address  `json:"shippingAddress"`
	Contacts        []contact `json:"contacts"`
	CreatedAt       stamp     `json:"createdAt"`
	UpdatedAt       stamp     `json:"updatedAt"`

	seq int64 // creation sequence: the default list order
}

// address is a billing or shipping address. A part not sent is null: an
// address is always stored as sent, whole.
type address struct {
	Street  *string `json:"street"`
	City    *string `json:"city"`
	State   *string `json:"state"`
	ZipCode *string `json:"zipCode"`
	Country *string `json:"country"`
}

// addressParts names the address parts in their documented order, with a
// way to reach each, so that validation and comparison walk one list.
var addressParts = []struct {
	name string
	get  func(*address) **string
}{
	{"street", func(a *address) **string { return &a.Street }},
	{"city", func(a *address) **string { return &a.City }},
	{"state", func(a *address) **string { return &a.State }},
	{"zipCode", func(a *address) **string { return &a.ZipCode }},
	{"country", func(a *address) **string { return &a.Country }},
}

// contact is a contact person, set on create only.
type contact struct {
	Name    string  `json:"name"`
	Email   *string `json:"email"`
	Phone   *string `json:"phone"`
	Primary bool    `json:"primary"`
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

// sameFields reports whether a and b hold the same values in every field
// an update can change, so that an update changing nothing leaves
// updatedAt alone.
func sameFields(a, b *customer) bool {
	return a.Customer == b.Customer && a.Email == b.Email && eqPtr(a.MainPhone, b.MainPhone) &&
		eqPtr(a.Website, b.Website) && a.Status == b.Status &&
		eqAddress(a.BillingAddress, b.BillingAddress) && eqAddress(a.ShippingAddress, b.ShippingAddress)
}

// stamp is a time in unix milliseconds, answered as ISO 8601 in UTC with
// milliseconds, so that two updates within one second still give two
// updatedAt values.
type stamp int64

const stampLayout = "2006-01-02T15:04:05.000Z07:00"

func (s stamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.UnixMilli(int64(s)).UTC().Format(stampLayout))
}
