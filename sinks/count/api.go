package count

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

var (
	_ pipeline.Reader         = (*API)(nil)
	_ pipeline.TotalAnnouncer = (*API)(nil)
	_ rowsink.API             = (*API)(nil)
	_ rowsink.Preparer        = (*API)(nil)
)

// DefaultRate is COUNT's documented rate limit, 100 requests a minute per
// client id, in requests a second.
const DefaultRate = 100.0 / 60

// rateHeadroom is the share of the rate the pacer spends. COUNT counts
// requests in windows of the clock's minutes and sees each one a varying
// latency after the pacer sent it: requests spaced exactly at the limit
// can put 101 in one window. One percent less keeps every window at 100
// at most, and a sync within a few percent of the limit.
const rateHeadroom = 0.99

// API is COUNT's partner API for customers as crmsync reads and writes
// it: the connector's pipeline.Reader, and the rowsink.API its sink
// writes through. COUNT documents no way to delete a customer, so it
// has no Delete and the connector no eraser. Its methods may be called
// concurrently, after Prepare for the writes.
type API struct {
	client      *Client
	schema      *pipeline.Schema
	log         *slog.Logger
	concurrency int
	rate        float64
	// mapped marks the fields the run's mapping fills (Prepare); nil
	// before, when every address part an update sends counts as mapped.
	mapped []bool
	// total is pagination.total of the latest page a walk read, for
	// AnnouncedTotal.
	total atomic.Int64
}

// Options configures an API and the sink on it.
type Options struct {
	// BaseURL ends in /partners; check it with httpapi.CheckBaseURL first.
	BaseURL     string
	Credentials Credentials
	// HTTPClient defaults to httpapi.NewHTTPClient(0): keep-alive, no
	// redirects, a timeout per attempt.
	HTTPClient *http.Client
	// Rate is the most requests a second; 0 means DefaultRate, COUNT's
	// documented limit. A client whose limit COUNT raised says so here.
	Rate float64
	// Concurrency bounds the calls in flight; default 8.
	Concurrency int
	// MaxRetries per call; default 8.
	MaxRetries int
	// Logger gets retries and counts, never personal data or credentials.
	Logger *slog.Logger
	// Now is the clock requests are signed with; nil means time.Now.
	Now func() time.Time
}

// NewAPI returns an API; nothing is called before its first method.
func NewAPI(opts Options) (*API, error) {
	if opts.BaseURL == "" {
		return nil, pipeline.Fatalf("count: no base URL")
	}
	if err := opts.Credentials.check(); err != nil {
		return nil, err
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pacer := pipeline.NewPacer(pipeline.PacerOptions{Rate: opts.Rate * rateHeadroom, MaxRetries: opts.MaxRetries, Logger: opts.Logger})
	c := NewClient(ClientOptions{BaseURL: opts.BaseURL, Credentials: opts.Credentials, HTTPClient: opts.HTTPClient, Pacer: pacer, Now: opts.Now})
	return &API{client: c, schema: &schema, log: opts.Logger, concurrency: opts.Concurrency, rate: opts.Rate}, nil
}

// Schema implements pipeline.Reader.
func (a *API) Schema() *pipeline.Schema { return a.schema }

// Stats implements pipeline.Reader: the pacer's counters.
func (a *API) Stats() *pipeline.CallStats { return &a.client.Pacer().Stats }

// Client returns the API's client.
func (a *API) Client() *Client { return a.client }

// Close lets go of the API's idle connections.
func (a *API) Close() error {
	a.client.CloseIdleConnections()
	return nil
}

// Prepare implements rowsink.Preparer: a one-customer page proves the
// base URL, the three credentials and the signing before anything is
// written; and the plan says which address parts the mapping fills, so
// that an update carries the others over (see addressBody). A mapping
// that fills the contact is told, in the log, that COUNT takes it on
// create only. It is called once, before any write.
func (a *API) Prepare(ctx context.Context, plan pipeline.Plan) error {
	a.mapped = plan.Mapped
	var contact []string
	for f := fieldContact; f < numFields && f < len(plan.Mapped); f++ {
		if plan.Mapped[f] {
			contact = append(contact, a.schema.Fields[f].Name)
		}
	}
	if len(contact) > 0 && plan.Mode != pipeline.ModeCreate {
		a.log.Info("the mapping fills the primary contact, which COUNT sets only when it creates a customer: a changed contact of an existing customer is not sent", "fields", contact)
	}
	if _, err := a.client.List(ctx, 1, 1); err != nil {
		return fmt.Errorf("count: checking the credentials: %w", err)
	}
	return nil
}

// customer turns a customer object as COUNT sent it into a
// pipeline.Customer, the object kept whole in Raw. The contact.* fields
// read the primary contact (the first when none is marked primary).
func (a *API) customer(raw json.RawMessage) (pipeline.Customer, error) {
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil || obj == nil {
		return pipeline.Customer{}, pipeline.Fatalf("count answered a customer that is not a JSON object")
	}
	if contacts, ok := obj["contacts"].([]any); ok && len(contacts) > 0 {
		primary := contacts[0]
		for _, c := range contacts {
			if m, ok := c.(map[string]any); ok && m["primary"] == true {
				primary = m
				break
			}
		}
		obj[groupContact] = primary
	}
	id, _ := obj["id"].(string)
	return pipeline.Customer{ID: id, Values: a.schema.Values(obj), Raw: raw}, nil
}

// Walk implements pipeline.Reader: every customer, 100 a page (or the
// page size COUNT answers, if smaller), pages numbered from 1 in creation
// order, until a page comes back short or the customers listed reach the
// total the first page announced. A guard stops the walk, with
// a fatal error, when a page repeats one before it or the pages list more
// customers than announced (allowing for customers created meanwhile).
func (a *API) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	guard := httpapi.NewPageGuard("GET " + listRoute)
	for page := 1; ; page++ {
		p, err := a.client.List(ctx, page, maxLimit)
		if err != nil {
			return fmt.Errorf("listing the customers: %w", err)
		}
		guard.Announce(int64(p.Total), int64(p.Total/10+maxLimit))
		a.total.Store(int64(p.Total))
		cs := make([]pipeline.Customer, len(p.Customers))
		for i, raw := range p.Customers {
			if cs[i], err = a.customer(raw); err != nil {
				return err
			}
		}
		if err := guard.Page(len(cs), func(i int) string { return cs[i].ID }); err != nil {
			return err
		}
		if len(cs) > 0 {
			if err := fn(cs); err != nil {
				return err
			}
		}
		// A server that caps the page below what was asked says so in
		// pagination.limit: a page as long as that is not the last.
		size := maxLimit
		if p.Limit > 0 && p.Limit < size {
			size = p.Limit
		}
		if len(cs) < size || guard.Listed() >= int64(p.Total) {
			return nil
		}
	}
}

