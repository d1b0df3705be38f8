package revnue

import (
	"context"
	"encoding/json"
	"strings"

	"golang.org/x/sync/errgroup"

	"crmsync/pipeline"
)

var _ pipeline.Anonymiser = (*Anonymiser)(nil)

// Anonymiser is the connector's pipeline.Anonymiser: Revnue documents no
// delete, so an erasure replaces the customer with a PUT of a record that
// says nothing of the person. Revnue's PUT sets the whole record, every
// field left out reading back null (the signed flags false), custom
// template values included: the anonymised record is the company and the
// category as Revnue holds them (which say nothing of the person and keep
// the customer in the company the connector lists), and the name
// pipeline.ErasedPlaceholder gives (unique in the account, as Revnue
// wants names, since it comes from the customer's id). Contact person,
// address, phones, website, descriptions, NDA and MSA flags and dates and
// every template value are cleared. Nothing is left that the API cannot
// clear. Its methods may be called concurrently.
type Anonymiser struct{ api *API }

// NewAnonymiser returns an Anonymiser; nothing is called before its first
// Anonymise.
func NewAnonymiser(opts Options) (*Anonymiser, error) {
	opts.Schema = nil // template values are checked in the answer's raw object
	a, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	return &Anonymiser{api: a}, nil
}

// Close lets go of the idle connections.
func (x *Anonymiser) Close() error { return x.api.Close() }

// kept are the fields an anonymised record keeps as they were, or as
// Revnue defaults them (the signed flags, false).
var kept = map[string]bool{"company": true, "category": true, "nda_signed": true, "msa_signed": true}

// Check implements pipeline.Anonymiser on a customer as API read it (of
// Revnue's schema or one extended from it).
func (x *Anonymiser) Check(c *pipeline.Customer) (bool, []string) {
	if c.Values[fieldName] != pipeline.ErasedPlaceholder(c.ID) {
		return false, nil
	}
	for f := range numBaseFields {
		name := schema.Fields[f].Name
		switch {
		case name == "nda_signed" || name == "msa_signed":
			if c.Values[f] == "true" {
				return false, nil
			}
		case f != fieldName && !kept[name] && !pipeline.IsEmpty(c.Values[f]):
			return false, nil
		}
	}
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(c.Raw)))
	d.UseNumber()
	if d.Decode(&obj) != nil {
		return false, nil
	}
	fields, _ := templateOf(obj)
	for _, v := range fields {
		if v != nil {
			return false, nil
		}
	}
	return true, nil
}

// anonymisedBody is the PUT that anonymises the customer Revnue answered
// as obj.
func (x *Anonymiser) anonymisedBody(id string, obj map[string]any) map[string]any {
	body := map[string]any{"company": x.api.company, "name": pipeline.ErasedPlaceholder(id)}
	if n, ok := obj["company"].(json.Number); ok {
		body["company"] = n
	}
	if c, ok := obj["category"].(map[string]any); ok {
		if n, ok := c["id"].(json.Number); ok {
			body["category"] = n
		}
	}
	return body
}

// Anonymise implements pipeline.Anonymiser: a Get and a PUT a customer,
// at most the API's concurrency at once, at its rate. The Get gives the
// company and category the PUT keeps, and spares the PUT of a customer
// anonymised already.
func (x *Anonymiser) Anonymise(ctx context.Context, ids []string, res []pipeline.Anonymisation) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(x.api.concurrency, 1))
	for i, id := range ids {
		g.Go(func() error {
			r, err := x.anonymise(gctx, id)
			if err != nil {
				return err
			}
			res[i] = r
			return nil
		})
	}
	return g.Wait()
}

func (x *Anonymiser) anonymise(ctx context.Context, id string) (pipeline.Anonymisation, error) {
	raw, err := x.api.client.Get(ctx, id)
	if pipeline.IsNotFound(err) {
		return pipeline.Anonymisation{Outcome: pipeline.AnonymiseAbsent}, nil
	}
	if err != nil {
		return pipeline.Anonymisation{}, err
	}
	c, err := customer(&schema, raw)
	if err != nil {
		return pipeline.Anonymisation{}, err
	}
	if done, _ := x.Check(&c); done {
		return pipeline.Anonymisation{Outcome: pipeline.AlreadyAnonymised}, nil
	}
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return pipeline.Anonymisation{}, pipeline.Fatalf("revnue answered a customer that is not a JSON object")
	}
	err = x.api.client.Replace(ctx, id, x.anonymisedBody(id, obj))
	switch {
	case pipeline.IsNotFound(err):
		return pipeline.Anonymisation{Outcome: pipeline.AnonymiseAbsent}, nil
	case pipeline.ClassOf(err) == pipeline.ClassPermanent:
		x.api.log.Warn("Revnue refused to anonymise a customer", "id", id, "error", err)
		return pipeline.Anonymisation{Err: err}, nil
	case err != nil:
		return pipeline.Anonymisation{}, err
	}
	return pipeline.Anonymisation{Outcome: pipeline.Anonymised}, nil
}
