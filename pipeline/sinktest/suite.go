package sinktest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"crmsync/crm"
	"crmsync/pipeline"
)

// behaviour is one subtest of the suite.
type behaviour struct {
	name string
	run  func(t *testing.T, s *suite)
	// timed behaviours measure time; they run one at a time, after the
	// others, and only without -short.
	timed bool
}

// behaviours is the suite, in the order it reports.
var behaviours = []behaviour{
	// RetryAfter first: most of its time is waits, idle, while the
	// others run.
	{name: "RetryAfter", run: testRetryAfter},
	{name: "Create", run: testCreate},
	{name: "ReadBack", run: testReadBack},
	{name: "UnchangedCostsNoWrite", run: testUnchanged},
	{name: "UpdateSendsOnlyChanged", run: testUpdateOnlyChanged},
	{name: "UnmappedFieldSurvives", run: testUnmappedSurvives},
	{name: "ClearField", run: testClear},
	{name: "GroupMerge", run: testGroupMerge},
	{name: "GroupReplace", run: testGroupReplace},
	{name: "ListReplace", run: testListReplace},
	{name: "CreateOnlyKept", run: testCreateOnly},
	{name: "MatchCase", run: testMatchCase},
	{name: "ModeCreateRejectsExisting", run: testModeCreate},
	{name: "ModeUpdateRejectsMissing", run: testModeUpdate},
	{name: "APIRejectCarriesCode", run: testAPIReject},
	{name: "RefusedRowRejectedAlone", run: testRefused},
	{name: "ClaimRespectsOwners", run: testClaims},
	{name: "DryRunWritesNothing", run: testDryRun},
	{name: "ConcurrentApply", run: testConcurrent},
	{name: "Delete", run: testDelete},
	{name: "UnauthorizedIsFatal", run: testUnauthorized},
	{name: "TamperedRequestRefused", run: testTampered},
	{name: "ServerErrorsRetried", run: testServerErrors},
	{name: "LostAnswersNoDuplicates", run: testLostAnswers},
	{name: "StatsFormat", run: testStatsFormat},
	{name: "RateLimit", run: testRateLimit, timed: true},
}

// Summary says what a run of the suite did for one connector.
type Summary struct {
	// Ran lists the behaviours that ran (passed or failed), Skipped those
	// that skipped, each with its reason in the test log.
	Ran, Skipped []string
}

// suite is what every behaviour of one connector's run shares.
type suite struct {
	conn *crm.Connector
	gen  *gen
}

// RunConnector runs the conformance suite against a registered connector:
// each behaviour is a subtest with an emulator of its own, started with
// conn.StartSandbox on a SQLite file in t.TempDir. The behaviours run in
// parallel, but RateLimit, which measures time: it runs after them, alone,
// and only without -short. A behaviour the connector's schema or
// properties say does not apply (no groups, no delete) skips, saying why.
// The Summary lists what ran and what skipped, so that a caller can tell
// a connector the suite did not exercise at all.
//
// It fails the test, rather than skipping, when the connector cannot be
// run at all (no sandbox, hints that do not fit its schema).
func RunConnector(t *testing.T, conn *crm.Connector, hints Hints) Summary {
	t.Helper()
	if conn.StartSandbox == nil {
		t.Fatalf("connector %s has no sandbox (StartSandbox), so the conformance suite cannot run it", conn.Name)
	}
	g, err := newGen(conn.Schema, hints)
	if err != nil {
		t.Fatalf("connector %s: %v", conn.Name, err)
	}
	s := &suite{conn: conn, gen: g}
	var (
		mu  sync.Mutex
		sum Summary
	)
	note := func(t *testing.T, name string) {
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			if t.Skipped() {
				sum.Skipped = append(sum.Skipped, name)
			} else {
				sum.Ran = append(sum.Ran, name)
			}
		})
	}
	t.Run("Behaviours", func(t *testing.T) {
		for _, b := range behaviours {
			if b.timed {
				continue
			}
			t.Run(b.name, func(t *testing.T) {
				note(t, b.name)
				t.Parallel()
				b.run(t, s)
			})
		}
	})
	t.Run("Timed", func(t *testing.T) {
		for _, b := range behaviours {
			if !b.timed {
				continue
			}
			t.Run(b.name, func(t *testing.T) {
				note(t, b.name)
				if testing.Short() {
					t.Skip("measures time: runs only without -short")
				}
				b.run(t, s)
			})
		}
	})
	slices.Sort(sum.Ran)
	slices.Sort(sum.Skipped)
	return sum
}

