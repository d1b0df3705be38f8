// Package sinktest is the conformance suite every CRM connector passes,
// in the spirit of rclone's fstests: one set of behaviours, run against
// each registered connector's sink and reader on the connector's own
// emulator, over real HTTP on 127.0.0.1 with the emulator's data in a
// SQLite file, so that every sink keeps the same contract.
//
// The suite is driven by the registry alone. [RunConnector] starts the
// connector's sandbox (crm.Connector.StartSandbox) on a file in
// t.TempDir, with the rate limits and faults each behaviour needs, builds
// sinks with NewSink and reads the account back with NewReader (Walk, Get,
// Find). Records are generated from the connector's schema: unique match
// values, a value of each kind, the first value of an enum, every part of
// a group. A field the suite cannot make up (an id of something the
// account must hold) is left unmapped unless [Hints] give values for it;
// hints are data, never code that knows an API.
//
// The test of package crm/all runs the suite for every connector it links in, so
// a connector cannot be registered without passing it:
//
//	func TestConformance(t *testing.T) {
//		for _, c := range crm.All() {
//			t.Run(c.Name, func(t *testing.T) { sinktest.RunConnector(t, c, hints[c.Name]) })
//		}
//	}
//
// # What the suite measures with
//
// The sink and the reader call through an http.Client whose transport
// records every request (method, path, status, Retry-After, when it was
// sent and answered) before handing it to a real transport: that is how
// the suite counts a sink's writes (every request whose method is not GET
// or HEAD) and checks what it did after a 429. The StatsFormat behaviour
// checks that the emulator's own counters, served at crm.StatsPath in the
// shape of emulator.RequestStats, agree with what the client saw.
//
// # Time
//
// Most behaviours take well under a second of work each and run in
// parallel. RetryAfter waits out the emulator's Retry-After, idle, beside
// the others. RateLimit measures a sink's request rate against the
// emulator's limit over about ten seconds: it runs alone, after the
// others, and only without -short (testing.Short), since timings on a
// loaded machine are the one thing here that is not deterministic. Their
// bounds, and why, are documented beside them.
package sinktest