// AnnouncedTotal implements pipeline.TotalAnnouncer: pagination.total of
// the latest page a walk read.
func (a *API) AnnouncedTotal() int64 { return a.total.Load() }

// Get implements pipeline.Reader.
func (a *API) Get(ctx context.Context, id string) (*pipeline.Customer, error) {
	raw, err := a.client.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := a.customer(raw)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Find implements pipeline.Reader with find-by-email: the customer whose
// email equals match without regard to case, or none. An empty match
// finds none without a call.
func (a *API) Find(ctx context.Context, match string) ([]pipeline.Customer, error) {
	if strings.TrimSpace(match) == "" {
		return nil, nil
	}
	raw, err := a.client.FindByEmail(ctx, strings.TrimSpace(match))
	if err != nil || raw == nil {
		return nil, err
	}
	c, err := a.customer(raw)
	if err != nil {
		return nil, err
	}
	return []pipeline.Customer{c}, nil
}

// Reject implements rowsink.API: COUNT's refusal in the row's terms, with
// its code when the reference explains it (see APICodes).
func (a *API) Reject(err error, _ *pipeline.Record) *pipeline.Reject {
	r := &pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeAPI, Message: err.Error()}
	e, ok := AsAPIError(err)
	if !ok {
		return r
	}
	r.Field = e.Field
	r.Code = pipeline.KnownCode(pipeline.StageAPI, codePrefix+e.Code, pipeline.CodeAPI)
	switch e.Code {
	case codeEmailExists:
		r.Field = "email"
		r.Message = "another COUNT customer of the team has this email (COUNT keeps emails unique, whatever their case); nothing was written: " + e.Message
	case codeValidation:
		if e.Field != "" {
			r.Message = fmt.Sprintf("COUNT refused the value of %s, although it passed crmsync's own checks: %s", e.Field, fieldMessages(e))
		} else {
			r.Message = "COUNT refused the customer: " + e.Message
		}
	case codeNotFound:
		r.Message = "the COUNT customer was deleted while this run wrote to it; nothing was written: " + e.Message
	default:
		r.Message = fmt.Sprintf("COUNT error %s (HTTP %d): %s", e.Code, e.Status, e.Message)
	}
	return r
}

// fieldMessages is COUNT's words for each field its errors[] names.
func fieldMessages(e *APIError) string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fe.Field+": "+fe.Message)
	}
	if len(parts) == 0 {
		return e.Message
	}
	return strings.Join(parts, "; ")
}
