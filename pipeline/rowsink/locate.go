package rowsink

import (
	"context"
	"fmt"
	"slices"

	"crmsync/pipeline"
)

// work is one change on its way through Apply. Each is touched by one
// goroutine at a time: locate, then (after the claim) write.
type work struct {
	ch  *pipeline.Change
	rec *pipeline.Record
	res *pipeline.Result
	// id is the customer written to: the change's, or the one matched.
	id string
	// matched is set when id was found by match value for a change that
	// came without one (or whose customer is gone): the key is bound to it
	// only through Plan.Claim.
	matched bool
	// cur is the customer as the sink read it (Find or Get); ent what the
	// index holds of it. Either lets the sink compare; neither, and every
	// mapped field is sent.
	cur *pipeline.Customer
	ent *entry
	// rebound is set when the change's own customer was gone and the
	// record was matched again; rematched once the sink did so after an
	// update answered "not found", which it does once.
	rebound, rematched bool
}

// decided reports whether the change has its outcome.
func (w *work) decided() bool { return w.res.Outcome != pipeline.OutcomePending }

func (w *work) reject(r *pipeline.Reject) {
	*w.res = pipeline.Result{Outcome: pipeline.OutcomeRejected, Reject: r}
}

// locate finds what the change's customer is: for a change with an id,
// what the CRM holds when the sink must compare or replace (the index,
// else a Get), and whether the customer is gone; for one without, the
// customer its match value (or its AltMatch) leads to.
func (s *Sink) locate(ctx context.Context, w *work) error {
	if w.ch.ID != "" {
		w.id = w.ch.ID
		if s.idx != nil {
			if w.ent = s.idx.lookupID(w.id); w.ent == nil {
				// The account did not list it: deleted in the CRM
				// since it was bound.
				return s.relocate(ctx, w)
			}
		}
		if (w.ch.Send != nil || w.ent != nil) && !s.schema.UpdateReplaces {
			return nil
		}
		if s.batch != nil {
			// Read with the batch's others, right before the writes
			// (readCurrent).
			return nil
		}
		c, err := s.get(ctx, w.id)
		switch {
		case pipeline.IsNotFound(err):
			return s.relocate(ctx, w)
		case err != nil && rowError(err):
			w.reject(s.api.Reject(err, w.rec))
			return nil
		case err != nil:
			return err
		}
		w.cur = c
		return nil
	}
	return s.matchRecord(ctx, w)
}

// relocate matches again, by its match value, the record of a change
// whose customer is gone.
func (s *Sink) relocate(ctx context.Context, w *work) error {
	w.id, w.ent, w.cur, w.rebound = "", nil, nil, true
	return s.matchRecord(ctx, w)
}

// matchRecord looks the record's match value up (then the change's
// AltMatch): in the index, or with Find.
func (s *Sink) matchRecord(ctx context.Context, w *work) error {
	for _, m := range []string{w.rec.Values[s.match], w.ch.AltMatch} {
		if pipeline.IsEmpty(m) || w.id != "" {
			continue
		}
		if s.idx != nil {
			e := s.idx.lookup(m, s.schema.MatchFold)
			if e == nil {
				continue
			}
			if e.ambiguous {
				w.reject(s.ambiguousReject())
				return nil
			}
			w.id, w.ent = e.id, e
		} else {
			c, rej, err := s.find(ctx, w.rec, m)
			if err != nil {
				return err
			}
			if rej != nil {
				w.reject(rej)
				return nil
			}
			if c == nil {
				continue
			}
			w.id, w.cur = c.ID, c
		}
		// A create-mode run refuses existing customers, so it binds none
		// of them either.
		w.matched = s.plan.Mode != pipeline.ModeCreate
	}
	return nil
}

// readCurrent reads, in one BatchReader.Current, the customers this
// batch updates that the sink has not read yet, so that each is replaced
// with what the CRM holds right before its write (see BatchReader for
// the window this leaves). A change with nothing to send needs no read. A
// customer Current did not read is read with Get by update.
func (s *Sink) readCurrent(ctx context.Context, ws []work) error {
	if s.batch == nil || s.plan.Mode == pipeline.ModeCreate {
		return nil
	}
	var ids []string
	at := map[string][]*work{}
	for i := range ws {
		w := &ws[i]
		if w.decided() || w.id == "" || w.cur != nil || !slices.Contains(s.toSend(w), true) {
			continue
		}
		if _, dup := at[w.id]; !dup {
			ids = append(ids, w.id)
		}
		at[w.id] = append(at[w.id], w)
	}
	if len(ids) == 0 {
		return nil
	}
	var cur []*pipeline.Customer
	err := s.call(ctx, func() (err error) {
		cur, err = s.batch.Current(ctx, ids)
		return err
	})
	if err != nil {
		return err
	}
	if len(cur) != len(ids) {
		return pipeline.Fatalf("%s: read %d customers for %d ids", s.schema.API, len(cur), len(ids))
	}
	for i, c := range cur {
		if c == nil {
			continue
		}
		if c.ID != ids[i] {
			return pipeline.Fatalf("%s: asked for customer %s, read customer %s", s.schema.API, ids[i], c.ID)
		}
		for _, w := range at[ids[i]] {
			w.cur = c
		}
	}
	return nil
}

