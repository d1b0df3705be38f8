package revnue_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/sinks/revnue"
	"crmsync/sinks/revnue/revnuetest"
)

// A 429 is retried after the longer of Retry-After and the body's
// "Expected available in N seconds": either may be missing, and a retry
// sooner than either is refused again. (The emulator's own 429 carries
// both, the same; a front answers the first request with one or the
// other.)
func TestThrottleWaitsAsTheBodySays(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		bodyN      int
		atLeast    time.Duration
	}{
		{"body alone", "", 1, time.Second},
		{"body longer than Retry-After", "1", 2, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAccount(t, revnuetest.Options{})
			var mu sync.Mutex
			var times []time.Time
			a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ http.Handler) bool {
				mu.Lock()
				defer mu.Unlock()
				times = append(times, time.Now())
				if len(times) > 1 {
					return false
				}
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, `{"detail": "Request was throttled. Expected available in %d seconds."}`, tc.bodyN)
				return true
			})
			api, err := revnue.NewAPI(revnue.Options{BaseURL: a.url, Token: a.srv.Token, Rate: 1e6})
			if err != nil {
				t.Fatal(err)
			}
			if err := api.Prepare(context.Background(), pipeline.Plan{}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(times) != 2 {
				t.Fatalf("%d requests, want the 429 and its retry", len(times))
			}
			if gap := times[1].Sub(times[0]); gap < tc.atLeast {
				t.Errorf("retried after %v, want at least %v", gap, tc.atLeast)
			}
			if n := api.Stats().RateLimited.Load(); n != 1 {
				t.Errorf("%d answers counted rate limited", n)
			}
		})
	}
}

// A refused token stops the run at once, retried never, its error
// naming REVNUE_TOKEN and holding no token.
func TestRefusedTokenIsFatal(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	s := a.sink(t, revnue.Options{Token: "rv_wrong_token_1234"})
	_, err := tryRun(s, pipeline.Plan{Mapped: mapped(revnue.Schema(), "name")}, nil)
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), "REVNUE_TOKEN") {
		t.Fatalf("Prepare: %v", err)
	}
	if strings.Contains(err.Error(), "rv_wrong_token_1234") {
		t.Errorf("the error quotes the token: %v", err)
	}
	if n := len(a.front.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A value Revnue refuses rejects its row alone, with CodeInvalid and the
// field at fault by its dotted name; a refused template value names its
// template field; the rows around it are written.
func TestRefusedValueRejectsItsRowAlone(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	s := extended(t, "template.seats")
	chs := []pipeline.Change{
		change("k0", "", values(s, map[string]string{"name": "Good 0"})),
		change("k1", "", values(s, map[string]string{"name": "Bad category", "category": "99"})),
		change("k2", "", values(s, map[string]string{"name": "Bad country", "country": "999"})),
		change("k3", "", values(s, map[string]string{"name": "Bad seats", "template.seats": "5"})),
		change("k4", "", values(s, map[string]string{"name": "Good 1"})),
	}
	a.front.set(func(w http.ResponseWriter, r *http.Request, body []byte, _ http.Handler) bool {
		if r.Method != http.MethodPost || !strings.Contains(string(body), "Bad seats") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"detail": "Invalid input.", "errors": {"template": {"fields": ["Field 2 (seats): Ensure this value is less than or equal to 4."]}}}`)
		return true
	})
	res := run(t, a.sink(t, revnue.Options{Schema: s}), pipeline.Plan{Mapped: mapped(s, "name", "category", "country", "template.seats")}, chs)
	for i, want := range []string{"", "category", "country", "template.seats", ""} {
		r := res[i]
		switch {
		case want == "" && r.Outcome != pipeline.OutcomeCreated:
			t.Errorf("row %d: %v %v", i, r.Outcome, r.Reject)
		case want != "" && (r.Outcome != pipeline.OutcomeRejected || r.Reject.Code != revnue.CodeInvalid || r.Reject.Field != want ||
			r.Reject.Stage != pipeline.StageAPI || pipeline.KnownCode(pipeline.StageAPI, r.Reject.Code, "") == ""):
			t.Errorf("row %d: %v %+v, want %s rejected", i, r.Outcome, r.Reject, want)
		}
	}
}

// A customer the state binds but Revnue no longer holds (404) is found
// again by its name, or created; no batch read is wasted on it.
func TestGoneCustomerIsMatchedAgain(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	s := revnue.Schema()
	held := a.seed(t, map[string]any{"company": 1, "name": "Held"})
	chs := []pipeline.Change{
		change("k0", "999999", values(s, map[string]string{"name": "Held", "phone": "1"})),
		change("k1", "999998", values(s, map[string]string{"name": "New", "phone": "2"})),
	}
	chs[0].Send, chs[1].Send = mapped(s, "phone"), mapped(s, "phone")
	res := run(t, a.sink(t, revnue.Options{}), pipeline.Plan{Mapped: mapped(s, "name", "phone")}, chs)
	if r := res[0]; r.Outcome != pipeline.OutcomeUpdated || r.ID != held {
		t.Errorf("the gone customer whose name is held: %v %q %v, want updated %s", r.Outcome, r.ID, r.Reject, held)
	}
	if r := res[1]; r.Outcome != pipeline.OutcomeCreated || r.ID == "" {
		t.Errorf("the gone customer whose name is not held: %v %q %v", r.Outcome, r.ID, r.Reject)
	}
	if c := a.held(t, held); c["phone"] != "1" {
		t.Errorf("the customer found again: %v", c)
	}
}

// A list whose pages never advance (the API ignoring page) stops a walk
// with a fatal paging error rather than reading for ever.
func TestPagingThatDoesNotAdvanceStopsTheWalk(t *testing.T) {
	a := startAccount(t, revnuetest.Options{})
	for i := range 3 {
		a.seed(t, map[string]any{"company": 1, "name": fmt.Sprint("C", i)})
	}
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		if r.URL.Path == "/api/v2/customer/" {
			q := r.URL.Query()
			q.Set("page", "1")
			q.Set("page_size", "2")
			r.URL.RawQuery = q.Encode()
		}
		return false
	})
	api, err := revnue.NewAPI(revnue.Options{BaseURL: a.url, Token: a.srv.Token, Rate: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	err = api.Walk(context.Background(), func([]pipeline.Customer) error { return nil })
	var pe *httpapi.PagingError
	if !errors.As(err, &pe) || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("Walk: %v, want a fatal paging error", err)
	}
}
