package tamio

import (
	"context"
	"encoding/json"
	"net/http"
)

// The raw reads below serve subject-access exports, which must hand over
// everything the API answers: a Customer keeps only what a sync compares,
// and would drop the addresses and any key this package does not know.

// RetrieveRaw reads one customer and returns the customer object exactly
// as the API sent it. An unknown id is an *APIError with Code
// CodeNotFound.
func (c *Client) RetrieveRaw(ctx context.Context, id string) (json.RawMessage, error) {
	var out struct {
		Customer json.RawMessage `json:"customer"`
	}
	if err := c.call(ctx, http.MethodGet, "/customers/retrieve/{id}", id, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Customer, nil
}

// ListRaw is List keeping each customer object as the API sent it.
func (c *Client) ListRaw(ctx context.Context, q ListQuery) ([]json.RawMessage, int, error) {
	var out struct {
		TotalResults int               `json:"total_results"`
		Customers    []json.RawMessage `json:"customers"`
	}
	err := c.call(ctx, http.MethodGet, "/customers/list", "", q.values(), nil, &out)
	return out.Customers, out.TotalResults, err
}

// MaxPerPage is the largest page /customers/list serves.
const MaxPerPage = maxPerPage

// MaxBulkDelete is the most customers one bulk/delete body may name.
const MaxBulkDelete = maxBulkSmall

// IsNotFound reports whether err is tamio's answer for a customer (or
// teammate) it does not hold, or that the key may not see. Only a 400
// counts: a 404 with the same code is a path the API does not serve (a
// wrong base URL), and taking it for "not held" would tell an erasure
// that every subject is already gone.
func IsNotFound(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.Status == http.StatusBadRequest && e.Code == CodeNotFound
}
