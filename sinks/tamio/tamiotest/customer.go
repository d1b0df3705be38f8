package tamiotest

// customer is both the stored record and, through its JSON tags, the
// customer object of the API, with its keys in the documented order.
// Pointer fields are the ones answered as null when there is nothing.
type customer struct {
	ID                 string      `json:"id"`
	Object             string      `json:"object"`
	Email              string      `json:"email"`
	Name               string      `json:"name"`
	LastName           string      `json:"last_name"`
	Country            string      `json:"country"`
	Locale             string      `json:"locale"`
	TimezoneOffset     string      `json:"timezone_offset"`
	Category           string      `json:"category"`
	Priority           string      `json:"priority"`
	LeadStatus         *string     `json:"lead_status"`
	Phone              string      `json:"phone"`
	StripeCustomerID   *string     `json:"stripe_customer_id"`
	TeammateID         *string     `json:"teammate_id"`
	AffiliatePartnerID *string     `json:"affiliate_partner_id"`
	HasNotes           bool        `json:"has_notes"`
	CreatedAt          int64       `json:"created_at"`
	BillingAddress     *address    `json:"billing_address"`
	ShippingAddress    *address    `json:"shipping_address"`
	DirectDebits       emptyArray  `json:"direct_debits"`
	ClientID           *string     `json:"client_id"`
	Source             eventSource `json:"source,omitempty"`

	seq     int64  // insertion sequence, the tie-break of every order
	company string // default company of the customer's addresses
}

// eventSource is set only on the copy of a customer sent in a webhook.
type eventSource string

const (
	sourceAPI    eventSource = "api"
	sourceImport eventSource = "import"
)

// emptyArray is always [], never null: the emulator has no direct debits.
type emptyArray struct{}

func (emptyArray) MarshalJSON() ([]byte, error) { return []byte("[]"), nil }

// address is the address object. The billing-only keys are answered on
// shipping addresses too, as the documented example does.
type address struct {
	ID              string `json:"id"`
	Object          string `json:"object"`
	Name            string `json:"name"`
	LastName        string `json:"last_name"`
	Email           string `json:"email"`
	Address         string `json:"address"`
	City            string `json:"city"`
	Postcode        string `json:"postcode"`
	State           string `json:"state"`
	Country         string `json:"country"`
	Locale          string `json:"locale"`
	Phone           string `json:"phone"`
	Company         string `json:"company"`
	Message         string `json:"message"`
	ShippingAddress bool   `json:"shipping_address"`
	IsCompany       bool   `json:"is_company"`
	VAT             string `json:"vat"`
	VerifiedVAT     bool   `json:"verified_vat"`
	Representative  string `json:"representative"`
}

// sameData reports whether an update left the customer as it was; only
// then is no customer.updated event sent.
func (c *customer) sameData(o *customer) bool {
	return c.Email == o.Email && c.Name == o.Name && c.LastName == o.LastName &&
		c.Country == o.Country && c.Locale == o.Locale && c.TimezoneOffset == o.TimezoneOffset &&
		c.Category == o.Category && c.Priority == o.Priority && eqPtr(c.LeadStatus, o.LeadStatus) &&
		c.Phone == o.Phone && eqPtr(c.TeammateID, o.TeammateID)
}

func eqPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
