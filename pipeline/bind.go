package pipeline

import (
	"context"
	"fmt"
)

// claim is the run's Plan.Claim. A dry run writes nothing, so it only
// looks the owners up.
func (r *Run) claim(ctx context.Context, keys, ids []string) ([]string, error) {
	if len(keys) != len(ids) {
		return nil, Fatalf("engine: %d keys claimed with %d customer ids", len(keys), len(ids))
	}
	b := r.opts.State
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
