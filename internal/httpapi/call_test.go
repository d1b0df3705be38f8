package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
)

// TestSignedOnEveryAttempt: Sign runs for each attempt, so a retry
// carries a fresh signature (an API that refuses old timestamps accepts
// it), and an answer that is not a success gets the class of its status
// with the secret removed from its text.
func TestSignedOnEveryAttempt(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("X-Signature"))
		if len(seen) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "upstream refused %s", r.Header.Get("X-Signature"))
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	var n atomic.Int64
	api := httpapi.New(httpapi.Config{Name: "demo", BaseURL: srv.URL, Secrets: []string{"sig-1", "sig-2", "sig-3"},
		Pacer: pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 5, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}),
		Sign: func(r *http.Request) error {
			r.Header.Set("X-Signature", fmt.Sprintf("sig-%d", n.Add(1)))
			return nil
		}})
	var out struct{ OK bool }
	if err := api.Call(context.Background(), httpapi.Request{Method: "GET", Route: "/things/{id}", Path: "/things/7"}, &out); err != nil || !out.OK {
		t.Fatalf("%v, %+v", err, out)
	}
	if strings.Join(seen, " ") != "sig-1 sig-2 sig-3" {
		t.Errorf("signatures sent: %q", seen)
	}

	api = httpapi.New(httpapi.Config{Name: "demo", BaseURL: srv.URL, Secrets: []string{"sig-4"},
		Pacer: pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: -1}),
		Sign:  func(r *http.Request) error { r.Header.Set("X-Signature", "sig-4"); return nil }})
	seen = nil
	err := api.Call(context.Background(), httpapi.Request{Method: "GET", Route: "/things/{id}", Path: "/things/7"}, nil)
	var se *httpapi.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadGateway || pipeline.ClassOf(err) != pipeline.ClassRetryable {
		t.Fatalf("a 502: %v", err)
	}
	if want := "demo GET /things/7: 502: upstream refused " + httpapi.Redacted; err.Error() != want || se.Message != "upstream refused "+httpapi.Redacted {
		t.Errorf("a 502: %q, want %q", err, want)
	}
}
