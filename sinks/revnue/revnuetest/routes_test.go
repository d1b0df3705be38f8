package revnuetest_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// TestAuth checks the 401s: no token, an unknown one, another scheme;
// each with WWW-Authenticate, and before anything about the request is
// looked at. Every token of the account is accepted.
func TestAuth(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{Tokens: []revnuetest.Token{{Token: "rv_a", Name: "a"}, {Token: "rv_b", Name: "b"}}})
	c := newClient(t, s)
	if s.Token != "rv_a" {
		t.Errorf("Token %q", s.Token)
	}
	id := idOf(c.withToken("rv_b").create(minimal("Authorised")))
	for _, tc := range []struct {
		name, header, detail string
	}{
		{"no token", "", "Authentication credentials were not provided."},
		{"basic", "Basic cnZfYTo=", "Authentication credentials were not provided."},
		{"unknown token", "Bearer rv_c", "Invalid token."},
		{"token of another case", "Bearer RV_A", "Invalid token."},
	} {
		for _, req := range []struct{ method, path string }{
			{"GET", "/customer/?company=1"}, {"POST", "/customer/"}, {"GET", fmt.Sprintf("/customer/%d/", id)},
			{"PUT", fmt.Sprintf("/customer/%d", id)}, {"PUT", "/customer/999"}, {"GET", "/category/"},
			{"GET", "/custom-field-template/"}, {"DELETE", fmt.Sprintf("/customer/%d", id)},
		} {
			r, err := http.NewRequest(req.method, c.Base+req.path, strings.NewReader(`{"company": 1, "name": "Intruder"}`))
			if err != nil {
				t.Fatal(err)
			}
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			resp, err := c.HTTP.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			a := &emutest.Answer{Status: resp.StatusCode, Header: resp.Header}
			resp.Body.Close()
			if a.Status != 401 || a.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Errorf("%s: %s %s: %d %v", tc.name, req.method, req.path, a.Status, a.Header)
			}
		}
		a := c.withToken("").do("GET", "/customer/?company=1", nil)
		if tc.header == "" && a.Body["detail"] != tc.detail {
			t.Errorf("%s: %v", tc.name, a)
		}
	}
	if a := c.withToken("rv_c").do("GET", "/customer/?company=1", nil); a.Body["detail"] != "Invalid token." {
		t.Errorf("unknown token: %v", a)
	}
	if st := s.Stats(); st.Customers != 1 || st.ByKey["b"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRoutes checks that every route answers with and without its
// trailing slash and never redirects, that DELETE is a 405 naming the
// methods a customer has, and that a path the API lacks is a 404 before
// authentication.
func TestRoutes(t *testing.T) {
	t.Parallel()
	s := start(t, revnuetest.Options{})
	c := newClient(t, s)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return errors.New("redirected") }
	a := c.ok(201, "POST", "/customer", minimal("No Slash"))
	c.ok(201, "POST", "/customer/", minimal("Slash"))
	id := idOf(a.Body)
	for _, path := range []string{"/customer/%d", "/customer/%d/"} {
		c.ok(200, "GET", fmt.Sprintf(path, id), nil)
		c.ok(200, "PUT", fmt.Sprintf(path, id), minimal("No Slash"))
	}
	for _, path := range []string{"/customer", "/customer/", "/category", "/category/", "/custom-field-template", "/custom-field-template/"} {
		c.ok(200, "GET", path+"?company=1", nil)
	}
	for _, path := range []string{fmt.Sprintf("/customer/%d", id), fmt.Sprintf("/customer/%d/", id)} {
		a := c.do("DELETE", path, nil)
		if a.Status != 405 || a.Body["detail"] != `Method "DELETE" not allowed.` || a.Header.Get("Allow") != "GET, PUT" {
			t.Errorf("DELETE %s: %v %v", path, a, a.Header)
		}
	}
	if a := c.do("PATCH", fmt.Sprintf("/customer/%d", id), map[string]any{"fax": "1"}); a.Status != 405 {
		t.Errorf("PATCH: %v", a)
	}
	if a := c.do("DELETE", "/customer/", nil); a.Status != 405 || a.Header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE of the list: %v %v", a, a.Header)
	}
	for _, path := range []string{"/customers/", "/customer/1/notes", "/company/"} {
		if a := c.withToken("").do("GET", path, nil); a.Status != 404 || a.Body["detail"] != "Not found." {
			t.Errorf("GET %s without a token: %v", path, a)
		}
	}
	if c.get(id)["name"] != "No Slash" {
		t.Error("the customer is gone after the DELETEs")
	}
}
