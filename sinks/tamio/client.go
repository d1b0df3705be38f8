package tamio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	maxErrorBodyExcerpt  = 200
	maxResponseBodyBytes = 64 << 20
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
	base  string
	key   string
	http  *http.Client
	pacer *pipeline.Pacer
}

// NewClient returns a client for the API at baseURL (ending in /v2).
func NewClient(baseURL, apiKey string, httpClient *http.Client, pacer *pipeline.Pacer) *Client {
	if httpClient == nil {
		httpClient = &http.Client{
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConns:        128,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
				DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			},
		}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, http: httpClient, pacer: pacer}
}

// call runs one API call through the pacer, decoding a success into out
// (which may be nil). Every error it returns carries its class.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return pipeline.Fatalf("tamio %s %s: encoding the request: %w", method, path, err)
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return c.pacer.Call(ctx, func(int) error {
		return c.once(ctx, method, path, u, payload, out)
	})
}

func (c *Client) once(ctx context.Context, method, path, u string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return pipeline.Fatalf("tamio %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The URL is left out: a lookup carries an email in its query, and
		// this error may end up in the logs and summary.json.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// Timeouts, resets and connections closed without an answer are
		// all worth another try; whether the write happened is for the
		// caller's idempotence to settle.
		return pipeline.Retryable(fmt.Errorf("tamio %s %s: %w", method, path, err), 0)
	}
	defer resp.Body.Close()
	c.observeQuota(resp.Header)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBodyBytes))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return pipeline.Retryable(fmt.Errorf("tamio %s %s: reading the answer: %w", method, path, err), 0)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			// A 200 with a body we cannot read may be a proxy's page or a
			// truncated answer: retrying is safe because every call the
			// sink makes is idempotent or checked afterwards.
			return pipeline.Retryable(fmt.Errorf("tamio %s %s: answer is not the documented JSON (%w): %q", method, path, err, excerpt(data)), 0)
		}
		return nil
	}
	return classify(method, path, resp, data)
}

// observeQuota passes tamio's rate-limit headers to the pacer.
func (c *Client) observeQuota(h http.Header) {
	lim, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rem, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err1 == nil && err2 == nil {
		c.pacer.ObserveQuota(rem, lim)
	}
}

func classify(method, path string, resp *http.Response, data []byte) error {
	apiErr := &APIError{Status: resp.StatusCode, Index: -1, Method: method, Path: path}
	var env struct {
		Error     string          `json:"error"`
		ErrorCode int             `json:"error_code"`
		Field     string          `json:"field"`
		Index     json.RawMessage `json:"index"`
	}
	if json.Unmarshal(data, &env) == nil {
		apiErr.Message, apiErr.Code, apiErr.Field = oneLine(env.Error), env.ErrorCode, oneLine(env.Field)
		if i, err := strconv.Atoi(string(env.Index)); err == nil {
			apiErr.Index = i
		}
	} else {
		apiErr.Message = excerpt(data)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized:
		return pipeline.Fatal(fmt.Errorf("the API key was refused (401): check the key in the environment variable: %w", apiErr))
	case s == http.StatusForbidden:
		return pipeline.Fatal(fmt.Errorf("the API key lacks a permission this run needs (403): %w", apiErr))
	case s == http.StatusTooManyRequests:
		return pipeline.Retryable(fmt.Errorf("%w: %w", pipeline.ErrRateLimited, apiErr), retryAfter(resp.Header.Get("Retry-After")))
	case s == http.StatusRequestTimeout || s >= 500:
		return pipeline.Retryable(apiErr, retryAfter(resp.Header.Get("Retry-After")))
	case s >= 400:
		return pipeline.Permanent(apiErr)
	default:
		return pipeline.Fatal(apiErr)
	}
}

// maxRetryAfter caps the wait a server may ask for. The pacer sleeps for
// whatever Retry-After says before it retries, and a proxy's nonsense
// (or a number of seconds too large for a Duration, which wrapped round
// to centuries) held a run for ever, saying nothing; past the cap the
// pacer retries, and a server still refusing ends the run with its error.
const maxRetryAfter = time.Hour

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}

