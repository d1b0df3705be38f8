package tamio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
)

// answer is what the fuzzed server sends back to every request.
type answer struct {
	status     int
	body       []byte
	retryAfter string
	quota      [2]string // X-RateLimit-Remaining, X-RateLimit-Limit
}

// answerServer serves *cur on 127.0.0.1 alone and counts the requests.
func answerServer(t testing.TB, cur *atomic.Pointer[answer], requests *atomic.Int64) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		a := cur.Load()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.quota[0] != "" {
			w.Header().Set("X-RateLimit-Remaining", a.quota[0])
			w.Header().Set("X-RateLimit-Limit", a.quota[1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// clientCall is one call of the client and the decoding it does.
type clientCall struct {
	method, path string
	// out is what a 2xx body must decode into, nil when the body is
	// not read.
	out  func() any
	call func(ctx context.Context, c *tamio.Client) error
}

var clientCalls = []clientCall{
	{"GET", "/teammates/list", func() any { return &struct{ Teammates []tamio.Teammate }{} },
		func(ctx context.Context, c *tamio.Client) error { _, err := c.Teammates(ctx); return err }},
	{"GET", "/customers/list", func() any {
		return &struct {
			TotalResults int              `json:"total_results"`
			Customers    []tamio.Customer `json:"customers"`
		}{}
	}, func(ctx context.Context, c *tamio.Client) error {
		_, _, err := c.List(ctx, tamio.ListQuery{Page: 1, PerPage: 100})
		return err
	}},
	{"POST", "/customers/create", func() any { return &struct{ Customer tamio.Customer }{} },
		func(ctx context.Context, c *tamio.Client) error {
			_, err := c.Create(ctx, map[string]any{"email": "a@example.com"})
			return err
		}},
	{"POST", "/customers/bulk/create", nil,
		func(ctx context.Context, c *tamio.Client) error {
			return c.BulkCreate(ctx, []map[string]any{{"email": "a@example.com"}})
		}},
	{"POST", "/customers/bulk/delete", func() any { return &struct{ Customers []string }{} },
		func(ctx context.Context, c *tamio.Client) error {
			_, err := c.BulkDelete(ctx, []string{"x"})
			return err
		}},
}

// wantClass is how the client must classify an answer: nil for none.
func wantClass(call clientCall, status int, body []byte) *pipeline.Class {
	class := func(c pipeline.Class) *pipeline.Class { return &c }
	switch {
	case status >= 200 && status < 300:
		if call.out == nil {
			return nil
		}
		if status == http.StatusNoContent {
			body = nil // net/http sends no body with a 204
		}
		if json.Unmarshal(body, call.out()) != nil {
			// Perhaps a proxy's page or an answer cut short: the call
			// is retried.
			return class(pipeline.ClassRetryable)
		}
		return nil
	case status == 401 || status == 403:
		return class(pipeline.ClassFatal)
	case status == 429 || status == 408 || status >= 500:
		return class(pipeline.ClassRetryable)
	case status >= 400:
		return class(pipeline.ClassPermanent)
	}
	return class(pipeline.ClassFatal) // 3xx: nothing crmsync asked for
}

// printable keeps a header value a server could send.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

// FuzzClientAnswers feeds the tamio client arbitrary answers (status,
// body, Retry-After and quota headers) over real HTTP from a server on
// 127.0.0.1, through every decoding it does: no panic, an error exactly
// when the answer is not a success the call can read, of the class the
// status calls for, naming the call, and short whatever the body's size.
func FuzzClientAnswers(f *testing.F) {
	for _, seed := range []struct {
		call   uint8
		status uint16
		body   string
	}{
		{0, 200, `{"teammates":[{"id":"t1","email":"a@example.com","name":"A"}]}`},
		{1, 200, `{"total_results":1,"customers":[{"id":"c1","email":"a@example.com","created_at":1700000000}]}`},
		{2, 200, `{"customer":{"id":"c1","email":"a@example.com","name":null}}`},
		{3, 200, `{"status":"queued"}`},
		{4, 200, `{"customers":["c1"]}`},
		{1, 200, `{"total_results":1,"customers":[{"id":"c1","em`},
		{1, 200, `<html><body>502 Bad Gateway</body></html>`},
		{1, 200, `{"total_results":"many","customers":{}}`},
		{2, 200, `{"customer":{"created_at":1e400}}`},
		{0, 200, ""},
		{0, 204, ""},
		{2, 400, `{"error":"email is invalid","error_code":1001,"field":"email","index":3}`},
		{2, 422, `{"error":"taken","error_code":10082,"index":"three"}`},
		{0, 401, `{"error":"unauthorized"}`},
		{0, 403, `not json`},
		{1, 429, `{"error":"slow down"}`},
		{1, 503, strings.Repeat("x", 5000)},
		{1, 500, "{\"error\":\"\xff\xfe\"}"},
		{1, 302, ""},
		{0, 502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x1b[31m</body>\r\n</html>"},
		{2, 400, `{"error":"line one\nline two\u0007","field":"na\tme","error_code":1001}`},
		{2, 400, `{"error":"` + strings.Repeat("é", 3000) + `"}`},
	} {
		f.Add(seed.call, seed.status, []byte(seed.body), "", "", "")
	}
	f.Add(uint8(1), uint16(429), []byte(`{}`), "2", "0", "100")
	f.Add(uint8(1), uint16(503), []byte(`{}`), "Wed, 21 Oct 2015 07:28:00 GMT", "x", "-1")
	f.Add(uint8(0), uint16(503), []byte(`{}`), "Fri, 31 Dec 9999 23:59:59 GMT", "", "")
	// Seconds past a Duration's range wrapped round to 246 years of sleep.
	f.Add(uint8(0), uint16(429), []byte(`{}`), "99999999999", "", "")

	var cur atomic.Pointer[answer]
	var requests atomic.Int64
	srv := answerServer(f, &cur, &requests)
	// One transport for every call: a connection each would run the
	// machine out of local ports within a minute of fuzzing.
	tr := &http.Transport{}
	f.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, which uint8, status uint16, body []byte, retryAfter, remaining, limit string) {
		call := clientCalls[int(which)%len(clientCalls)]
		code := int(status)
		if code < 200 || code > 599 {
			// 1xx are not answers, and net/http refuses codes past 999.
			code = 200 + code%400
		}
		a := &answer{status: code, body: body, retryAfter: printable(retryAfter),
			quota: [2]string{printable(remaining), printable(limit)}}
		cur.Store(a)
		// A pacer of its own, so one answer's quota headers do not slow
		// the next; below zero retries, the first answer is the one
		// classified, and Retry-After is never slept on.
		pacer := pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: -1})
		c := tamio.NewClient(srv.URL, "key", hc, pacer)
		before := requests.Load()
		err := call.call(context.Background(), c)
		if n := requests.Load() - before; n != 1 {
			t.Fatalf("%d requests for one call", n)
		}
		want := wantClass(call, a.status, body)
		switch {
		case want == nil && err != nil:
			t.Fatalf("%s %s answered %d %.100q: %v", call.method, call.path, a.status, body, err)
		case want == nil:
			return
		case err == nil:
			t.Fatalf("%s %s answered %d %.100q: no error, want a %v one", call.method, call.path, a.status, body, *want)
		}
		if got := pipeline.ClassOf(err); got != *want {
			t.Fatalf("answer %d %.100q: %v error %q, want %v", a.status, body, got, err, *want)
		}
		msg := err.Error()
		if !strings.Contains(msg, "tamio "+call.method+" "+call.path) {
			t.Fatalf("error %q does not name the call %s %s", msg, call.method, call.path)
		}
		// The excerpt of a body is at most 200 bytes, quoted.
		if len(msg) > 1500 {
			t.Fatalf("an error of %d bytes for a body of %d", len(msg), len(body))
		}
		// One line of text, whatever the body: it goes to a terminal, a
		// log line and summary.json.
		if !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
			t.Fatalf("error %q is not one line of text", msg)
		}
		if a.status < 200 || a.status >= 300 {
			apiErr, ok := tamio.AsAPIError(err)
			if !ok || apiErr.Status != a.status {
				t.Fatalf("answer %d: error %q without its status", a.status, msg)
			}
			if a.status == 429 && !errors.Is(err, pipeline.ErrRateLimited) {
				t.Fatalf("a 429 is not marked rate limited: %q", msg)
			}
			// Any Retry-After is a wait of at most an hour (the client's
			// cap), and a number of seconds is that wait.
			got := pipeline.RetryAfter(err)
			if got < 0 || got > time.Hour {
				t.Fatalf("Retry-After %q read as %v", a.retryAfter, got)
			}
			if secs, perr := strconv.ParseInt(strings.TrimSpace(a.retryAfter), 10, 64); perr == nil && secs >= 0 && *want == pipeline.ClassRetryable {
				if want := time.Duration(min(secs, 3600)) * time.Second; got != want {
					t.Fatalf("Retry-After %q read as %v, want %v", a.retryAfter, got, want)
				}
			}
		}
	})
}
