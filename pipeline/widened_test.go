package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
)

// The engine over a target of the widened schema: typed kinds, nested
// groups merged and replaced, fields of each clear rule, and a match value
// whose case may or may not matter.

// widenedSchema returns a schema with every widened feature; fold says
// whether the target compares match values without regard to case.
func widenedSchema(fold bool) *pipeline.Schema {
	return &pipeline.Schema{
		API:        "widened",
		MatchField: "email",
		MatchFold:  fold,
		Fields: []pipeline.Field{
			{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true},
			{Name: "name", RequiredOnCreate: true},
			{Name: "company"}, // cannot be cleared
			{Name: "phone", Kind: pipeline.KindPhone, Clear: pipeline.ClearNull},
			{Name: "points", Kind: pipeline.KindInt},
			{Name: "balance", Kind: pipeline.KindDecimal, Clear: pipeline.ClearNull},
			{Name: "born", Kind: pipeline.KindDate, Clear: pipeline.ClearNull},
			{Name: "consent", Kind: pipeline.KindBool},
			{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
			{Name: "address.line1", Clear: pipeline.ClearNull},
			{Name: "address.city", Clear: pipeline.ClearNull},
			{Name: "billing.street", Clear: pipeline.ClearNull},
			{Name: "billing.city", Clear: pipeline.ClearNull},
			{Name: "billing.zip", Clear: pipeline.ClearNull},
		},
		Groups: []pipeline.Group{{Name: "address", Rule: pipeline.GroupMerge}, {Name: "billing", Rule: pipeline.GroupReplace}},
	}
}

// widenedRow returns a row for key n, the key first, then one value per
// field of widenedSchema, each in its canonical form.
func widenedRow(n int) []string {
	return []string{fmt.Sprintf("k%d", n), fmt.Sprintf("c%d@example.com", n), fmt.Sprintf("Customer %d", n), "ACME",
		"+4930123456", "7", "12.5", "1990-04-30", "true", `["vip","gold"]`,
		"Main St 1", "Berlin", "Elm St 2", "Hamburg", "20095"}
}

// wcol returns the position of field name in a widenedRow (the key is 0).
func wcol(s *pipeline.Schema, name string) int { return s.Index(name) + 1 }

// schemaSink is fakeSink over another schema, with the properties given.
type schemaSink struct {
	*fakeSink
	schema *pipeline.Schema
	props  pipeline.Properties
}

func (s *schemaSink) Schema() *pipeline.Schema        { return s.schema }
func (s *schemaSink) Properties() pipeline.Properties { return s.props }

// rowMapper takes the key from column 0 and field f from column f+1, for
// a schema of width fields.
type rowMapper struct{ width int }

func (m rowMapper) Apply(row *pipeline.Row, rec *pipeline.Record) *pipeline.Reject {
	if len(row.Values) != m.width+1 {
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: "field_count", Message: "wrong number of values"}
	}
	rec.Key = row.Values[0]
	rec.Values = rec.Values[:m.width]
	copy(rec.Values, row.Values[1:])
	return nil
}

// newWidened returns a run of rows over schema, read in source batches of
// 10, the sink taking batches of maxBatch; mapped nil maps every field.
func newWidened(t *testing.T, schema *pipeline.Schema, mapped []bool, maxBatch int, rows ...[]string) *engine {
	t.Helper()
	if mapped == nil {
		mapped = slices.Repeat([]bool{true}, len(schema.Fields))
	}
	fs := &fakeSink{MaxBatch: maxBatch}
	e := newEngine(t, fs, 10, rows...)
	e.opts.Sink = &schemaSink{fakeSink: fs, schema: schema, props: pipeline.Properties{MaxBatch: maxBatch}}
	e.opts.Mapper = rowMapper{width: len(schema.Fields)}
	e.opts.Mapped = mapped
	return e
}

