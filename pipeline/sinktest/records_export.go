package sinktest

import "crmsync/pipeline"

// Records returns the suite's records from, from+1, …, from+n-1 of a
// connector's schema (valid, canonical, unique match values), and which
// fields they fill, as a plan's Mapped: for tests beyond the suite that
// write an account and read it back (a CRM read as a source).
func Records(schema *pipeline.Schema, hints Hints, from, n int) (values [][]string, mapped []bool, err error) {
	g, err := newGen(schema, hints)
	if err != nil {
		return nil, nil, err
	}
	return g.records(from, n), g.mapped(), nil
}