// excerpt is the start of an answer's body, for an error message.
func excerpt(b []byte) string { return oneLine(string(b[:min(len(b), 8*maxErrorBodyExcerpt)])) }

// oneLine makes text from an answer fit for a one-line message: spaces
// and control characters become single spaces, invalid UTF-8 U+FFFD, and
// what is past maxErrorBodyExcerpt bytes is cut, on a character boundary.
// A proxy's HTML error page otherwise spilled over many lines of a
// terminal or a log, its escape sequences with it, and an error envelope's
// message of any size went whole into summary.json and every reject.
func oneLine(s string) string {
	// Only the start can show; cleaning all of a huge text would cost
	// more than the call.
	s = s[:min(len(s), 8*maxErrorBodyExcerpt)]
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxErrorBodyExcerpt {
		cut := maxErrorBodyExcerpt
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
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
}

// Teammate is an entry of /teammates/list.
type Teammate struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// CloseIdleConnections lets go of the keep-alive connections the client
// holds, so a server it used can shut down without waiting for them.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Teammates lists the account's teammates.
func (c *Client) Teammates(ctx context.Context) ([]Teammate, error) {
	var out struct {
		Teammates []Teammate `json:"teammates"`
	}
	err := c.call(ctx, http.MethodGet, "/teammates/list", nil, nil, &out)
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
	err := c.call(ctx, http.MethodGet, "/customers/list", q.values(), nil, &out)
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
// insensitive), or nil.
func (c *Client) FindByEmail(ctx context.Context, email string) (*Customer, error) {
	want := strings.ToLower(strings.TrimSpace(email))
	for page := 1; ; page++ {
		cs, total, err := c.List(ctx, ListQuery{Page: page, PerPage: maxPerPage, Filter: want, IncludeLeads: true})
		if err != nil {
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
	if err := c.call(ctx, http.MethodPost, "/customers/create", nil, body, &out); err != nil {
		return nil, err
	}
	return &out.Customer, nil
}

// Update updates one customer; fields absent from body stay unchanged.
func (c *Client) Update(ctx context.Context, id string, body map[string]any) (*Customer, error) {
	var out struct {
		Customer Customer `json:"customer"`
	}
	if err := c.call(ctx, http.MethodPost, "/customers/update/"+url.PathEscape(id), nil, body, &out); err != nil {
		return nil, err
	}
	return &out.Customer, nil
}

// Retrieve reads one customer.
func (c *Client) Retrieve(ctx context.Context, id string) (*Customer, error) {
	var out struct {
		Customer Customer `json:"customer"`
	}
	if err := c.call(ctx, http.MethodGet, "/customers/retrieve/"+url.PathEscape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out.Customer, nil
}

// BulkCreate queues a background job creating the customers. tamio
// answers without ids; what was created is learnt by listing.
func (c *Client) BulkCreate(ctx context.Context, bodies []map[string]any) error {
	return c.call(ctx, http.MethodPost, "/customers/bulk/create", nil, map[string]any{"customers": bodies}, nil)
}

// BulkAssign assigns the customers to a teammate; "" unassigns.
func (c *Client) BulkAssign(ctx context.Context, ids []string, teammateID string) error {
	var tm any
	if teammateID != "" {
		tm = teammateID
	}
	return c.call(ctx, http.MethodPost, "/customers/bulk/assign-to-teammate", nil, map[string]any{"customers": ids, "teammate_id": tm}, nil)
}

// BulkDelete deletes the customers for good and returns the ids deleted.
func (c *Client) BulkDelete(ctx context.Context, ids []string) ([]string, error) {
	var out struct {
		Customers []string `json:"customers"`
	}
	err := c.call(ctx, http.MethodPost, "/customers/bulk/delete", nil, map[string]any{"customers": ids}, &out)
	return out.Customers, err
}
