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
// a bar with rows/s on a terminal, a log line every progressLogEvery
// otherwise.
func startProgress(mode string, tty *os.File, log *slog.Logger, counts func() pipeline.Counts) (stop func()) {
	if mode == "auto" {
		mode = "log"
		if isTerminal(tty) {
			mode = "bar"
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	switch mode {
	case "bar":
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(tty),
			progressbar.OptionSetDescription("syncing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionClearOnFinish(),
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					c := counts()
					_ = bar.Set64(c.Read)
					_ = bar.Finish()
					return
				case <-t.C:
					c := counts()
					bar.Describe(fmt.Sprintf("created %d, updated %d, unchanged %d, rejected %d", c.Created, c.Updated, c.Unchanged, c.Rejected))
					_ = bar.Set64(c.Read)
				}
			}
		}()
	case "log":
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			t := time.NewTicker(progressLogEvery)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					c := counts()
					log.Info("progress", "read", c.Read, "created", c.Created, "updated", c.Updated, "unchanged", c.Unchanged,
						"rejected", c.Rejected, "rows_per_second", int64(float64(c.Read)/time.Since(start).Seconds()))
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
