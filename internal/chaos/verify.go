package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/state"
)

// sourceRow is one row of a generated source, with the defect the
// generator (or a later day's edit) put in it on purpose, "" for none.
type sourceRow struct {
	values []string
	bad    string
}

// want is what the CRM must hold for one valid row.
type want struct {
	row int64
	key string
	// email is the row's match value (the schema's MatchField), folded
	// to lower case when the target matches without regard to case: the
	// customer's identity in the CRM.
	email  string
	values []string // per schema field, in canonical text as the sink sends them
}

// expected is what the CRM, the reject file and the state must hold after
// a complete run over one source. It is computed without crmsync's engine:
// the mapping applied to each row, the schema's validation, and the
// engine's documented rules for repeated keys and emails. The generator's
// labels are checked against it, so a tool and a checker that agree on a
// wrong rule still disagree with the generator.
type expected struct {
	// schema is the mapping's (mappings.Mapping.Schema): the CRM is read
	// with it, so that the fields of open families are checked too.
	schema  *pipeline.Schema
	mapped  []bool
	rows    int
	byEmail map[string]*want
	byKey   map[string]*want
	invalid map[int64]string // row number → why
	// formerly are emails an earlier day gave to a key whose email has
	// changed since: a customer still holding one is that row twice.
	formerly map[string]string
	// disagree are rows the generator and the mapping judge differently.
	disagree []string
}

// expect maps every row of a source as the engine would and returns what
// must result. formerly carries the emails of earlier days by key.
func expect(schema *pipeline.Schema, mappingPath string, header []string, rows []sourceRow, formerly map[string]string) (*expected, error) {
	m, err := mappings.Load(mappingPath, schema)
	if err != nil {
		return nil, err
	}
	prog, err := m.Bind(header, nil)
	if err != nil {
		return nil, err
	}
	// The mapping's schema: the target's, with the fields of its open
	// families (Revnue's template.<key>) the mapping fills.
	schema = m.Schema()
	e := &expected{schema: schema, mapped: m.Mapped(), rows: len(rows),
		byEmail: map[string]*want{}, byKey: map[string]*want{}, invalid: map[int64]string{}, formerly: map[string]string{}}
	emailField := schema.Index(schema.MatchField)
	seenKeys := map[string]bool{}
	for i, sr := range rows {
		num := int64(i + 1)
		row := &pipeline.Row{Num: num, Values: slices.Clone(sr.values)}
		var rec pipeline.Record
		rej := prog.Apply(row, &rec)
		if rej == nil {
			rec.Row = row
			rej = schema.Validate(&rec, e.mapped)
		}
		// A rejected row's key counts as seen too: the engine rejects a
		// key's second row whatever became of its first.
		repeated := rec.Key != "" && seenKeys[rec.Key]
		if rec.Key != "" {
			seenKeys[rec.Key] = true
		}
		var why string
		switch {
		case rej != nil:
			why = rej.Code
		case repeated:
			why = "duplicate_key"
		}
		if why == "" {
			for f := range rec.Values {
				rec.Values[f] = normalise(&schema.Fields[f], rec.Values[f])
			}
			if r := schema.ValidateCreate(&rec); r != nil {
				why = r.Code
			}
		}
		email := matchValue(schema, rec.Values[emailField])
		if why == "" && e.byEmail[email] != nil {
			why = "duplicate_email"
		}
		if (why == "") != (sr.bad == "") {
			e.disagree = append(e.disagree, fmt.Sprintf("row %d (%s): generated as %q, the mapping says %q", num, rec.Key, label(sr.bad), label(why)))
		}
		if why != "" {
			e.invalid[num] = why
			continue
		}
		w := &want{row: num, key: rec.Key, email: email, values: rec.Values}
		e.byEmail[email] = w
		e.byKey[rec.Key] = w
	}
	for old, key := range formerly {
		if w := e.byKey[key]; w != nil && w.email != old {
			e.formerly[old] = key
		}
	}
	return e, nil
}

// normalise puts a value a mapping gave, or one the CRM holds, in the
// form the two compare in: trimmed, in the field's canonical text (lower
// case where the target stores it so), an explicit null and an empty
// list as no value, since that is what the CRM holds once they are sent.
func normalise(f *pipeline.Field, v string) string {
	v = strings.TrimSpace(v)
	if pipeline.IsEmpty(v) {
		return ""
	}
	if c, ok := pipeline.Canonical(f.Kind, v); ok {
		v = c
	}
	if f.Lower {
		v = strings.ToLower(v)
	}
	if f.Kind == pipeline.KindList && v == "[]" {
		return ""
	}
	return v
}

