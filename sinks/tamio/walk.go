package tamio

import (
	"context"
	"encoding/json"
	"fmt"

	"crmsync/internal/httpapi"
)

// walkGrowth is how many customers, beyond what the account held when a
// walk began (its first total_results), the walk may list: customers
// created while it runs land after its place and are read too, but an
// API whose total keeps being passed is paging wrongly, and the walk
// stops (see httpapi.PageGuard) rather than read for ever.
func walkGrowth(total int) int64 { return int64(total/10 + 10*maxPerPage) }

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
//
// A guard checks each step before fn sees it: the place (second and
// offset) must be one no earlier request started at, no page may repeat
// an earlier one or a customer of the page before, and the walk may not
// list more than walkGrowth past the first total. Each is a fatal error
// naming the endpoint.
func walk[T any](ctx context.Context, list func(context.Context, ListQuery) ([]T, int, error), key func(*T) (id string, createdAt int64), fn func(page []T, total int) error) error {
	var from int64 // creation second the next request starts at
	var skip int   // customers of that second already read
	total := -1
	guard := httpapi.NewPageGuard(listEndpoint)
	var ids []string
	var created []int64
	for {
		if err := guard.Next(fmt.Sprintf("%d+%d", from, skip)); err != nil {
			return err
		}
		q := ListQuery{Page: skip/maxPerPage + 1, PerPage: maxPerPage, SortBy: "created_at", Order: "asc", From: from, IncludeLeads: true}
		cs, n, err := list(ctx, q)
		if err != nil {
			return fmt.Errorf("listing the account (from %d, page %d): %w", from, q.Page, err)
		}
		if total < 0 {
			total = n
			guard.Announce(int64(n), walkGrowth(n))
		}
		fresh := cs[min(skip%maxPerPage, len(cs)):]
		ids, created = ids[:0], created[:0]
		for i := range fresh {
			id, c := key(&fresh[i])
			ids, created = append(ids, id), append(created, c)
		}
		if err := guard.Page(len(ids), func(i int) string { return ids[i] }); err != nil {
			return err
		}
		for _, c := range created {
			if c != from {
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
	return walk(ctx, c.List, func(cu *Customer) (string, int64) { return cu.ID, cu.CreatedAt }, fn)
}

// WalkRaw is Walk keeping each customer object as the API sent it.
func (c *Client) WalkRaw(ctx context.Context, fn func(page []json.RawMessage, total int) error) error {
	return walk(ctx, c.ListRaw, func(raw *json.RawMessage) (string, int64) {
		var head struct {
			ID        string `json:"id"`
			CreatedAt int64  `json:"created_at"`
		}
		// A customer without a readable created_at stays in the current
		// window; the offset within it still moves on. One without a
		// readable id is known to the guard by its bytes.
		if json.Unmarshal(*raw, &head) != nil || head.ID == "" {
			return string(*raw), head.CreatedAt
		}
		return head.ID, head.CreatedAt
	}, fn)
}
