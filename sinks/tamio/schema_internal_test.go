package tamio

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// The positions the sink indexes fields by are those of the schema, the
// addresses appended after the fields that were there before them.
func TestFieldPositions(t *testing.T) {
	want := map[int]string{fieldEmail: "email", fieldName: "name", fieldLastName: "last_name", fieldCountry: "country",
		fieldLocale: "locale", fieldTimezoneOffset: "timezone_offset", fieldPriority: "priority", fieldCategory: "category",
		fieldPhone: "phone", fieldTeammateID: "teammate_id"}
	for i, p := range addressParts {
		want[fieldBilling+i] = "billing_information." + p.name
		want[fieldShipping+i] = "shipping_information." + p.name
	}
	if len(schema.Fields) != numFields || len(want) != numFields || len(addressParts) != numAddressParts {
		t.Fatalf("%d fields, %d positions, want %d", len(schema.Fields), len(want), numFields)
	}
	for i, name := range want {
		if schema.Fields[i].Name != name {
			t.Errorf("field %d is %s, its constant says %s", i, schema.Fields[i].Name, name)
		}
	}
	for i := fieldBilling; i < numFields; i++ {
		f := &schema.Fields[i]
		if !f.CreateOnly || f.Clear != pipeline.ClearNever || f.RequiredOnCreate || schema.GroupRule(f.Group()) != pipeline.GroupReplace {
			t.Errorf("%s: %+v, want create-only, never cleared, in a replaced group", f.Name, f)
		}
		if f.Lower != (f.Kind == pipeline.KindCountry) {
			t.Errorf("%s: Lower=%v", f.Name, f.Lower)
		}
		if req := slices.Contains([]string{"name", "country", "address", "city"}, f.Leaf()); f.RequiredInGroup != req {
			t.Errorf("%s: RequiredInGroup=%v", f.Name, f.RequiredInGroup)
		}
	}
}

// Each part reads the key of the address object named like the part, and
// nothing else.
func TestAddressPartsReadTheirKeys(t *testing.T) {
	for i, p := range addressParts {
		value := any("v-" + p.name)
		want := "v-" + p.name
		if p.kind == pipeline.KindBool {
			value, want = true, "true"
		}
		b, _ := json.Marshal(map[string]any{p.name: value})
		var a Address
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		for j := range addressParts {
			got := a.part(j)
			if j == i && got != want {
				t.Errorf("part %s of %s: %q, want %q", p.name, b, got, want)
			}
			if j != i && got != "" {
				t.Errorf("part %s of %s: %q, want none", addressParts[j].name, b, got)
			}
		}
	}
	var a *Address
	for i := range addressParts {
		if a.part(i) != "" {
			t.Errorf("part %d of no address: %q", i, a.part(i))
		}
	}
}

// tamio's docs show each address as an object on some pages and as a list
// on others: both decode, the list to its first entry, under either key.
func TestCustomerAddressesAsObjectOrList(t *testing.T) {
	for _, tc := range []struct {
		name, body        string
		billing, shipping string // city, "-" for no address
		billingIsCompany  string
	}{
		{"objects", `{"billing_address":{"city":"Roma","is_company":true,"country":"it"},"shipping_address":{"city":"Madrid"}}`, "Roma", "Madrid", "true"},
		{"nulls", `{"billing_address":null,"shipping_address":null}`, "-", "-", ""},
		{"absent", `{}`, "-", "-", ""},
		{"lists under the plural keys", `{"billing_addresses":[{"city":"Roma","is_company":false},{"city":"Other"}],"shipping_addresses":[]}`, "Roma", "", "false"},
		{"list under the singular key", ` {"billing_address": [ {"city":"Roma"} ] }`, "Roma", "-", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Customer
			if err := json.Unmarshal([]byte(tc.body), &c); err != nil {
				t.Fatal(err)
			}
			for _, got := range []struct {
				what string
				a    *Address
				want string
			}{{"billing", c.Billing(), tc.billing}, {"shipping", c.Shipping(), tc.shipping}} {
				switch {
				case got.want == "-" && got.a != nil:
					t.Errorf("%s: %+v, want none", got.what, got.a)
				case got.want != "-" && (got.a == nil || got.a.City != got.want):
					t.Errorf("%s: %+v, want city %q", got.what, got.a, got.want)
				}
			}
			if got := crmValue(&c, fieldBilling+12); got != tc.billingIsCompany {
				t.Errorf("billing is_company %q, want %q", got, tc.billingIsCompany)
			}

			var obj map[string]any
			if err := json.Unmarshal([]byte(tc.body), &obj); err != nil {
				t.Fatal(err)
			}
			vals := customerValues(obj)
			for f := range schema.Fields {
				if got, want := vals[f], crmValue(&c, f); got != want {
					t.Errorf("%s: the reader reads %q, the sink %q", schema.Fields[f].Name, got, want)
				}
			}
		})
	}
	var c Customer
	if err := json.Unmarshal([]byte(`{"billing_address":"Via Roma 1"}`), &c); err == nil {
		t.Errorf("an address that is a string decoded: %+v", c.Billing())
	}
}

// A create body holds the mapped fields that hold a value; the address
// parts go inside their objects, typed as tamio takes them. Without
// addresses mapped, the body is the flat one it always was.
func TestCreateBody(t *testing.T) {
	rec := &pipeline.Record{Values: make([]string, numFields)}
	rec.Values[fieldEmail], rec.Values[fieldName], rec.Values[fieldCountry] = "a@b.co", "Ann", "de"
	rec.Values[fieldPhone] = "" // mapped, no value: not sent
	rec.Values[fieldBilling+0], rec.Values[fieldBilling+1], rec.Values[fieldBilling+2], rec.Values[fieldBilling+3] = "Ann", "it", "Via Roma 1", "Roma"
	rec.Values[fieldBilling+12] = "true"
	rec.Values[fieldShipping+3] = "Madrid"

	top := make([]bool, numFields)
	for f := range fieldBilling {
		top[f] = true
	}
	s := &Sink{plan: pipeline.Plan{Mapped: top}, bodySize: fieldBilling}
	body := s.createBody(rec)
	if want := map[string]any{"email": "a@b.co", "name": "Ann", "country": "de"}; !maps.Equal(body, want) {
		t.Errorf("without addresses mapped: %v, want %v", body, want)
	}

	all := make([]bool, numFields)
	for f := range all {
		all[f] = true
	}
	s = &Sink{plan: pipeline.Plan{Mapped: all}, bodySize: fieldBilling + 2}
	b, err := json.Marshal(s.createBody(rec))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"billing_information":{"address":"Via Roma 1","city":"Roma","country":"it","is_company":true,"name":"Ann"},"country":"de","email":"a@b.co","name":"Ann","shipping_information":{"city":"Madrid"}}`
	if string(b) != want {
		t.Errorf("with addresses:\n%s\nwant\n%s", b, want)
	}
	if strings.Contains(string(b), "billing_information.") {
		t.Error("a dotted name was sent flat")
	}
}
