package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"crmsync/pipeline"
)

// verifySchema has one field of each kind of comparison rule: a match
// value the target folds, a field that cannot be cleared, a list, a
// nested object replaced whole, a create-only field, a number, and a field
// stored in lower case.
var verifySchema = &pipeline.Schema{
	API:        "fake",
	MatchField: "email",
	MatchFold:  true,
	Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true},
		{Name: "name", Kind: pipeline.KindString},
		{Name: "tags", Kind: pipeline.KindList, Clear: pipeline.ClearNull},
		{Name: "address.city", Kind: pipeline.KindString, Clear: pipeline.ClearEmpty},
		{Name: "address.zip", Kind: pipeline.KindString},
		{Name: "origin", Kind: pipeline.KindString, CreateOnly: true},
		{Name: "visits", Kind: pipeline.KindInt, Clear: pipeline.ClearNull},
		{Name: "country", Kind: pipeline.KindCountry, Lower: true, Clear: pipeline.ClearEmpty},
	},
	Groups: []pipeline.Group{{Name: "address", Rule: pipeline.GroupReplace}},
}

// verifyRow is a source row: the key, then one value per verifySchema
// field; "null()" stands for the mapping's null().
func verifyRow(key string, vals ...string) []string { return append([]string{key}, vals...) }

// nullMapper copies columns as copyMapper does, "null()" becoming Null.
type nullMapper struct{}

func (nullMapper) Apply(row *pipeline.Row, rec *pipeline.Record) *pipeline.Reject {
	n := len(verifySchema.Fields)
	if len(row.Values) != n+1 {
		return &pipeline.Reject{Stage: pipeline.StageMap, Code: "field_count", Message: "wrong number of values"}
	}
	rec.Values = rec.Values[:n]
	rec.Key = row.Values[0]
	for f, v := range row.Values[1:] {
		if v == "null()" {
			v = pipeline.Null
		}
		rec.Values[f] = v
	}
	return nil
}

// memReader is a pipeline.Reader over customers held in memory.
type memReader struct {
	mu      sync.Mutex
	byID    map[string]*pipeline.Customer
	gets    int
	current int
	stats   pipeline.CallStats
}

func newMemReader() *memReader { return &memReader{byID: map[string]*pipeline.Customer{}} }

// put stores a customer under id with the values of a source row (key
// first), as a sync would have written them.
func (r *memReader) put(id string, row []string) {
	vals := slices.Clone(row[1:])
	for f, v := range vals {
		if v == "null()" {
			vals[f] = ""
		}
	}
	r.mu.Lock()
	r.byID[id] = &pipeline.Customer{ID: id, Values: vals}
	r.mu.Unlock()
}

func (r *memReader) set(id, field, v string) {
	r.mu.Lock()
	r.byID[id].Values[verifySchema.Index(field)] = v
	r.mu.Unlock()
}

func (r *memReader) Schema() *pipeline.Schema { return verifySchema }

func (r *memReader) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	return fmt.Errorf("memReader: a verification must not walk the account")
}

func (r *memReader) Get(ctx context.Context, id string) (*pipeline.Customer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gets++
	c, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("customer %s: %w", id, pipeline.ErrNotFound)
	}
	cp := *c
	cp.Values = slices.Clone(c.Values)
	return &cp, nil
}

func (r *memReader) Find(ctx context.Context, match string) ([]pipeline.Customer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pipeline.Customer
	for _, c := range r.byID {
		if strings.EqualFold(c.Values[0], match) {
			cp := *c
			cp.Values = slices.Clone(c.Values)
			out = append(out, cp)
		}
	}
	return out, nil
}

func (r *memReader) Stats() *pipeline.CallStats { return &r.stats }

// batchReader is a memReader that reads in batches and stores names in
// upper case (Held), as an API may keep its own text of a value.
type batchReader struct{ *memReader }

func (r batchReader) Current(ctx context.Context, ids []string) ([]*pipeline.Customer, error) {
	r.mu.Lock()
	r.current++
	r.mu.Unlock()
	out := make([]*pipeline.Customer, len(ids))
	for i, id := range ids {
		r.mu.Lock()
		c, ok := r.byID[id]
		r.mu.Unlock()
		if ok {
			cp := *c
			cp.Values = slices.Clone(c.Values)
			out[i] = &cp
		}
	}
	return out, nil
}

func (r batchReader) Held(f int, v string) string {
	if verifySchema.Fields[f].Name == "name" {
		return strings.ToUpper(v)
	}
	return v
}

