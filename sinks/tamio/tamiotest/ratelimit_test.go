package tamiotest_test

import (
	"strconv"
	"testing"
	"time"

	"crmsync/sinks/tamio/tamiotest"
)

func TestRateLimit(t *testing.T) {
	t.Parallel()
	all := []string{"view", "edit", "create", "remove"}
	s := start(t, tamiotest.Options{RateLimit: 1, RateBurst: 3, Keys: []tamiotest.Key{
		{Token: "a", Name: "a", Permissions: all},
		{Token: "b", Name: "b", Permissions: all},
	}})
	c := newClient(t, s)
	for i := range 3 {
		a := c.ok("GET", "/teammates/list", nil)
		h := a.Header
		reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
		if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) ||
			err != nil || reset < time.Now().Unix() || reset > time.Now().Unix()+4 {
			t.Errorf("request %d headers: limit %q remaining %q reset %q", i,
				h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"))
		}
	}
	// Writes and reads share the bucket; the fourth request is refused.
	a := c.do("POST", "/customers/create", person("limited@example.com"))
	if a.Status != 429 || a.code() != 1004 {
		t.Fatalf("fourth request: %v", a)
	}
	ra, err := strconv.Atoi(a.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Errorf("Retry-After %q", a.Header.Get("Retry-After"))
	}
	if a.Header.Get("X-RateLimit-Remaining") != "0" || a.Header.Get("X-RateLimit-Limit") != "3" || a.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("429 headers %v", a.Header)
	}
	// Each key has its own bucket.
	if a := c.withKey("b").do("GET", "/teammates/list", nil); a.Status != 200 {
		t.Errorf("other key: %v", a)
	}
	// A token comes back after a second.
	time.Sleep(1100 * time.Millisecond)
	c.ok("POST", "/customers/create", person("later@example.com"))
	if n := s.Stats().Requests["POST /customers/create"]["429"]; n != 1 {
		t.Errorf("429s counted: %d", n)
	}
	if n := s.Stats().Customers; n != 1 {
		t.Errorf("%d customers: want only the one created after the wait", n)
	}
}

func TestNoRateLimitHeadersWhenOff(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := newClient(t, s)
	for range 50 {
		a := c.ok("GET", "/teammates/list", nil)
		if a.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("rate limit headers without a rate limit: %v", a.Header)
		}
	}
}
