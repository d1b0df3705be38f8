package rowsink

import (
	"context"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"crmsync/pipeline"
)

// Delete implements pipeline.Deleter, one call per customer through the
// API's Deleter (see Erase). It is called after every Apply has
// returned, from one goroutine; without a Deleter it is fatal, as
// Properties().CanDelete says beforehand. A dry run deletes nothing and
// reports every customer as it would be: deleted.
func (s *Sink) Delete(ctx context.Context, ids []string, deleted []bool) error {
	if s.del == nil {
		return pipeline.Fatalf("%s: this connector cannot delete customers", s.schema.API)
	}
	if s.plan.DryRun {
		for i := range deleted {
			deleted[i] = true
		}
		return nil
	}
	return Erase(ctx, s.del, ids, deleted, s.opts.Concurrency, s.log)
}

// Erase deletes the customers ids with up to concurrency calls at once,
// and sets deleted[i] when ids[i] is gone: deleted now, or absent already
// (an answer lost and the retry finding it gone, or someone else's delete
// in between). A customer the target refuses to delete (a permanent
// error) is left false and logged by id; any other error is returned and
// stops the rest. It serves both a sink's pipeline.Deleter and a
// connector's pipeline.Eraser.
func Erase(ctx context.Context, d Deleter, ids []string, deleted []bool, concurrency int, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for i, id := range ids {
		g.Go(func() error {
			err := d.Delete(gctx, id)
			switch {
			case err == nil || pipeline.IsNotFound(err):
				deleted[i] = true
			case rowError(err):
				log.Warn("the target refused to delete a customer", "id", id, "error", err)
			default:
				return err
			}
			return nil
		})
	}
	return g.Wait()
}
