package counttest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/count/counttest"
)

// TestCreateValidation sends one bad field per case, and a body with many:
// each is a 400 validation_error whose errors name every field at fault,
// in the documented order, and nothing is created.
func TestCreateValidation(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	ok := company("Valid Ltd", "valid@example.com")
	long := func(n int) string { return strings.Repeat("é", n) }
	for _, tc := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"no customer", map[string]any{"email": "a@example.com"}, []string{"customer"}},
		{"customer null", emutest.With(ok, "customer", nil), []string{"customer"}},
		{"customer empty", emutest.With(ok, "customer", ""), []string{"customer"}},
		{"customer blank", emutest.With(ok, "customer", "   "), []string{"customer"}},
		{"customer 256 characters", emutest.With(ok, "customer", long(256)), []string{"customer"}},
		{"customer a number", emutest.With(ok, "customer", 7), []string{"customer"}},
		{"no email", map[string]any{"customer": "A"}, []string{"email"}},
		{"email empty", emutest.With(ok, "email", ""), []string{"email"}},
		{"email without domain", emutest.With(ok, "email", "a@localhost"), []string{"email"}},
		{"email without @", emutest.With(ok, "email", "a.example.com"), []string{"email"}},
		{"email with space", emutest.With(ok, "email", "a b@example.com"), []string{"email"}},
		{"email numeric tld", emutest.With(ok, "email", "a@example.123"), []string{"email"}},
		{"email 256 characters", emutest.With(ok, "email", long(244)+"@example.com"), []string{"email"}},
		{"mainPhone 51 characters", emutest.With(ok, "mainPhone", long(51)), []string{"mainPhone"}},
		{"mainPhone a number", emutest.With(ok, "mainPhone", 5551234), []string{"mainPhone"}},
		{"website 256 characters", emutest.With(ok, "website", long(256)), []string{"website"}},
		{"status unknown", emutest.With(ok, "status", "archived"), []string{"status"}},
		{"status null", emutest.With(ok, "status", nil), []string{"status"}},
		{"status upper case", emutest.With(ok, "status", "ACTIVE"), []string{"status"}},
		{"billingAddress a string", emutest.With(ok, "billingAddress", "1 Main St"), []string{"billingAddress"}},
		{"shippingAddress part a number", emutest.With(ok, "shippingAddress", map[string]any{"zipCode": 12345}), []string{"shippingAddress.zipCode"}},
		{"address part 256 characters", emutest.With(ok, "billingAddress", map[string]any{"city": long(256)}), []string{"billingAddress.city"}},
		{"contacts an object", emutest.With(ok, "contacts", map[string]any{"name": "A"}), []string{"contacts"}},
		{"contact without name", emutest.With(ok, "contacts", []any{map[string]any{"email": "b@example.com"}}), []string{"contacts[0].name"}},
		{"contact bad email", emutest.With(ok, "contacts", []any{map[string]any{"name": "B", "email": "b"}}), []string{"contacts[0].email"}},
		{"contact primary a string", emutest.With(ok, "contacts", []any{map[string]any{"name": "B"}, map[string]any{"name": "C", "primary": "yes"}}), []string{"contacts[1].primary"}},
		{"every field at fault", map[string]any{"customer": "", "email": "x", "mainPhone": long(51), "website": 1,
			"status": "gone", "billingAddress": []any{}, "shippingAddress": map[string]any{"street": false},
			"contacts": []any{"B"}},
			[]string{"customer", "email", "mainPhone", "website", "status", "billingAddress", "shippingAddress.street", "contacts[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := c.with(func(c *client) { c.T = t })
			a := cc.do("POST", "/customers", tc.body)
			if a.Status != 400 || a.code() != "validation_error" || !slices.Equal(a.fields(), tc.fields) {
				t.Errorf("%v: want 400 validation_error on %v", a, tc.fields)
			}
		})
	}
	if a := c.ok(200, "GET", "/customers", nil); len(a.items()) != 0 {
		t.Errorf("refused creates left customers: %v", a)
	}
}

