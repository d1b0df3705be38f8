package counttest_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/count/counttest"
)

// TestPutPartial is a table of PUTs on one full customer, each checked
// against the whole customer read back: what a PUT sends changes, what it
// leaves out stays, addresses are replaced whole, null and "" clear, and
// contacts are not changed.
func TestPutPartial(t *testing.T) {
	t.Parallel()
	full := map[string]any{
		"customer": "Acme", "email": "acme@example.com", "mainPhone": "+1 555 0100", "website": "https://acme.example",
		"status":          "active",
		"billingAddress":  map[string]any{"street": "1 Main St", "city": "Springfield", "state": "IL", "zipCode": "62701", "country": "US"},
		"shippingAddress": map[string]any{"street": "2 Dock Rd", "city": "Shelbyville", "state": "IL", "zipCode": "62565", "country": "US"},
		"contacts":        []any{map[string]any{"name": "Ann", "email": "ann@example.com", "phone": nil, "primary": true}},
	}
	req := func(kv ...any) map[string]any {
		m := map[string]any{"customer": "Acme", "email": "acme@example.com"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	addr := func(street, city, state, zip, country any) map[string]any {
		return map[string]any{"street": street, "city": city, "state": state, "zipCode": zip, "country": country}
	}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		change map[string]any // the fields whose value the PUT changes, as read back
	}{
		{"only the required fields", req(), nil},
		{"name", req("customer", "Acme Inc"), map[string]any{"customer": "Acme Inc"}},
		{"status", req("status", "inactive"), map[string]any{"status": "inactive"}},
		{"billing city alone replaces the whole billing address", req("billingAddress", map[string]any{"city": "Chicago"}),
			map[string]any{"billingAddress": addr(nil, "Chicago", nil, nil, nil)}},
		{"a whole billing address", req("billingAddress", addr("9 Elm", "Chicago", "IL", "60601", "US")),
			map[string]any{"billingAddress": addr("9 Elm", "Chicago", "IL", "60601", "US")}},
		{"null removes the shipping address", req("shippingAddress", nil), map[string]any{"shippingAddress": nil}},
		{"an empty object is an address of nulls", req("shippingAddress", map[string]any{}),
			map[string]any{"shippingAddress": addr(nil, nil, nil, nil, nil)}},
		{"null clears website", req("website", nil), map[string]any{"website": nil}},
		{`"" clears website`, req("website", ""), map[string]any{"website": nil}},
		{"null clears mainPhone", req("mainPhone", nil), map[string]any{"mainPhone": nil}},
		{`"" clears mainPhone`, req("mainPhone", ""), map[string]any{"mainPhone": nil}},
		{"website without protocol", req("website", "acme.example"), map[string]any{"website": "acme.example"}},
		{"contacts are ignored", req("contacts", []any{map[string]any{"name": "Zed", "primary": true}}), nil},
		{"bad contacts are ignored too", req("contacts", "not even an array"), nil},
		{"read-only fields are ignored", req("id", "00000000-0000-4000-8000-000000000000", "createdAt", "2000-01-01T00:00:00.000Z"), nil},
		{"email", req("email", "new@example.com"), map[string]any{"email": "new@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
			s := start(t, counttest.Options{Now: clk.now})
			c := newClient(t, s).with(func(c *client) { c.now = clk.now })
			before := c.create(full)
			id := before["id"].(string)
			clk.advance(time.Minute)
			got := c.put(id, tc.body)
			if read := c.get(id); !sameJSON(read, got) {
				t.Errorf("the PUT answered\n%v\nbut reads back\n%v", got, read)
			}
			want := map[string]any{}
			for k, v := range before {
				want[k] = v
			}
			for k, v := range tc.change {
				want[k] = v
			}
			if len(tc.change) > 0 {
				want["updatedAt"] = "2025-03-01T12:01:00.000Z"
			}
			if !sameJSON(got, want) {
				t.Errorf("after the PUT\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestPutRefusals checks what a PUT must still send and may not send:
// customer and email are required, blank or null refused, and a refused
// PUT changes nothing.
func TestPutRefusals(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{})
	c := newClient(t, s)
	before := c.create(emutest.With(company("Keep", "keep@example.com"), "website", "https://keep.example"))
	id := before["id"].(string)
	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"no customer", map[string]any{"email": "keep@example.com", "website": nil}, []string{"customer"}},
		{"no email", map[string]any{"customer": "Keep", "website": nil}, []string{"email"}},
		{"neither", map[string]any{"website": nil}, []string{"customer", "email"}},
		{"email null", map[string]any{"customer": "Keep", "email": nil, "website": nil}, []string{"email"}},
		{"customer blank", map[string]any{"customer": " ", "email": "keep@example.com", "website": nil}, []string{"customer"}},
		{"bad address", map[string]any{"customer": "Keep", "email": "keep@example.com", "website": nil, "billingAddress": true}, []string{"billingAddress"}},
		{"status null", map[string]any{"customer": "Keep", "email": "keep@example.com", "website": nil, "status": nil}, []string{"status"}},
	} {
		a := c.do("PUT", "/customers/"+id, tc.body)
		if a.Status != 400 || a.code() != "validation_error" || !reflect.DeepEqual(a.fields(), tc.fields) {
			t.Errorf("%s: %v, want 400 on %v", tc.name, a, tc.fields)
		}
	}
	if got := c.get(id); !sameJSON(got, before) {
		t.Errorf("refused PUTs changed the customer:\n%v\nwas\n%v", got, before)
	}
	if a := c.do("PUT", "/customers/00000000-0000-4000-8000-000000000000", company("Keep", "keep@example.com")); a.Status != 404 {
		t.Errorf("PUT of an unknown customer: %v", a)
	}
}

// TestUpdatedAt checks that updatedAt moves on every change, forward
// even when the clock does not, and stays on a PUT that changes nothing.
func TestUpdatedAt(t *testing.T) {
	t.Parallel()
	clk := newClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	s := start(t, counttest.Options{Now: clk.now})
	c := newClient(t, s).with(func(c *client) { c.now = clk.now })
	id := c.create(company("Time", "time@example.com"))["id"].(string)
	steps := []struct {
		body map[string]any
		want string
	}{
		{company("Time", "time@example.com"), "2025-03-01T12:00:00.000Z"},                                   // nothing changes
		{emutest.With(company("Time", "time@example.com"), "website", ""), "2025-03-01T12:00:00.000Z"},      // clearing what is null
		{emutest.With(company("Time", "time@example.com"), "status", "active"), "2025-03-01T12:00:00.000Z"}, // the value it has
		{company("Time 2", "time@example.com"), "2025-03-01T12:00:00.001Z"},                                 // same instant: forward
		{company("Time 3", "time@example.com"), "2025-03-01T12:00:00.002Z"},
		{company("Time 3", "TIME@example.com"), "2025-03-01T12:00:00.003Z"}, // a new spelling is a change
	}
	for i, st := range steps {
		if got := c.put(id, st.body)["updatedAt"]; got != st.want {
			t.Errorf("step %d: updatedAt %v, want %s", i, got, st.want)
		}
	}
	clk.advance(time.Hour)
	if got := c.put(id, company("Time 4", "time@example.com"))["updatedAt"]; got != "2025-03-01T13:00:00.000Z" {
		t.Errorf("an hour later: updatedAt %v", got)
	}
}

// sameJSON compares two decoded JSON values.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
