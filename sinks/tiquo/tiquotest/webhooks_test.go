package tiquotest_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tiquo/tiquotest"
)

// TestWebhookEvents checks the three events, their envelope, and the
// previousAttributes of customer.updated: the prior value of each changed
// attribute and of nothing else. A PATCH that changes nothing but
// updatedAt sends no event.
func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	rc := emutest.NewReceiver(t)
	s := start(t, tiquotest.Options{Webhooks: []string{rc.URL + "/hooks"}})
	c := newClient(t, s)
	created := c.create(full("hook@example.com"))
	id := created["id"].(string)
	updated := c.patch(id, map[string]any{"phone": "+1987654321", "address": map[string]any{"city": "Chicago"},
		"tags": []any{"VIP"}, "marketingConsent": nil, "notes": "Prefers email"})
	c.patch(id, map[string]any{"phone": "+1987654321", "loyaltyPoints": 7}) // nothing changes: no event
	recased := c.patch(id, map[string]any{"email": "Hook@Example.com", "companyId": nil})
	c.ok(200, "DELETE", "/customers/"+id, nil)

	events := rc.Wait(t, 4)
	want := []struct {
		typ    string
		object map[string]any
		prev   map[string]any // nil: no previousAttributes
	}{
		{"customer.created", created, nil},
		{"customer.updated", updated, map[string]any{
			"phone": "+1234567890",
			"address": map[string]any{"line1": "123 Main St", "line2": "Apt 4", "city": "Springfield",
				"state": "IL", "postalCode": "62701", "country": "US"},
			"tags": []any{"VIP", "newsletter"}, "marketingConsent": true,
		}},
		{"customer.updated", recased, map[string]any{"email": "hook@example.com", "companyId": "comp_1"}},
		{"customer.deleted", recased, nil},
	}
	seen := map[string]bool{}
	for i, ev := range events {
		w := want[i]
		if len(ev) != 4 || ev["type"] != w.typ {
			t.Errorf("event %d: %v, want type %s and the keys id, type, created, data", i, ev, w.typ)
			continue
		}
		eid, _ := ev["id"].(string)
		if !strings.HasPrefix(eid, "evt_") || seen[eid] {
			t.Errorf("event %d: id %q", i, eid)
		}
		seen[eid] = true
		parseStamp(t, ev["created"])
		data, _ := ev["data"].(map[string]any)
		if !reflect.DeepEqual(data["object"], w.object) {
			t.Errorf("event %d object\n got %v\nwant %v", i, data["object"], w.object)
		}
		prev, has := data["previousAttributes"]
		if w.prev == nil && has || w.prev != nil && !reflect.DeepEqual(prev, w.prev) {
			t.Errorf("event %d previousAttributes\n got %v\nwant %v", i, prev, w.prev)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Webhooks.Delivered != 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats().Webhooks; st.Delivered != 4 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("webhook stats %+v", st)
	}
}

// TestWebhookSameEventEveryURL checks that two URLs get the same event,
// id included.
func TestWebhookSameEventEveryURL(t *testing.T) {
	t.Parallel()
	a, b := emutest.NewReceiver(t), emutest.NewReceiver(t)
	s := start(t, tiquotest.Options{Webhooks: []string{a.URL, b.URL}})
	newClient(t, s).create(person("twice@example.com"))
	ea, eb := a.Wait(t, 1), b.Wait(t, 1)
	if !reflect.DeepEqual(ea, eb) {
		t.Errorf("the URLs got different events:\n%v\n%v", ea, eb)
	}
}