// find returns the one customer whose match value is match, nil when
// there is none, or the reject of a row the target answered ambiguously
// for. A customer with another match value is fatal (filterIgnored).
func (s *Sink) find(ctx context.Context, rec *pipeline.Record, match string) (*pipeline.Customer, *pipeline.Reject, error) {
	var cs []pipeline.Customer
	err := s.call(ctx, func() (err error) {
		cs, err = s.api.Find(ctx, match)
		return err
	})
	if err != nil {
		if rowError(err) {
			return nil, s.api.Reject(err, rec), nil
		}
		return nil, nil, err
	}
	var hit *pipeline.Customer
	for i := range cs {
		c := &cs[i]
		if c.ID == "" {
			return nil, nil, pipeline.Fatalf("%s answered a lookup by %s with a customer without an id", s.schema.API, s.schema.MatchField)
		}
		if s.match >= len(c.Values) || !sameMatch(c.Values[s.match], match, s.schema.MatchFold) {
			return nil, nil, s.filterIgnored()
		}
		if hit != nil && hit.ID != c.ID {
			return nil, s.ambiguousReject(), nil
		}
		hit = c
	}
	return hit, nil, nil
}

// get reads one customer holding a slot.
func (s *Sink) get(ctx context.Context, id string) (*pipeline.Customer, error) {
	var c *pipeline.Customer
	err := s.call(ctx, func() (err error) {
		c, err = s.api.Get(ctx, id)
		return err
	})
	if err == nil && c == nil {
		err = fmt.Errorf("%s customer %s: %w", s.schema.API, id, pipeline.ErrNotFound)
	}
	return c, err
}

// claim binds the customers matched for this batch's changes to their
// keys in one Plan.Claim, and rejects the changes whose customer another
// key holds, before anything is written to them.
func (s *Sink) claim(ctx context.Context, ws []work) error {
	if s.plan.Claim == nil {
		return nil
	}
	var keys, ids []string
	var at []*work
	for i := range ws {
		w := &ws[i]
		if w.matched && !w.decided() {
			keys, ids, at = append(keys, w.rec.Key), append(ids, w.id), append(at, w)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	owners, err := s.plan.Claim(ctx, keys, ids)
	if err != nil {
		return err
	}
	if len(owners) != len(keys) {
		return pipeline.Fatalf("%s: the claim answered %d owners for %d customers", s.schema.API, len(owners), len(keys))
	}
	for j, w := range at {
		if owners[j] != "" {
			w.reject(pipeline.OwnedReject(s.schema, owners[j]))
		}
	}
	return nil
}

// claimOne claims the customer w was matched to outside the batch's
// claim (after an update met "not found", or a create "taken"); it
// reports whether the change may go on.
func (s *Sink) claimOne(ctx context.Context, w *work) (bool, error) {
	if s.plan.Claim == nil {
		return true, nil
	}
	owners, err := s.plan.Claim(ctx, []string{w.rec.Key}, []string{w.id})
	if err != nil {
		return false, err
	}
	if len(owners) != 1 {
		return false, pipeline.Fatalf("%s: the claim answered %d owners for 1 customer", s.schema.API, len(owners))
	}
	if owners[0] != "" {
		w.reject(pipeline.OwnedReject(s.schema, owners[0]))
		return false, nil
	}
	return true, nil
}

func (s *Sink) ambiguousReject() *pipeline.Reject {
	return &pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeAmbiguousMatch, Field: s.schema.MatchField,
		Message: fmt.Sprintf("%s lists this %s under several customers, or the customer it matches under another %s too, so whose it is cannot be told; nothing was written or bound. Merge or correct the customers in %s and run again",
			s.schema.API, s.schema.MatchField, s.schema.MatchField, s.schema.API)}
}
