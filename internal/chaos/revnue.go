package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"crmsync/crm"
	"crmsync/sinks/revnue"
)

// revnueTemplate is the custom field template of the chaos's Revnue
// account: the emulator's default fields, which the sales team fills and
// the mapping leaves alone but account_tier, and time_zone, which the
// mapping fills from the zones table.
const revnueTemplate = `template:
  id: 1
  name: Default
  fields:
    - {id: 1, key: contract_value, type: money}
    - {id: 2, key: seats, type: number}
    - {id: 3, key: renewal_date, type: date}
    - {id: 4, key: account_tier, type: text}
    - {id: 5, key: time_zone, type: text}
`

func init() {
	// Per row like tiquo, and each update reads its customer on a list
	// page: a run keeps about 20 requests a second under the faults, so a
	// limit of 1,500 a minute keeps the pacer near it and the neighbour's
	// bursts (what the minute has left) to a few hundred reads. crmsync is
	// told the rate, which Revnue's answers do not say; the limit is a
	// sliding minute, which the neighbour spends now and then within a
	// run (see api.sliding). Revnue cannot delete, so nothing runs in
	// mirror mode.
	apis["revnue"] = &api{
		name: "revnue", mapping: "internal/chaos/customers.revnue.yaml", rows: 2000, rate: 1500.0 / 60,
		config: func(c Config, key string) string {
			return fmt.Sprintf("tokens:\n  - {token: %s, name: chaos}\nrate_limit: %d\n%s", key, perMinute(c.RateLimit), revnueTemplate)
		},
		read:    "/api/v2/customer/?company=1&page_size=1",
		sliding: true,
		pace:    true,
		entered: enterRevnue,
		authorize: func(r *http.Request, _ []byte, creds map[string]string) {
			r.Header.Set("Authorization", "Bearer "+creds[revnue.TokenCredential])
		},
		limit: func(c Config) string {
			return fmt.Sprintf("rate limit %d requests in any sliding minute per account; crmsync --rate %g",
				perMinute(c.RateLimit), c.RateLimit)
		},
	}
}

// enterEvery says which of the first day's customers are entered before
// the first run: one in enterEvery.
const enterEvery = 3

// enterRevnue stores, before the first run, one in enterEvery of the
// customers the first day's export must give, as Revnue's users would
// have entered them: every field of the record set (revnuetest's
// FullCustomer), under the name the mapping gives, every other one in
// upper case, which Revnue's names match all the same. The first run
// finds them by name and updates them; the later days update them again,
// each time with a PUT that replaces the whole record. The check it
// returns reads each of them, past the API, and counts those on which a
// field the mapping does not fill is no longer what was entered.
func enterRevnue(ctx context.Context, sb crm.Sandbox, exp *expected) (func(context.Context, *findings) error, error) {
	srv := revnue.Server(sb)
	if srv == nil {
		return nil, fmt.Errorf("the chaos cannot enter customers in a %T sandbox", sb)
	}
	at := exp.schema.Index("name")
	keys := make([]string, 0, len(exp.byKey))
	for key := range exp.byKey {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	entered := map[int64]map[string]string{}
	for i, key := range keys {
		if i%enterEvery != 0 {
			continue
		}
		name := exp.byKey[key].values[at]
		if up := strings.ToUpper(name); i%(2*enterEvery) == 0 && strings.EqualFold(up, name) {
			name = up
		}
		c, err := srv.Seed(ctx, srv.FullCustomer(name, i))
		if err != nil {
			return nil, err
		}
		id, ok := c["id"].(float64)
		if !ok {
			return nil, fmt.Errorf("revnuetest stored a customer without an id: %v", c["id"])
		}
		entered[int64(id)] = flatten(c)
	}
	var mapped []string
	for i, f := range exp.schema.Fields {
		if exp.mapped[i] {
			mapped = append(mapped, f.Name)
		}
	}
	ids := make([]int64, 0, len(entered))
	for id := range entered {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return func(ctx context.Context, f *findings) error {
		f.Entered = len(ids)
		for _, id := range ids {
			c, err := srv.Customer(ctx, id)
			if err != nil {
				return err
			}
			if c == nil {
				f.note(&f.Overwritten, "customer %d, entered before the first run, is gone", id)
				continue
			}
			if diffs := unmappedChanges(entered[id], flatten(c), mapped); len(diffs) > 0 {
				f.note(&f.Overwritten, "customer %d, entered before the first run: %s", id, strings.Join(diffs, "; "))
			}
		}
		return nil
	}, nil
}

// unmappedChanges lists the values of a customer's read shape, flattened,
// that differ between was and now at a path no mapped field fills.
func unmappedChanges(was, now map[string]string, mapped []string) []string {
	paths := make([]string, 0, len(was))
	for p := range was {
		paths = append(paths, p)
	}
	for p := range now {
		if _, ok := was[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var diffs []string
	for _, p := range paths {
		if was[p] != now[p] && !filledBy(p, mapped) {
			diffs = append(diffs, fmt.Sprintf("%s %s, entered %s", p, orAbsent(now, p), orAbsent(was, p)))
		}
	}
	return diffs
}

// filledBy reports whether a path of the read shape is one a mapped
// field fills: the field's own ("phone"), one below it ("category.name"
// below category, which Revnue reads as {id, name}), a template field's
// value, which Revnue reads under template.fields, or one above it (a
// contact_person that became null): the unmapped fields below such a one
// have paths of their own.
func filledBy(path string, mapped []string) bool {
	for _, f := range mapped {
		if key, ok := strings.CutPrefix(f, revnue.TemplatePrefix); ok {
			f = "template.fields." + key
		}
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(f, path+".") {
			return true
		}
	}
	return false
}

func orAbsent(m map[string]string, p string) string {
	if v, ok := m[p]; ok {
		return v
	}
	return "absent"
}

// flatten returns the leaves of a decoded JSON object by their dotted
// paths, each as its JSON text; an empty object or list is a leaf too.
func flatten(obj map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, x := range m {
				walk(prefix+k+".", x)
			}
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(fmt.Sprint(v))
		}
		out[strings.TrimSuffix(prefix, ".")] = string(b)
	}
	walk("", obj)
	return out
}
