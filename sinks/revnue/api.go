package revnue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

var (
	_ pipeline.Reader         = (*API)(nil)
	_ pipeline.TotalAnnouncer = (*API)(nil)
	_ rowsink.API             = (*API)(nil)
	_ rowsink.Preparer        = (*API)(nil)
	_ rowsink.BatchReader     = (*API)(nil)
	_ rowsink.Holder          = (*API)(nil)
)

// DefaultRate is Revnue's documented rate limit, 100 requests a minute
// per account, in requests a second.
const DefaultRate = 100.0 / 60

// rateHeadroom is the share of the rate the pacer spends: Revnue counts
// the requests of any sliding minute, and sees each a varying latency
// after the pacer sent it; one percent less keeps every minute within the
// limit.
const rateHeadroom = 0.99

// DefaultCompany is the company a connector reads and creates customers
// in when Options.Company is 0: an account with one company has company
// 1 (shared/api/revnue.md).
const DefaultCompany = 1

// API is Revnue's API v2 as crmsync reads and writes it: the connector's
// pipeline.Reader, and the rowsink.API its sink writes through, with the
// batch read (Current) that makes an update cost about one call. Revnue
// documents no delete, so it has no Delete and the connector no eraser.
// Its methods may be called concurrently, the writes after Prepare.
type API struct {
	client      *Client
	schema      *pipeline.Schema
	log         *slog.Logger
	concurrency int
	rate        float64
	company     int64

	// tmpls are the account's templates and tfields, per field of the
	// schema, the template field a template.<key> field writes (nil for
	// the others), both set by Prepare and only read afterwards.
	tmpls   templates
	tfields []*TemplateField

	pages pageMap
	reads pageReads
	names nameIndex
}

// Options configures an API and the sink on it.
type Options struct {
	// BaseURL is the API's root (https://dashboard-api.revnue.com, or a
	// sandbox's URL), without /api/v2; check it with httpapi.CheckBaseURL
	// first.
	BaseURL string
	// Token is the OAuth 2.0 access token, sent as a bearer token.
	Token string
	// Company is the company whose customers the connector lists (every
	// list needs one) and that a new customer is created in when its
	// record gives none; 0 means DefaultCompany.
	Company int64
	// Schema is the schema the run's mapping fills (crm.Config.Schema):
	// Revnue's with the template fields the mapping names; nil for
	// Revnue's own. It must be Schema() or extended from it.
	Schema *pipeline.Schema
	// HTTPClient defaults to httpapi.NewHTTPClient(0): keep-alive, no
	// redirects, a timeout per attempt.
	HTTPClient *http.Client
	// Rate is the most requests a second; 0 means DefaultRate, Revnue's
	// documented limit.
	Rate float64
	// Concurrency bounds the calls in flight; default 8.
	Concurrency int
	// MaxRetries per call; default 8.
	MaxRetries int
	// Logger gets retries and counts, never personal data or the token.
	Logger *slog.Logger
}

