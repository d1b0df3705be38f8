package tamio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
)

// TestTransportErrorsHoldNoURL checks the error of a call the network
// broke: it names the method and route, but not the URL, whose query holds
// the email of a customer looked up, since such errors reach the logs and
// summary.json when a run gives up.
func TestTransportErrorsHoldNoURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
	defer srv.Close()
	pacer := pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 1, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	c := tamio.NewClient(srv.URL+"/v2", "some-key", nil, pacer)
	email := "Private.Person@example.org"
	_, err := c.FindByEmail(context.Background(), email)
	if err == nil {
		t.Fatal("a lookup over a cut connection succeeded")
	}
	msg := strings.ToLower(err.Error())
	for _, leak := range []string{strings.ToLower(email), strings.ToLower(url.QueryEscape(email)), "filter="} {
		if strings.Contains(msg, leak) {
			t.Errorf("the error holds %q: %s", leak, err)
		}
	}
	if !strings.Contains(err.Error(), "GET /customers/list") {
		t.Errorf("the error does not name the call: %s", err)
	}
	if pipeline.ClassOf(err) != pipeline.ClassRetryable {
		t.Errorf("a cut connection is %v, want retryable", pipeline.ClassOf(err))
	}
}
