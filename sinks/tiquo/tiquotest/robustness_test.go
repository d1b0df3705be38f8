package tiquotest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tiquo/tiquotest"
)

// garbage are bodies a broken client might send: none may get a 5xx.
var garbage = []string{
	"", " ", "{", "}", "[]", "null", "true", "1", `"x"`, "\xff\xfe", `{"a":1}{"b":2}`,
	`{"firstName":5}`, `{"firstName":null,"lastName":null,"email":null}`,
	`{"firstName":{},"lastName":[],"email":true}`, `{"firstName":"\ud800","lastName":"B","email":"a@b.co"}`,
	`{"firstName":"a\u0000b","lastName":"B","email":"a@b.co"}`, `{"firstName":1e999}`,
	`{"firstName":"A","lastName":"B","email":"a@b.co","address":{"city":{}}}`,
	`{"firstName":"A","lastName":"B","email":"a@b.co","tags":[[],{}]}`,
	`{"address":[],"tags":{},"marketingConsent":"yes","dateOfBirth":"9999-99-99"}`,
	`{"email":"` + strings.Repeat("a", 300) + `@example.com"}`,
	`{"tags":[` + strings.Repeat(`"t",`, 5000) + `"t"]}`,
	strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	`{"notes":"` + strings.Repeat("x", 2<<20) + `"}`, // over the body cap
}

func TestGarbageNever5xx(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	id := c.create(person("kept@example.com"))["id"].(string)
	for _, body := range garbage {
		for _, req := range []struct{ method, path string }{{"POST", "/customers"}, {"PATCH", "/customers/" + id}} {
			a := c.do(req.method, req.path, body)
			if a.Status >= 500 {
				t.Errorf("%s %.60q: %v", req.method, body, a)
			}
		}
	}
	for _, q := range []string{
		"limit=abc", "limit=-1", "limit=99999999999999999999", "cursor=%ZZ", "cursor=" + strings.Repeat("x", 5000),
		"email=%00", "email=" + url.QueryEscape(strings.Repeat("é", 3000)), "email=\xff",
	} {
		if a := c.do("GET", "/customers?"+q, nil); a.Status >= 500 {
			t.Errorf("list?%.60s: %v", q, a)
		}
	}
	// The customer survived all of it (a 5,001-tag body is a valid PATCH).
	if got := c.get(id); got["email"] != "kept@example.com" || got["firstName"] != "Test" {
		t.Errorf("customer after garbage: %v", got)
	}
}

// FuzzBodies posts arbitrary bodies to both endpoints that take one.
// Under plain go test it runs the seeds: the garbage above.
func FuzzBodies(f *testing.F) {
	for i, g := range garbage {
		f.Add(i%2 == 0, []byte(g))
	}
	s := start(f, tiquotest.Options{RateLimit: 1 << 30})
	c := newClient(f, s)
	id := c.create(person("kept@example.com"))["id"].(string)
	f.Fuzz(func(t *testing.T, patch bool, body []byte) {
		method, path := "POST", "/customers"
		if patch {
			method, path = "PATCH", "/customers/"+id
		}
		a, err := c.send(method, path, string(body))
		if err != nil {
			t.Fatal(err)
		}
		if a.Status >= 500 {
			t.Errorf("%s %q: %v", method, body, a)
		}
	})
}

// TestConcurrentEmailUniqueness races creates and PATCHes for one email,
// in different cases: exactly one of each race wins.
func TestConcurrentEmailUniqueness(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	const n = 40
	var others []string
	for i := range n {
		others = append(others, c.create(person(fmt.Sprintf("other%d@example.com", i)))["id"].(string))
	}
	race := func(req func(i int) *answer) (won, lost int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := req(i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case a.Status < 300:
					won++
				case a.Status == 409:
					lost++
				default:
					t.Errorf("request %d: %v", i, a)
				}
			}()
		}
		wg.Wait()
		return won, lost
	}
	email := func(i int) string {
		if i%2 == 1 {
			return "Race@Example.COM"
		}
		return "race@example.com"
	}
	if won, lost := race(func(i int) *answer { return c.do("POST", "/customers", person(email(i))) }); won != 1 || lost != n-1 {
		t.Errorf("racing creates: %d won, %d refused", won, lost)
	}
	if won, lost := race(func(i int) *answer {
		return c.do("PATCH", "/customers/"+others[i], map[string]any{"email": "PATCH" + email(i)})
	}); won != 1 || lost != n-1 {
		t.Errorf("racing PATCHes: %d won, %d refused", won, lost)
	}
	if got := c.byEmail("race@example.com"); len(got) != 1 {
		t.Errorf("race@example.com held by %d", len(got))
	}
}

// TestBodyLimits checks the 413 of a body over 1 MiB and the 415 of a body
// that says it is not JSON, both validation_error, neither applied.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	big := emutest.With(person("big@example.com"), "notes", strings.Repeat("x", 1<<20))
	if a := c.do("POST", "/customers", big); a.Status != 413 || a.code() != "validation_error" {
		t.Errorf("body over 1 MiB: %v", a)
	}
	req, err := http.NewRequest("POST", s.URL+"/customers", strings.NewReader(`{"firstName":"A","lastName":"B","email":"text@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("text/plain body: %s", resp.Status)
	}
	if n := s.Stats().Customers; n != 0 {
		t.Errorf("%d customers stored from refused bodies", n)
	}
}

// TestUnmatched answers what no endpoint takes in the error envelope: a
// path tiquo has with another method is a 405 method_not_allowed naming
// the methods in Allow, any other a 404 not_found without Allow.
func TestUnmatched(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	c := newClient(t, s)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
		msg          string
	}{
		{"PUT", "/customers", 405, "method_not_allowed", "GET, POST", "PUT is not allowed here; use GET or POST"},
		{"POST", "/customers/cust_1", 405, "method_not_allowed", "GET, PATCH, DELETE", "POST is not allowed here; use GET or PATCH or DELETE"},
		{"GET", "/nothing", 404, "not_found", "", "no such endpoint: /v1/nothing"},
	} {
		a := c.do(tc.method, tc.path, nil)
		_, hasAllow := a.Header["Allow"]
		if a.Status != tc.status || a.code() != tc.code || a.Header.Get("Allow") != tc.allow || hasAllow != (tc.allow != "") ||
			a.errorMember("message") != tc.msg {
			t.Errorf("%s %s: %v Allow %q, want %d %s Allow %q %q", tc.method, tc.path, a, a.Header.Get("Allow"),
				tc.status, tc.code, tc.allow, tc.msg)
		}
	}
}
