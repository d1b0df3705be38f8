package count

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

// COUNT's error codes (shared/api/count.md).
const (
	codeValidation   = "validation_error"
	codeUnauthorized = "unauthorized"
	codeNotFound     = "not_found"
	codeEmailExists  = "email_exists"
)

const (
	// maxLimit is the most customers a list page holds.
	maxLimit = 100
	// maxResponseBody bounds a success's body: a page of 100 customers
	// is well under a MiB.
	maxResponseBody = 16 << 20
	listRoute       = "/customers"
	customerRoute   = "/customers/{id}"
	findRoute       = "/customers/find-by-email"
)

// Credentials are the three secrets every COUNT request carries: the
// OAuth token (Authorization: Bearer), the client id (x-client-id) and
// the client secret, which keys the request's signature and is never
// sent.
type Credentials struct {
	Token        string
	ClientID     string
	ClientSecret string
}

// check says which credential is missing.
func (c Credentials) check() error {
	var missing []string
	for _, m := range []struct{ v, name string }{{c.Token, "token"}, {c.ClientID, "client id"}, {c.ClientSecret, "client secret"}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return pipeline.Fatalf("count: no %s", strings.Join(missing, ", no "))
	}
	return nil
}

// APIError is an answer in COUNT's error envelope, or a status whose body
// was not one. Through errors.Is it is pipeline.ErrNotFound when COUNT
// answered not_found, and rowsink.ErrMatchTaken when it answered
// email_exists.
type APIError struct {
	// Status is the answer's HTTP status; 0 for the email_exists the
	// connector concludes from find-by-email before an update.
	Status  int
	Code    string // code; "" when the body had none
	Message string // message, without any credential
	// Field is the first field errors[] names, when COUNT named one.
	Field  string
	Errors []FieldError
	Method string
	Path   string
}

// FieldError is one entry of the envelope's errors[].
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "count %s %s:", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, fe := range e.Errors {
		fmt.Fprintf(&b, " [%s: %s]", fe.Field, fe.Message)
	}
	return b.String()
}

// Is makes COUNT's codes the errors rowsink acts on.
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

// ClientOptions configures a Client.
type ClientOptions struct {
	// BaseURL ends in /partners; check it with httpapi.CheckBaseURL
	// first.
	BaseURL     string
	Credentials Credentials
	// HTTPClient defaults to httpapi.NewHTTPClient(0); one given is used
	// without following redirects.
	HTTPClient *http.Client
	// Pacer spaces and retries the calls; nil for one without a rate.
	Pacer *pipeline.Pacer
	// Now is the clock of x-timestamp; nil means time.Now. Tests share
	// one with the emulator.
	Now func() time.Time
}

// Client calls COUNT's partner API for customers through a pacer,
// signing every attempt. It is safe for concurrent use.
type Client struct {
	api      *httpapi.API
	creds    Credentials
	basePath string // the base URL's path, left out of the signed path
	now      func() time.Time
}

// NewClient returns a client. Every attempt of every call carries the
// token, the client id and a fresh signature (see sign); the three
// credentials are removed from every text of an answer.
func NewClient(o ClientOptions) *Client {
	c := &Client{creds: o.Credentials, now: o.Now}
	if c.now == nil {
		c.now = time.Now
	}
	if u, err := url.Parse(o.BaseURL); err == nil {
		c.basePath = strings.TrimRight(u.EscapedPath(), "/")
	}
	c.api = httpapi.New(httpapi.Config{
		Name: "count", BaseURL: o.BaseURL, HTTP: o.HTTPClient, Pacer: o.Pacer,
		Sign:     c.sign,
		Secrets:  []string{o.Credentials.Token, o.Credentials.ClientSecret, o.Credentials.ClientID},
		Classify: classify, MaxBody: maxResponseBody,
	})
	return c
}

// Pacer is the pacer the client's calls go through.
func (c *Client) Pacer() *pipeline.Pacer { return c.api.Pacer() }

// CloseIdleConnections lets go of the keep-alive connections the client
// holds.
func (c *Client) CloseIdleConnections() { c.api.CloseIdleConnections() }

// sign adds COUNT's credentials to one attempt of a request: the bearer
// token, x-client-id, x-timestamp (unix seconds, now) and x-signature,
// the lower-case hex HMAC-SHA256 keyed with the client secret of
// "METHOD:path:timestamp:bodyHash". path is the request's path after the
// base URL's (without /partners, as a router mounted there sees it) and
// without the query; bodyHash is the hex SHA-256 of the body bytes sent,
// "" when none is (a GET). httpapi runs it on every attempt, after the
// pacer's wait, so a retry after a long Retry-After carries a timestamp
// COUNT's 300 s window accepts.
func (c *Client) sign(r *http.Request) error {
	hash := ""
	if r.Body != nil && r.Body != http.NoBody {
		if r.GetBody == nil {
			return errors.New("the body cannot be read again to sign it")
		}
		rc, err := r.GetBody()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hash = hex.EncodeToString(sum[:])
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), c.basePath)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	ts := strconv.FormatInt(c.now().Unix(), 10)
	r.Header.Set("Authorization", "Bearer "+c.creds.Token)
	r.Header.Set("x-client-id", c.creds.ClientID)
	r.Header.Set("x-timestamp", ts)
	r.Header.Set("x-signature", Signature(c.creds.ClientSecret, r.Method, path, ts, hash))
	return nil
}

