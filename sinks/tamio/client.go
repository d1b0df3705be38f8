package tamio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
)

// Error codes documented by tamio (see shared/api/tamio.md).
const (
	CodeValidation       = 1001
	CodeNotFound         = 1002
	CodeForbidden        = 1003
	CodeEmailUsed        = 10082
	CodeCustomerExists   = 10142
	maxBulkCreate        = 1000
	maxBulkSmall         = 50 // assign, delete, add-to-list
	maxPerPage           = 100
	maxResponseBodyBytes = 64 << 20
	listEndpoint         = "GET /customers/list"
)

// APIError is an answer of tamio's error envelope, or a status with a body
// that was not one.
type APIError struct {
	Status  int
	Code    int    // error_code; 0 when the body had none
	Message string // error
	Field   string // field, on 1001
	Index   int    // index, on bulk validation errors; -1 when absent
	Method  string
	Path    string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tamio %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != 0 {
		fmt.Fprintf(&b, " (error_code %d)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " [field %s]", e.Field)
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, " [index %d]", e.Index)
	}
	return b.String()
}

// Client calls tamio's customers API through a pacer. It is safe for
// concurrent use.
type Client struct {
	api *httpapi.API
}

// NewClient returns a client for the API at baseURL (ending in /v2).
// httpClient defaults to httpapi.NewHTTPClient(0); one given is used
// without following redirects (see package httpapi). The key is sent
// on every attempt and removed from every answer's text.
func NewClient(baseURL, apiKey string, httpClient *http.Client, pacer *pipeline.Pacer) *Client {
	c := &Client{}
	c.api = httpapi.New(httpapi.Config{
		Name: "tamio", BaseURL: baseURL, HTTP: httpClient, Pacer: pacer,
		Sign: httpapi.Bearer(apiKey), Secrets: []string{apiKey},
		Observe: func(h http.Header) { observeQuota(c.api.Pacer(), h) }, Classify: classify,
		MaxBody: maxResponseBodyBytes,
	})
	return c
}

// call runs one API call through the pacer, decoding a success into out
// (which may be nil). route names the call in retry logs, with {id}
// standing for id, which fills it in for the request. Every error it
// returns carries its class.
func (c *Client) call(ctx context.Context, method, route, id string, query url.Values, body, out any) error {
	path := route
	if id != "" {
		path = strings.Replace(route, "{id}", url.PathEscape(id), 1)
	}
	return c.api.Call(ctx, httpapi.Request{Method: method, Route: route, Path: path, Query: query, Body: body}, out)
}

// observeQuota passes tamio's rate-limit headers to the pacer.
func observeQuota(p *pipeline.Pacer, h http.Header) {
	lim, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rem, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err1 == nil && err2 == nil {
		p.ObserveQuota(rem, lim)
	}
}

// classify turns an answer that is not a 2xx into an *APIError with its
// class. Every text taken from the body goes through ans.Text, which
// removes the API key a server may echo.
func classify(ans *httpapi.Answer) error {
	apiErr := &APIError{Status: ans.Status, Index: -1, Method: ans.Method, Path: ans.Path}
	var env struct {
		Error     string          `json:"error"`
		ErrorCode int             `json:"error_code"`
		Field     string          `json:"field"`
		Index     json.RawMessage `json:"index"`
	}
	if json.Unmarshal(ans.Body, &env) == nil {
		apiErr.Message, apiErr.Code, apiErr.Field = ans.Text(env.Error), env.ErrorCode, ans.Text(env.Field)
		if i, err := strconv.Atoi(string(env.Index)); err == nil {
			apiErr.Index = i
		}
	} else {
		apiErr.Message = ans.Excerpt()
	}
	switch ans.Status {
	case http.StatusUnauthorized:
		return pipeline.Fatal(fmt.Errorf("the API key was refused (401): check the key in the environment variable: %w", apiErr))
	case http.StatusForbidden:
		return pipeline.Fatal(fmt.Errorf("the API key lacks a permission this run needs (403): %w", apiErr))
	}
	return httpapi.ClassifyStatus(ans.Status, ans.Header, apiErr)
}

// AsAPIError returns the APIError in err's chain.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// Customer is the part of tamio's customer object crmsync reads. Unknown
// keys are ignored; nulls decode as "".
type Customer struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	Name           string `json:"name"`
	LastName       string `json:"last_name"`
	Country        string `json:"country"`
	Locale         string `json:"locale"`
	TimezoneOffset string `json:"timezone_offset"`
	Category       string `json:"category"`
	Priority       string `json:"priority"`
	Phone          string `json:"phone"`
	TeammateID     string `json:"teammate_id"`
	CreatedAt      int64  `json:"created_at"`
	// The addresses the customer was created with, as an object or, on
	// some pages of tamio's docs, under the plural key as a list (see
	// Billing and Shipping).
	BillingAddress    *Address `json:"billing_address"`
	ShippingAddress   *Address `json:"shipping_address"`
	BillingAddresses  *Address `json:"billing_addresses"`
	ShippingAddresses *Address `json:"shipping_addresses"`
}

