package tamio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"crmsync/pipeline"
)

var (
	_ pipeline.Reader         = (*reader)(nil)
	_ pipeline.Eraser         = (*reader)(nil)
	_ pipeline.TotalAnnouncer = (*reader)(nil)
)

// reader reads and erases customers for exports, erasure and migrations.
type reader struct {
	client *Client
	pacer  *pipeline.Pacer
	log    *slog.Logger
	// total is the account's size as a walk's first page gave it
	// (total_results), for AnnouncedTotal.
	total atomic.Int64
}

func (r *reader) Schema() *pipeline.Schema   { return &schema }
func (r *reader) Stats() *pipeline.CallStats { return &r.pacer.Stats }

// AnnouncedTotal implements pipeline.TotalAnnouncer: total_results of the
// first page of the latest walk.
func (r *reader) AnnouncedTotal() int64 { return r.total.Load() }

// customer turns a customer object as the API sent it into a
// pipeline.Customer; the object is kept whole in Raw.
func customer(raw json.RawMessage) (pipeline.Customer, error) {
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		return pipeline.Customer{}, pipeline.Fatalf("tamio answered a customer that is not a JSON object: %w", err)
	}
	id, _ := obj["id"].(string)
	return pipeline.Customer{ID: id, Values: customerValues(obj), Raw: raw}, nil
}

// Walk implements pipeline.Reader, oldest customer first.
func (r *reader) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	return r.client.WalkRaw(ctx, func(page []json.RawMessage, total int) error {
		r.total.Store(int64(total))
		out := make([]pipeline.Customer, len(page))
		for i, raw := range page {
			var err error
			if out[i], err = customer(raw); err != nil {
				return err
			}
		}
		return fn(out)
	})
}

// Get implements pipeline.Reader.
func (r *reader) Get(ctx context.Context, id string) (*pipeline.Customer, error) {
	raw, err := r.client.RetrieveRaw(ctx, id)
	if IsNotFound(err) {
		return nil, fmt.Errorf("tamio customer %s: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	c, err := customer(raw)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Find implements pipeline.Reader through the list's filter, which
// matches emails without regard to case; tamio keeps emails unique, so it
// returns at most one customer.
func (r *reader) Find(ctx context.Context, match string) ([]pipeline.Customer, error) {
	c, err := r.client.FindByEmail(ctx, match)
	if err != nil || c == nil {
		return nil, err
	}
	got, err := r.Get(ctx, c.ID)
	if pipeline.IsNotFound(err) {
		// Deleted between the list and the read.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []pipeline.Customer{*got}, nil
}

// Erase implements pipeline.Eraser through bulk/delete. A customer the
// delete's answer leaves out (an answer lost and the retry finding it
// gone, or someone else's delete in between) is read again: absent is
// erased, held is not.
func (r *reader) Erase(ctx context.Context, ids []string, erased []bool) error {
	for start := 0; start < len(ids); start += MaxBulkDelete {
		end := min(start+MaxBulkDelete, len(ids))
		if err := r.eraseChunk(ctx, ids[start:end], erased[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) eraseChunk(ctx context.Context, ids []string, erased []bool) error {
	gone, err := r.client.BulkDelete(ctx, ids)
	if err != nil {
		return fmt.Errorf("deleting %d customers: %w", len(ids), err)
	}
	answered := make(map[string]bool, len(gone))
	for _, id := range gone {
		answered[strings.ToLower(id)] = true
	}
	for i, id := range ids {
		if answered[strings.ToLower(id)] {
			erased[i] = true
			continue
		}
		_, err := r.client.Retrieve(ctx, id)
		switch {
		case IsNotFound(err):
			erased[i] = true
		case err != nil:
			return fmt.Errorf("checking a customer the delete did not name: %w", err)
		}
	}
	return nil
}
