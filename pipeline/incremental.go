package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// loadState reads the state's keys into memory.
func (r *Run) loadState(ctx context.Context) error {
	started := time.Now()
	r.idx = newStateIndex(1 << 16)
	// Sized at once, a million keys load in a third of the time that
	// growing the table step by step takes.
	size := func(keys int) { r.idx = newStateIndex(keys) }
	if err := r.opts.State.Scan(ctx, size, func(keyHash, digest, source uint64) {
		r.idx.put(keyHash, digest, source)
		if digest != 0 {
			r.synced++
		}
	}); err != nil {
		return Fatal(err)
	}
	r.opts.Logger.Info("loaded the state", "keys", r.idx.len(), "synced", r.synced, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// recoveredKey is the KeyHash of the key of a row the source could not
// parse, read from what the source recovered of it; 0 when there is none.
func (r *Run) recoveredKey(row *Row) uint64 {
	k := r.opts.KeyColumn
	if k < 0 || k >= len(row.Values) {
		return 0
	}
	if key := strings.TrimSpace(row.Values[k]); key != "" {
		return KeyHash(key)
	}
	return 0
}

// matchHashOf hashes a match value for repeat detection: without regard to
// case when the target compares match values so.
func (r *Run) matchHashOf(v string) uint64 {
	if r.schema.MatchFold {
		return r.matchHash.hashFold(v)
	}
	return r.matchHash.hash(strings.TrimSpace(v))
}

// changedFields compares a record with the values last confirmed for its
// key: send marks the mapped fields that differ, blanks names those whose
// CRM value the update would clear. An empty value of a field that cannot
// be cleared is never sent.
func (r *Run) changedFields(rec *Record, old map[string]string) (send []bool, blanks []string) {
	send = make([]bool, len(r.schema.Fields))
	for f := range r.schema.Fields {
		field := &r.schema.Fields[f]
		if !r.opts.Mapped[f] {
			continue
		}
		v := rec.Values[f]
		if (v == "" && !field.CanClear()) || field.CreateOnly {
			continue
		}
		was, known := old[field.Name]
		if known && was == v {
			continue
		}
		send[f] = true
		if v == "" && was != "" {
			blanks = append(blanks, field.Name)
		}
	}
	r.widenSend(send)
	return send, blanks
}

// widenSend adds to send what the target needs beside the changed fields:
// every mapped part of a nested object it replaces whole when one part
// changed. (A target whose updates replace the whole record reads the
// fields it is not sent from the CRM; see Schema.UpdateReplaces.)
func (r *Run) widenSend(send []bool) {
	if len(r.schema.Groups) == 0 {
		return
	}
	for f := range send {
		if !send[f] {
			continue
		}
		g := r.schema.Fields[f].Group()
		if g == "" || r.schema.GroupRule(g) != GroupReplace {
			continue
		}
		for o := range r.schema.Fields {
			field := &r.schema.Fields[o]
			if r.opts.Mapped[o] && field.Group() == g {
				send[o] = true
			}
		}
	}
}

// crmFields is what the CRM holds for a record's customer after it was
// written or found unchanged: the record's values, but where an empty
// value was not sent, or a create-only field of a customer not created
// now, what was there before.
func (r *Run) crmFields(rec *Record, created bool, old map[string]string, crmOld []string) map[string]string {
	out := make(map[string]string, len(r.schema.Fields))
	for f := range r.schema.Fields {
		if !r.opts.Mapped[f] {
			continue
		}
		field := &r.schema.Fields[f]
		v := rec.Values[f]
		if (v == "" && !field.CanClear()) || (field.CreateOnly && !created) {
			if was, ok := old[field.Name]; ok {
				v = was
			} else if crmOld != nil {
				v = crmOld[f]
			} else if field.CreateOnly {
				// Neither the state nor the sink knows what the CRM
				// holds: claiming the row's value would be a guess.
				continue
			}
		}
		out[field.Name] = v
	}
	return out
}

// written describes a change for the diff report. A create is named by
// its match value alone: listing every field of every new customer made a
// first load's report nine times the size of its source, and the values
// are what the mapping makes of the row (crmsync preview shows them).
func (r *Run) written(ch *Change, res *Result, old map[string]string) Written {
	w := Written{Key: ch.Record.Key, CRMID: res.ID, Action: "update", MatchField: r.schema.MatchField}
	if r.matchField >= 0 {
		w.Match = ch.Record.Values[r.matchField]
	}
	if res.Outcome == OutcomeCreated {
		w.Action = "create"
		return w
	}
	sent := res.Sent
	if sent == nil {
		sent = ch.Send
	}
	for f := range r.schema.Fields {
		if !r.opts.Mapped[f] {
			continue
		}
		name := r.schema.Fields[f].Name
		v := ch.Record.Values[f]
		switch {
		case sent != nil:
			if !sent[f] {
				continue
			}
		default:
			// The sink did not say what it sent: list what differs from
			// what was known.
			if was, ok := old[name]; ok && was == v {
				continue
			}
		}
		fc := FieldChange{Field: name, New: v}
		if res.Old != nil {
			fc.Old = res.Old[f]
		} else {
			fc.Old = old[name]
		}
		w.Changes = append(w.Changes, fc)
	}
	return w
}

// holdBlanking counts a change that would blank CRM values and, unless
// this is a dry run, holds it back until the source is read. Once the
// count goes over MaxBlank the run is aborted before any blanking write;
// it reports whether the change was held.
func (r *Run) holdBlanking(it *sinkItem, blanks []string) bool {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	r.blanked++
	for _, f := range blanks {
		r.blankByField[f]++
	}
	over := r.blankLimitExceeded(r.blanked)
	if r.opts.DryRun {
		return false
	}
	rec := *it.ch.Record
	row := *rec.Row
	rec.Row = &row
	rec.Values = append([]string(nil), rec.Values...)
	held := *it
	held.ch.Record = &rec
	r.held = append(r.held, held)
	if over && !r.blankStop {
		r.blankStop = true
		r.halt(fmt.Errorf("%w: the run would blank %s on more than %s of the %d customers the state holds (--max-blank); nothing was blanked",
			ErrAborted, r.blankSummary(), r.opts.MaxBlank, r.synced), false)
	}
	return true
}

func (r *Run) blankLimitExceeded(n int64) bool {
	if r.opts.MaxBlank.IsZero() {
		return n > 0
	}
	return r.opts.MaxBlank.Exceeded(n, r.synced)
}

func (r *Run) blankSummary() string {
	fields := make([]string, 0, len(r.blankByField))
	for f, n := range r.blankByField {
		fields = append(fields, fmt.Sprintf("%s (%d)", f, n))
	}
	sort.Strings(fields)
	return strings.Join(fields, ", ")
}

// releaseHeld sends the changes held by the blanking guard once the whole
// source was read within the limit; after the guard stopped the run they
// go to the rejects, so the user sees every row that would have blanked.
// Rows held when the run stopped for another reason stay pending. It
// reports whether there were any.
func (r *Run) releaseHeld(ctx, work context.Context, complete bool) bool {
	r.heldMu.Lock()
	held, stopped := r.held, r.blankStop
	r.held = nil
	if r.opts.DryRun && r.blanked > 0 && r.blankLimitExceeded(r.blanked) {
		defer r.warn(fmt.Sprintf("a real run would abort: it would blank %s on %d customers, over --max-blank %s", r.blankSummary(), r.blanked, r.opts.MaxBlank))
	}
	r.heldMu.Unlock()
	switch {
	case stopped:
		for i := range held {
			rec := held[i].ch.Record
			if err := r.reject(rec.Row, &Reject{Stage: StageValidate, Code: CodeMaxBlank,
				Message: "not sent: the run would have blanked CRM values on more customers than --max-blank allows"}); err != nil {
				r.halt(err, true)
				break
			}
		}
	case complete && len(held) > 0:
		maxBatch := max(r.opts.Sink.Properties().MaxBatch, 1)
		for start := 0; start < len(held); start += maxBatch {
			if err := r.applyBatch(ctx, work, held[start:min(start+maxBatch, len(held))], false); err != nil {
				break
			}
		}
	}
	return len(held) > 0
}

// flushFailed records the rejects of known keys the dispatcher collected.
func (r *Run) flushFailed(work context.Context) error {
	if len(r.failed) == 0 {
		return nil
	}
	err := r.opts.State.Commit(work, r.failed)
	r.failed = r.failed[:0]
	if err != nil {
		return Fatal(err)
	}
	return nil
}

// flushSources records the source digests the dispatcher collected.
func (r *Run) flushSources(work context.Context) error {
	if len(r.newSourceKeys) == 0 {
		return nil
	}
	err := r.opts.State.SetSources(work, r.newSourceKeys, r.newSources)
	r.newSourceKeys, r.newSources = r.newSourceKeys[:0], r.newSources[:0]
	if err != nil {
		return Fatal(err)
	}
	return nil
}

// mirrorChunk is how many deletes are sent and forgotten together.
const mirrorChunk = 500

// mirror deletes the customers earlier runs synced whose keys the source
// no longer has, unless a guard says the source looks broken: then it
// deletes nothing and the run ends aborted.
func (r *Run) mirror(work context.Context) error {
	read := r.read.Load()
	refuse := func(why string) error {
		msg := "mirror deletes refused, nothing deleted: " + why
		r.warn(msg)
		return fmt.Errorf("%w: %s", ErrAborted, msg)
	}
	switch {
	case read == 0:
		return refuse("the source is empty")
	case r.keyless > 0:
		return refuse(fmt.Sprintf("%d rows could not be read far enough to know their key, so their customers cannot be told gone; fix them (see the rejects) and rerun", r.keyless))
	case r.opts.PreviousRead > read && r.deleteLimitExceeded(r.opts.PreviousRead-read, r.opts.PreviousRead):
		return refuse(fmt.Sprintf("the source shrank from %d rows (last complete run) to %d, over --max-delete %s", r.opts.PreviousRead, read, r.opts.MaxDelete))
	}
	type gone struct{ key, id, match string }
	var victims []gone
	if err := r.opts.State.Synced(work, func(key, id, match string) error {
		// Keys created by this run are not in the index: only those
		// known before and not seen since are gone.
		if slot := r.idx.find(KeyHash(key)); slot >= 0 && !r.idx.wasSeen(slot) {
			victims = append(victims, gone{key, id, match})
		}
		return nil
	}); err != nil {
		return Fatal(err)
	}
	if len(victims) == 0 {
		return nil
	}
	if r.deleteLimitExceeded(int64(len(victims)), r.synced) {
		return refuse(fmt.Sprintf("%d of the %d customers synced before are missing from the source, over --max-delete %s", len(victims), r.synced, r.opts.MaxDelete))
	}
	deleter, ok := r.opts.Sink.(Deleter)
	if !ok {
		return Fatalf("the %s sink cannot delete customers, which --mode mirror needs", r.schema.API)
	}
	for start := 0; start < len(victims); start += mirrorChunk {
		chunk := victims[start:min(start+mirrorChunk, len(victims))]
		ids := make([]string, len(chunk))
		for i, v := range chunk {
			ids[i] = v.id
		}
		deleted := make([]bool, len(chunk))
		if r.opts.DryRun {
			for i := range deleted {
				deleted[i] = true
			}
		} else if err := deleter.Delete(work, ids, deleted); err != nil {
			return err
		}
		var keys []string
		var written []Written
		for i, v := range chunk {
			if !deleted[i] {
				continue
			}
			keys = append(keys, v.key)
			written = append(written, Written{Key: v.key, CRMID: v.id, Action: "delete", MatchField: r.schema.MatchField, Match: v.match})
		}
		if !r.opts.DryRun {
			if err := r.opts.State.Forget(work, keys); err != nil {
				return Fatal(err)
			}
		}
		r.deleted.Add(int64(len(keys)))
		if r.opts.OnWritten != nil && len(written) > 0 {
			r.rejMu.Lock()
			err := r.opts.OnWritten(written)
			r.rejMu.Unlock()
			if err != nil {
				return Fatal(err)
			}
		}
	}
	return nil
}

func (r *Run) deleteLimitExceeded(n, total int64) bool {
	if r.opts.MaxDelete.IsZero() {
		return n > 0
	}
	return r.opts.MaxDelete.Exceeded(n, total)
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}