// seedWidened records rows as confirmed in the CRM under the ids
// "id-<key>", as a complete earlier run would leave them.
func seedWidened(st *memState, schema *pipeline.Schema, mapped []bool, rows ...[]string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, v := range rows {
		fields := map[string]string{}
		for f, field := range schema.Fields {
			if mapped[f] {
				fields[field.Name] = v[f+1]
			}
		}
		st.entries[v[0]] = &memEntry{crmID: "id-" + v[0], fields: fields, digest: pipeline.Digest(schema, mapped, v[1:])}
	}
}

// sentFields returns, per key sent, the names of the fields its change
// marked to send ("*" for a change without Send: every field).
func sentFields(schema *pipeline.Schema, sent []pipeline.Change) map[string][]string {
	out := map[string][]string{}
	for _, ch := range sent {
		if ch.Send == nil {
			out[ch.Record.Key] = []string{"*"}
			continue
		}
		var names []string
		for f, s := range ch.Send {
			if s {
				names = append(names, schema.Fields[f].Name)
			}
		}
		out[ch.Record.Key] = names
	}
	return out
}

// TestEngineMatchFold: a target that compares match values with regard to
// case takes "Ann@…" and "ann@…" for two customers, and one that folds
// case rejects the second row as a repeat; with or without a state.
func TestEngineMatchFold(t *testing.T) {
	for _, fold := range []bool{false, true} {
		for _, withState := range []bool{false, true} {
			t.Run(fmt.Sprintf("fold=%v/state=%v", fold, withState), func(t *testing.T) {
				schema := widenedSchema(fold)
				a, b := widenedRow(1), widenedRow(2)
				a[wcol(schema, "email")], b[wcol(schema, "email")] = "Ann@example.com", "ann@example.com"
				e := newWidened(t, schema, nil, 10, a, b)
				if withState {
					e.opts.State = newMemState()
				}
				c, err := e.execute(t, context.Background())
				if err != nil {
					t.Fatal(err)
				}
				keys := e.sink.sentKeys()
				slices.Sort(keys)
				codes := rejectCodes(e.rejects.all())
				if fold {
					if !slices.Equal(keys, []string{"k1"}) || !slices.Equal(codes, []string{"2:duplicate_email"}) || c.Created != 1 {
						t.Errorf("sent %v, rejects %v, counts %+v; want k1 alone sent and row 2 a duplicate_email", keys, codes, c)
					}
					return
				}
				if !slices.Equal(keys, []string{"k1", "k2"}) || len(codes) != 0 || c.Created != 2 {
					t.Errorf("sent %v, rejects %v, counts %+v; want two customers created", keys, codes, c)
				}
			})
		}
	}
}

// TestEngineGroupRules: with a state, a change to one part of a group the
// target replaces whole sends every mapped part of it (not an unmapped
// one), and a change to one part of a merged group sends that part alone.
func TestEngineGroupRules(t *testing.T) {
	schema := widenedSchema(true)
	mapped := slices.Repeat([]bool{true}, len(schema.Fields))
	mapped[schema.Index("billing.zip")] = false
	var known, rows [][]string
	for n := 1; n <= 3; n++ {
		v := widenedRow(n)
		v[wcol(schema, "billing.zip")] = ""
		known = append(known, slices.Clone(v))
		rows = append(rows, v)
	}
	rows[0][wcol(schema, "billing.city")] = "Bremen"   // k1: a replaced group
	rows[1][wcol(schema, "address.city")] = "Potsdam"  // k2: a merged group
	rows[2][wcol(schema, "address.line1")] = "Ring 1"  // k3: a merged group and a
	rows[2][wcol(schema, "billing.street")] = "Ring 2" // replaced one
	st := newMemState()
	seedWidened(st, schema, mapped, known...)
	e := newWidened(t, schema, mapped, 10, rows...)
	e.opts.State = st
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := sentFields(schema, e.sink.sent())
	want := map[string][]string{
		"k1": {"billing.street", "billing.city"},
		"k2": {"address.city"},
		"k3": {"address.line1", "billing.street", "billing.city"},
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s sent %v, want %v", k, got[k], w)
		}
	}
	if c.Updated != 3 {
		t.Errorf("counts %+v, want 3 updated", c)
	}
	// What a sink builds from it: the replaced object whole, the merged
	// one in part.
	for _, ch := range e.sink.sent() {
		if ch.Record.Key != "k3" {
			continue
		}
		body := fmt.Sprint(schema.Body(ch.Record.Values, ch.Send))
		if wantBody := "map[address:map[line1:Ring 1] billing:map[city:Hamburg street:Ring 2]]"; body != wantBody {
			t.Errorf("k3's body %s, want %s", body, wantBody)
		}
	}
}

