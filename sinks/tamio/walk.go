package tamio

import (
	"context"
	"encoding/json"
	"fmt"
)

// walk reads the whole account in creation order and hands each page to
// fn, with the account's size (as the first answer gave it).
//
// Each request starts at the creation second where the last one stopped,
// with an offset only within that second. Page offsets over the whole
// account would make the API skip (in the emulator, step over in SQLite)
// every earlier customer on every page, a cost that grows with the
// square of the account: at a million customers single pages outlasted
// the HTTP timeout. A customer deleted while the walk runs shifts nothing
// outside its own second.
func walk[T any](ctx context.Context, list func(context.Context, ListQuery) ([]T, int, error), createdAt func(*T) int64, fn func(page []T, total int) error) error {
	var from int64 // creation second the next request starts at
	var skip int   // customers of that second already read
	total := -1
	for {
		q := ListQuery{Page: skip/maxPerPage + 1, PerPage: maxPerPage, SortBy: "created_at", Order: "asc", From: from, IncludeLeads: true}
		cs, n, err := list(ctx, q)
		if err != nil {
			return fmt.Errorf("listing the account (from %d, page %d): %w", from, q.Page, err)
		}
		if total < 0 {
			total = n
		}
		fresh := cs[min(skip%maxPerPage, len(cs)):]
		for i := range fresh {
			if c := createdAt(&fresh[i]); c != from {
				from, skip = c, 0
			}
			skip++
		}
		if err := fn(fresh, total); err != nil {
			return err
		}
		if len(cs) < maxPerPage {
			return nil
		}
	}
}

// Walk reads every customer of the account, oldest first, and hands each
// page to fn with the account's size. See walk for why it pages by
// creation time.
func (c *Client) Walk(ctx context.Context, fn func(page []Customer, total int) error) error {
	return walk(ctx, c.List, func(cu *Customer) int64 { return cu.CreatedAt }, fn)
}

// WalkRaw is Walk keeping each customer object as the API sent it.
func (c *Client) WalkRaw(ctx context.Context, fn func(page []json.RawMessage, total int) error) error {
	return walk(ctx, c.ListRaw, func(raw *json.RawMessage) int64 {
		var head struct {
			CreatedAt int64 `json:"created_at"`
		}
		// A customer without a readable created_at stays in the current
		// window; the offset within it still moves on.
		_ = json.Unmarshal(*raw, &head)
		return head.CreatedAt
	}, fn)
}
