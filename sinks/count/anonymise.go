package count

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"golang.org/x/sync/errgroup"

	"crmsync/pipeline"
)

var _ pipeline.Anonymiser = (*Anonymiser)(nil)

// LeftContacts is what an anonymised COUNT customer may still hold: its
// contact persons, which COUNT's update ignores and no documented
// endpoint removes. The operator clears them in COUNT by hand.
const LeftContacts = "contacts"

// Anonymiser is the connector's pipeline.Anonymiser: COUNT documents no
// delete, so an erasure overwrites the customer with one PUT, COUNT's
// partial update. customer and email, which COUNT requires and keeps,
// get the placeholders of pipeline.ErasedPlaceholder and
// pipeline.ErasedEmail (unique within the team, as COUNT wants emails,
// since they come from the customer's id); mainPhone, website and both
// addresses are sent as null, which clears them. status says nothing of
// the person and is kept. The contacts stay: they are reported in Left.
// Its methods may be called concurrently.
type Anonymiser struct{ api *API }

// NewAnonymiser returns an Anonymiser; nothing is called before its first
// Anonymise.
func NewAnonymiser(opts Options) (*Anonymiser, error) {
	a, err := NewAPI(opts)
	if err != nil {
		return nil, err
	}
	return &Anonymiser{api: a}, nil
}

// Close lets go of the idle connections.
func (x *Anonymiser) Close() error { return x.api.Close() }

// anonymisedBody is the PUT that anonymises customer id.
func anonymisedBody(id string) map[string]any {
	return map[string]any{
		"customer":        pipeline.ErasedPlaceholder(id),
		"email":           pipeline.ErasedEmail(id),
		"mainPhone":       nil,
		"website":         nil,
		"billingAddress":  nil,
		"shippingAddress": nil,
	}
}

// Check implements pipeline.Anonymiser on a customer as API read it.
func (x *Anonymiser) Check(c *pipeline.Customer) (bool, []string) {
	done := c.Values[fieldCustomer] == pipeline.ErasedPlaceholder(c.ID) &&
		strings.EqualFold(c.Values[fieldEmail], pipeline.ErasedEmail(c.ID))
	for f := fieldMainPhone; f < fieldContact && done; f++ {
		done = f == fieldStatus || pipeline.IsEmpty(c.Values[f])
	}
	return done, leftOf(c.Raw)
}

// leftOf names what a customer object holds that COUNT gives no way to
// clear: its contacts, when it has any.
func leftOf(raw json.RawMessage) []string {
	var obj struct {
		Contacts []json.RawMessage `json:"contacts"`
	}
	if json.Unmarshal(raw, &obj) == nil && len(obj.Contacts) == 0 {
		return nil
	}
	// An answer that cannot be read may hold contacts all the same.
	return []string{LeftContacts}
}

// Anonymise implements pipeline.Anonymiser: a PUT a customer, at most
// the API's concurrency at once, at its rate. COUNT answers the customer
// as updated, whose contacts say what is left.
func (x *Anonymiser) Anonymise(ctx context.Context, ids []string, res []pipeline.Anonymisation) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(x.api.concurrency, 1))
	for i, id := range ids {
		g.Go(func() error {
			var out struct {
				Data json.RawMessage `json:"data"`
			}
			err := x.api.client.call(gctx, http.MethodPut, customerRoute, id, nil, anonymisedBody(id), &out)
			switch {
			case pipeline.IsNotFound(err):
				res[i] = pipeline.Anonymisation{Outcome: pipeline.AnonymiseAbsent}
				return nil
			case pipeline.ClassOf(err) == pipeline.ClassPermanent:
				x.api.log.Warn("COUNT refused to anonymise a customer", "id", id, "error", err)
				res[i] = pipeline.Anonymisation{Err: err}
				return nil
			case err != nil:
				return err
			}
			raw := out.Data
			if len(raw) == 0 || string(raw) == "null" {
				if raw, err = x.api.client.Get(gctx, id); err != nil {
					return err
				}
			}
			res[i] = pipeline.Anonymisation{Outcome: pipeline.Anonymised, Left: leftOf(raw)}
			return nil
		})
	}
	return g.Wait()
}