// verify runs a verification of rows against reader, with st as the
// state when it is not nil.
func verify(t *testing.T, reader pipeline.Reader, st pipeline.State, rows ...[]string) (pipeline.VerifyCounts, []pipeline.Difference) {
	t.Helper()
	var diffs []pipeline.Difference
	opts := pipeline.VerifyOptions{
		Source: newSliceSource(3, rows...), Mapper: nullMapper{},
		Mapped: slices.Repeat([]bool{true}, len(verifySchema.Fields)), Reader: reader,
		Concurrency: 2, BatchSize: 2, TempDir: t.TempDir(),
		OnDifference: func(d *pipeline.Difference) error { diffs = append(diffs, *d); return nil },
	}
	if st != nil {
		opts.State = st
	}
	v, err := pipeline.NewVerification(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := v.Progress()
	if c.Read != c.Rejected+c.Checked || c.Checked != c.Agree+c.Differ+c.Missing || c.Pending != 0 {
		t.Errorf("counts do not add up: %+v", c)
	}
	slices.SortFunc(diffs, func(a, b pipeline.Difference) int {
		return strings.Compare(a.Key+"\x00"+a.Field, b.Key+"\x00"+b.Field)
	})
	return c, diffs
}

// bind records key → id in st with fields as the values last confirmed.
func bind(st *memState, key, id string, fields map[string]string) {
	st.mu.Lock()
	st.entries[key] = &memEntry{crmID: id, fields: fields, digest: 1}
	st.mu.Unlock()
}

func diffLines(ds []pipeline.Difference) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s %s %s %s: %q → %q\n", d.Key, d.CRMID, d.Kind, d.Field, d.Expected, d.Found)
	}
	return b.String()
}

func TestVerifyAgreesInCanonicalText(t *testing.T) {
	r := newMemReader()
	// The source writes a number with leading zeros, a country in upper
	// case and the email in mixed case; the target holds each in its
	// canonical text, an empty list as [], and the email as it likes.
	r.put("c1", verifyRow("k1", "ann@example.com", "Ann", `["a","b"]`, "Paris", "75001", "web", "7", "fr"))
	r.put("c2", verifyRow("k2", "BOB@example.com", "Bob", "[]", "", "", "", "", ""))
	c, diffs := verify(t, r, nil,
		verifyRow("k1", "Ann@Example.com", "Ann", `["a","b"]`, "Paris", "75001", "web", "007", "FR"),
		verifyRow("k2", "bob@example.com", "Bob", "", "", "", "", "", ""))
	if len(diffs) != 0 || c.Agree != 2 || c.Checked != 2 {
		t.Fatalf("counts %+v, differences:\n%s", c, diffLines(diffs))
	}
}

func TestVerifyFindsChangedValues(t *testing.T) {
	r := newMemReader()
	row := verifyRow("k1", "ann@example.com", "Ann", `["a","b"]`, "Paris", "75001", "web", "7", "fr")
	r.put("c1", row)
	r.set("c1", "name", "Anne")
	// A list is sent and compared whole, in order, as a sync compares it.
	r.set("c1", "tags", `["b","a"]`)
	c, diffs := verify(t, r, nil, row)
	want := "k1 c1 value name: \"Ann\" → \"Anne\"\nk1 c1 value tags: \"[\\\"a\\\",\\\"b\\\"]\" → \"[\\\"b\\\",\\\"a\\\"]\"\n"
	if got := diffLines(diffs); got != want || c.Differ != 1 || c.Agree != 0 {
		t.Fatalf("counts %+v, differences:\n%swant:\n%s", c, got, want)
	}
}

func TestVerifyNullMustBeEmpty(t *testing.T) {
	r := newMemReader()
	r.put("c1", verifyRow("k1", "ann@example.com", "Ann", `["a"]`, "Paris", "", "", "3", ""))
	// null() clears the city, the tags and the visits: whatever the
	// target still holds there is a difference.
	_, diffs := verify(t, r, nil, verifyRow("k1", "ann@example.com", "Ann", "null()", "null()", "", "", "null()", ""))
	want := "k1 c1 value address.city: \"\" → \"Paris\"\nk1 c1 value tags: \"\" → \"[\\\"a\\\"]\"\nk1 c1 value visits: \"\" → \"3\"\n"
	if got := diffLines(diffs); got != want {
		t.Fatalf("differences:\n%swant:\n%s", got, want)
	}
}

