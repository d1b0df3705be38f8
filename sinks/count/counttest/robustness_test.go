package counttest_test

import (
	"strings"
	"testing"

	"crmsync/sinks/count/counttest"
)

// TestBadBodies sends bodies that are not one JSON object, and bodies
// with the wrong Content-Type: each is a 400 validation_error (never a
// 5xx), on create and on PUT, and nothing changes.
func TestBadBodies(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{RateLimit: 1000})
	c := newClient(t, s)
	id := c.create(company("Body", "body@example.com"))["id"].(string)
	for _, tc := range []struct{ name, body, contentType string }{
		{"empty", "", ""},
		{"white space", " \n", ""},
		{"not JSON", "customer=Acme&email=a@example.com", ""},
		{"truncated", `{"customer": "Acme", "email": "a@example.com"`, ""},
		{"null", "null", ""},
		{"array", `[{"customer": "Acme", "email": "a@example.com"}]`, ""},
		{"string", `"Acme"`, ""},
		{"number", `42`, ""},
		{"two objects", `{"customer": "A", "email": "a@example.com"} {}`, ""},
		{"form Content-Type", `{"customer": "Acme", "email": "acme@example.com"}`, "application/x-www-form-urlencoded"},
		{"text Content-Type", `{"customer": "Acme", "email": "acme@example.com"}`, "text/plain"},
		{"bad Content-Type", `{"customer": "Acme", "email": "acme@example.com"}`, "json;;"},
	} {
		bc := c.with(func(c *client) { c.contentType = tc.contentType })
		for _, req := range [][2]string{{"POST", "/customers"}, {"PUT", "/customers/" + id}} {
			a := bc.do(req[0], req[1], tc.body)
			if a.Status != 400 || a.code() != "validation_error" {
				t.Errorf("%s %s: %v, want 400 validation_error", tc.name, req[0], a)
			}
			if want := "Content-Type must be application/json, not " + tc.contentType; tc.contentType != "" && a.message() != want {
				t.Errorf("%s %s: message %q, want %q", tc.name, req[0], a.message(), want)
			}
		}
	}
	// A JSON Content-Type with parameters is JSON.
	c.with(func(c *client) { c.contentType = "application/json; charset=utf-8" }).
		ok(201, "POST", "/customers", company("Charset", "charset@example.com"))
	if got := s.Stats().Customers; got != 2 {
		t.Errorf("%d customers, want 2", got)
	}
}

// TestTooLarge sends a body over 1 MiB: a 413 in the error envelope,
// before the signature is checked (it covers bytes the server will not
// read), and nothing is created.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	body := `{"customer": "Big", "email": "big@example.com", "pad": "` + strings.Repeat("x", 1<<20) + `"}`
	if a := c.do("POST", "/customers", body); a.Status != 413 || a.code() != "validation_error" ||
		a.message() != "The request body is larger than 1024 KiB" {
		t.Errorf("body over 1 MiB: %v", a)
	}
	if got := c.find("big@example.com"); got != nil {
		t.Errorf("created: %v", got)
	}
}

// TestUnknownRoutes checks what COUNT does not have: DELETE of a
// customer (and other missing methods) is a 405 with Allow, an unknown
// path a 404, both in the error envelope without authentication, counted
// as "unmatched".
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	id := c.create(company("Stays", "stays@example.com"))["id"].(string)
	for _, tc := range []struct {
		method, path string
		status       int
		allow, msg   string
	}{
		{"DELETE", "/customers/" + id, 405, "GET, PUT", "DELETE is not allowed here; use GET or PUT"},
		{"PATCH", "/customers/" + id, 405, "GET, PUT", "PATCH is not allowed here; use GET or PUT"},
		{"DELETE", "/customers", 405, "GET, POST", "DELETE is not allowed here; use GET or POST"},
		{"POST", "/customers/find-by-email", 405, "GET, PUT", "POST is not allowed here; use GET or PUT"}, // PUT: it is a {uuid} too
		{"GET", "/contacts", 404, "", "No such endpoint: /partners/contacts"},
		{"GET", "/customers/" + id + "/contacts", 404, "", "No such endpoint: /partners/customers/" + id + "/contacts"},
	} {
		for _, cc := range []*client{c, c.with(func(c *client) { c.token = "" })} {
			a := cc.do(tc.method, tc.path, nil)
			code := map[int]string{404: "not_found", 405: "method_not_allowed"}[tc.status]
			if a.Status != tc.status || a.code() != code || a.Header.Get("Allow") != tc.allow || a.message() != tc.msg {
				t.Errorf("%s %s: %v Allow %q, want %d Allow %q %q", tc.method, tc.path, a, a.Header.Get("Allow"), tc.status, tc.allow, tc.msg)
			}
		}
	}
	c.get(id)
	if got := s.Stats().Requests["unmatched"]; got["405"] != 8 || got["404"] != 4 {
		t.Errorf("unmatched: %v", got)
	}
}