// matchValue is a match value as the target compares it.
func matchValue(schema *pipeline.Schema, v string) string {
	if schema.MatchFold {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return strings.TrimSpace(v)
}

func label(s string) string {
	if s == "" {
		return "valid"
	}
	return s
}

// findings are the differences a check found; every count but the first
// four must be zero.
type findings struct {
	Rows, Valid, Invalid, InCRM int
	// Duplicates are rows the CRM holds more than once: an email listed
	// twice, or a customer still under a key's former email.
	Duplicates int
	// Lost are valid rows the CRM does not hold.
	Lost int
	// Wrong are customers with at least one field unlike the mapping's.
	Wrong int
	// Extra are customers no row of the source accounts for.
	Extra int
	// RejectsMissing are invalid rows absent from the reject file,
	// RejectsExtra rows in it that are valid or listed twice.
	RejectsMissing, RejectsExtra int
	// State are keys whose state entry does not name the customer the CRM
	// holds for them, with its values.
	State int
	// Disagree are rows the generator and the mapping judge differently.
	Disagree int
	// Entered are the customers the CRM's users entered before the first
	// run (api.entered), Overwritten those of them on which a field the
	// mapping does not fill has changed since.
	Entered, Overwritten int
	Examples             []string
}

const maxExamples = 25

func (f *findings) note(n *int, format string, args ...any) {
	*n++
	if len(f.Examples) < maxExamples {
		f.Examples = append(f.Examples, fmt.Sprintf(format, args...))
	}
}

// differences is the number of things wrong.
func (f *findings) differences() int {
	return f.Duplicates + f.Lost + f.Wrong + f.Extra + f.RejectsMissing + f.RejectsExtra + f.State + f.Disagree + f.Overwritten
}

func (f *findings) add(g *findings) {
	f.Rows, f.Valid, f.Invalid, f.InCRM = g.Rows, g.Valid, g.Invalid, g.InCRM
	f.Duplicates += g.Duplicates
	f.Lost += g.Lost
	f.Wrong += g.Wrong
	f.Extra += g.Extra
	f.RejectsMissing += g.RejectsMissing
	f.RejectsExtra += g.RejectsExtra
	f.State += g.State
	f.Disagree += g.Disagree
	f.Entered = g.Entered
	f.Overwritten += g.Overwritten
	for _, ex := range g.Examples {
		if len(f.Examples) < maxExamples {
			f.Examples = append(f.Examples, ex)
		}
	}
}

// check compares the CRM, read through the connector's reader, the
// reject file of the run that finished and the state with what exp says
// they must hold. The emulator's faults must be off and its queued work
// done; its rate limit may stay on.
func check(ctx context.Context, rd pipeline.Reader, rejectsPath, statePath string, exp *expected) (*findings, error) {
	f := &findings{Rows: exp.rows, Valid: len(exp.byEmail), Invalid: len(exp.invalid)}
	for _, d := range exp.disagree {
		f.note(&f.Disagree, "%s", d)
	}
	schema := exp.schema
	at := schema.Index(schema.MatchField)
	byEmail := map[string]*pipeline.Customer{}
	err := rd.Walk(ctx, func(page []pipeline.Customer) error {
		for i := range page {
			c := &page[i]
			f.InCRM++
			email := matchValue(schema, c.Values[at])
			if byEmail[email] != nil {
				f.note(&f.Duplicates, "the CRM lists %s twice (%s and %s)", email, byEmail[email].ID, c.ID)
				continue
			}
			byEmail[email] = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the CRM: %w", err)
	}
	for email, c := range byEmail {
		w := exp.byEmail[email]
		switch {
		case w != nil:
			compare(f, exp, w, c)
		case exp.formerly[email] != "":
			f.note(&f.Duplicates, "key %s is in the CRM twice: as %s and under its former email %s (%s)", exp.formerly[email], exp.byKey[exp.formerly[email]].email, email, c.ID)
		default:
			f.note(&f.Extra, "the CRM holds %s (%s), which no valid row has", email, c.ID)
		}
	}
	for email, w := range exp.byEmail {
		if byEmail[email] == nil {
			f.note(&f.Lost, "row %d (%s, %s) is not in the CRM", w.row, w.key, email)
		}
	}
	if err := checkRejects(f, rejectsPath, exp); err != nil {
		return nil, err
	}
	if err := checkState(ctx, f, statePath, exp, byEmail); err != nil {
		return nil, err
	}
	return f, nil
}

// compare checks every mapped field of a customer against the row's
// values, both in canonical text.
func compare(f *findings, exp *expected, w *want, c *pipeline.Customer) {
	var diffs []string
	for i, fld := range exp.schema.Fields {
		if !exp.mapped[i] {
			continue
		}
		v := w.values[i]
		if v == "" && !fld.CanClear() {
			// Never sent: the CRM keeps its own default.
			continue
		}
		if got := normalise(&fld, c.Values[i]); got != v {
			diffs = append(diffs, fmt.Sprintf("%s %q, want %q", fld.Name, got, v))
		}
	}
	if len(diffs) > 0 {
		f.note(&f.Wrong, "row %d (%s) customer %s: %s", w.row, w.key, c.ID, strings.Join(diffs, "; "))
	}
}

// checkRejects compares the reject file's rows with the invalid rows.
func checkRejects(f *findings, path string, exp *expected) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("the reject file: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	at := slices.Index(header, "_row")
	codeAt := slices.Index(header, "_code")
	if at < 0 || codeAt < 0 {
		return fmt.Errorf("%s has no _row or _code column: %q", path, header)
	}
	listed := map[int64]bool{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		n, err := strconv.ParseInt(rec[at], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: _row %q: %w", path, rec[at], err)
		}
		switch {
		case listed[n]:
			f.note(&f.RejectsExtra, "row %d is in the reject file twice", n)
		case exp.invalid[n] == "":
			f.note(&f.RejectsExtra, "row %d is valid but rejected: %s %s", n, rec[codeAt], rec[len(rec)-1])
		}
		listed[n] = true
	}
	for n, why := range exp.invalid {
		if !listed[n] {
			f.note(&f.RejectsMissing, "row %d (%s) is missing from the reject file", n, why)
		}
	}
	return nil
}

// checkState checks that the state links each valid key to the customer
// the CRM holds for its row, recorded with the row's email and values, and
// links nothing else.
func checkState(ctx context.Context, f *findings, path string, exp *expected, crm map[string]*pipeline.Customer) error {
	st, err := state.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	linked := map[string]string{} // key → customer id
	byID := map[string]string{}   // customer id → key
	err = st.Synced(ctx, func(key, id, match string) error {
		linked[key] = id
		if other, ok := byID[id]; ok {
			f.note(&f.State, "state: customer %s is linked to keys %s and %s", id, other, key)
		}
		byID[id] = key
		w := exp.byKey[key]
		if w == nil {
			f.note(&f.State, "state: key %s → %s, but no valid row has that key", key, id)
			return nil
		}
		c := crm[w.email]
		switch {
		case c == nil:
			f.note(&f.State, "state: key %s → %s, and the CRM does not hold %s", key, id, w.email)
		case c.ID != id:
			f.note(&f.State, "state: key %s → %s, the CRM holds %s as %s", key, id, w.email, c.ID)
		case match != "" && matchValue(exp.schema, match) != w.email:
			// "" is a state whose match field no run bound
			// (state.BindMatch); the entry's values, checked below,
			// hold the match value all the same.
			f.note(&f.State, "state: key %s recorded with email %q, the row has %q", key, match, w.email)
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(exp.byKey))
	for key := range exp.byKey {
		if linked[key] == "" {
			f.note(&f.State, "state: key %s (row %d) is linked to no customer", key, exp.byKey[key].row)
			continue
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	entries, err := st.Entries(ctx, keys)
	if err != nil {
		return err
	}
	for _, key := range keys {
		w, e := exp.byKey[key], entries[key]
		if e == nil {
			f.note(&f.State, "state: key %s has no entry", key)
			continue
		}
		var diffs []string
		for i, fld := range exp.schema.Fields {
			if !exp.mapped[i] || (w.values[i] == "" && !fld.CanClear()) {
				continue
			}
			got := e.Fields[fld.Name]
			if fld.Kind == pipeline.KindList && got == "[]" {
				got = ""
			}
			if got != w.values[i] {
				diffs = append(diffs, fmt.Sprintf("%s %q, want %q", fld.Name, got, w.values[i]))
			}
		}
		if len(diffs) > 0 {
			f.note(&f.State, "state: key %s holds %s", key, strings.Join(diffs, "; "))
		}
	}
	return nil
}
