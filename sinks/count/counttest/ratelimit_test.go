package counttest_test

import (
	"testing"
	"time"

	"crmsync/sinks/count/counttest"
)

// TestRateLimit runs a limit of 3 a minute on a clock fixed 10 s into a
// minute: the fourth request is a 429 in the error envelope with
// Retry-After the 50 s left, and is not served; another client id has a
// minute of its own; the next minute allows 3 again. Only a 429 carries a
// rate limit header.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC))
	s := start(t, counttest.Options{Now: clk.now, RateLimit: 3, Clients: []counttest.Client{
		{Token: "t1", ClientID: "one", ClientSecret: "s1"},
		{Token: "t2", ClientID: "two", ClientSecret: "s2", Name: "second"},
	}})
	one := newClient(t, s).with(func(c *client) { c.now = clk.now })
	two := one.with(func(c *client) { c.token, c.id, c.secret = "t2", "two", "s2" })

	for i := range 3 {
		a := one.ok(200, "GET", "/customers", nil)
		for h := range a.Header {
			if h == "Retry-After" || len(h) > 12 && h[:12] == "X-Ratelimit-" {
				t.Errorf("request %d: rate limit header %s on a 200", i, h)
			}
		}
	}
	a := one.do("POST", "/customers", company("Limited", "limited@example.com"))
	if a.Status != 429 || a.code() != "rate_limit_exceeded" || a.Header.Get("Retry-After") != "50" {
		t.Fatalf("fourth request: %v, Retry-After %q; want 429 and 50", a, a.Header.Get("Retry-After"))
	}
	two.ok(200, "GET", "/customers", nil)

	clk.advance(49 * time.Second)
	if a := one.do("GET", "/customers", nil); a.Status != 429 || a.Header.Get("Retry-After") != "1" {
		t.Errorf("a second before the minute ends: %v, Retry-After %q", a, a.Header.Get("Retry-After"))
	}
	clk.advance(time.Second)
	if got := one.find("limited@example.com"); got != nil {
		t.Errorf("the create answered 429 was applied: %v", got)
	}
	one.ok(200, "GET", "/customers", nil)
	one.ok(200, "GET", "/customers", nil)
	if a := one.do("GET", "/customers", nil); a.Status != 429 {
		t.Errorf("the 404 of find-by-email did not count: %v", a)
	}
}

// TestRateLimitAfterAuth checks that requests refused 401 take no share
// of the client's minute, so that someone knowing a client id but not its
// secret cannot use it up, and are not limited themselves.
func TestRateLimitAfterAuth(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC))
	s := start(t, counttest.Options{Now: clk.now, RateLimit: 2})
	c := newClient(t, s).with(func(c *client) { c.now = clk.now })
	forger := c.with(func(c *client) { c.secret = "guessed" })
	for i := range 5 {
		if a := forger.do("GET", "/customers", nil); a.Status != 401 {
			t.Fatalf("forged request %d: %v", i, a)
		}
	}
	c.ok(200, "GET", "/customers", nil)
	c.ok(200, "GET", "/customers", nil)
	if a := c.do("GET", "/customers", nil); a.Status != 429 {
		t.Errorf("third request: %v", a)
	}
	if got := s.Stats().ByKey; got["default"] != 3 || len(got) != 1 {
		t.Errorf("by client: %v, want default 3 (refused 401s are nobody's)", got)
	}
}
