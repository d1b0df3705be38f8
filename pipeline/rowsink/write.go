package rowsink

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"crmsync/pipeline"
)

// write decides and makes the change's write: a create when no customer
// was found, an update of what differs otherwise, nothing when nothing
// does. Only the run's errors are returned; a row's are its result.
func (s *Sink) write(ctx context.Context, w *work) error {
	if w.id == "" {
		return s.create(ctx, w)
	}
	if s.plan.Mode == pipeline.ModeCreate {
		w.reject(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeExists, Field: s.schema.MatchField,
			Message: fmt.Sprintf("a customer with this %s exists, and --mode create updates none", s.schema.MatchField)})
		return nil
	}
	return s.update(ctx, w)
}

// create creates the record's customer, in a mode that creates.
func (s *Sink) create(ctx context.Context, w *work) error {
	if s.plan.Mode == pipeline.ModeUpdate {
		msg := fmt.Sprintf("no customer with this %s, and --mode update creates none", s.schema.MatchField)
		if w.rebound {
			msg = fmt.Sprintf("the customer this key was bound to was deleted in %s, none has this %s, and --mode update creates none", s.schema.API, s.schema.MatchField)
		}
		w.reject(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeNotFound, Field: s.schema.MatchField, Message: msg})
		return nil
	}
	if rej := s.createCheck.Check(w.rec); rej != nil {
		w.reject(rej)
		return nil
	}
	if s.plan.DryRun {
		*w.res = pipeline.Result{Outcome: pipeline.OutcomeCreated}
		return nil
	}
	wr := &Write{Record: w.rec, Values: w.rec.Values, Send: make([]bool, len(s.schema.Fields))}
	for f := range s.schema.Fields {
		wr.Send[f] = s.plan.Mapped[f] && !pipeline.IsEmpty(w.rec.Values[f])
	}
	var id string
	err := s.call(ctx, func() (err error) {
		id, err = s.api.Create(ctx, wr)
		return err
	})
	switch {
	case err == nil && id != "":
		*w.res = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: id}
		return nil
	case err == nil:
		// Confirmed without an id: the customer is read back by its
		// match value, never created again.
		return s.resolveCreated(ctx, w, nil)
	case errors.Is(err, ErrMatchTaken):
		return s.resolveCreated(ctx, w, err)
	case rowError(err):
		w.reject(s.api.Reject(err, w.rec))
		return nil
	}
	return err
}

// resolveCreated settles a create the target did not confirm with an id:
// answered without one (taken nil), or refused because a customer holds
// the record's match value (taken), which is how the retry of a create
// whose first answer was lost comes back. The customer is found by its
// match value and claimed; when it holds what the record says it is
// reported created (it is this run's create, or its twin), otherwise it
// is updated like any matched customer (in --mode create, rejected as
// existing).
func (s *Sink) resolveCreated(ctx context.Context, w *work, taken error) error {
	c, rej, err := s.find(ctx, w.rec, w.rec.Values[s.match])
	if err != nil {
		return err
	}
	if rej != nil {
		w.reject(rej)
		return nil
	}
	if c == nil {
		if taken != nil {
			w.reject(s.api.Reject(taken, w.rec))
			return nil
		}
		w.reject(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeNoID, Field: s.schema.MatchField,
			Message: fmt.Sprintf("%s answered the create without a customer id, and no customer with this %s could be read back; the next run looks it up again", s.schema.API, s.schema.MatchField)})
		return nil
	}
	w.id, w.cur, w.ent = c.ID, c, nil
	send := s.toSend(w)
	if slices.Contains(send, true) && s.plan.Mode == pipeline.ModeCreate {
		w.reject(&pipeline.Reject{Stage: pipeline.StageAPI, Code: pipeline.CodeExists, Field: s.schema.MatchField,
			Message: fmt.Sprintf("a customer with this %s exists, and --mode create updates none", s.schema.MatchField)})
		return nil
	}
	if ok, err := s.claimOne(ctx, w); !ok || err != nil {
		return err
	}
	if !slices.Contains(send, true) {
		*w.res = pipeline.Result{Outcome: pipeline.OutcomeCreated, ID: c.ID}
		return nil
	}
	w.matched, w.rematched = true, true
	return s.update(ctx, w)
}

// update sends what differs between the record and the customer w.id.
// "Not found" means the customer was deleted since it was bound or
// matched: the record is matched again, once.
func (s *Sink) update(ctx context.Context, w *work) error {
	send := s.toSend(w)
	var old []string
	if w.cur != nil {
		old = w.cur.Values
	}
	if !slices.Contains(send, true) {
		*w.res = pipeline.Result{Outcome: pipeline.OutcomeUnchanged, ID: w.id, Old: old}
		return nil
	}
	if s.plan.DryRun {
		*w.res = pipeline.Result{Outcome: pipeline.OutcomeUpdated, ID: w.id, Sent: send, Old: old}
		return nil
	}
	wr := &Write{Record: w.rec, Values: w.rec.Values, Send: send}
	if s.schema.UpdateReplaces {
		if w.cur == nil {
			c, err := s.get(ctx, w.id)
			switch {
			case pipeline.IsNotFound(err):
				return s.rematch(ctx, w, err)
			case err != nil && rowError(err):
				w.reject(s.api.Reject(err, w.rec))
				return nil
			case err != nil:
				return err
			}
			w.cur, old = c, c.Values
		}
		wr = s.replacement(w, send)
	}
	err := s.call(ctx, func() error { return s.api.Update(ctx, w.id, wr) })
	switch {
	case err == nil:
		*w.res = pipeline.Result{Outcome: pipeline.OutcomeUpdated, ID: w.id, Sent: send, Old: old}
		return nil
	case pipeline.IsNotFound(err):
		return s.rematch(ctx, w, err)
	case rowError(err):
		w.reject(s.api.Reject(err, w.rec))
		return nil
	}
	return err
}

