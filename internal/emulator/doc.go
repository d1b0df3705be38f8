// Package emulator is the kit the API emulators (tamiotest, tiquotest,
// counttest, revnuetest and those to come) are built on: everything an emulator needs that does not
// depend on the API it emulates. An emulator keeps its routes, its
// validation, its error envelope, its tables and queries, which permission
// each endpoint needs, and the payload of its webhooks; the kit gives it:
//
//   - [Server]: the listener on 127.0.0.1 (or a given address), the mux,
//     the body size cap, the lifecycle (Serve, Close that drains), and
//     [Server.Endpoint], which runs each request through the fault
//     injection and the request counters. [Server.Fallback] answers what
//     no route takes ([Server.Unrouted] tells a 404 from a 405, sets its
//     Allow header and words it), [Server.Sandbox] serves /_sandbox/
//     routes outside the API.
//   - [Faults] and [Injector]: deterministic faults from a seed (latency,
//     dropped connections, injected 500/502/503, answers lost after the
//     write was applied) and [Cut], which closes a connection unanswered.
//   - [Store]: SQLite with a group-commit writer ([Store.Write], [Do]), a
//     read pool, background WAL checkpoints, schema versions and
//     migrations, files readable by their owner alone;
//     [Store.PrepareAll] and [ExecAll] for an emulator's statements and
//     schema, [Store.CountRows] for its stats; [Clock] for creation stamps
//     that follow the insertion order; [IsUniqueViolation].
//   - [Keyring]: bearer keys with names and a permission (or scope) set,
//     [BearerToken], and a [Limiter] per key: a [TokenBucket] (tamio), a
//     fixed [Window] (tiquo, COUNT) or Django REST framework's
//     [SlidingLog] (Revnue, one shared by an account's keys), each
//     reporting a [Quota] from which either header style is written.
//   - [Counters] and [RequestStats]: requests by endpoint, outcome and key,
//     for GET /_sandbox/stats.
//   - [Webhooks]: a queue and a sender per URL, retries with backoff, an
//     optional per-attempt signing hook, drops counted when a queue is
//     full.
//   - [ReadBody], [WriteJSON] and [BodyError]: JSON bodies in and out;
//     [ReadRaw] and [CheckContentType] apart, for an API that checks a
//     signature over the body before the body itself.
//   - [LoadConfig], [DecodeConfig], [FaultsConfig], [CheckWebhooks] and
//     [At]: the generic half of a sandbox configuration file, its errors
//     worded path:line: message.
//   - [FoldKey]: the case-insensitive key of a UNIQUE column or a search,
//     equal exactly when strings.EqualFold is.
//
// # Order of a request
//
// [Server.Endpoint] draws the request's fault first, in arrival order, so
// that a seed replays: latency, then a dropped connection or an injected
// 5xx (neither reaches the handler, nothing is applied; the body is
// capped for WriteFault as for the handler), then the handler
// runs; for a lost answer (writes only) the handler runs with a writer
// that discards its answer, and the connection is cut. The handler itself
// authenticates ([Keyring.Authenticate]), takes the rate limit
// ([Principal.Take]), checks the permission ([Principal.Has]), in the
// order its API documents, and names the key in [Call].Key for the stats.
//
// # Not in the kit
//
// Error envelopes and codes, pagination, validation, the schema, and which
// key sees which record are each emulator's: they differ between APIs.
//
// Tests: package emutest holds the scaffolding every emulator's tests
// share (a server on a temporary SQLite file, the JSON client, a webhook
// receiver, the seed replay and configuration checks).
package emulator
