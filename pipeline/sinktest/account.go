package sinktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"crmsync/crm"
	"crmsync/internal/emulator"
	"crmsync/pipeline"
)

// all returns every customer of the account, read with the connector's
// reader.
func (e *env) all() []pipeline.Customer {
	e.t.Helper()
	var out []pipeline.Customer
	err := e.reader().Walk(e.t.Context(), func(page []pipeline.Customer) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		e.t.Fatalf("Walk: %v", err)
	}
	return out
}

// get returns the customer with the id, or nil when the account does not
// hold it.
func (e *env) get(id string) *pipeline.Customer {
	e.t.Helper()
	c, err := e.reader().Get(e.t.Context(), id)
	if pipeline.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("Get(%s): %v", id, err)
	}
	if c.ID != id {
		e.t.Errorf("Get(%s) answered customer %q", id, c.ID)
	}
	return c
}

// matchKey is a match value as the target compares it.
func (e *env) matchKey(v string) string {
	if e.s.conn.Schema.MatchFold {
		return strings.ToLower(v)
	}
	return v
}

// wantAccount checks that the account holds exactly one customer per
// match value in want, and no other: no duplicate and nothing lost. It
// returns the customers by match key.
func (e *env) wantAccount(want [][]string) map[string]pipeline.Customer {
	e.t.Helper()
	m := e.s.gen.match
	byMatch := map[string]pipeline.Customer{}
	for _, c := range e.all() {
		k := e.matchKey(c.Values[m])
		if prev, dup := byMatch[k]; dup {
			e.t.Errorf("the account holds two customers with %s %q: %s and %s", e.s.conn.Schema.MatchField, k, prev.ID, c.ID)
		}
		byMatch[k] = c
	}
	for _, v := range want {
		if _, ok := byMatch[e.matchKey(v[m])]; !ok {
			e.t.Errorf("the account holds no customer with %s %q", e.s.conn.Schema.MatchField, v[m])
		}
	}
	if len(byMatch) != len(want) {
		e.t.Errorf("the account holds %d customers, want %d", len(byMatch), len(want))
	}
	return byMatch
}

// wantHeld checks that the customer id holds want in every field mapped
// marks: the canonical text the reader gives equals the record's, except
// that a cleared field may read back as the empty form of its kind.
func (e *env) wantHeld(what, id string, want []string, mapped []bool) {
	e.t.Helper()
	c := e.get(id)
	if c == nil {
		e.t.Errorf("%s: the account does not hold customer %s", what, id)
		return
	}
	e.wantValues(what, c, want, mapped)
}

func (e *env) wantValues(what string, c *pipeline.Customer, want []string, mapped []bool) {
	e.t.Helper()
	s := e.s.conn.Schema
	if len(c.Values) != len(s.Fields) {
		e.t.Errorf("%s: the reader gives %d values, the schema has %d fields", what, len(c.Values), len(s.Fields))
		return
	}
	for f := range s.Fields {
		if mapped != nil && !mapped[f] {
			continue
		}
		if got := c.Values[f]; !sameValue(&s.Fields[f], got, want[f]) {
			e.t.Errorf("%s: customer %s holds %s=%q, want %q", what, c.ID, s.Fields[f].Name, got, want[f])
		}
	}
}

// sameValue compares a value read back with the one written. An empty
// value reads back empty, or as an empty list for a list field: the
// canonical text of a list an API answers [] for.
func sameValue(f *pipeline.Field, got, want string) bool {
	if pipeline.IsEmpty(want) {
		return got == "" || (f.Kind == pipeline.KindList && got == "[]")
	}
	return got == want
}

// stats reads the emulator's request counters at crm.StatsPath, in the
// kit's RequestStats shape at the top level of the answer, waiting (a
// little) until they count at least total requests: the client may read
// an answer before the server has counted it.
func (e *env) stats(total int) (emulator.RequestStats, error) {
	var st emulator.RequestStats
	u := strings.TrimSuffix(e.sb.URL(), "/") + crm.StatsPath
	deadline := time.Now().Add(2 * time.Second)
	for {
		var err error
		st, err = fetchStats(e.t.Context(), u)
		if err != nil || st.TotalRequests >= int64(total) || time.Now().After(deadline) {
			return st, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fetchStats(ctx context.Context, u string) (emulator.RequestStats, error) {
	var st emulator.RequestStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s answered %s", u, resp.Status)
	}
	var top map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&top); err != nil {
		return st, fmt.Errorf("GET %s: not a JSON object: %w", u, err)
	}
	for _, k := range []string{"requests", "by_status", "by_key", "total_requests"} {
		if _, ok := top[k]; !ok {
			keys := make([]string, 0, len(top))
			for k := range top {
				keys = append(keys, k)
			}
			return st, fmt.Errorf("GET %s: the answer has no %q at its top level (it has %v): not the kit's RequestStats shape every emulator serves", u, k, keys)
		}
	}
	b, _ := json.Marshal(top)
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("GET %s: %w", u, err)
	}
	return st, nil
}

// logCalls logs a summary of calls when the test failed, to say what a
// sink did.
func logCalls(t *testing.T, what string, calls []call) {
	t.Helper()
	if !t.Failed() {
		return
	}
	by := map[string]int{}
	for _, c := range calls {
		by[fmt.Sprintf("%s %d", c.Method, c.Status)]++
	}
	t.Logf("%s: %d calls by method and status: %v", what, len(calls), by)
}