// NewAPI returns an API; nothing is called before its first method.
func NewAPI(opts Options) (*API, error) {
	if opts.BaseURL == "" {
		return nil, pipeline.Fatalf("revnue: no base URL")
	}
	if opts.Token == "" {
		return nil, pipeline.Fatalf("revnue: no OAuth token")
	}
	if opts.Company < 0 {
		return nil, pipeline.Fatalf("revnue: company %d is not a company id", opts.Company)
	}
	if opts.Company == 0 {
		opts.Company = DefaultCompany
	}
	s := opts.Schema
	if s == nil {
		s = &schema
	}
	if err := checkSchema(s); err != nil {
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
	return &API{client: NewClient(opts.BaseURL, opts.Token, opts.Company, opts.HTTPClient, pacer), schema: s,
		log: opts.Logger, concurrency: opts.Concurrency, rate: opts.Rate, company: opts.Company}, nil
}

// checkSchema refuses a schema that is not Revnue's, or Revnue's
// extended with template fields: the connector reads fields by position.
func checkSchema(s *pipeline.Schema) error {
	if s.API != schema.API || len(s.Fields) < numBaseFields {
		return pipeline.Fatalf("revnue: the schema given is %s's, not Revnue's", s.API)
	}
	for f := range s.Fields {
		if f < numBaseFields && s.Fields[f].Name != schema.Fields[f].Name ||
			f >= numBaseFields && !strings.HasPrefix(s.Fields[f].Name, TemplatePrefix) {
			return pipeline.Fatalf("revnue: the schema given is not Revnue's extended with template fields (field %d is %s)", f, pipeline.Quote(s.Fields[f].Name))
		}
	}
	return nil
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

// Prepare implements rowsink.Preparer, once before anything is written:
// it reads the account's custom field templates, which proves the base
// URL, the token and the company, and checks that the first template has
// every template field the mapping fills (a fatal error listing the
// template's fields otherwise: every row would be rejected).
func (a *API) Prepare(ctx context.Context, _ pipeline.Plan) error {
	ts, err := a.client.readTemplates(ctx)
	if err != nil {
		return fmt.Errorf("revnue: reading the custom field template: %w", err)
	}
	a.tmpls = ts
	a.tfields = make([]*TemplateField, len(a.schema.Fields))
	var first *Template
	if len(ts) > 0 {
		first = &ts[0]
	}
	var missing []string
	for f := numBaseFields; f < len(a.schema.Fields); f++ {
		name := a.schema.Fields[f].Name
		if first != nil {
			a.tfields[f] = first.field(strings.TrimPrefix(name, TemplatePrefix))
		}
		if a.tfields[f] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return unknownTemplateFields(missing, first)
	}
	return nil
}

// Held implements rowsink.Holder: Revnue answers a money value with two
// decimals and a number without leading zeros.
func (a *API) Held(f int, v string) string {
	if f < len(a.tfields) && a.tfields[f] != nil {
		return held(a.tfields[f].Type, v)
	}
	return v
}

// Walk implements pipeline.Reader: every customer of the company, in id
// order, 100 a page, pages numbered from 1 until Revnue says no page
// follows. A guard stops the walk, with a fatal error, when a page
// repeats one before it or the pages list more customers than the first
// announced (allowing for customers created meanwhile, which land after
// every page read). The walk teaches the connector where each customer
// sits (Current) and, when it reaches the end, every name (Find).
func (a *API) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	_, err := a.walkFrom(ctx, 1, fn)
	return err
}

// walkFrom walks from page first on (see Walk) and returns the last page
// it read; every customer it reads goes into the name index, which a
// walk from page 1 to the end completes.
func (a *API) walkFrom(ctx context.Context, first int, fn func([]pipeline.Customer) error) (int, error) {
	guard := httpapi.NewPageGuard("GET " + customersRoute)
	for n := first; ; n++ {
		if err := guard.Next(strconv.Itoa(n)); err != nil {
			return n, err
		}
		p, cs, err := a.page(ctx, n)
		if err != nil {
			return n, fmt.Errorf("listing the customers: %w", err)
		}
		if n == first {
			guard.Announce(p.Count, p.Count/10+PageSize)
		}
		if err := guard.Page(len(cs), func(i int) string { return cs[i].ID }); err != nil {
			return n, err
		}
		a.names.add(cs)
		if len(cs) > 0 && fn != nil {
			if err := fn(cs); err != nil {
				return n, err
			}
		}
		if !p.HasNext || len(cs) == 0 {
			last := n
			if len(cs) == 0 && n > 1 {
				last = n - 1
			}
			if first == 1 {
				a.names.complete(last)
			}
			return last, nil
		}
	}
}

// page reads page n of the company's customers, and notes where they sit.
func (a *API) page(ctx context.Context, n int) (*Page, []pipeline.Customer, error) {
	p, err := a.client.List(ctx, customersRoute, n)
	if err != nil {
		return nil, nil, err
	}
	cs, err := customers(a.schema, p.Items)
	if err != nil {
		return nil, nil, err
	}
	a.pages.learn(n, cs, p)
	return p, cs, nil
}

// AnnouncedTotal implements pipeline.TotalAnnouncer: the count of the
// latest list page read, by a walk or a batch read.
func (a *API) AnnouncedTotal() int64 { return a.pages.announced() }

// Get implements pipeline.Reader.
func (a *API) Get(ctx context.Context, id string) (*pipeline.Customer, error) {
	raw, err := a.client.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := customer(a.schema, raw)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Create implements rowsink.API: a POST of the record's fields, the
// connector's company when the record gives none. A name another
// customer holds is rowsink.ErrMatchTaken, which also tells the name
// index that a customer it does not know may hold it.
func (a *API) Create(ctx context.Context, w *rowsink.Write) (string, error) {
	b, err := a.body(w, true)
	if err != nil {
		return "", err
	}
	raw, err := a.client.Create(ctx, b)
	if errors.Is(err, rowsink.ErrMatchTaken) {
		a.names.markStale()
	}
	if err != nil {
		return "", err
	}
	c, err := customer(a.schema, raw)
	if err != nil {
		// The customer exists; rowsink finds it by its name.
		return "", nil
	}
	a.names.add([]pipeline.Customer{c})
	return c.ID, nil
}

// Update implements rowsink.API: a PUT of w, which under UpdateReplaces
// is the whole customer (see body).
func (a *API) Update(ctx context.Context, id string, w *rowsink.Write) error {
	b, err := a.body(w, false)
	if err != nil {
		return err
	}
	if err := a.client.Replace(ctx, id, b); err != nil {
		return err
	}
	if name, ok := b["name"].(string); ok {
		a.names.rename(id, name)
	}
	return nil
}

// fieldKey finds the key a template error names: "Field 1
// (contract_value): …".
var fieldKey = regexp.MustCompile(`^Field [0-9]+ \(([^()]+)\)`)

// Reject implements rowsink.API: Revnue's refusal, or the connector's,
// in the row's terms, with the field at fault by its dotted name.
func (a *API) Reject(err error, _ *pipeline.Record) *pipeline.Reject {
	var ve *valueError
	if errors.As(err, &ve) {
		stage := pipeline.StageAPI
		if ve.code == CodeTemplateValue || ve.code == pipeline.CodeRequired {
			stage = pipeline.StageValidate
		}
		return &pipeline.Reject{Stage: stage, Code: ve.code, Field: ve.field, Message: ve.field + " " + ve.msg}
	}
	r := &pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeAPI, Message: err.Error()}
	e, ok := AsAPIError(err)
	if !ok {
		return r
	}
	switch {
	case e.nameTaken():
		r.Code, r.Field = CodeNameTaken, "name"
		r.Message = "another Revnue customer of the account has this name (Revnue keeps names unique, whatever their case); nothing was written"
	case e.Status == http.StatusNotFound:
		r.Code = CodeNotFound
		r.Message = "the Revnue customer was deleted while this run wrote to it; nothing was written: " + e.Detail
	case e.Status == http.StatusBadRequest && len(e.Fields) > 0:
		names := e.fieldNames()
		r.Code, r.Field = CodeInvalid, names[0]
		if r.Field == "template.fields" {
			if m := fieldKey.FindStringSubmatch(strings.Join(e.Fields[r.Field], " ")); m != nil {
				r.Field = TemplatePrefix + m[1]
			}
		}
		parts := make([]string, len(names))
		for i, f := range names {
			parts[i] = f + ": " + strings.Join(e.Fields[f], " ")
		}
		r.Message = fmt.Sprintf("Revnue refused the value of %s, although it passed crmsync's own checks: %s", r.Field, strings.Join(parts, "; "))
	default:
		r.Message = fmt.Sprintf("Revnue answered %d: %s", e.Status, e.Detail)
	}
	return r
}
