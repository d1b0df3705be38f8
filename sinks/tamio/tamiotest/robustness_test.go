package tamiotest_test

import (
	"strings"
	"testing"

	"crmsync/sinks/tamio/tamiotest"
)

// garbage are bodies a broken client might send: none may get a 5xx.
var garbage = []string{
	"", " ", "{", "}", "[]", "null", "true", "1", `"x"`, "\xff\xfe", `{"a":1}{"b":2}`,
	`{"name":5}`, `{"name":null,"email":null,"country":null}`, `{"name":{},"email":[],"country":true}`,
	`{"name":"\ud800","email":"a@b.co","country":"de"}`, `{"name":"a\u0000b","email":"a@b.co","country":"de"}`,
	`{"name":1e999}`, `{"name":"A","email":"a@b.co","country":"de","billing_information":[]}`,
	`{"name":"A","email":"a@b.co","country":"de","billing_information":{"name":1}}`,
	`{"name":"A","email":"a@b.co","country":"de","shipping_information":null,"same_shipping_address":null}`,
	`{"customers":"x"}`, `{"customers":[1,2]}`, `{"customers":[null]}`, `{"customers":[{"name":{}}]}`,
	`{"customers":null,"teammate_id":null}`, `{"customers":[[]],"mailing_list":{}}`,
	`{"teammate_id":{}}`, `{"mailing_list":[]}`, `{"mailing_list":"` + strings.Repeat("a", 100) + `"}`,
	strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	`{"customers":[` + strings.Repeat(`{},`, 1500) + `{}]}`,
}

// posts are the endpoints that take a body; {id} is an existing customer.
var posts = []string{
	"/customers/create", "/customers/update/{id}", "/customers/bulk/create",
	"/customers/bulk/assign-to-teammate", "/customers/bulk/delete", "/customers/bulk/remove",
	"/customers/bulk/add-to-list", "/customers/add-to-list/{id}", "/customers/remove-from-list/{id}",
}

func TestGarbageNever5xx(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := newClient(t, s)
	id := c.create(person("kept@example.com"))["id"].(string)
	for _, p := range posts {
		for _, body := range garbage {
			a := c.do("POST", strings.ReplaceAll(p, "{id}", id), body)
			if a.Status >= 500 {
				t.Errorf("POST %s %.60q: %v", p, body, a)
			}
			if a.Status != 200 && a.code() == 0 {
				t.Errorf("POST %s %.60q: no error_code: %v", p, body, a)
			}
		}
	}
	for _, q := range []string{
		"page=abc&per_page=1", "page=1&per_page=-1", "page=99999999999999999999&per_page=1",
		"page=1&per_page=1&from=99999999999999999999", "page=1&per_page=1&filter=%ZZ",
		"page=1&per_page=1&filter=" + strings.Repeat("x", 300), "page=1&per_page=1&countries[]=",
		"page=1000000000&per_page=100", "page=1&per_page=1&to=2024-13-45",
	} {
		if a := c.do("GET", "/customers/list?"+q, nil); a.Status >= 500 {
			t.Errorf("list?%.60s: %v", q, a)
		}
	}
	// The customer survived all of it.
	if got := c.ok("GET", "/customers/retrieve/"+id, nil).customer(); got["email"] != "kept@example.com" {
		t.Errorf("customer after garbage: %v", got)
	}
}

// FuzzBodies posts arbitrary bodies to every endpoint that takes one.
// Under plain go test it runs the seeds: the garbage above.
func FuzzBodies(f *testing.F) {
	for i, g := range garbage {
		f.Add(uint8(i), []byte(g))
	}
	s := start(f, tamiotest.Options{})
	c := newClient(f, s)
	id := c.create(person("kept@example.com"))["id"].(string)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		p := strings.ReplaceAll(posts[int(route)%len(posts)], "{id}", id)
		a, err := c.send("POST", p, body)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status >= 500 {
			t.Errorf("POST %s %q: %v", p, body, a)
		}
	})
}