// rematch follows an update answered "not found" (gone): the record is
// matched by its match value as a new key's would be, claimed, and
// written; with no match it is created. It happens once per change: a
// second "not found" rejects the row with the API's answer.
func (s *Sink) rematch(ctx context.Context, w *work, gone error) error {
	if w.rematched || s.plan.Mode == pipeline.ModeCreate {
		if rowError(gone) {
			w.reject(s.api.Reject(gone, w.rec))
			return nil
		}
		return gone
	}
	w.rematched = true
	w.id, w.cur, w.ent, w.rebound, w.matched = "", nil, nil, true, false
	c, rej, err := s.find(ctx, w.rec, w.rec.Values[s.match])
	if err != nil {
		return err
	}
	if rej != nil {
		w.reject(rej)
		return nil
	}
	if c == nil {
		return s.create(ctx, w)
	}
	w.id, w.cur, w.matched = c.ID, c, true
	if ok, err := s.claimOne(ctx, w); !ok || err != nil {
		return err
	}
	return s.update(ctx, w)
}

// toSend marks the fields an update of w sends: the change's Send while
// it still names the change's own customer, otherwise the mapped fields
// whose value differs from what the sink knows the CRM holds (every
// mapped field when it knows nothing). A field that cannot be cleared is
// never sent empty, a create-only field never on update, and a
// GroupReplace object is sent whole when one of its parts is.
func (s *Sink) toSend(w *work) []bool {
	send := make([]bool, len(s.schema.Fields))
	own := w.ch.Send != nil && w.id == w.ch.ID
	for f := range s.schema.Fields {
		field := &s.schema.Fields[f]
		if !s.plan.Mapped[f] {
			continue
		}
		v := w.rec.Values[f]
		if (pipeline.IsEmpty(v) && !field.CanClear()) || field.CreateOnly {
			continue
		}
		switch {
		case own:
			send[f] = f < len(w.ch.Send) && w.ch.Send[f]
		case w.cur != nil:
			held := ""
			if f < len(w.cur.Values) {
				held = w.cur.Values[f]
			}
			send[f] = comparable(field, held) != comparable(field, s.held(f, v))
		case w.ent != nil && s.idx != nil && s.idx.slot[f] >= 0:
			send[f] = s.idx.sum(s.schema, f, s.held(f, v)) != w.ent.sums[s.idx.slot[f]]
		default:
			send[f] = true
		}
	}
	s.widen(send)
	return send
}

// held is the text the CRM holds for the record's value v of field f
// once written (see Holder).
func (s *Sink) held(f int, v string) string {
	if s.holder == nil || pipeline.IsEmpty(v) {
		return v
	}
	return s.holder.Held(f, v)
}

// widen adds to send every mapped part of a GroupReplace object one of
// whose parts it sends: the API replaces the object whole, so a part left
// out would be erased. (The engine widens the Send it computes; this
// covers the sends the sink computes itself.)
func (s *Sink) widen(send []bool) {
	if len(s.schema.Groups) == 0 {
		return
	}
	for f := range send {
		if !send[f] {
			continue
		}
		g := s.schema.Fields[f].Group()
		if g == "" || s.schema.GroupRule(g) != pipeline.GroupReplace {
			continue
		}
		for o := range s.schema.Fields {
			if s.plan.Mapped[o] && s.schema.Fields[o].Group() == g {
				send[o] = true
			}
		}
	}
}

// replacement is the write of an update that replaces the whole record
// (Schema.UpdateReplaces): every field, those the update sends (send)
// with the record's values, the others with what the CRM holds, and the
// customer as read, so that the connector can carry over what the schema
// does not name. A mapped field the update does not send keeps the CRM's
// value as a partial update would: the engine's Send says it did not
// change in the source, so a value another writer gave it since stays.
func (s *Sink) replacement(w *work, send []bool) *Write {
	values := make([]string, len(s.schema.Fields))
	all := make([]bool, len(s.schema.Fields))
	for f := range s.schema.Fields {
		all[f] = true
		if f < len(w.cur.Values) {
			values[f] = w.cur.Values[f]
		}
		if send[f] {
			values[f] = w.rec.Values[f]
		}
	}
	return &Write{Record: w.rec, Values: values, Send: all, Current: w.cur}
}