// nullRows returns 3 known customers and rows for them in which k1 clears
// its phone and tags with Null and the others are unchanged.
func nullRows(schema *pipeline.Schema) (known, rows [][]string) {
	for n := 1; n <= 3; n++ {
		v := widenedRow(n)
		known = append(known, slices.Clone(v))
		rows = append(rows, v)
	}
	rows[0][wcol(schema, "phone")] = pipeline.Null
	rows[0][wcol(schema, "tags")] = pipeline.Null
	return known, rows
}

// TestEngineNullClears: Null on fields that can be cleared is sent as a
// clear (the record holds "", which the sink sends in the field's clear
// form), counts for the blanking guard, and is recorded as "", so that the
// next run finds the row unchanged.
func TestEngineNullClears(t *testing.T) {
	schema := widenedSchema(true)
	mapped := slices.Repeat([]bool{true}, len(schema.Fields))
	phone, tags := schema.Index("phone"), schema.Index("tags")

	t.Run("guarded", func(t *testing.T) {
		known, rows := nullRows(schema)
		st := newMemState()
		seedWidened(st, schema, mapped, known...)
		e := newWidened(t, schema, mapped, 10, rows...)
		e.opts.State = st // --max-blank 0: no blanking at all
		_, err := e.execute(t, context.Background())
		if !errors.Is(err, pipeline.ErrAborted) || !strings.Contains(err.Error(), "phone (1), tags (1)") {
			t.Errorf("run ended with %v, want it aborted by the blanking guard over phone and tags", err)
		}
		if keys := e.sink.sentKeys(); len(keys) != 0 {
			t.Errorf("sent %v, want nothing", keys)
		}
	})

	known, rows := nullRows(schema)
	st := newMemState()
	seedWidened(st, schema, mapped, known...)
	e := newWidened(t, schema, mapped, 10, rows...)
	e.opts.State = st
	e.opts.MaxBlank = pipeline.Threshold{Count: 1}
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sent := e.sink.sent()
	if len(sent) != 1 || sent[0].Record.Key != "k1" || c.Updated != 1 || c.Unchanged != 2 {
		t.Fatalf("sent %v, counts %+v; want k1 alone updated", e.sink.sentKeys(), c)
	}
	ch := sent[0]
	if got := sentFields(schema, sent)["k1"]; !slices.Equal(got, []string{"phone", "tags"}) {
		t.Errorf("k1 sent %v, want phone and tags", got)
	}
	if ch.Record.Values[phone] != "" || ch.Record.Values[tags] != "" {
		t.Errorf("k1 sent phone %q and tags %q, want both as \"\" (cleared)", ch.Record.Values[phone], ch.Record.Values[tags])
	}
	if body := fmt.Sprint(schema.Body(ch.Record.Values, ch.Send)); body != "map[phone:<nil> tags:[]]" {
		t.Errorf("k1's body %s, want phone null and tags []", body)
	}
	if f := st.entries["k1"].fields; f["phone"] != "" || f["tags"] != "" {
		t.Errorf("the state holds phone %q and tags %q for k1, want both empty", f["phone"], f["tags"])
	}

	// The next run, from the same source: nothing changed.
	_, rows = nullRows(schema)
	again := newWidened(t, schema, mapped, 10, rows...)
	again.opts.State = st
	again.opts.MaxBlank = pipeline.Threshold{Count: 1}
	c, err = again.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if keys := again.sink.sentKeys(); len(keys) != 0 || c.Unchanged != 3 {
		t.Errorf("the second run sent %v, counts %+v; want all 3 unchanged", keys, c)
	}
}

