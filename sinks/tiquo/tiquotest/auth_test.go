package tiquotest_test

import (
	"testing"

	"crmsync/sinks/tiquo/tiquotest"
)

// TestAuthAndScopes checks 401 for a missing or unknown key and 403
// insufficient_scope for a key without the endpoint's scope, decided
// before the customer is looked up: a read-only key gets 403 for an
// unknown id too, not 404.
func TestAuthAndScopes(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{Keys: []tiquotest.Key{
		{Token: "sk_test_full", Name: "full", Scopes: []string{tiquotest.ScopeRead, tiquotest.ScopeWrite}},
		{Token: "sk_test_reader", Name: "reader", Scopes: []string{tiquotest.ScopeRead}},
		{Token: "sk_test_writer", Name: "writer", Scopes: []string{tiquotest.ScopeWrite}},
		{Token: "sk_test_none", Name: "none"},
	}})
	c := newClient(t, s)
	id := c.create(full("kept@example.com"))["id"].(string)
	kept := c.get(id)
	patch := map[string]any{"notes": "changed"}
	for _, tc := range []struct {
		name         string
		key, auth    string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"no header list", "-", "", "GET", "/customers", nil, 401, "unauthorized"},
		{"no header create", "-", "", "POST", "/customers", person("x@example.com"), 401, "unauthorized"},
		{"no header unknown id", "-", "", "GET", "/customers/cust_nope", nil, 401, "unauthorized"},
		{"unknown key", "sk_test_wrong", "", "GET", "/customers/" + id, nil, 401, "unauthorized"},
		{"unknown key write", "sk_test_wrong", "", "PATCH", "/customers/" + id, patch, 401, "unauthorized"},
		{"basic scheme", "", "Basic c2tfdGVzdF9mdWxsOg==", "GET", "/customers", nil, 401, "unauthorized"},
		{"token without scheme", "", "sk_test_full", "GET", "/customers", nil, 401, "unauthorized"},
		{"scheme in lower case", "", "bearer sk_test_full", "GET", "/customers", nil, 200, ""},
		{"reader lists", "sk_test_reader", "", "GET", "/customers", nil, 200, ""},
		{"reader gets", "sk_test_reader", "", "GET", "/customers/" + id, nil, 200, ""},
		{"reader unknown id", "sk_test_reader", "", "GET", "/customers/cust_nope", nil, 404, "not_found"},
		{"reader creates", "sk_test_reader", "", "POST", "/customers", person("r@example.com"), 403, "insufficient_scope"},
		{"reader patches", "sk_test_reader", "", "PATCH", "/customers/" + id, patch, 403, "insufficient_scope"},
		{"reader patches unknown id", "sk_test_reader", "", "PATCH", "/customers/cust_nope", patch, 403, "insufficient_scope"},
		{"reader patches bad body", "sk_test_reader", "", "PATCH", "/customers/" + id, "{", 403, "insufficient_scope"},
		{"reader deletes", "sk_test_reader", "", "DELETE", "/customers/" + id, nil, 403, "insufficient_scope"},
		{"reader deletes unknown id", "sk_test_reader", "", "DELETE", "/customers/cust_nope", nil, 403, "insufficient_scope"},
		{"writer lists", "sk_test_writer", "", "GET", "/customers", nil, 403, "insufficient_scope"},
		{"writer gets unknown id", "sk_test_writer", "", "GET", "/customers/cust_nope", nil, 403, "insufficient_scope"},
		{"writer filters by email", "sk_test_writer", "", "GET", "/customers?email=kept@example.com", nil, 403, "insufficient_scope"},
		{"writer patches unknown id", "sk_test_writer", "", "PATCH", "/customers/cust_nope", patch, 404, "not_found"},
		{"no scopes", "sk_test_none", "", "GET", "/customers/" + id, nil, 403, "insufficient_scope"},
		{"no scopes write", "sk_test_none", "", "DELETE", "/customers/" + id, nil, 403, "insufficient_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := c.withKey(tc.key)
			if tc.key == "-" {
				cc = c.withKey("")
			}
			cc.Authorization = tc.auth
			a := cc.do(tc.method, tc.path, tc.body)
			if a.Status != tc.status || a.code() != tc.code {
				t.Errorf("%v, want %d %s", a, tc.status, tc.code)
			}
		})
	}
	if got := c.get(id); got["notes"] != kept["notes"] || got["updatedAt"] != kept["updatedAt"] {
		t.Errorf("a refused request changed the customer: %v", got)
	}
	if n := s.Stats().Customers; n != 1 {
		t.Errorf("%d customers: a refused create was applied", n)
	}
	if by := s.Stats().ByKey; by["reader"] == 0 || by["writer"] == 0 || by["none"] == 0 {
		t.Errorf("requests by key %v", by)
	}
}

func TestDefaultKey(t *testing.T) {
	t.Parallel()
	s := start(t, tiquotest.Options{})
	if s.APIKey != tiquotest.DefaultKey {
		t.Fatalf("APIKey %q", s.APIKey)
	}
	c := newClient(t, s)
	id := c.create(person("d@example.com"))["id"].(string)
	c.get(id)
}
