package tiquotest_test

import (
	"strconv"
	"testing"
	"time"

	"crmsync/sinks/tiquo/tiquotest"
)

// freshMinute waits, when the minute of the clock ends within the next
// ten seconds, until the next one starts, so that the requests of a test
// share one rate limit window. It asserts nothing about time.
func freshMinute() {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 10*time.Second {
		time.Sleep(left + 50*time.Millisecond)
	}
}

// limitHeaders returns the X-RateLimit-* of an answer, failing when one
// is missing or not a number.
func limitHeaders(t *testing.T, a *answer) (limit, remaining int, reset int64) {
	t.Helper()
	var err1, err2, err3 error
	limit, err1 = strconv.Atoi(a.Header.Get("X-RateLimit-Limit"))
	remaining, err2 = strconv.Atoi(a.Header.Get("X-RateLimit-Remaining"))
	reset, err3 = strconv.ParseInt(a.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("rate limit headers missing or malformed on %v: %v", a, a.Header)
	}
	return limit, remaining, reset
}

// TestRateLimitHeadersOnEveryAnswer checks that every kind of answer,
// errors included, carries X-RateLimit-*, that each request of a key
// takes one from its window, and that the window is the minute of the
// clock.
func TestRateLimitHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{RateLimit: 1000, Keys: []tiquotest.Key{
		{Token: "sk_test_full", Scopes: []string{tiquotest.ScopeRead, tiquotest.ScopeWrite}},
		{Token: "sk_test_reader", Scopes: []string{tiquotest.ScopeRead}},
	}})
	c := newClient(t, s)
	freshMinute()
	id := c.create(person("taken@example.com"))["id"].(string)
	want := 998 // the create took one
	for _, tc := range []struct {
		name         string
		key          string
		method, path string
		body         any
		status       int
	}{
		{"list", "", "GET", "/customers", nil, 200},
		{"get", "", "GET", "/customers/" + id, nil, 200},
		{"create", "", "POST", "/customers", person("new@example.com"), 201},
		{"patch", "", "PATCH", "/customers/" + id, map[string]any{"notes": "n"}, 200},
		{"validation", "", "POST", "/customers", "{", 400},
		{"conflict", "", "POST", "/customers", person("TAKEN@example.com"), 409},
		{"not found", "", "GET", "/customers/cust_nope", nil, 404},
		{"no such endpoint", "", "GET", "/nothing", nil, 404},
		{"method not allowed", "", "PUT", "/customers", nil, 405},
		{"scope", "sk_test_reader", "DELETE", "/customers/" + id, nil, 403},
		{"no key", "-", "GET", "/customers", nil, 401},
		{"unknown key", "sk_test_unknown", "GET", "/customers", nil, 401},
		{"delete", "", "DELETE", "/customers/" + id, nil, 200},
	} {
		cc := c
		switch tc.key {
		case "":
		case "-":
			cc = c.withKey("")
		default:
			cc = c.withKey(tc.key)
		}
		a := cc.do(tc.method, tc.path, tc.body)
		if a.Status != tc.status {
			t.Errorf("%s: %v, want %d", tc.name, a, tc.status)
		}
		limit, remaining, reset := limitHeaders(t, a)
		if limit != 1000 || reset%60 != 0 || reset <= time.Now().Unix() || reset > time.Now().Unix()+60 {
			t.Errorf("%s: limit %d, reset %d (now %d)", tc.name, limit, reset, time.Now().Unix())
		}
		if tc.key == "" {
			if remaining != want {
				t.Errorf("%s: remaining %d, want %d", tc.name, remaining, want)
			}
			want--
		}
	}
}

// TestRateLimit429 uses up a key's window: the next request is a 429
// rate_limited, not applied, with Retry-After and the X-RateLimit-*
// headers; another key and requests without a key have windows of their
// own; the stats count the 429.
func TestRateLimit429(t *testing.T) {
	t.Parallel()
	both := []string{tiquotest.ScopeRead, tiquotest.ScopeWrite}
	s := start(t, tiquotest.Options{RateLimit: 3, Keys: []tiquotest.Key{
		{Token: "sk_test_a", Name: "a", Scopes: both},
		{Token: "sk_test_b", Name: "b", Scopes: both},
	}})
	c := newClient(t, s)
	freshMinute()
	// Requests without a valid key do not use the key's window.
	for range 2 {
		c.withKey("sk_test_wrong").do("GET", "/customers", nil)
	}
	for i := range 3 {
		a := c.ok(200, "GET", "/customers", nil)
		if _, remaining, _ := limitHeaders(t, a); remaining != 2-i {
			t.Errorf("request %d: remaining %d", i, remaining)
		}
	}
	a := c.do("POST", "/customers", person("limited@example.com"))
	if a.Status != 429 || a.code() != "rate_limited" {
		t.Fatalf("fourth request: %v", a)
	}
	limit, remaining, reset := limitHeaders(t, a)
	retry, err := strconv.Atoi(a.Header.Get("Retry-After"))
	now := time.Now().Unix()
	if limit != 3 || remaining != 0 || err != nil || retry < 1 || retry > 60 || now+int64(retry) < reset-1 || now+int64(retry) > reset+1 {
		t.Errorf("429 headers: limit %d remaining %d reset %d Retry-After %q (now %d)", limit, remaining, reset,
			a.Header.Get("Retry-After"), now)
	}
	if a := c.withKey("sk_test_b").do("GET", "/customers", nil); a.Status != 200 {
		t.Errorf("other key: %v", a)
	}
	st := s.Stats()
	if n := st.Requests["POST /customers"]["429"]; n != 1 {
		t.Errorf("429s counted: %d (%v)", n, st.Requests)
	}
	if st.Customers != 0 {
		t.Errorf("a create answered 429 was applied")
	}
}

func TestRateLimitDefault(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	a := newClient(t, s).ok(200, "GET", "/customers", nil)
	if limit, _, _ := limitHeaders(t, a); limit != tiquotest.DefaultRateLimit {
		t.Errorf("default limit %d", limit)
	}
}