// TestEngineNullOnFieldThatCannotBeCleared: Null on a field the target
// cannot clear rejects the row with not_clearable; nothing is sent.
func TestEngineNullOnFieldThatCannotBeCleared(t *testing.T) {
	schema := widenedSchema(true)
	v := widenedRow(1)
	v[wcol(schema, "company")] = pipeline.Null
	e := newWidened(t, schema, nil, 10, v, widenedRow(2))
	e.opts.State = newMemState()
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rejects := e.rejects.all()
	if codes := rejectCodes(rejects); !slices.Equal(codes, []string{"1:not_clearable"}) || rejects[0].Reject.Field != "company" {
		t.Errorf("rejects %v, want row 1 not_clearable on company", rejects)
	}
	if keys := e.sink.sentKeys(); !slices.Equal(keys, []string{"k2"}) || c.Created != 1 {
		t.Errorf("sent %v, counts %+v; want k2 alone created", keys, c)
	}
}

// TestEngineCanonicalValuesMakeNoChurn: the engine sends and records
// values in their canonical form, so that a source writing a value one
// way on one run and another way on the next ("007", "7", "+7") changes
// nothing.
func TestEngineCanonicalValuesMakeNoChurn(t *testing.T) {
	schema := widenedSchema(true)
	forms := []map[string]string{
		{"points": "007", "balance": "12.50", "tags": `[ "vip", "gold" ]`, "address.city": " Berlin "},
		{"points": "7", "balance": "12.5", "tags": `["vip","gold"]`, "address.city": "Berlin"},
		{"points": "+7", "balance": "012.500", "tags": `["vip",  "gold"]`, "address.city": "Berlin "},
	}
	st := newMemState()
	for i, form := range forms {
		v := widenedRow(1)
		for name, value := range form {
			v[wcol(schema, name)] = value
		}
		e := newWidened(t, schema, nil, 10, v)
		e.opts.State = st
		c, err := e.execute(t, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			sent := e.sink.sent()
			if c.Created != 1 || len(sent) != 1 {
				t.Fatalf("first run: counts %+v, want k1 created", c)
			}
			for name, want := range forms[1] {
				if got := sent[0].Record.Values[schema.Index(name)]; got != want {
					t.Errorf("created with %s %q, want %q", name, got, want)
				}
			}
			continue
		}
		if keys := e.sink.sentKeys(); len(keys) != 0 || c.Unchanged != 1 {
			t.Errorf("run %d with %v: sent %v, counts %+v; want k1 unchanged", i+1, form, keys, c)
		}
	}
}

// TestEngineMaxInFlightCapsConcurrency: the sink's MaxInFlight bounds the
// Apply calls in flight below --concurrency. Each call waits for a second
// one (unless it is the last; a run that keeps to 2 always has a slot free
// for it), then stays while the scheduler takes turns, in which a run
// that does not keep to 2 starts more.
func TestEngineMaxInFlightCapsConcurrency(t *testing.T) {
	const rows, limit = 60, 2
	schema := widenedSchema(true)
	var values [][]string
	for n := range rows {
		values = append(values, widenedRow(n))
	}
	e := newWidened(t, schema, nil, 1, values...)
	e.opts.Sink.(*schemaSink).props.MaxInFlight = limit
	e.opts.Concurrency = 8
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	inflight, entered, most := 0, 0, 0
	e.sink.ApplyFn = func(ctx context.Context, changes []pipeline.Change, results []pipeline.Result) error {
		mu.Lock()
		inflight++
		entered++
		most = max(most, inflight)
		cond.Broadcast()
		for inflight < limit && entered < rows {
			cond.Wait()
		}
		mu.Unlock()
		// Held for 200 turns of the scheduler with limit in flight, so
		// that an engine that would start another call gets to.
		for range 200 {
			runtime.Gosched()
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		createOrUpdate(changes, results)
		return nil
	}
	c, err := e.execute(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if most != limit || c.Created != rows {
		t.Errorf("at most %d Apply calls in flight, counts %+v; want %d at once and every row created", most, c, limit)
	}
}
