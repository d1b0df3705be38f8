package revnue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

// Routes, under the base URL (https://dashboard-api.revnue.com), as
// shared/api/revnue.md gives them; the emulator answers each with and
// without its trailing slash.
const (
	customersRoute  = "/api/v2/customer/"
	customerRoute   = "/api/v2/customer/{id}/" // GET
	replaceRoute    = "/api/v2/customer/{id}"  // PUT
	categoriesRoute = "/api/v2/category/"
	templatesRoute  = "/api/v2/custom-field-template/"
)

const (
	// PageSize is the most items a list page holds, and what every list
	// call asks for.
	PageSize = 100
	// maxResponseBody bounds a success's body: a page of 100 customers
	// with full descriptions is well under a MiB.
	maxResponseBody = 16 << 20
)

// APIError is an answer in Revnue's error shape, {"detail", "errors":
// {field: [message]}}, or a status whose body was not one. Through
// errors.Is it is pipeline.ErrNotFound on a 404, and rowsink.ErrMatchTaken
// on a 400 that says the name exists.
type APIError struct {
	Status int
	Detail string // detail, without the token
	// Fields maps each field at fault, nested ones by dotted path
	// ("contact_person.email"), to Revnue's messages.
	Fields       map[string][]string
	Method, Path string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "revnue %s %s: %d", e.Method, e.Path, e.Status)
	if e.Detail != "" {
		b.WriteString(" ")
		b.WriteString(e.Detail)
	}
	for _, f := range e.fieldNames() {
		fmt.Fprintf(&b, " [%s: %s]", f, strings.Join(e.Fields[f], " "))
	}
	return b.String()
}

// fieldNames are the fields at fault, sorted.
func (e *APIError) fieldNames() []string {
	names := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

// Is makes Revnue's answers the errors rowsink acts on.
func (e *APIError) Is(target error) bool {
	switch target {
	case pipeline.ErrNotFound:
		return e.Status == http.StatusNotFound
	case rowsink.ErrMatchTaken:
		return e.nameTaken()
	}
	return false
}

// nameTaken reports whether e is the 400 of a name another customer
// holds. Revnue documents no code for it; the emulator answers DRF's
// "A customer with this name already exists." on name, and any message
// on name saying "exists" or "unique" is taken for it.
func (e *APIError) nameTaken() bool {
	if e.Status != http.StatusBadRequest {
		return false
	}
	for _, m := range e.Fields["name"] {
		m = strings.ToLower(m)
		if strings.Contains(m, "exist") || strings.Contains(m, "unique") {
			return true
		}
	}
	return false
}

// AsAPIError returns the APIError in err's chain.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// Client calls Revnue's API v2 through a pacer, for one company of the
// account (the lists need one). It is safe for concurrent use.
type Client struct {
	api     *httpapi.API
	company int64
}

// NewClient returns a client for the API at baseURL (the root, without
// /api/v2), checked by httpapi.CheckBaseURL beforehand. httpClient
// defaults to httpapi.NewHTTPClient(0); one given is used without
// following redirects. The token is sent on every attempt as a bearer
// token and removed from every answer's text.
func NewClient(baseURL, token string, company int64, httpClient *http.Client, pacer *pipeline.Pacer) *Client {
	return &Client{company: company, api: httpapi.New(httpapi.Config{
		Name: "revnue", BaseURL: baseURL, HTTP: httpClient, Pacer: pacer,
		Sign: httpapi.Bearer(token), Secrets: []string{token}, Classify: classify, MaxBody: maxResponseBody,
	})}
}

// Pacer is the pacer the client's calls go through.
func (c *Client) Pacer() *pipeline.Pacer { return c.api.Pacer() }

// Company is the company the client lists.
func (c *Client) Company() int64 { return c.company }

// CloseIdleConnections lets go of the keep-alive connections the client
// holds.
func (c *Client) CloseIdleConnections() { c.api.CloseIdleConnections() }

// throttleWait reads the N of the 429 detail "Request was throttled.
// Expected available in N seconds."
var throttleWait = regexp.MustCompile(`(?i)available in ([0-9]+) seconds?`)

// classify turns an answer that is not a 2xx into an *APIError with its
// class: a refused token stops the run; a 429 is retried after the longer
// of Retry-After and the detail's "Expected available in N seconds" (one
// of them may be missing, and waiting less than either is refused again);
// 5xx are retried; the other 4xx belong to one row. Every text taken
// from the body goes through ans.Text, which removes the token.
func classify(ans *httpapi.Answer) error {
	e := &APIError{Status: ans.Status, Method: ans.Method, Path: ans.Path}
	var env struct {
		Detail *string         `json:"detail"`
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(ans.Body, &env) == nil && env.Detail != nil {
		e.Detail = ans.Text(*env.Detail)
		e.Fields = fieldErrors(ans, env.Errors)
	} else {
		e.Detail = ans.Excerpt()
	}
	switch ans.Status {
	case http.StatusUnauthorized:
		return pipeline.Fatal(fmt.Errorf("the token was refused (401): check the OAuth token in REVNUE_TOKEN: %w", e))
	case http.StatusForbidden:
		return pipeline.Fatal(fmt.Errorf("the token may not do this (403): %w", e))
	case http.StatusTooManyRequests:
		wait := httpapi.RetryAfter(ans.Header)
		if m := throttleWait.FindStringSubmatch(e.Detail); m != nil {
			if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				wait = max(wait, time.Duration(min(n, int64(httpapi.MaxRetryAfter/time.Second)))*time.Second)
			}
		}
		return pipeline.Retryable(fmt.Errorf("%w: %w", pipeline.ErrRateLimited, e), wait)
	}
	return httpapi.ClassifyStatus(ans.Status, ans.Header, e)
}

// fieldErrors reads a 400's errors: {field: [message]} (a message alone
// is taken too), nested objects flattened to dotted paths.
func fieldErrors(ans *httpapi.Answer, raw json.RawMessage) map[string][]string {
	var tree map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &tree) != nil || len(tree) == 0 {
		return nil
	}
	out := map[string][]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				walk(prefix+"."+k, sub)
			}
		case []any:
			for _, it := range x {
				walk(prefix, it)
			}
		case string:
			out[prefix[1:]] = append(out[prefix[1:]], ans.Text(x))
		}
	}
	walk("", tree)
	return out
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

