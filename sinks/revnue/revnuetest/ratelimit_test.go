package revnuetest_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"crmsync/sinks/revnue/revnuetest"
)

var throttledDetail = regexp.MustCompile(`^Request was throttled\. Expected available in ([0-9]+) seconds\.$`)

// TestRateLimit429 uses up the account's limit with two tokens: the next
// request, whichever token, is a 429 with exactly the documented body and
// a Retry-After giving the same seconds; it is not applied; requests
// without a valid token neither take from the limit nor get a 429; the
// stats count the 429.
func TestRateLimit429(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{RateLimit: 3, Tokens: []revnuetest.Token{{Token: "rv_a", Name: "a"}, {Token: "rv_b", Name: "b"}}})
	a, b := newClient(t, s).withToken("rv_a"), newClient(t, s).withToken("rv_b")
	for range 5 {
		if r := a.withToken("rv_wrong").do("GET", "/customer/?company=1", nil); r.Status != 401 {
			t.Fatalf("unknown token: %v", r)
		}
	}
	a.ok(200, "GET", "/customer/?company=1", nil)
	b.ok(201, "POST", "/customer/", minimal("First"))
	a.ok(200, "GET", "/category/?company=1", nil)
	for _, c := range []*client{a, b} {
		r := c.do("POST", "/customer/", minimal("Throttled"))
		m := throttledDetail.FindStringSubmatch(fmt.Sprint(r.Body["detail"]))
		if r.Status != 429 || m == nil || len(r.Body) != 1 {
			t.Fatalf("over the limit: %v", r)
		}
		n, _ := strconv.Atoi(m[1])
		if r.Header.Get("Retry-After") != m[1] || n < 1 || n > 60 {
			t.Errorf("Retry-After %q, detail says %s", r.Header.Get("Retry-After"), m[1])
		}
	}
	if r := a.withToken("").do("GET", "/customer/?company=1", nil); r.Status != 401 {
		t.Errorf("no token over the limit: %v", r)
	}
	st := s.Stats()
	if st.Customers != 1 || st.Requests["POST /customer/"]["429"] != 2 || st.ByStatus["429"] != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestRateLimitDefault checks Revnue's documented 100 requests a minute.
func TestRateLimitDefault(t *testing.T) {
	t.Parallel()
	s, err := revnuetest.NewServer(revnuetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newClient(t, s)
	for i := range revnuetest.DefaultRateLimit {
		if r := c.do("GET", "/customer/?company=1", nil); r.Status != 200 {
			t.Fatalf("request %d: %v", i, r)
		}
	}
	if r := c.do("GET", "/customer/?company=1", nil); r.Status != 429 {
		t.Errorf("request 101: %v", r)
	}
}