func TestVerifyLeavesWhatOnlyTheStateKnows(t *testing.T) {
	// An empty name (which cannot be cleared, so a sync never sends it),
	// an empty zip in a replaced address, and the create-only origin
	// hold what the CRM held: without a state nothing says what that is.
	row := verifyRow("k1", "ann@example.com", "", "", "Paris", "", "web", "", "")
	r := newMemReader()
	r.put("c1", row)
	r.set("c1", "name", "Ann")
	r.set("c1", "address.zip", "75001")
	r.set("c1", "origin", "shop")
	c, diffs := verify(t, r, nil, row)
	if len(diffs) != 0 || c.Agree != 1 {
		t.Fatalf("without a state: counts %+v, differences:\n%s", c, diffLines(diffs))
	}

	// With a state, what it last confirmed is what the CRM holds.
	st := newMemState()
	bind(st, "k1", "c1", map[string]string{"name": "Ann", "address.zip": "75002", "origin": "store"})
	_, diffs = verify(t, r, st, row)
	want := "k1 c1 value address.zip: \"75002\" → \"75001\"\nk1 c1 value origin: \"store\" → \"shop\"\n"
	if got := diffLines(diffs); got != want {
		t.Fatalf("with a state: differences:\n%swant:\n%s", got, want)
	}
}

func TestVerifyMissingCustomers(t *testing.T) {
	r := newMemReader()
	r.put("c1", verifyRow("k1", "ann@example.com", "Ann", "", "", "", "", "", ""))
	rows := [][]string{
		verifyRow("k1", "ann@example.com", "Ann", "", "", "", "", "", ""),
		verifyRow("k2", "bob@example.com", "Bob", "", "", "", "", "", ""),
	}
	c, diffs := verify(t, r, nil, rows...)
	want := "k2  missing email: \"bob@example.com\" → \"\"\n"
	if got := diffLines(diffs); got != want || c.Missing != 1 || c.Agree != 1 {
		t.Fatalf("without a state: counts %+v, differences:\n%swant:\n%s", c, got, want)
	}

	// The state binds k2 to a customer deleted since; k1's binding is
	// what finds it, not its email.
	st := newMemState()
	bind(st, "k1", "c1", nil)
	bind(st, "k2", "c2", nil)
	r.set("c1", "email", "other@example.com")
	// The customer not found comes first in its batch: the others are
	// still read.
	c, diffs = verify(t, r, st, rows[1], rows[0])
	want = "k1 c1 value email: \"ann@example.com\" → \"other@example.com\"\nk2 c2 missing email: \"bob@example.com\" → \"\"\n"
	if got := diffLines(diffs); got != want || c.Missing != 1 || c.Differ != 1 {
		t.Fatalf("with a state: counts %+v, differences:\n%swant:\n%s", c, got, want)
	}
}

func TestVerifyRejectsAreNoDifferences(t *testing.T) {
	r := newMemReader()
	r.put("c1", verifyRow("k1", "ann@example.com", "Ann", "", "", "", "", "", ""))
	c, diffs := verify(t, r, nil,
		verifyRow("k1", "ann@example.com", "Ann", "", "", "", "", "", ""),
		// Not an email: validation rejects it.
		verifyRow("k2", "not-an-email", "Bob", "", "", "", "", "", ""),
		// A repeated key and a repeated match value: a sync rejects both.
		verifyRow("k1", "cy@example.com", "Cy", "", "", "", "", "", ""),
		verifyRow("k3", "ANN@example.com", "Dee", "", "", "", "", "", ""),
		// No email, which the target requires to create a customer.
		verifyRow("k4", "", "Eve", "", "", "", "", "", ""))
	if len(diffs) != 0 || c.Rejected != 4 || c.Agree != 1 {
		t.Fatalf("counts %+v, differences:\n%s", c, diffLines(diffs))
	}
}

func TestVerifyAmbiguousMatch(t *testing.T) {
	r := newMemReader()
	row := verifyRow("k1", "ann@example.com", "Ann", "", "", "", "", "", "")
	r.put("c1", row)
	r.put("c2", row)
	c, diffs := verify(t, r, nil, row)
	want := "k1  ambiguous email: \"ann@example.com\" → \"2 customers\"\n"
	if got := diffLines(diffs); got != want || c.Differ != 1 {
		t.Fatalf("counts %+v, differences:\n%swant:\n%s", c, got, want)
	}
}

func TestVerifyReadsInBatchesAndAsTheTargetWrites(t *testing.T) {
	m := newMemReader()
	r := batchReader{m}
	st := newMemState()
	var rows [][]string
	for i := range 5 {
		key, id := fmt.Sprintf("k%d", i), fmt.Sprintf("c%d", i)
		row := verifyRow(key, fmt.Sprintf("c%d@example.com", i), "Ann", "", "", "", "", "12", "")
		rows = append(rows, row)
		m.put(id, row)
		m.set(id, "name", "ANN")
		bind(st, key, id, nil)
	}
	c, diffs := verify(t, r, st, rows...)
	if len(diffs) != 0 || c.Agree != 5 {
		t.Fatalf("counts %+v, differences:\n%s", c, diffLines(diffs))
	}
	if m.gets != 0 || m.current != 3 {
		t.Errorf("%d gets and %d batch reads, want none and one per batch of 2 (3)", m.gets, m.current)
	}
}
