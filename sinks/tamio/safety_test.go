package tamio_test

// Talking to a misbehaving API safely (issue 13, items 11 to 15), over
// real HTTP on 127.0.0.1: what the client sends where, what it keeps of
// the answers, and when it stops.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

const safetyKey = "sk_live_4f1d9c2e8b7a6350d1e2f3a4b5c6d7e8"

// quickPacer retries at once, n times.
func quickPacer(n int) *pipeline.Pacer {
	return pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: n, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
}

// received is what a server was sent.
type received struct {
	mu       sync.Mutex
	requests int
	auth     []string
	bodies   []string
}

func (r *received) record(req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.bodies = append(r.bodies, string(body))
}

// TestRedirectsAreNotFollowed: a 307 or 308 from the API, to another port
// of the same host, carries neither the customer body nor the key there.
// The call fails at once, fatally, naming where the redirect pointed.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere received
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.record(r)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":200,"customer":{"id":"c1"},"teammates":[]}`)
	}))
	defer other.Close()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var api received
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				api.record(r)
				http.Redirect(w, r, other.URL+r.URL.Path+"?token=abc", status)
			}))
			defer srv.Close()
			// A client given by the caller is used without redirects too.
			for _, hc := range []*http.Client{nil, {Timeout: 10 * time.Second}} {
				c := tamio.NewClient(srv.URL+"/v2", safetyKey, hc, quickPacer(3))
				_, err := c.Create(context.Background(), map[string]any{"name": "Ana", "email": "ana.private@example.org", "country": "de"})
				if err == nil {
					t.Fatal("a create answered by a redirect succeeded")
				}
				if pipeline.ClassOf(err) != pipeline.ClassFatal {
					t.Errorf("a redirect is %v, want fatal: %v", pipeline.ClassOf(err), err)
				}
				if !strings.Contains(err.Error(), other.URL+"/v2/customers/create") || strings.Contains(err.Error(), "token=abc") {
					t.Errorf("the error does not name where the redirect pointed (without its query): %v", err)
				}
				if _, err := c.Teammates(context.Background()); err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
					t.Errorf("a GET answered by a redirect: %v", err)
				}
				c.CloseIdleConnections()
			}
			if api.requests != 4 {
				t.Errorf("the API got %d requests, want 4 (no retries)", api.requests)
			}
		})
	}
	if elsewhere.requests != 0 {
		t.Errorf("the redirect target got %d requests (authorization %q, bodies %q)", elsewhere.requests, elsewhere.auth, elsewhere.bodies)
	}
}

// TestEchoedKeyIsRedacted: a server that echoes the Authorization header
// in its error bodies (as JSON, escaped, or as a plain page, in 400s, 401s
// and 500s) does not get the key into the error, whose text goes to
// stderr, summary.json, report.html and rejects.csv.
func TestEchoedKeyIsRedacted(t *testing.T) {
	const key = "sk_live/4f1d+9c2e8b7a6350d1e2f3a4b5c6d7e8"
	var mode atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		escaped := strings.ReplaceAll(auth, "/", `\/`)
		switch mode.Load() {
		case 0:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"bad header %s","error_code":1001,"field":"%s"}`, escaped, strings.TrimPrefix(escaped, "Bearer "))
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "<html><pre>\nAuthorization: %s\n</pre></html>", auth)
		case 2:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"key %s unknown","headers":{"authorization":%q}}`, strings.TrimPrefix(auth, "Bearer "), auth)
		case 3:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"error":"%s"}`, strings.Repeat(" ", 1590)+auth) // past where an excerpt is cut
		}
	}))
	defer srv.Close()
	secretParts := []string{key, strings.TrimPrefix(key, "sk_live/"), "4f1d", "9c2e8b7a6350d1e2f3a4b5c6d7e8"}
	for m, want := range []pipeline.Class{pipeline.ClassPermanent, pipeline.ClassRetryable, pipeline.ClassFatal, pipeline.ClassRetryable} {
		mode.Store(int32(m))
		var logs bytes.Buffer
		pacer := pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 1, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		c := tamio.NewClient(srv.URL+"/v2", key, nil, pacer)
		_, err := c.Update(context.Background(), "c1", map[string]any{"name": "Ana"})
		if err == nil {
			t.Fatalf("mode %d: no error", m)
		}
		if got := pipeline.ClassOf(err); got != want {
			t.Errorf("mode %d: %v error, want %v: %v", m, got, want, err)
		}
		texts := []string{err.Error(), fmt.Sprintf("%+v", err), logs.String()}
		if apiErr, ok := tamio.AsAPIError(err); ok {
			texts = append(texts, apiErr.Message, apiErr.Field)
		} else {
			t.Errorf("mode %d: no APIError in %v", m, err)
		}
		for _, text := range texts {
			for _, part := range secretParts {
				if strings.Contains(text, part) {
					t.Errorf("mode %d: the key (%q) is in %q", m, part, text)
				}
			}
		}
		if m == 0 && !strings.Contains(err.Error(), "bad header Bearer "+httpapi.Redacted) {
			t.Errorf("the message lost more than the key: %v", err)
		}
		c.CloseIdleConnections()
	}
}

// pagingServer answers /customers/list with page(n, query), n counting
// the requests from 1.
func pagingServer(t *testing.T, page func(n int, q map[string][]string) (total int, ids []int)) (*httptest.Server, *atomic.Int64) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(requests.Add(1))
		total, ids := page(n, r.URL.Query())
		var b strings.Builder
		fmt.Fprintf(&b, `{"status":200,"total_results":%d,"customers":[`, total)
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"c%d","email":"p%d@example.org","name":"P","created_at":%d}`, id, id, 1700000000+id)
		}
		b.WriteString("]}")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, b.String())
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func seq(from, n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = from + i
	}
	return ids
}

