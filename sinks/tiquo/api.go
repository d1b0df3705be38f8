package tiquo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

var (
	_ pipeline.Reader  = (*API)(nil)
	_ pipeline.Eraser  = (*API)(nil)
	_ rowsink.API      = (*API)(nil)
	_ rowsink.Deleter  = (*API)(nil)
	_ rowsink.Preparer = (*API)(nil)
)

// API is tiquo's customers API as crmsync reads and writes it: the
// connector's pipeline.Reader and pipeline.Eraser, and the rowsink.API its
// sink writes through. Its methods may be called concurrently.
type API struct {
	client      *Client
	schema      *pipeline.Schema
	log         *slog.Logger
	concurrency int
}

// Options configures an API and the sink on it.
type Options struct {
	// BaseURL ends in /v1; check it with httpapi.CheckBaseURL first.
	BaseURL string
	APIKey  string
	// HTTPClient defaults to httpapi.NewHTTPClient(0): keep-alive, no
	// redirects, a timeout per attempt.
	HTTPClient *http.Client
	// Rate caps the requests a second (0: as fast as tiquo's rate limit
	// headers allow).
	Rate float64
	// Concurrency bounds the calls in flight; default 8.
	Concurrency int
	// MaxRetries per call; default 8.
	MaxRetries int
	// Logger gets retries and counts, never personal data.
	Logger *slog.Logger
}

// NewAPI returns an API; nothing is called before its first method.
func NewAPI(opts Options) (*API, error) {
	if opts.BaseURL == "" {
		return nil, pipeline.Fatalf("tiquo: no base URL")
	}
	if opts.APIKey == "" {
		return nil, pipeline.Fatalf("tiquo: no API key")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pacer := pipeline.NewPacer(pipeline.PacerOptions{Rate: opts.Rate, MaxRetries: opts.MaxRetries, Logger: opts.Logger})
	return &API{client: NewClient(opts.BaseURL, opts.APIKey, opts.HTTPClient, pacer), schema: &schema,
		log: opts.Logger, concurrency: opts.Concurrency}, nil
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
// base URL, the key and its customers:read scope before anything is
// written. customers:write shows at the first write, which a key without
// it ends with a fatal 403.
func (a *API) Prepare(ctx context.Context, _ pipeline.Plan) error {
	if _, err := a.client.List(ctx, "", 1, ""); err != nil {
		return fmt.Errorf("tiquo: checking the API key: %w", err)
	}
	return nil
}

// customer turns a customer object as tiquo sent it into a
// pipeline.Customer, the object kept whole in Raw.
func (a *API) customer(raw json.RawMessage) (pipeline.Customer, error) {
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil || obj == nil {
		return pipeline.Customer{}, pipeline.Fatalf("tiquo answered a customer that is not a JSON object")
	}
	id, _ := obj["id"].(string)
	return pipeline.Customer{ID: id, Values: a.schema.Values(obj), Raw: raw}, nil
}

func (a *API) customers(raws []json.RawMessage) ([]pipeline.Customer, error) {
	out := make([]pipeline.Customer, len(raws))
	for i, raw := range raws {
		var err error
		if out[i], err = a.customer(raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Walk implements pipeline.Reader: every customer in creation order, 100
// a page, each page starting at the last one's nextCursor. A guard stops
// the walk, with a fatal error, when a cursor comes back, a page repeats
// the one before, or tiquo says there is more without saying where.
func (a *API) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	guard := httpapi.NewPageGuard("GET " + listRoute)
	cursor := ""
	for {
		if err := guard.Next(cursor); err != nil {
			return err
		}
		p, err := a.client.List(ctx, cursor, maxLimit, "")
		if err != nil {
			return fmt.Errorf("listing the customers: %w", err)
		}
		page, err := a.customers(p.Customers)
		if err != nil {
			return err
		}
		if err := guard.Page(len(page), func(i int) string { return page[i].ID }); err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if !p.HasMore {
			return nil
		}
		if p.NextCursor == "" || len(page) == 0 {
			return pipeline.Fatal(&httpapi.PagingError{Endpoint: "GET " + listRoute,
				Reason: "tiquo says more customers follow but gives no cursor or no customers to go on from"})
		}
		cursor = p.NextCursor
	}
}

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

// Find implements pipeline.Reader with GET /customers?email=, the lookup
// the emulator serves and the sink relies on (shared/api/tiquo.md): the
// customers whose email equals match without regard to case, at most one.
// A target that answers a customer with another email, or more than a
// page, ignores the filter: that is fatal, since matching by it would
// bind records to the wrong customers or create them twice.
func (a *API) Find(ctx context.Context, match string) ([]pipeline.Customer, error) {
	if strings.TrimSpace(match) == "" {
		return nil, nil
	}
	p, err := a.client.List(ctx, "", maxLimit, match)
	if err != nil {
		return nil, err
	}
	cs, err := a.customers(p.Customers)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if !strings.EqualFold(strings.TrimSpace(cs[i].Values[fieldEmail]), strings.TrimSpace(match)) {
			return nil, errFilterIgnored
		}
	}
	if p.HasMore {
		return nil, errFilterIgnored
	}
	return cs, nil
}

// errFilterIgnored stops a run whose target answers a lookup by email
// with customers of other emails. It quotes no email.
var errFilterIgnored = pipeline.Fatalf("tiquo answered GET /customers?email= with customers whose email is another: this target ignores the email filter that crmsync finds customers by (shared/api/tiquo.md), and matching by it could bind or create the wrong customers; stopped")

// Create implements rowsink.API.
func (a *API) Create(ctx context.Context, w *rowsink.Write) (string, error) {
	return a.client.Create(ctx, w.Body(a.schema))
}

// Update implements rowsink.API: a PATCH of the fields to send, in
// which address parts merge and tags replace the list.
func (a *API) Update(ctx context.Context, id string, w *rowsink.Write) error {
	return a.client.Update(ctx, id, w.Body(a.schema))
}

// Delete implements rowsink.Deleter.
func (a *API) Delete(ctx context.Context, id string) error {
	return a.client.Delete(ctx, id)
}

// Erase implements pipeline.Eraser: one DELETE per customer, a customer
// already gone (404) counting as erased.
func (a *API) Erase(ctx context.Context, ids []string, erased []bool) error {
	return rowsink.Erase(ctx, a, ids, erased, a.concurrency, a.log)
}

// Reject implements rowsink.API: tiquo's refusal in the row's terms,
// with its code when the reference explains it (see APICodes).
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
		r.Message = "another tiquo customer has this email (tiquo keeps emails unique, whatever their case); nothing was written: " + e.Message
	case codeValidation:
		if e.Field != "" {
			r.Message = fmt.Sprintf("tiquo refused the value of %s, although it passed crmsync's own checks: %s", e.Field, e.Message)
		} else {
			r.Message = "tiquo refused the customer: " + e.Message
		}
	case codeNotFound:
		r.Message = "the tiquo customer was deleted while this run wrote to it; nothing was written: " + e.Message
	default:
		r.Message = fmt.Sprintf("tiquo error %s (HTTP %d): %s", e.Code, e.Status, e.Message)
	}
	return r
}
