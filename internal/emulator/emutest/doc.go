// Package emutest is the test scaffolding every emulator's tests share,
// so that each keeps only what is its API's: its envelopes, its routes,
// its records.
//
//   - [TempDB] and [Serve]: a server on a SQLite file in the test's
//     temporary directory, closed (and its Close checked) when the test
//     ends.
//   - [Client] and [Answer]: requests as a connector makes them, every
//     answer decoded as a JSON object and checked against the API's
//     envelope ([Client.Check]); [Client.OneShot] for fault tests, whose
//     cut connections Go's transport would otherwise retry unseen.
//   - [Receiver]: a webhook receiver on 127.0.0.1 collecting events.
//   - [CheckReplay]: the check that a fault seed replays.
//   - [WriteConfig] and [CheckLoadConfig]: sandbox configuration files and
//     the generic promises of an emulator's LoadConfig.
//   - [With] and [Without]: request bodies that differ by one member.
//
// Everything here is for tests: a failure is reported on the testing.TB
// given, and nothing is safe to call after the test has ended.
package emutest