// TestWalksStopWhenPagingGoesWrong: a list endpoint that answers the same
// page whatever page and from say, or whose total_results lies while it
// keeps inventing pages, ends every walk (Walk, WalkRaw, FindByEmail)
// within a few requests with a fatal error naming the endpoint, having
// handed no page on twice. (Without the guard each walk runs until the
// test's deadline.)
func TestWalksStopWhenPagingGoesWrong(t *testing.T) {
	servers := map[string]func(n int, q map[string][]string) (int, []int){
		"same page for every request": func(int, map[string][]string) (int, []int) { return 1_000_000, seq(1, 100) },
		// Honours nothing, but never repeats itself: only the total it
		// announced can stop a walk.
		"total_results lies": func(n int, _ map[string][]string) (int, []int) { return 150, seq(n*100, 100) },
		// Honours page but not from: the walk's second request (from the
		// last second read) gets page 1 again.
		"from ignored": func(n int, q map[string][]string) (int, []int) {
			p, _ := strconv.Atoi(q["page"][0])
			return 1_000_000, seq((p-1)*100+1, 100)
		},
	}
	walks := map[string]func(ctx context.Context, c *tamio.Client, pages *int) error{
		"Walk": func(ctx context.Context, c *tamio.Client, pages *int) error {
			seen := map[string]bool{}
			return c.Walk(ctx, func(cs []tamio.Customer, _ int) error {
				*pages++
				for _, cu := range cs {
					if seen[cu.ID] {
						return fmt.Errorf("customer %s handed on twice", cu.ID)
					}
					seen[cu.ID] = true
				}
				return nil
			})
		},
		"WalkRaw": func(ctx context.Context, c *tamio.Client, pages *int) error {
			return c.WalkRaw(ctx, func([]json.RawMessage, int) error { *pages++; return nil })
		},
		"FindByEmail": func(ctx context.Context, c *tamio.Client, pages *int) error {
			_, err := c.FindByEmail(ctx, "nobody@example.org")
			return err
		},
	}
	for sname, page := range servers {
		for wname, walk := range walks {
			t.Run(sname+"/"+wname, func(t *testing.T) {
				if sname == "from ignored" && wname == "FindByEmail" {
					t.Skip("a lookup does not page by from")
				}
				srv, requests := pagingServer(t, page)
				c := tamio.NewClient(srv.URL+"/v2", safetyKey, nil, quickPacer(1))
				defer c.CloseIdleConnections()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				pages := 0
				err := walk(ctx, c, &pages)
				if sname == "total_results lies" && wname == "FindByEmail" {
					// A lookup stops at the announced total by itself.
					if err != nil || requests.Load() > 2 {
						t.Errorf("%d requests, %v", requests.Load(), err)
					}
					return
				}
				var pe *httpapi.PagingError
				if !errors.As(err, &pe) || pipeline.ClassOf(err) != pipeline.ClassFatal {
					t.Fatalf("after %d requests: %v, want a fatal paging error", requests.Load(), err)
				}
				if !strings.Contains(err.Error(), "GET /customers/list") {
					t.Errorf("the error does not name the endpoint: %v", err)
				}
				// The lying total (150) with its allowance (10% and ten
				// pages) ends the walk at page 12; everything else at the
				// first repeat.
				if n := requests.Load(); n > 12 {
					t.Errorf("%d requests before the walk stopped", n)
				}
				t.Logf("%d requests, %d pages handed on: %v", requests.Load(), pages, err)
			})
		}
	}
}

