package revnuetest_test

import (
	"reflect"
	"strings"
	"testing"

	"crmsync/sinks/revnue/revnuetest"
)

// TestSeed checks the test hooks: Seed checks a body as POST does and
// stores it without a request, Customer reads it back as GET would, and
// FullCustomer sets every field, on the default account and on one of
// its own.
func TestSeed(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]revnuetest.Options{
		"default": {},
		"configured": {Companies: []int64{8}, Categories: []revnuetest.Category{{ID: 5, Name: "Only"}},
			Template: &revnuetest.Template{ID: 2, Fields: []revnuetest.TemplateField{{9, "due", revnuetest.TypeDate}, {3, "score", revnuetest.TypeNumber}}}},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, o)
			c := newClient(t, s)
			got := seed(t, s, s.FullCustomer("Seeded Ltd", 5))
			for _, k := range readKeys {
				if got[k] == nil || got[k] == false {
					t.Errorf("FullCustomer left %s unset: %v", k, got)
				}
			}
			for k, v := range got["template"].(map[string]any)["fields"].(map[string]any) {
				if v == nil {
					t.Errorf("FullCustomer left template field %s unset", k)
				}
			}
			if read := c.get(idOf(got)); !reflect.DeepEqual(read, got) {
				t.Errorf("GET\n got %v\nwant %v", read, got)
			}
			if read, err := s.Customer(t.Context(), idOf(got)); err != nil || !reflect.DeepEqual(read, got) {
				t.Errorf("Customer: %v, %v", read, err)
			}
			if read, err := s.Customer(t.Context(), 99); err != nil || read != nil {
				t.Errorf("Customer of an unknown id: %v, %v", read, err)
			}
			if _, err := s.Seed(t.Context(), s.FullCustomer("SEEDED LTD", 6)); err == nil || !strings.Contains(err.Error(), "A customer with this name already exists.") {
				t.Errorf("seeding a taken name: %v", err)
			}
			if _, err := s.Seed(t.Context(), map[string]any{"name": "No company"}); err == nil || !strings.Contains(err.Error(), `"company":["This field is required."]`) {
				t.Errorf("seeding without company: %v", err)
			}
			if st := s.Stats(); st.TotalRequests != 1 || st.Customers != 1 {
				t.Errorf("seeding made requests: %+v", st)
			}
		})
	}
}
