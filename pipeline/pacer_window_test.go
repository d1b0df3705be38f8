package pipeline_test

import (
	"context"
	"testing"
	"time"

	"crmsync/pipeline"
)

// TestPacerSpreadsAWindowsQuota: a fixed window's remaining calls are
// spread over what is left of it, never faster than the window's
// sustained rate, and a spent window pauses callers until it ends.
func TestPacerSpreadsAWindowsQuota(t *testing.T) {
	p := pipeline.NewPacer(pipeline.PacerOptions{})
	now := time.Now()
	// 100 calls left for the 10 s left of a window of 3000 a minute: 10 a second.
	p.ObserveWindow(100, 3000, now.Add(10*time.Second), time.Minute)
	if r := p.Rate(); r < 9.5 || r > 10.5 {
		t.Errorf("rate with 100 calls left for 10 s = %v, want about 10", r)
	}
	// A new window with its quota whole: the sustained rate, not 3000 in a burst.
	p.ObserveWindow(3000, 3000, now.Add(60*time.Second), time.Minute)
	if r := p.Rate(); r != 50 {
		t.Errorf("rate in a fresh window = %v, want the sustained 50", r)
	}
	// An answer of the older window that arrives late changes nothing.
	p.ObserveWindow(1, 3000, now.Add(10*time.Second), time.Minute)
	if r := p.Rate(); r != 50 {
		t.Errorf("rate after a stale reading = %v, want 50", r)
	}
	// A 429 does not lower the rate the windows set.
	err := p.Call(context.Background(), func(attempt int) error {
		if attempt == 0 {
			return pipeline.Retryable(pipeline.ErrRateLimited, time.Millisecond)
		}
		return nil
	})
	if err != nil || p.Rate() != 50 {
		t.Errorf("after a 429: %v, rate %v, want 50", err, p.Rate())
	}

	// A spent window: the next call waits for its end.
	p = pipeline.NewPacer(pipeline.PacerOptions{})
	p.ObserveWindow(0, 100, time.Now().Add(300*time.Millisecond), time.Minute)
	start := time.Now()
	if err := p.Call(context.Background(), func(int) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("a call with the window spent went out after %v, before the window ended", waited)
	}
}
