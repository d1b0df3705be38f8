package tiquo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

// tiquo's error codes (shared/api/tiquo.md).
const (
	codeValidation        = "validation_error"
	codeUnauthorized      = "unauthorized"
	codeForbidden         = "forbidden"
	codeInsufficientScope = "insufficient_scope"
	codeNotFound          = "not_found"
	codeEmailExists       = "email_exists"
)

const (
	// maxLimit is the most customers a list page holds.
	maxLimit = 100
	// rateWindow is the length of tiquo's rate limit windows: its plans
	// allow so many requests a minute.
	rateWindow = time.Minute
	// maxResponseBody bounds a success's body: a page of 100 customers
	// is well under a MiB.
	maxResponseBody = 16 << 20
	listRoute       = "/customers"
	customerRoute   = "/customers/{id}"
)

// APIError is an answer in tiquo's error envelope, or a status whose body
// was not one. Through errors.Is it is pipeline.ErrNotFound when tiquo
// answered not_found, and rowsink.ErrMatchTaken when it answered
// email_exists.
type APIError struct {
	Status  int
	Code    string // error.code; "" when the body had none
	Message string // error.message, without the key
	Field   string // error.field, when one field is at fault
	Method  string
	Path    string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tiquo %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " [field %s]", e.Field)
	}
	return b.String()
}

// Is makes tiquo's codes the errors rowsink acts on.
func (e *APIError) Is(target error) bool {
	switch target {
	case pipeline.ErrNotFound:
		return e.Code == codeNotFound || e.Code == "" && e.Status == http.StatusNotFound
	case rowsink.ErrMatchTaken:
		return e.Code == codeEmailExists || e.Code == "" && e.Status == http.StatusConflict
	}
	return false
}

// AsAPIError returns the APIError in err's chain.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// Client calls tiquo's customers API through a pacer. It is safe for
// concurrent use.
type Client struct {
	api *httpapi.API
}

// NewClient returns a client for the API at baseURL (ending in /v1),
// checked by httpapi.CheckBaseURL beforehand. httpClient defaults to
// httpapi.NewHTTPClient(0); one given is used without following
// redirects. The key is sent on every attempt as a bearer token and
// removed from every answer's text. Every answer's X-RateLimit-* headers
// pace the calls (see observe).
func NewClient(baseURL, apiKey string, httpClient *http.Client, pacer *pipeline.Pacer) *Client {
	c := &Client{}
	c.api = httpapi.New(httpapi.Config{
		Name: "tiquo", BaseURL: baseURL, HTTP: httpClient, Pacer: pacer,
		Sign: httpapi.Bearer(apiKey), Secrets: []string{apiKey},
		Observe: func(h http.Header) { observe(c.api.Pacer(), h) }, Classify: classify,
		MaxBody: maxResponseBody,
	})
	return c
}

// Pacer is the pacer the client's calls go through.
func (c *Client) Pacer() *pipeline.Pacer { return c.api.Pacer() }

// CloseIdleConnections lets go of the keep-alive connections the client
// holds.
func (c *Client) CloseIdleConnections() { c.api.CloseIdleConnections() }

// observe tells the pacer what tiquo's rate limit headers say of the
// key's window, on every answer (429s included), so that the calls are
// spread over the window before any is refused (Pacer.ObserveWindow).
func observe(p *pipeline.Pacer, h http.Header) {
	lim, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rem, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	p.ObserveWindow(rem, lim, time.Unix(reset, 0), rateWindow)
}

// classify turns an answer that is not a 2xx into an *APIError with its
// class: a refused key or scope stops the run, 429 and 5xx are retried
// (after Retry-After), and the other 4xx belong to one row. Every text
// taken from the body goes through ans.Text, which removes the key.
func classify(ans *httpapi.Answer) error {
	e := &APIError{Status: ans.Status, Method: ans.Method, Path: ans.Path}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(ans.Body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.Field = ans.Text(env.Error.Code), ans.Text(env.Error.Message), ans.Text(env.Error.Field)
	} else {
		e.Message = ans.Excerpt()
	}
	switch {
	case ans.Status == http.StatusUnauthorized || e.Code == codeUnauthorized:
		return pipeline.Fatal(fmt.Errorf("the API key was refused (401): check the key in the environment variable: %w", e))
	case ans.Status == http.StatusForbidden || e.Code == codeForbidden || e.Code == codeInsufficientScope:
		return pipeline.Fatal(fmt.Errorf("the API key lacks a scope this run needs (customers:read to read, customers:write to write): %w", e))
	}
	return httpapi.ClassifyStatus(ans.Status, ans.Header, e)
}

// call runs one API call, decoding a success into out (nil: not read).
// route names the call in logs; id fills its {id}. Every error carries
// its class.
func (c *Client) call(ctx context.Context, method, route, id string, query url.Values, body, out any) error {
	path := route
	if id != "" {
		path = strings.Replace(route, "{id}", url.PathEscape(id), 1)
	}
	return c.api.Call(ctx, httpapi.Request{Method: method, Route: route, Path: path, Query: query, Body: body}, out)
}

// Page is one answer of the list endpoint: the customers as tiquo sent
// them, and where the next page starts.
type Page struct {
	Customers []json.RawMessage
	HasMore   bool
	// NextCursor is the cursor of the next page; "" on the last.
	NextCursor string
}

// List reads one page: the customers after cursor ("" from the start),
// at most limit of them, only those whose email is email when it is not
// "" (see FindByEmail).
func (c *Client) List(ctx context.Context, cursor string, limit int, email string) (*Page, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(limit))
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if email != "" {
		q.Set("email", email)
	}
	var out struct {
		Data       []json.RawMessage `json:"data"`
		Pagination struct {
			HasMore    bool    `json:"hasMore"`
			NextCursor *string `json:"nextCursor"`
		} `json:"pagination"`
	}
	if err := c.call(ctx, http.MethodGet, listRoute, "", q, nil, &out); err != nil {
		return nil, err
	}
	p := &Page{Customers: out.Data, HasMore: out.Pagination.HasMore}
	if out.Pagination.NextCursor != nil {
		p.NextCursor = *out.Pagination.NextCursor
	}
	return p, nil
}

// Get reads one customer as tiquo sent it; an unknown id is an *APIError
// that is pipeline.ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (json.RawMessage, error) {
	var out struct {
		Data json.RawMessage `json:"data"`
	}
	if err := c.call(ctx, http.MethodGet, customerRoute, id, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Create creates one customer and returns its id ("" when tiquo answered
// none). A taken email is an *APIError that is rowsink.ErrMatchTaken.
func (c *Client) Create(ctx context.Context, body map[string]any) (string, error) {
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := c.call(ctx, http.MethodPost, listRoute, "", nil, body, &out); err != nil {
		return "", err
	}
	return out.Data.ID, nil
}

// Update patches one customer: a JSON merge patch, in which omitted fields
// stay, null clears, address merges part by part and tags replaces the
// list.
func (c *Client) Update(ctx context.Context, id string, body map[string]any) error {
	return c.call(ctx, http.MethodPatch, customerRoute, id, nil, body, nil)
}

// Delete deletes one customer; one already gone is an *APIError that is
// pipeline.ErrNotFound.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, customerRoute, id, nil, nil, nil)
}