// TestCreate checks what a create accepts and answers: 201, a version 4
// UUID, the defaults of the fields not sent, "" read as null, a website
// without a protocol, the longest values, and contacts as sent.
func TestCreate(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	s := start(t, counttest.Options{Now: clk.now})
	c := newClient(t, s).with(func(c *client) { c.now = clk.now })

	bare := c.create(company("Bare", "bare@example.com"))
	if !isUUIDv4(bare["id"]) {
		t.Errorf("id %v is not a lower-case version 4 UUID", bare["id"])
	}
	for k, want := range map[string]any{"mainPhone": nil, "website": nil, "status": "active", "billingAddress": nil,
		"shippingAddress": nil, "createdAt": "2025-03-01T12:00:00.000Z", "updatedAt": "2025-03-01T12:00:00.000Z"} {
		if bare[k] != want {
			t.Errorf("%s = %v, want %v", k, bare[k], want)
		}
	}
	if l, ok := bare["contacts"].([]any); !ok || len(l) != 0 {
		t.Errorf("contacts %v, want []", bare["contacts"])
	}
	keys := []string{"id", "customer", "email", "mainPhone", "website", "status", "billingAddress",
		"shippingAddress", "contacts", "createdAt", "updatedAt"}
	if len(bare) != len(keys) {
		t.Errorf("customer has keys %v, want %v", bare, keys)
	}

	full := c.create(map[string]any{
		"customer": strings.Repeat("n", 255), "email": "Full@Example.com", "mainPhone": strings.Repeat("1", 50),
		"website": "www.example.com", "status": "inactive",
		"billingAddress":  map[string]any{"street": "1 Main St", "city": "Springfield", "state": "IL", "zipCode": "62701", "country": "US"},
		"shippingAddress": map[string]any{"city": "Shelbyville", "unknown": "ignored"},
		"contacts":        []any{map[string]any{"name": "Ann", "email": "ann@example.com", "phone": "+1 555", "primary": true}, map[string]any{"name": "Bob", "email": ""}},
		"id":              "00000000-0000-4000-8000-000000000000", "createdAt": "2000-01-01T00:00:00.000Z", "extra": 1,
	})
	if full["email"] != "Full@Example.com" || full["website"] != "www.example.com" || full["status"] != "inactive" {
		t.Errorf("full create: %v", full)
	}
	if full["id"] == "00000000-0000-4000-8000-000000000000" || full["createdAt"] != "2025-03-01T12:00:00.000Z" {
		t.Errorf("read-only fields were taken: %v", full)
	}
	ship := full["shippingAddress"].(map[string]any)
	if ship["city"] != "Shelbyville" || ship["street"] != nil || len(ship) != 5 {
		t.Errorf("shippingAddress %v: want city and four null parts", ship)
	}
	contacts := full["contacts"].([]any)
	ann, bob := contacts[0].(map[string]any), contacts[1].(map[string]any)
	if ann["primary"] != true || ann["phone"] != "+1 555" || bob["email"] != nil || bob["primary"] != false {
		t.Errorf("contacts %v", contacts)
	}
	if got := c.get(full["id"].(string)); !sameJSON(got, full) {
		t.Errorf("read back\n%v\nwant\n%v", got, full)
	}

	cleared := c.create(map[string]any{"customer": "Empty", "email": "empty@example.com", "mainPhone": "", "website": ""})
	if cleared["mainPhone"] != nil || cleared["website"] != nil {
		t.Errorf(`"" on create: %v`, cleared)
	}
}

func isUUIDv4(v any) bool {
	s, _ := v.(string)
	return len(s) == 36 && s == strings.ToLower(s) && s[14] == '4' && strings.ContainsRune("89ab", rune(s[19])) &&
		strings.Count(s, "-") == 4
}

// TestEmailUnique checks the 409s: a create with another customer's email
// in any case, a PUT to it; and what is not one: a PUT resending the
// customer's own email in another case.
func TestEmailUnique(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	ann := c.create(company("Ann", "ann@example.com"))["id"].(string)
	bob := c.create(company("Bob", "bob@example.com"))["id"].(string)
	for _, tc := range []struct {
		name, method, path string
		body               map[string]any
	}{
		{"create, same email", "POST", "/customers", company("Ann 2", "ann@example.com")},
		{"create, other case", "POST", "/customers", company("Ann 3", "ANN@Example.COM")},
		{"PUT to another's email", "PUT", "/customers/" + bob, company("Bob", "Ann@example.com")},
	} {
		if a := c.do(tc.method, tc.path, tc.body); a.Status != 409 || a.code() != "email_exists" {
			t.Errorf("%s: %v, want 409 email_exists", tc.name, a)
		}
	}
	if got := c.get(bob)["email"]; got != "bob@example.com" {
		t.Errorf("a refused PUT changed the email to %v", got)
	}
	if got := c.put(ann, company("Ann", "ANN@example.com"))["email"]; got != "ANN@example.com" {
		t.Errorf("resending the own email in another case: %v", got)
	}
	// The freed email can be taken.
	c.put(bob, company("Bob", "robert@example.com"))
	c.create(company("Bob 2", "bob@example.com"))
}

// TestIDs checks ids in the path: not a UUID is a 400, an unknown UUID a
// 404, and a UUID in upper case names the same customer.
func TestIDs(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	id := c.create(company("Ids", "ids@example.com"))["id"].(string)
	for _, tc := range []struct {
		id   string
		want int
	}{
		{"123", 400},
		{"not-a-uuid", 400},
		{id + "0", 400},
		{id[:35] + "g", 400},
		{"urn:uuid:" + id, 400},
		{strings.ReplaceAll(id, "-", ""), 400},
		{"zzzzzzzz-0000-4000-8000-000000000000", 400},
		{"00000000-0000-4000-8000-000000000000", 404},
		{strings.ToUpper(id), 200},
	} {
		for _, m := range []string{"GET", "PUT"} {
			a := c.do(m, "/customers/"+tc.id, company("Ids", "ids@example.com"))
			code := map[int]string{400: "validation_error", 404: "not_found", 200: ""}[tc.want]
			if a.Status != tc.want || a.code() != code {
				t.Errorf("%s %s: %v, want %d %s", m, tc.id, a, tc.want, code)
			}
		}
	}
}

// TestFindByEmail checks find-by-email: a case-insensitive exact match,
// 404 for none, 400 without the parameter.
func TestFindByEmail(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	id := c.create(company("Find", "Find.Me+tag@Example.com"))["id"].(string)
	c.create(company("Other", "other@example.com"))
	if got := c.find("find.me+TAG@example.COM"); got == nil || got["id"] != id {
		t.Errorf("case-insensitive find: %v", got)
	}
	for _, miss := range []string{"find.me@example.com", "Find.Me+tag@Example.co", "Example.com", " find.me+tag@example.com"} {
		if got := c.find(miss); got != nil {
			t.Errorf("find %q: %v, want 404", miss, got)
		}
	}
	for _, q := range []string{"", "?email=", "?mail=find.me%2Btag%40example.com"} {
		if a := c.do("GET", "/customers/find-by-email"+q, nil); a.Status != 400 || a.code() != "validation_error" {
			t.Errorf("find-by-email%s: %v, want 400", q, a)
		}
	}
}
