package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"crmsync/pipeline"
)

func TestPacerRetriesOnlyRetryableErrors(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name      string
		fail      int // attempts that fail before success
		err       error
		wantCalls int64
		wantClass pipeline.Class
		wantErr   bool
	}{
		{"success first time", 0, nil, 1, 0, false},
		{"retryable then success", 2, pipeline.Retryable(errBoom, 0), 3, 0, false},
		{"permanent is not retried", 5, pipeline.Permanent(errBoom), 1, pipeline.ClassPermanent, true},
		{"fatal is not retried", 5, pipeline.Fatal(errBoom), 1, pipeline.ClassFatal, true},
		{"unclassified counts as fatal", 5, errBoom, 1, pipeline.ClassFatal, true},
		{"retries run out", 100, pipeline.Retryable(errBoom, 0), 4, pipeline.ClassRetryable, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
			err := p.Call(context.Background(), func(attempt int) error {
				if attempt < tc.fail {
					return tc.err
				}
				return nil
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && pipeline.ClassOf(err) != tc.wantClass {
				t.Errorf("class = %v, want %v", pipeline.ClassOf(err), tc.wantClass)
			}
			if got := p.Stats.Calls.Load(); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestPacerHonoursRetryAfterAndSlowsDownOn429(t *testing.T) {
	p := pipeline.NewPacer(pipeline.PacerOptions{Rate: 1000, MinBackoff: time.Millisecond})
	start := time.Now()
	err := p.Call(context.Background(), func(attempt int) error {
		if attempt == 0 {
			return pipeline.Retryable(fmt.Errorf("%w: slow down", pipeline.ErrRateLimited), 300*time.Millisecond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("retried after %v, before the server's Retry-After of 300ms", waited)
	}
	if got := p.Stats.RateLimited.Load(); got != 1 {
		t.Errorf("rate limited = %d, want 1", got)
	}
	if r := p.Rate(); r >= 1000 {
		t.Errorf("rate after a 429 = %v, want below the configured 1000", r)
	}
}

func TestPacerStopsWithTheContext(t *testing.T) {
	p := pipeline.NewPacer(pipeline.PacerOptions{MinBackoff: time.Hour, MaxBackoff: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.Call(ctx, func(int) error { return pipeline.Retryable(errors.New("down"), 0) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		in      string
		want    pipeline.Threshold
		wantErr bool
	}{
		{"", pipeline.Threshold{}, false},
		{"100", pipeline.Threshold{Count: 100}, false},
		{"2.5%", pipeline.Threshold{Percent: 2.5}, false},
		{"-1", pipeline.Threshold{}, true},
		{"150%", pipeline.Threshold{}, true},
		{"ten", pipeline.Threshold{}, true},
	}
	for _, tc := range cases {
		got, err := pipeline.ParseThreshold(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseThreshold(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if !(pipeline.Threshold{Percent: 5}).Exceeded(6, 100) || (pipeline.Threshold{Percent: 5}).Exceeded(5, 100) {
		t.Error("5% of 100 should be exceeded by 6 and not by 5")
	}
}

// TestPacerHonoursRetryAfterForItself: a retryable answer carrying
// Retry-After is retried no earlier than the server asked, with no rate
// limit and a backoff far shorter: the wait comes from Retry-After alone,
// not from the rate a 429 lowers.
func TestPacerHonoursRetryAfterForItself(t *testing.T) {
	const retryAfter = 300 * time.Millisecond
	cases := []struct {
		name string
		err  error
	}{
		{"503", pipeline.Retryable(errors.New("503 service unavailable"), retryAfter)},
		{"429", pipeline.Retryable(fmt.Errorf("%w: slow down", pipeline.ErrRateLimited), retryAfter)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pipeline.NewPacer(pipeline.PacerOptions{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
			var starts []time.Time
			err := p.Call(context.Background(), func(attempt int) error {
				starts = append(starts, time.Now())
				if attempt == 0 {
					return tc.err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(starts) != 2 {
				t.Fatalf("%d attempts, want 2", len(starts))
			}
			if gap := starts[1].Sub(starts[0]); gap < retryAfter {
				t.Errorf("second attempt %v after the first, before the server's Retry-After of %v", gap, retryAfter)
			}
		})
	}
}