// env is one behaviour's emulator and the clients it gives.
type env struct {
	t    *testing.T
	s    *suite
	db   string
	sb   crm.Sandbox
	opts crm.SandboxOptions
	// overshoot makes a sink paced by its configuration
	// (Hints.RateFromConfig) call faster than the sandbox allows, so that
	// it meets the 429s a behaviour is about.
	overshoot bool

	mu      sync.Mutex
	clients []*http.Client
}

// start starts the connector's sandbox with opts on a new SQLite file.
func (s *suite) start(t *testing.T, opts crm.SandboxOptions) *env {
	t.Helper()
	e := &env{t: t, s: s, db: filepath.Join(t.TempDir(), s.conn.Name+".db")}
	e.launch(opts)
	return e
}

func (e *env) launch(opts crm.SandboxOptions) {
	e.t.Helper()
	opts.DBPath = e.db
	opts.Addr = "127.0.0.1:0"
	if e.s.gen.hints.RateFromConfig && opts.RateLimit == 0 {
		opts.RateLimit = generousRate
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	sb, err := e.s.conn.StartSandbox(context.Background(), opts)
	if err != nil {
		e.t.Fatalf("starting the %s sandbox: %v", e.s.conn.Name, err)
	}
	e.sb, e.opts = sb, opts
	e.t.Cleanup(func() {
		e.closeIdle()
		if err := sb.Close(); err != nil {
			e.t.Errorf("closing the %s sandbox: %v", e.s.conn.Name, err)
		}
	})
}

// generousRate is the sandbox's limit, in requests a second, for a
// connector paced by its configuration (Hints.RateFromConfig) when a
// behaviour sets none.
const generousRate = 500

// closeIdle closes the idle connections of every client made for the
// sandbox. A connection a transport dialled and never used is new, not
// idle, to net/http's server, whose Shutdown waits five seconds for it.
func (e *env) closeIdle() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.clients {
		c.CloseIdleConnections()
	}
}

// restart stops the sandbox and starts it again on the same file with
// other options (faults, limits), as a user restarting a rehearsal does.
// Sinks and readers made before it no longer reach it.
func (e *env) restart(opts crm.SandboxOptions) {
	e.t.Helper()
	e.closeIdle()
	if err := e.sb.Close(); err != nil {
		e.t.Fatalf("closing the %s sandbox: %v", e.s.conn.Name, err)
	}
	e.launch(opts)
}

// config returns a connector configuration for the sandbox whose calls
// rec records; creds, when not nil, replaces the sandbox's credentials.
func (e *env) config(rec *recorder, creds map[string]string) crm.Config {
	if creds == nil {
		creds = e.sb.Credentials()
	}
	hc := newClient(rec)
	e.mu.Lock()
	e.clients = append(e.clients, hc)
	e.mu.Unlock()
	cfg := crm.Config{BaseURL: e.sb.URL(), Credentials: creds, HTTPClient: hc,
		Logger: slog.New(slog.DiscardHandler)}
	if e.s.gen.hints.RateFromConfig {
		cfg.Rate = e.opts.RateLimit
		if e.overshoot {
			cfg.Rate = generousRate
		}
	}
	return cfg
}

// sink returns a new sink on the sandbox, not yet prepared, and the
// recorder of its calls.
func (e *env) sink() (pipeline.Sink, *recorder) {
	e.t.Helper()
	rec := &recorder{}
	sk, err := e.s.conn.NewSink(e.config(rec, nil))
	if err != nil {
		e.t.Fatalf("NewSink: %v", err)
	}
	return sk, rec
}

// reader returns a new reader on the sandbox.
func (e *env) reader() pipeline.Reader {
	e.t.Helper()
	r, err := e.s.conn.NewReader(e.config(&recorder{}, nil))
	if err != nil {
		e.t.Fatalf("NewReader: %v", err)
	}
	return r
}

