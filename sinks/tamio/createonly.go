package tamio

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"

	"crmsync/pipeline"
)

// createBody is the body that creates rec's customer: the mapped fields
// that hold a value, the address parts inside their objects.
func (s *Sink) createBody(rec *pipeline.Record) map[string]any {
	body := make(map[string]any, s.bodySize)
	for f, on := range s.plan.Mapped {
		v := rec.Values[f]
		if !on || v == "" {
			continue
		}
		field := &schema.Fields[f]
		if f < fieldBilling {
			body[field.Name] = v
			continue
		}
		group := billingGroup
		if f >= fieldShipping {
			group = shippingGroup
		}
		obj, _ := body[group].(map[string]any)
		if obj == nil {
			obj = make(map[string]any, numAddressParts)
			body[group] = obj
		}
		out, ok := field.JSONValue(v)
		if ok {
			obj[field.Leaf()] = out
		}
	}
	return body
}

// createOnlyDiffers reports whether rec holds a value for a CreateOnly
// field that the customer ex describes holds otherwise. No update sends
// it, but what the CRM holds is then not rec's value: see readOld.
func (s *Sink) createOnlyDiffers(rec *pipeline.Record, ex *indexed) bool {
	for _, f := range s.createOnly {
		if v := rec.Values[f]; v != "" && s.sum(f, v) != ex.sums[s.slot[f]] {
			return true
		}
	}
	return false
}

// readOld reads the customers of ws, whose records differ from them in a
// CreateOnly field, and gives their results the values the CRM holds as
// Old: the index keeps hashes, not values, and without Old the engine
// would record the record's values, which no update sent, as the CRM's.
// Only a run that records them needs them: not a dry run, nor one without
// a state (whose Plan.Claim is nil), which read nothing here.
//
// It runs before any write of the Apply, up to Concurrency reads at once;
// it is called with the results of unchanged rows already set, and sets
// their Old too. A customer that cannot be read keeps no Old (a deleted
// one is found gone by its update); only a retryable error that outlasts
// its retries, or ctx's, is returned.
func (s *Sink) readOld(ctx context.Context, ws []*work, results []pipeline.Result) error {
	if len(ws) == 0 || s.plan.Claim == nil || s.plan.DryRun {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, w := range ws {
		g.Go(func() error {
			var c *Customer
			var err error
			if serr := s.inFlight(gctx, func() { c, err = s.client.Retrieve(gctx, w.id) }); serr != nil {
				return serr
			}
			switch {
			case err != nil && pipeline.ClassOf(err) != pipeline.ClassPermanent:
				return err
			case err != nil:
				s.log.Warn("reading a customer whose address differs from its row failed; its state may record the row's address", "id", w.id, "error", err)
				return nil
			case !strings.EqualFold(c.ID, w.id):
				return nil
			}
			_, w.old = s.indexedFrom(c)
			if results[w.i].Outcome == pipeline.OutcomeUnchanged {
				results[w.i].Old = w.old
			}
			return nil
		})
	}
	return g.Wait()
}
