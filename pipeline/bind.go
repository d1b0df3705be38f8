package pipeline

import (
	"context"
	"fmt"
)

// Binder is implemented by states that record which CRM customer each
// source key is bound to, and refuse to bind one customer to two keys.
type Binder interface {
	// Claim binds keys[i] to the customer ids[i], in one transaction,
	// unless that customer is bound to another key: owners[i] is then
	// that key and keys[i] is left as it was. Binding before the write is
	// sent means two batches in flight can never both take one customer.
	Claim(ctx context.Context, keys, ids []string) (owners []string, err error)
	// Owners returns, for the ids bound to a key, that key.
	Owners(ctx context.Context, ids []string) (map[string]string, error)
}

// claim is the run's Plan.Claim. A dry run writes nothing, so it only
// looks the owners up.
func (r *Run) claim(ctx context.Context, keys, ids []string) ([]string, error) {
	if len(keys) != len(ids) {
		return nil, Fatalf("engine: %d keys claimed with %d customer ids", len(keys), len(ids))
	}
	b, ok := r.opts.State.(Binder)
	if !ok {
		return make([]string, len(ids)), nil
	}
	if !r.opts.DryRun {
		owners, err := b.Claim(ctx, keys, ids)
		if err != nil {
			return nil, Fatal(fmt.Errorf("state: binding matched customers: %w", err))
		}
		return owners, nil
	}
	byID, err := b.Owners(ctx, ids)
	if err != nil {
		return nil, Fatal(fmt.Errorf("state: reading bindings: %w", err))
	}
	owners := make([]string, len(ids))
	for i, id := range ids {
		if o := byID[id]; o != "" && o != keys[i] {
			owners[i] = o
		}
	}
	return owners, nil
}
