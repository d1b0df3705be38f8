package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"crmsync/pipeline"
)

// reasoned is an error whose text quotes a server (and the email it
// echoed) and whose reason does not.
type reasoned struct{ text, reason string }

func (e *reasoned) Error() string       { return e.text }
func (e *reasoned) RetryReason() string { return e.reason }

// TestPacerLogsEachRetry: every retry is one info line with the method,
// route, attempt, reason and wait; the reason is the error's RetryReason,
// never its text; the attempt that ends the call is not logged as a retry.
func TestPacerLogsEachRetry(t *testing.T) {
	var logs bytes.Buffer
	p := pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	calls := 0
	err := p.CallRoute(context.Background(), "POST", "/customers/update/{id}", func(int) error {
		calls++
		return pipeline.Retryable(&reasoned{text: "500: could not save ana@example.org", reason: "HTTP 500"}, 0)
	})
	if err == nil || calls != 3 {
		t.Fatalf("%d calls, %v", calls, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 2 retries:\n%s", len(lines), logs.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["level"] != "INFO" || m["method"] != "POST" || m["route"] != "/customers/update/{id}" || m["attempt"] != float64(i+1) ||
			m["attempts"] != float64(3) || m["reason"] != "HTTP 500" || m["wait"] == nil {
			t.Errorf("retry %d: %s", i+1, line)
		}
	}
	if strings.Contains(logs.String(), "ana@") {
		t.Errorf("the log holds the server's text: %s", logs.String())
	}

	// A rate-limited answer without a reason of its own, and an error
	// that is not retried.
	logs.Reset()
	calls = 0
	_ = p.CallRoute(context.Background(), "GET", "/customers/list", func(int) error {
		calls++
		if calls == 1 {
			return pipeline.Retryable(errors.Join(pipeline.ErrRateLimited, errors.New("429")), time.Millisecond)
		}
		return pipeline.Permanent(errors.New("400"))
	})
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), `"reason":"rate limited (429)"`) {
		t.Errorf("a 429 then a 400 logged as:\n%s", logs.String())
	}
}