// Signature is COUNT's x-signature of a request: the lower-case hex
// HMAC-SHA256, keyed with secret, of "METHOD:path:timestamp:bodyHash".
func Signature(secret, method, path, timestamp, bodyHash string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, strings.ToUpper(method)+":"+path+":"+timestamp+":"+bodyHash)
	return hex.EncodeToString(mac.Sum(nil))
}

// classify turns an answer that is not a 2xx into an *APIError with its
// class: refused credentials or signature stop the run, 429 and 5xx are
// retried (after Retry-After), and the other 4xx belong to one row.
// Every text taken from the body goes through ans.Text, which removes
// the credentials.
func classify(ans *httpapi.Answer) error {
	e := &APIError{Status: ans.Status, Method: ans.Method, Path: ans.Path}
	var env struct {
		Status  string       `json:"status"`
		Code    string       `json:"code"`
		Message string       `json:"message"`
		Errors  []FieldError `json:"errors"`
	}
	if json.Unmarshal(ans.Body, &env) == nil && env.Code != "" {
		e.Code, e.Message = ans.Text(env.Code), ans.Text(env.Message)
		for _, fe := range env.Errors {
			e.Errors = append(e.Errors, FieldError{Field: ans.Text(fe.Field), Message: ans.Text(fe.Message)})
		}
		if len(e.Errors) > 0 {
			e.Field = e.Errors[0].Field
		}
	} else {
		e.Message = ans.Excerpt()
	}
	switch {
	case ans.Status == http.StatusUnauthorized || e.Code == codeUnauthorized:
		return pipeline.Fatal(fmt.Errorf("COUNT refused the credentials or the request's signature (401): check COUNT_TOKEN, COUNT_CLIENT_ID and COUNT_CLIENT_SECRET, and this machine's clock (COUNT refuses a timestamp more than 300 s off): %w", e))
	case ans.Status == http.StatusForbidden:
		return pipeline.Fatal(fmt.Errorf("COUNT refused the client access to customers (403): %w", e))
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

// Page is one answer of the list endpoint.
type Page struct {
	Customers []json.RawMessage
	// Page, Limit and Total are the answer's pagination: the page's
	// number from 1, its size, and how many customers the list holds.
	Page, Limit, Total int
}

// List reads page number page (from 1) of the customers, limit a page,
// oldest first.
func (c *Client) List(ctx context.Context, page, limit int) (*Page, error) {
	q := url.Values{}
	q.Set("page", strconv.Itoa(page))
	q.Set("limit", strconv.Itoa(limit))
	var out struct {
		Data       []json.RawMessage `json:"data"`
		Pagination struct {
			Page  int `json:"page"`
			Limit int `json:"limit"`
			Total int `json:"total"`
		} `json:"pagination"`
	}
	if err := c.call(ctx, http.MethodGet, listRoute, "", q, nil, &out); err != nil {
		return nil, err
	}
	return &Page{Customers: out.Data, Page: out.Pagination.Page, Limit: out.Pagination.Limit, Total: out.Pagination.Total}, nil
}

// Get reads one customer as COUNT sent it; an unknown id is an *APIError
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

// FindByEmail reads the customer whose email is email, compared without
// regard to case; nil when COUNT holds none (its 404 not_found). A 404
// without COUNT's not_found envelope is not taken for "none": a base URL
// that misses the API would otherwise make every record look new.
func (c *Client) FindByEmail(ctx context.Context, email string) (json.RawMessage, error) {
	var out struct {
		Data json.RawMessage `json:"data"`
	}
	err := c.call(ctx, http.MethodGet, findRoute, "", url.Values{"email": {email}}, nil, &out)
	if e, ok := AsAPIError(err); ok && e.Status == http.StatusNotFound {
		if e.Code == codeNotFound {
			return nil, nil
		}
		return nil, pipeline.Fatal(fmt.Errorf("count: find-by-email answered 404 without COUNT's not_found error, so whether the customer exists cannot be told; check the base URL: %w", err))
	}
	if err != nil {
		return nil, err
	}
	if len(out.Data) == 0 || string(out.Data) == "null" {
		return nil, nil
	}
	return out.Data, nil
}

// Create creates one customer and returns its id ("" when COUNT answered
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

// Update writes body to one customer with COUNT's PUT, which is partial:
// omitted fields stay, an address sent replaces the one held (null
// removes it), null or "" clears website and mainPhone, contacts are
// ignored. customer and email are required in every body.
func (c *Client) Update(ctx context.Context, id string, body map[string]any) error {
	return c.call(ctx, http.MethodPut, customerRoute, id, nil, body, nil)
}
