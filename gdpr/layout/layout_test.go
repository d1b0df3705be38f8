package layout_test

import (
	"encoding/json"
	"strings"
	"testing"

	"crmsync/gdpr/layout"
	"crmsync/pipeline"
)

// byName maps a row to its columns' names.
func byName(l *layout.Layout, row layout.Row) map[string]layout.Value {
	m := map[string]layout.Value{}
	for i, c := range l.Table() {
		m[c.Name] = row[i]
	}
	return m
}

func flatten(t *testing.T, l *layout.Layout, raw string, related map[string]json.RawMessage) map[string]layout.Value {
	t.Helper()
	row, err := l.Flatten(json.RawMessage(raw), related)
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != len(l.Table()) {
		t.Fatalf("%d values for %d columns", len(row), len(l.Table()))
	}
	return byName(l, row)
}

func check(t *testing.T, got, want map[string]layout.Value) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s = %+v (present %v), want %+v", name, g, ok, w)
		}
	}
}

// TestDefaultLayout derives the table of a schema with a nested object, a
// list, a bool and an int, and flattens a customer holding keys the
// schema does not know, at the top and inside the nested object: each
// lands in other_fields, where it was.
func TestDefaultLayout(t *testing.T) {
	s := &pipeline.Schema{API: "x", MatchField: "email", Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail},
		{Name: "address.city", Kind: pipeline.KindString},
		{Name: "address.postalCode", Kind: pipeline.KindString},
		{Name: "tags", Kind: pipeline.KindList},
		{Name: "marketingConsent", Kind: pipeline.KindBool},
		{Name: "visits", Kind: pipeline.KindInt},
		{Name: "balance", Kind: pipeline.KindDecimal},
	}}
	l := layout.Default(s)
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range l.Table() {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "id,email,address_city,address_postalCode,tags,marketingConsent,visits,balance,other_fields" {
		t.Errorf("columns %s", got)
	}
	got := flatten(t, l, `{"id":"cus_1","email":"a@example.com","address":{"city":"Lyon","postalCode":"69001","line3":"Bât. B"},
		"tags":["vip","b2b"],"marketingConsent":true,"visits":"12","balance":10.50,"createdAt":"2024-01-02T03:04:05Z"}`, nil)
	check(t, got, map[string]layout.Value{
		"id":                 {Str: "cus_1"},
		"address_city":       {Str: "Lyon"},
		"address_postalCode": {Str: "69001"},
		"tags":               {Str: `["vip","b2b"]`},
		"marketingConsent":   {Bool: true},
		"visits":             {Int: 12},
		"balance":            {Str: "10.50"},
		layout.OtherFields:   {Str: `{"address":{"line3":"Bât. B"},"createdAt":"2024-01-02T03:04:05Z"}`},
	})

	// An absent object, a null, and an object where a scalar stood.
	got = flatten(t, l, `{"id":"cus_2","address":null,"tags":null}`, nil)
	check(t, got, map[string]layout.Value{"address_city": {Null: true}, "tags": {Null: true}, "email": {Null: true}, layout.OtherFields: {Null: true}})
	got = flatten(t, l, `{"id":"cus_3","address":"5 rue X"}`, nil)
	check(t, got, map[string]layout.Value{"address_city": {Null: true}, layout.OtherFields: {Str: `{"address":"5 rue X"}`}})
}

