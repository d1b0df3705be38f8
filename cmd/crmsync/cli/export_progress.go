package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"
)

// startCountProgress shows how far a run that counts customers is, until
// the returned stop is called: a bar on a terminal, a log line every
// progressLogEvery otherwise, like sync's. count returns the customers
// done and the total expected (0 while unknown). Only counts are shown:
// nothing personal reaches the terminal or the logs.
func startCountProgress(mode string, tty *os.File, log *slog.Logger, noun string, count func() (done, total int64)) (stop func()) {
	if mode == "auto" {
		mode = "log"
		if isTerminal(tty) {
			mode = "bar"
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	rate := func(n int64) int64 { return int64(float64(n) / max(time.Since(start).Seconds(), 1e-3)) }
	switch mode {
	case "bar":
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(tty),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
			progressbar.OptionSpinnerType(14),
		)
		wg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			sized := false
			for {
				n, total := count()
				if total > 0 && !sized {
					// The total is known after the first answer; a bar
					// with a size shows the ETA.
					bar.ChangeMax64(total)
					sized = true
				}
				bar.Describe(fmt.Sprintf("%d %s (%d/s)", n, noun, rate(n)))
				_ = bar.Set64(n)
				select {
				case <-done:
					_ = bar.Finish()
					return
				case <-t.C:
				}
			}
		})
	case "log":
		wg.Go(func() {
			t := time.NewTicker(progressLogEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
				}
				n, total := count()
				attrs := []any{noun, n, "per_second", rate(n)}
				if total > 0 && n > 0 {
					frac := min(float64(n)/float64(total), 1)
					eta := time.Duration(float64(time.Since(start)) * (1 - frac) / frac).Round(time.Second)
					attrs = append(attrs, "of", total, "percent", int(frac*100), "eta", eta.String())
				}
				log.Info("progress", attrs...)
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// inOrder calls fetch for each job, on up to workers goroutines, and
// hands the results to emit one at a time in the jobs' order. At most
// 2×workers results are held, so a run over a whole account pages it in
// constant memory. emit returns stop to end the run early (the last page
// of a list); fetches already started are waited for and their results
// dropped. The first error ends the run and is returned.
func inOrder[J, R any](ctx context.Context, workers int, jobs func(yield func(J) bool),
	fetch func(context.Context, J) (R, error), emit func(R) (stop bool, err error)) error {
	type slot struct {
		res  R
		err  error
		done chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	queue := make(chan *slot, workers)
	sem := make(chan struct{}, workers)
	stopped := make(chan struct{})
	// quit is the producer's end when the context is done: after a stop
	// that is not an error (stopped is closed before the cancel).
	quit := func() error {
		select {
		case <-stopped:
			return nil
		default:
			return ctx.Err()
		}
	}
	g.Go(func() error {
		defer close(queue)
		for j := range jobs {
			s := &slot{done: make(chan struct{})}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return quit()
			case <-stopped:
				return nil
			}
			g.Go(func() error {
				defer func() { <-sem }()
				s.res, s.err = fetch(ctx, j)
				close(s.done)
				return nil
			})
			select {
			case queue <- s:
			case <-ctx.Done():
				return quit()
			case <-stopped:
				return nil
			}
		}
		return nil
	})
	g.Go(func() error {
		for s := range queue {
			select {
			case <-s.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if s.err != nil {
				return s.err
			}
			stop, err := emit(s.res)
			if err != nil {
				return err
			}
			if stop {
				// Fetches past the end are of no use: cancelled, their
				// errors are dropped with their slots.
				close(stopped)
				cancel()
				return nil
			}
		}
		return nil
	})
	return g.Wait()
}