// plan returns an upsert plan that maps what the suite fills and reads
// the whole account in Prepare, as a run without a state does.
func (s *suite) plan() pipeline.Plan {
	return pipeline.Plan{Mapped: s.gen.mapped(), Mode: pipeline.ModeUpsert, IndexAccount: true}
}

// changes makes one change per values slice, as the engine would: keys
// are "k<n>" from first, and no change carries an id.
func changes(first int, values [][]string) []pipeline.Change {
	out := make([]pipeline.Change, len(values))
	for i, v := range values {
		rec := &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)}, Key: fmt.Sprintf("k%d", first+i),
			Values: append([]string(nil), v...)}
		out[i] = pipeline.Change{Record: rec}
	}
	return out
}

// workers is how many Apply calls the suite runs at once, as the engine
// does with its default concurrency.
func workers(sk pipeline.Sink) int {
	n := 8
	if mf := sk.Properties().MaxInFlight; mf > 0 && mf < n {
		n = mf
	}
	return n
}

// run prepares sk with plan, applies chs in batches of MaxBatch from as
// many goroutines as the engine would, closes sk and returns the results.
// Errors fail the test.
func run(t *testing.T, sk pipeline.Sink, plan pipeline.Plan, chs []pipeline.Change) []pipeline.Result {
	t.Helper()
	res, err := tryRun(t, sk, plan, chs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// tryRun is run returning the first error of Prepare, Apply or Close.
func tryRun(t *testing.T, sk pipeline.Sink, plan pipeline.Plan, chs []pipeline.Change) ([]pipeline.Result, error) {
	t.Helper()
	ctx := t.Context()
	if err := sk.Prepare(ctx, plan); err != nil {
		sk.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	res, err := applyAll(ctx, sk, chs)
	if cerr := sk.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	return res, err
}

// applyAll applies chs on a prepared sink, in batches of MaxBatch from
// workers(sk) goroutines.
func applyAll(ctx context.Context, sk pipeline.Sink, chs []pipeline.Change) ([]pipeline.Result, error) {
	res := make([]pipeline.Result, len(chs))
	batch := max(1, sk.Properties().MaxBatch)
	type span struct{ lo, hi int }
	spans := make(chan span)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range workers(sk) {
		wg.Go(func() {
			for sp := range spans {
				if err := sk.Apply(ctx, chs[sp.lo:sp.hi], res[sp.lo:sp.hi]); err != nil {
					select {
					case errs <- fmt.Errorf("apply: %w", err):
					default:
					}
				}
			}
		})
	}
	for lo := 0; lo < len(chs); lo += batch {
		spans <- span{lo, min(lo+batch, len(chs))}
	}
	close(spans)
	wg.Wait()
	select {
	case err := <-errs:
		return res, err
	default:
		return res, nil
	}
}

// seed creates records from, …, from+n-1 on a fresh sink and returns
// their ids, failing the test unless each was created.
func (e *env) seed(from, n int) ([]string, [][]string) {
	e.t.Helper()
	values := e.s.gen.records(from, n)
	sk, _ := e.sink()
	res := run(e.t, sk, e.s.plan(), changes(from, values))
	ids := make([]string, n)
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated || r.ID == "" {
			e.t.Fatalf("seeding record %d: %v with id %q (%v), want created with an id", from+i, r.Outcome, r.ID, r.Reject)
		}
		ids[i] = r.ID
	}
	return ids, values
}

// wantOutcome checks res[i] for each i in idx (every result when idx is
// empty).
func wantOutcome(t *testing.T, res []pipeline.Result, want pipeline.Outcome, idx ...int) {
	t.Helper()
	if len(idx) == 0 {
		for i := range res {
			idx = append(idx, i)
		}
	}
	for _, i := range idx {
		if res[i].Outcome != want {
			t.Errorf("change %d: outcome %v %v, want %v", i, res[i].Outcome, res[i].Reject, want)
		}
	}
}

// wantReject checks that res[i] is rejected at the API stage with code.
func wantReject(t *testing.T, res []pipeline.Result, i int, code string) {
	t.Helper()
	r := res[i]
	if r.Outcome != pipeline.OutcomeRejected || r.Reject == nil || r.Reject.Stage != pipeline.StageAPI || r.Reject.Code != code {
		t.Errorf("change %d: %v %v, want rejected at the api stage with code %s", i, r.Outcome, r.Reject, code)
	}
}