// TestLayoutRelatedAndNormalize reads columns from a related record and
// lets Normalize bring a variant answer into shape first.
func TestLayoutRelatedAndNormalize(t *testing.T) {
	l := &layout.Layout{
		Columns: []layout.Column{
			{Name: "id", Path: []string{"id"}},
			{Name: "home_city", Path: []string{"home", "city"}},
			{Name: "owner_email", Related: "owner", Path: []string{"email"}},
		},
		Related: []string{"owner"},
		Ignore:  [][]string{{"object"}, {"home", "object"}},
		Normalize: func(obj map[string]json.RawMessage) {
			if v, ok := obj["homes"]; ok {
				var list []json.RawMessage
				if json.Unmarshal(v, &list) == nil && len(list) == 1 {
					obj["home"] = list[0]
					delete(obj, "homes")
				}
			}
		},
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	got := flatten(t, l, `{"id":"c1","object":"customer","homes":[{"object":"address","city":"Graz"}]}`,
		map[string]json.RawMessage{"owner": json.RawMessage(`{"id":"o1","email":"owner@example.com","name":"O"}`)})
	check(t, got, map[string]layout.Value{"home_city": {Str: "Graz"}, "owner_email": {Str: "owner@example.com"}, layout.OtherFields: {Null: true}})
	got = flatten(t, l, `{"id":"c2"}`, map[string]json.RawMessage{"owner": json.RawMessage(`null`)})
	check(t, got, map[string]layout.Value{"home_city": {Null: true}, "owner_email": {Null: true}})
}

func TestLayoutCheckRefuses(t *testing.T) {
	cases := map[string]*layout.Layout{
		"two columns of a name": {Columns: []layout.Column{{Name: "id", Path: []string{"id"}}, {Name: "id", Path: []string{"x"}}}},
		"other_fields taken":    {Columns: []layout.Column{{Name: layout.OtherFields, Path: []string{"x"}}}},
		"inside another value":  {Columns: []layout.Column{{Name: "a", Path: []string{"a"}}, {Name: "a_b", Path: []string{"a", "b"}}}},
		"around another value":  {Columns: []layout.Column{{Name: "a_b", Path: []string{"a", "b"}}, {Name: "a", Path: []string{"a"}}}},
		"the same value twice":  {Columns: []layout.Column{{Name: "a", Path: []string{"a"}}, {Name: "b", Path: []string{"a"}}}},
		"no path":               {Columns: []layout.Column{{Name: "a"}}},
		"an unknown kind":       {Columns: []layout.Column{{Name: "a", Kind: 9, Path: []string{"a"}}}},
		"an undeclared related": {Columns: []layout.Column{{Name: "a", Related: "owner", Path: []string{"a"}}}},
		"ignoring a column":     {Columns: []layout.Column{{Name: "a", Path: []string{"a"}}}, Ignore: [][]string{{"a"}}},
	}
	for name, l := range cases {
		if err := l.Check(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := l.Flatten(json.RawMessage(`{"a":1}`), nil); err == nil {
			t.Errorf("%s: Flatten ran", name)
		}
	}
	// A schema whose dotted field collides with a flat one once named.
	clash := layout.Default(&pipeline.Schema{Fields: []pipeline.Field{{Name: "a.b"}, {Name: "a_b"}}})
	if err := clash.Check(); err == nil {
		t.Error("a_b twice: no error")
	}
}

// TestFlattenRefusesWrongTypes: a value of the wrong type is an error
// naming the column, never quoting the value.
func TestFlattenRefusesWrongTypes(t *testing.T) {
	l := &layout.Layout{Columns: []layout.Column{
		{Name: "id", Path: []string{"id"}},
		{Name: "created_at", Kind: layout.Int64, Path: []string{"created_at"}},
		{Name: "has_notes", Kind: layout.Bool, Path: []string{"has_notes"}},
	}}
	for _, in := range []string{`{"id":"c1","created_at":"yesterday"}`, `{"id":"c1","has_notes":"perhaps"}`, `{"id":"c1","created_at":1.5}`} {
		_, err := l.Flatten(json.RawMessage(in), nil)
		if err == nil || strings.Contains(err.Error(), "yesterday") || strings.Contains(err.Error(), "perhaps") ||
			!(strings.Contains(err.Error(), "created_at") || strings.Contains(err.Error(), "has_notes")) {
			t.Errorf("%s: error %v; want one naming the column, not the value", in, err)
		}
	}
	for _, in := range []string{`[]`, `nope`, `null`} {
		if _, err := l.Flatten(json.RawMessage(in), nil); err == nil {
			t.Errorf("Flatten(%s): no error", in)
		}
	}
}

// TestFlattenOddValues checks what JSON allows and the fast path of
// string reading must not get wrong: escapes, invalid UTF-8 (read as
// U+FFFD, as encoding/json does), a numeric id, and numbers where a
// String column stands.
func TestFlattenOddValues(t *testing.T) {
	l := &layout.Layout{Columns: []layout.Column{
		{Name: "id", Path: []string{"id"}},
		{Name: "name", Path: []string{"name"}},
		{Name: "last_name", Path: []string{"last_name"}},
		{Name: "phone", Path: []string{"phone"}},
		{Name: "created_at", Kind: layout.Int64, Path: []string{"created_at"}},
		{Name: "flag", Kind: layout.Bool, Path: []string{"flag"}},
	}}
	in := "{\"id\":42,\"name\":\"A\\\"\\u00e9\\n\",\"last_name\":\"\xff\",\"phone\":4930123,\"created_at\":1.7e9,\"flag\":\"true\"}"
	got := flatten(t, l, in, nil)
	check(t, got, map[string]layout.Value{
		"id":         {Str: "42"},
		"name":       {Str: "A\"é\n"},
		"last_name":  {Str: "\uFFFD"},
		"phone":      {Str: "4930123"},
		"created_at": {Int: 1700000000},
		"flag":       {Bool: true},
	})
}
