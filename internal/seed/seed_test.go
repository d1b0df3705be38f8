package seed_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"crmsync/crm"
	_ "crmsync/crm/all"
	"crmsync/internal/seed"
	"crmsync/pipeline"
)

const records = 2000

// TestRecordsPassValidation validates every record made for each
// registered connector's schema with the pipeline's own checks, as the
// engine does before a create.
func TestRecordsPassValidation(t *testing.T) {
	for _, c := range crm.All() {
		t.Run(c.Name, func(t *testing.T) {
			g := seed.New(c.Schema, 7, nil)
			mapped := g.Filled()
			check := c.Schema.CreateChecker(mapped)
			for i, v := range seed.Records(c.Schema, records, 7) {
				rec := &pipeline.Record{Key: "k", Values: v}
				if r := c.Schema.Validate(rec, mapped); r != nil {
					t.Fatalf("record %d: %s: %s", i, r.Code, r.Message)
				}
				if r := check.Check(rec); r != nil {
					t.Fatalf("record %d on create: %s: %s", i, r.Code, r.Message)
				}
				for f, val := range v {
					fl := &c.Schema.Fields[f]
					canon, ok := pipeline.Canonical(fl.Kind, val)
					if val != "" && (!ok || canon != val) {
						t.Fatalf("record %d: %s = %q is not canonical (%q)", i, fl.Name, val, canon)
					}
					if fl.Lower && val != strings.ToLower(val) {
						t.Fatalf("record %d: %s = %q is not in lower case", i, fl.Name, val)
					}
				}
			}
		})
	}
}

// TestRecordsShape: unique match values however case is folded; every
// field the generator can fill filled in some record and left empty in
// another where it may be; each nested object whole or absent; and the
// same records for the same seed.
func TestRecordsShape(t *testing.T) {
	for _, c := range crm.All() {
		t.Run(c.Name, func(t *testing.T) {
			s := c.Schema
			recs := seed.Records(s, records, 3)
			if !slices.EqualFunc(recs, seed.Records(s, records, 3), slices.Equal) {
				t.Fatal("the same seed gave other records")
			}
			if slices.EqualFunc(recs, seed.Records(s, records, 4), slices.Equal) {
				t.Fatal("another seed gave the same records")
			}
			match := s.Index(s.MatchField)
			seen := map[string]int{}
			for i, v := range recs {
				m := v[match]
				if s.MatchFold {
					m = strings.ToLower(m)
				}
				if j, dup := seen[m]; dup {
					t.Fatalf("records %d and %d share the match value %q", j, i, m)
				}
				seen[m] = i
			}
			filled := seed.New(s, 3, nil).Filled()
			for f := range s.Fields {
				fl := &s.Fields[f]
				var some, none int
				for _, v := range recs {
					if v[f] != "" {
						some++
					} else {
						none++
					}
				}
				if filled[f] != (some > 0) {
					t.Errorf("%s: filled in %d records, Filled says %v", fl.Name, some, filled[f])
				}
				if filled[f] && fl.CanClear() && !fl.RequiredOnCreate && none == 0 {
					t.Errorf("%s, which may be empty, is filled in every record", fl.Name)
				}
			}
			groups := map[string][]int{}
			for f := range s.Fields {
				if g := s.Fields[f].Group(); g != "" && filled[f] {
					groups[g] = append(groups[g], f)
				}
			}
			for g, parts := range groups {
				var whole, absent int
				for i, v := range recs {
					n := 0
					for _, f := range parts {
						if v[f] != "" {
							n++
						}
					}
					switch n {
					case 0:
						absent++
					case len(parts):
						whole++
					default:
						t.Fatalf("record %d fills %d of the %d parts of %s", i, n, len(parts), g)
					}
				}
				if whole == 0 || absent == 0 {
					t.Errorf("%s: %d records fill it whole, %d leave it out; want some of each", g, whole, absent)
				}
			}
		})
	}
}