// TestStalledAnswerTimesOut: a server that sends its headers and then
// stalls the body fails each attempt after the HTTP client's timeout
// (--api-timeout), as a retryable error; the pacer logs each retry with
// method, route, attempt, reason and wait, and no email of the lookup;
// after the retries the call gives up with the timeout's error.
func TestStalledAnswerTimesOut(t *testing.T) {
	stop := make(chan struct{})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"status":200,"total_results":1,"customers":[`)
		w.(http.Flusher).Flush()
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stop)
	var logs bytes.Buffer
	var mu sync.Mutex
	pacer := pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))})
	const timeout = 300 * time.Millisecond
	c := tamio.NewClient(srv.URL+"/v2", safetyKey, httpapi.NewHTTPClient(timeout), pacer)
	defer c.CloseIdleConnections()
	email := "stalled.person@example.org"
	started := time.Now()
	_, err := c.FindByEmail(context.Background(), email)
	took := time.Since(started)
	if err == nil {
		t.Fatal("a stalled answer was read")
	}
	if pipeline.ClassOf(err) != pipeline.ClassRetryable || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("a stalled answer: %v error %v, want a retryable timeout", pipeline.ClassOf(err), err)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if took < 3*timeout || took > 3*timeout+20*time.Second {
		t.Errorf("three stalled attempts took %v with a timeout of %v", took, timeout)
	}
	mu.Lock()
	defer mu.Unlock()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 2 retries:\n%s", len(lines), logs.String())
	}
	for i, m := range lines {
		if m["level"] != "INFO" || m["method"] != "GET" || m["route"] != "/customers/list" || m["attempt"] != float64(i+1) ||
			m["reason"] != "timed out reading the answer" || m["wait"] == nil {
			t.Errorf("retry %d logged as %v", i+1, m)
		}
	}
	if strings.Contains(logs.String(), "stalled.person") || strings.Contains(logs.String(), "filter") {
		t.Errorf("the retry log holds the lookup's query: %s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestConfirmPollStopsWhenPagingGoesWrong: the poll that learns a bulk
// create's ids is a walk too. Against a list that answers the same page
// of strangers to every page of every poll, each poll gives up at its
// second page (the rows are then created one by one, as when a job is not
// confirmed in time), instead of paging for ever.
func TestConfirmPollStopsWhenPagingGoesWrong(t *testing.T) {
	srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: filepath.Join(t.TempDir(), "tamio.db"), BulkDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var maxPage atomic.Int64
	next := srv.Handler()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !strings.HasSuffix(r.URL.Path, "/customers/list") || !q.Has("from") {
			next.ServeHTTP(w, r)
			return
		}
		if p, _ := strconv.ParseInt(q.Get("page"), 10, 64); p > maxPage.Load() {
			maxPage.Store(p)
		}
		var b strings.Builder
		b.WriteString(`{"status":200,"total_results":1000000,"customers":[`)
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"stranger-%d","email":"stranger%d@example.org","created_at":1700000000}`, i, i)
		}
		b.WriteString("]}")
		io.WriteString(w, b.String())
	}))
	defer front.Close()
	s, err := tamio.New(tamio.Options{BaseURL: front.URL + "/v2", APIKey: srv.APIKey, PollInterval: 10 * time.Millisecond,
		ConfirmTimeout: 300 * time.Millisecond, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	chs := records(0, 5)
	res := applyAll(t, s, chs)
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated || r.ID == "" {
			t.Errorf("change %d: %v %v", i, r.Outcome, r.Reject)
		}
	}
	if p := maxPage.Load(); p == 0 || p > 2 {
		t.Errorf("the poll read up to page %d of a list that repeats itself, want it to stop at page 2", p)
	}
}
