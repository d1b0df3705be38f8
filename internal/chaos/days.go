package main

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"crmsync/internal/fixtures"
)

// Columns of a generated row that the days edit.
const (
	colKey   = 0
	colEmail = 1
	colName  = 2
	colOwner = 5
)

// day is one source file of the run: the first load, or a later export in
// which some customers changed, some appeared and some broken rows were
// fixed.
type day struct {
	n    int
	path string
	rows []sourceRow
	// changed counts the rows that differ from the day before, appended
	// ones included: about the writes the day needs.
	changed int
}

// firstDay generates the first export.
func firstDay(path string, rows int, seed uint64, badShare float64) (*day, error) {
	d := &day{n: 1, path: path}
	err := fixtures.Generate(fixtures.Options{Rows: rows, Seed: seed, BadShare: badShare}, func(c fixtures.Customer) error {
		d.rows = append(d.rows, sourceRow{values: c.Values, bad: c.Bad})
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.changed = len(d.rows)
	return d, d.write()
}

var (
	newFirstNames = []string{"Greta", "Pavel", "Inès", "Tomás", "Ingrid", "Kofi", "Saoirse", "Dmitri", "Aylin", "Mirela"}
	newLastNames  = []string{"Okonkwo", "Håkansson", "de la Cruz", "Wiśniewska", "Al-Masri", "Ó Briain", "Tanaka-Lee", "Kovačić"}
)

// nextDay derives the export of the day after prev: the names of about
// share of the valid rows change (first or last name), share/12 of them
// move to another teammate and share/25 change email (an update of the
// same customer, not a new one), half the rows rejected for their email
// are fixed, and share/12 new rows are appended (at share 0.25: 2%, 1%
// and 2%). baseRows and seed are the first day's, so appended rows
// continue the same generated stream.
func nextDay(prev *day, path string, baseRows int, seed uint64, badShare, share float64, rng *rand.Rand) (*day, error) {
	d := &day{n: prev.n + 1, path: path, rows: make([]sourceRow, len(prev.rows))}
	for i, r := range prev.rows {
		d.rows[i] = sourceRow{values: slices.Clone(r.values), bad: r.bad}
	}
	for i := range d.rows {
		r := &d.rows[i]
		if r.bad == "bad_email" && rng.IntN(2) == 0 {
			r.values[colEmail] = "fixed.d" + strconv.Itoa(d.n) + "." + strings.ToLower(r.values[colKey]) + "@example.org"
			r.bad = ""
			d.changed++
			continue
		}
		if r.bad != "" {
			continue
		}
		edited := false
		if rng.Float64() < share {
			words := strings.Fields(r.values[colName])
			if rng.IntN(2) == 0 {
				words[0] = pickOther(rng, newFirstNames, words[0])
			} else {
				words = append(words[:1], pickOther(rng, newLastNames, strings.Join(words[1:], " ")))
			}
			r.values[colName] = strings.Join(words, " ")
			edited = true
		}
		if rng.Float64() < share/12 {
			r.values[colOwner] = pickOther(rng, fixtures.DefaultOwners, strings.ToLower(strings.TrimSpace(r.values[colOwner])))
			edited = true
		}
		if rng.Float64() < share/25 {
			r.values[colEmail] = "d" + strconv.Itoa(d.n) + "." + strings.ToLower(strings.TrimSpace(r.values[colEmail]))
			edited = true
		}
		if edited {
			d.changed++
		}
	}
	total := baseRows + (d.n-1)*max(int(float64(baseRows)*share/12), 1)
	n := 0
	err := fixtures.Generate(fixtures.Options{Rows: total, Seed: seed, BadShare: badShare}, func(c fixtures.Customer) error {
		if n++; n > len(prev.rows) {
			d.rows = append(d.rows, sourceRow{values: c.Values, bad: c.Bad})
			d.changed++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, d.write()
}

func pickOther(rng *rand.Rand, from []string, not string) string {
	for {
		if v := from[rng.IntN(len(from))]; v != not {
			return v
		}
	}
}

func (d *day) write() error {
	f, err := os.Create(d.path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write(fixtures.Columns); err != nil {
		f.Close()
		return err
	}
	for _, r := range d.rows {
		if err := w.Write(r.values); err != nil {
			f.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