// TestRecordsCoverKinds: across the four schemas, every kind the
// generator can make up is made, and values hold characters that need
// escaping.
func TestRecordsCoverKinds(t *testing.T) {
	kinds := map[pipeline.Kind]bool{}
	var text strings.Builder
	for _, c := range crm.All() {
		for _, v := range seed.Records(c.Schema, 300, 1) {
			for f, val := range v {
				if val != "" {
					kinds[c.Schema.Fields[f].Kind] = true
				}
				if val != "" && c.Schema.Fields[f].Kind != pipeline.KindList {
					// A list's JSON holds backslashes of its own.
					text.WriteString(val)
					text.WriteByte('\n')
				}
			}
		}
	}
	for _, k := range []pipeline.Kind{pipeline.KindString, pipeline.KindEmail, pipeline.KindCountry, pipeline.KindLocale,
		pipeline.KindOffset, pipeline.KindPhone, pipeline.KindEnum, pipeline.KindBool, pipeline.KindInt,
		pipeline.KindDate, pipeline.KindList} {
		if !kinds[k] {
			t.Errorf("no value of kind %v", k)
		}
	}
	for _, want := range []string{"é", "'", ",", `"`, `\`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no value holds %q", want)
		}
	}
}

// TestOpenAndUnknownFields: fields the registered schemas lack (an open
// family's, a decimal, a UUID given by the account) get valid values.
func TestOpenAndUnknownFields(t *testing.T) {
	s := &pipeline.Schema{API: "x", MatchField: "email", MatchFold: true, Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail, RequiredOnCreate: true},
		{Name: "balance", Kind: pipeline.KindDecimal, Clear: pipeline.ClearNull},
		{Name: "owner", Kind: pipeline.KindUUID, Clear: pipeline.ClearNull},
		{Name: "template.contract_value", Kind: pipeline.KindString, Clear: pipeline.ClearNull, MaxLen: 50},
	}}
	owners := []string{"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01"}
	if seed.New(s, 1, nil).Filled()[2] {
		t.Fatal("a UUID is filled without the account's values")
	}
	g := seed.New(s, 1, map[string][]string{"owner": owners})
	var decimals, owned, template int
	for i := range 200 {
		v := g.Record(i)
		if r := s.Validate(&pipeline.Record{Values: v}, g.Filled()); r != nil {
			t.Fatalf("record %d: %s", i, r.Message)
		}
		if v[1] != "" {
			decimals++
		}
		if v[2] != "" {
			if v[2] != owners[0] {
				t.Fatalf("record %d: owner %q is not the account's", i, v[2])
			}
			owned++
		}
		if v[3] != "" {
			template++
		}
	}
	if decimals == 0 || owned == 0 || template == 0 {
		t.Fatalf("decimals %d, owners %d, template values %d: want some of each", decimals, owned, template)
	}
}

// TestComplete: a complete generator fills every field it can in every
// record, with the same people as the plain one.
func TestComplete(t *testing.T) {
	for _, c := range crm.All() {
		g := seed.New(c.Schema, 5, nil)
		full := g.Complete()
		filled := g.Filled()
		match := c.Schema.Index(c.Schema.MatchField)
		for i := range 300 {
			v := full.Record(i)
			if v[match] != g.Record(i)[match] {
				t.Fatalf("%s: complete record %d is another customer", c.Name, i)
			}
			for f := range v {
				if filled[f] && v[f] == "" {
					t.Fatalf("%s: complete record %d leaves %s empty", c.Name, i, c.Schema.Fields[f].Name)
				}
			}
		}
	}
}

// TestPhonesValid: every phone, E.164 or written as people write it, is
// a number of its country's plan, which a mapping's phone() checks.
func TestPhonesValid(t *testing.T) {
	checked := 0
	for _, c := range crm.All() {
		for i, v := range seed.Records(c.Schema, 1000, 9) {
			for f, val := range v {
				fl := &c.Schema.Fields[f]
				if val == "" || fl.Kind != pipeline.KindPhone && !strings.Contains(strings.ToLower(fl.Leaf()), "phone") {
					continue
				}
				n, err := phonenumbers.Parse(val, "")
				if err != nil || !phonenumbers.IsValidNumber(n) {
					t.Fatalf("%s record %d: %s = %q is not a valid number (%v)", c.Name, i, fl.Name, val, err)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no phone checked")
	}
}
