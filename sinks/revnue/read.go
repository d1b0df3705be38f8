package revnue

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"

	"crmsync/pipeline"
)

// customer turns a customer object as Revnue sent it into a
// pipeline.Customer of schema s, the object kept whole in Raw. The read
// shape differs from the write shape, and each value is read in the form
// a record writes it, so that the two compare equal: category {id, name}
// as its id, country's English name as its ISO numeric code (a name
// without one stays as Revnue wrote it, which no record holds, and which
// the connector refuses to send back: CodeCarryOver), and template.<key>
// from template.fields, a {key: value} map.
func customer(s *pipeline.Schema, raw json.RawMessage) (pipeline.Customer, error) {
	var obj map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil || obj == nil {
		return pipeline.Customer{}, pipeline.Fatalf("revnue answered a customer that is not a JSON object")
	}
	id := ""
	switch x := obj["id"].(type) {
	case json.Number:
		id = x.String()
	case string:
		id = x
	}
	v := maps.Clone(obj)
	if c, ok := obj["category"].(map[string]any); ok {
		v["category"] = c["id"]
	}
	if name, ok := obj["country"].(string); ok {
		if code, ok := countryCode(name); ok {
			v["country"] = json.Number(strconv.Itoa(code))
		}
	}
	// template.<key> is read from template.fields: money as Revnue
	// answers it ("1200.50", see API.Held), a number in its digits.
	v["template"], _ = templateOf(obj)
	return pipeline.Customer{ID: id, Values: s.Values(v), Raw: raw}, nil
}

// templateOf returns a customer's template values by key and the id of
// their template (0 and nil when the customer has none).
func templateOf(obj map[string]any) (map[string]any, int64) {
	t, ok := obj["template"].(map[string]any)
	if !ok {
		return nil, 0
	}
	fields, _ := t["fields"].(map[string]any)
	var id int64
	if n, ok := t["id"].(json.Number); ok {
		id, _ = n.Int64()
	}
	return fields, id
}

// customers decodes a page of customers.
func customers(s *pipeline.Schema, raws []json.RawMessage) ([]pipeline.Customer, error) {
	out := make([]pipeline.Customer, len(raws))
	for i, raw := range raws {
		c, err := customer(s, raw)
		if err != nil {
			return nil, err
		}
		if c.ID == "" {
			return nil, pipeline.Fatalf("revnue listed a customer without an id")
		}
		out[i] = c
	}
	return out, nil
}