// Teammate is an entry of /teammates/list.
type Teammate struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// CloseIdleConnections lets go of the keep-alive connections the client
// holds, so a server it used can shut down without waiting for them.
func (c *Client) CloseIdleConnections() { c.api.CloseIdleConnections() }

// Teammates lists the account's teammates.
func (c *Client) Teammates(ctx context.Context) ([]Teammate, error) {
	var out struct {
		Teammates []Teammate `json:"teammates"`
	}
	err := c.call(ctx, http.MethodGet, "/teammates/list", "", nil, nil, &out)
	return out.Teammates, err
}

// ListQuery is the query of /customers/list.
type ListQuery struct {
	Page, PerPage int
	SortBy, Order string
	Filter        string
	From          int64 // unix seconds; 0 for none
	IncludeLeads  bool
}

// List returns one page of customers and the total.
func (c *Client) List(ctx context.Context, q ListQuery) ([]Customer, int, error) {
	var out struct {
		TotalResults int        `json:"total_results"`
		Customers    []Customer `json:"customers"`
	}
	err := c.call(ctx, http.MethodGet, "/customers/list", "", q.values(), nil, &out)
	return out.Customers, out.TotalResults, err
}

// values is the query string of a list request.
func (q ListQuery) values() url.Values {
	v := url.Values{}
	v.Set("page", strconv.Itoa(q.Page))
	v.Set("per_page", strconv.Itoa(q.PerPage))
	if q.SortBy != "" {
		v.Set("sort_by", q.SortBy)
	}
	if q.Order != "" {
		v.Set("order", q.Order)
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.From > 0 {
		v.Set("from", strconv.FormatInt(q.From, 10))
	}
	if q.IncludeLeads {
		v.Set("include_leads", "true")
	}
	return v
}

// FindByEmail returns the customer whose email equals email (case
// insensitive), or nil. The pages are guarded (see httpapi.PageGuard): a
// list that repeats itself or runs past its total_results stops the
// lookup with a fatal error.
func (c *Client) FindByEmail(ctx context.Context, email string) (*Customer, error) {
	want := strings.ToLower(strings.TrimSpace(email))
	guard := httpapi.NewPageGuard(listEndpoint)
	for page := 1; ; page++ {
		if err := guard.Next(strconv.Itoa(page)); err != nil {
			return nil, err
		}
		cs, total, err := c.List(ctx, ListQuery{Page: page, PerPage: maxPerPage, Filter: want, IncludeLeads: true})
		if err != nil {
			return nil, err
		}
		guard.Announce(int64(total), maxPerPage)
		if err := guard.Page(len(cs), func(i int) string { return cs[i].ID }); err != nil {
			return nil, err
		}
		for i := range cs {
			if strings.EqualFold(strings.TrimSpace(cs[i].Email), want) {
				return &cs[i], nil
			}
		}
		if len(cs) == 0 || page*maxPerPage >= total {
			return nil, nil
		}
	}
}

// Create creates one customer.
func (c *Client) Create(ctx context.Context, body map[string]any) (*Customer, error) {
	var out struct {
		Customer Customer `json:"customer"`
	}
	if err := c.call(ctx, http.MethodPost, "/customers/create", "", nil, body, &out); err != nil {
		return nil, err
	}
	return &out.Customer, nil
}

// Update updates one customer; fields absent from body stay unchanged.
func (c *Client) Update(ctx context.Context, id string, body map[string]any) (*Customer, error) {
	var out struct {
		Customer Customer `json:"customer"`
	}
	if err := c.call(ctx, http.MethodPost, "/customers/update/{id}", id, nil, body, &out); err != nil {
		return nil, err
	}
	return &out.Customer, nil
}

// Retrieve reads one customer.
func (c *Client) Retrieve(ctx context.Context, id string) (*Customer, error) {
	var out struct {
		Customer Customer `json:"customer"`
	}
	if err := c.call(ctx, http.MethodGet, "/customers/retrieve/{id}", id, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out.Customer, nil
}

// BulkCreate queues a background job creating the customers. tamio
// answers without ids; what was created is learnt by listing.
func (c *Client) BulkCreate(ctx context.Context, bodies []map[string]any) error {
	return c.call(ctx, http.MethodPost, "/customers/bulk/create", "", nil, map[string]any{"customers": bodies}, nil)
}

// BulkAssign assigns the customers to a teammate; "" unassigns.
func (c *Client) BulkAssign(ctx context.Context, ids []string, teammateID string) error {
	var tm any
	if teammateID != "" {
		tm = teammateID
	}
	return c.call(ctx, http.MethodPost, "/customers/bulk/assign-to-teammate", "", nil, map[string]any{"customers": ids, "teammate_id": tm}, nil)
}

// BulkDelete deletes the customers for good and returns the ids deleted.
func (c *Client) BulkDelete(ctx context.Context, ids []string) ([]string, error) {
	var out struct {
		Customers []string `json:"customers"`
	}
	err := c.call(ctx, http.MethodPost, "/customers/bulk/delete", "", nil, map[string]any{"customers": ids}, &out)
	return out.Customers, err
}
