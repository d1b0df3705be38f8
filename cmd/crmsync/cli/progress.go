package cli

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"crmsync/pipeline"
)

// progressLogEvery is how often a run without a terminal (cron) logs its
// counts.
const progressLogEvery = 10 * time.Second

// startProgress shows a run's progress until the returned stop is called:
// a bar on a terminal, a log line every progressLogEvery otherwise. Both
// show rows/s, and an ETA when the source knows its size (a file, not
// standard input).
func startProgress(mode string, tty *os.File, log *slog.Logger, src pipeline.Source, counts func() pipeline.Counts) (stop func()) {
	if mode == "auto" {
		mode = "log"
		if isTerminal(tty) {
			mode = "bar"
		}
	}
	position := func() (done, total int64) {
		if p, ok := src.(pipeline.Progresser); ok {
			return p.Progress()
		}
		return 0, 0
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	rate := func(c pipeline.Counts) int64 {
		return int64(float64(c.Read) / max(time.Since(start).Seconds(), 1e-3))
	}
	switch mode {
	case "bar":
		_, total := position()
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(tty),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
		}
		if total <= 0 {
			total = -1
			opts = append(opts, progressbar.OptionSpinnerType(14))
		}
		bar := progressbar.NewOptions64(total, opts...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				c := counts()
				bar.Describe(fmt.Sprintf("%d rows (%d/s): %d created, %d updated, %d unchanged, %d rejected",
					c.Read, rate(c), c.Created, c.Updated, c.Unchanged, c.Rejected))
				if pos, _ := position(); total > 0 {
					_ = bar.Set64(pos)
				} else {
					_ = bar.Set64(c.Read)
				}
				select {
				case <-done:
					_ = bar.Finish()
					return
				case <-t.C:
				}
			}
		}()
	case "log":
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(progressLogEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
				}
				c := counts()
				attrs := []any{"read", c.Read, "created", c.Created, "updated", c.Updated, "unchanged", c.Unchanged,
					"rejected", c.Rejected, "rows_per_second", rate(c)}
				if pos, total := position(); total > 0 && pos > 0 {
					frac := float64(pos) / float64(total)
					eta := time.Duration(float64(time.Since(start)) * (1 - frac) / frac).Round(time.Second)
					attrs = append(attrs, "percent", int(frac*100), "eta", eta.String())
				}
				log.Info("progress", attrs...)
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