// Page is one page of a list: the items as Revnue sent them, the list's
// length, and whether a page follows.
type Page struct {
	Count   int64
	Items   []json.RawMessage
	HasNext bool
	// PastEnd is set when the page asked for lies past the list's last
	// (Revnue's 404 "Invalid page."): an empty page, not an error.
	PastEnd bool
}

// List reads page n (from 1) of a list route, PageSize items a page, for
// the client's company.
func (c *Client) List(ctx context.Context, route string, n int) (*Page, error) {
	q := url.Values{}
	q.Set("company", strconv.FormatInt(c.company, 10))
	q.Set("page", strconv.Itoa(n))
	q.Set("page_size", strconv.Itoa(PageSize))
	var out struct {
		Count   int64             `json:"count"`
		Next    *string           `json:"next"`
		Results []json.RawMessage `json:"results"`
	}
	if err := c.call(ctx, http.MethodGet, route, "", q, nil, &out); err != nil {
		if e, ok := AsAPIError(err); ok && e.Status == http.StatusNotFound {
			return &Page{PastEnd: true}, nil
		}
		return nil, err
	}
	return &Page{Count: out.Count, Items: out.Results, HasNext: out.Next != nil}, nil
}

// Get reads one customer as Revnue sent it; an unknown id is an
// *APIError that is pipeline.ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	if err := c.call(ctx, http.MethodGet, customerRoute, id, nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Create creates one customer and returns it as Revnue answered it. A
// name another customer holds is an *APIError that is
// rowsink.ErrMatchTaken.
func (c *Client) Create(ctx context.Context, body map[string]any) (json.RawMessage, error) {
	var out json.RawMessage
	if err := c.call(ctx, http.MethodPost, customersRoute, "", nil, body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Replace PUTs body as the whole of customer id: every field it does not
// hold reads back null (the signed flags false) afterwards.
func (c *Client) Replace(ctx context.Context, id string, body map[string]any) error {
	return c.call(ctx, http.MethodPut, replaceRoute, id, nil, body, nil)
}

// walkList reads every page of a small list (categories, templates) and
// hands each page's items to fn; id names an item for the page guard.
func (c *Client) walkList(ctx context.Context, route string, fn func([]json.RawMessage) error, id func(int, []json.RawMessage) string) error {
	guard := httpapi.NewPageGuard("GET " + route)
	for n := 1; ; n++ {
		if err := guard.Next(strconv.Itoa(n)); err != nil {
			return err
		}
		p, err := c.List(ctx, route, n)
		if err != nil {
			return err
		}
		if n == 1 {
			guard.Announce(p.Count, 0)
		}
		if err := guard.Page(len(p.Items), func(i int) string { return id(i, p.Items) }); err != nil {
			return err
		}
		if err := fn(p.Items); err != nil {
			return err
		}
		if !p.HasNext || len(p.Items) == 0 {
			return nil
		}
	}
}
