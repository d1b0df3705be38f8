package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// Config says what a chaos run does; zero fields take the defaults of
// withDefaults.
type Config struct {
	// Bin is the crmsync binary; Mapping the mapping file (its lookup
	// tables beside it); Dir an existing directory for the files.
	Bin, Mapping, Dir string
	// Rows is the size of the first day's export; BadShare the share of
	// rows broken on purpose; ChangeShare the share of valid rows whose
	// name changes each later day.
	Rows                  int
	BadShare, ChangeShare float64
	// Kills is the fewest SIGKILLs the run must deliver; more days are
	// added until it has, at most MaxDays.
	Kills, MaxDays int
	Seed           uint64
	// Concurrency is crmsync's --concurrency.
	Concurrency int
	// RateLimit and RateBurst are the emulator's token bucket, per key,
	// which crmsync shares with a neighbour that empties it as each run
	// starts and now and then later (see drainPlan).
	RateLimit float64
	RateBurst int
	// FirstDrains is the share of runs whose first request meets an
	// emptied bucket; default 1, every run. A pacer that meets a 429
	// before any answer crawls for seconds while it finds the rate again,
	// which a short run cannot always afford.
	FirstDrains float64
	BulkDelay   time.Duration
	// Faults are injected during every crmsync run; their Seed is set
	// per day from Seed.
	Faults tamiotest.Faults
	// A crmsync run counts as hung when it made no API request for
	// IdleTimeout, or ran longer than RunTimeout.
	IdleTimeout, RunTimeout time.Duration
	// Log receives a line per run; nil discards them.
	Log io.Writer
}

func (c Config) withDefaults() Config {
	if c.Rows <= 0 {
		c.Rows = 20000
	}
	if c.BadShare == 0 {
		c.BadShare = 0.03
	}
	if c.ChangeShare == 0 {
		c.ChangeShare = 0.25
	}
	if c.Kills <= 0 {
		c.Kills = 10
	}
	if c.MaxDays <= 0 {
		c.MaxDays = 6
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.RateLimit == 0 {
		c.RateLimit = 100
	}
	if c.RateBurst == 0 {
		c.RateBurst = 5
	}
	if c.FirstDrains == 0 {
		c.FirstDrains = 1
	}
	if c.BulkDelay == 0 {
		c.BulkDelay = 50 * time.Millisecond
	}
	if c.Faults == (tamiotest.Faults{}) {
		c.Faults = tamiotest.Faults{ErrorRate: 0.10, DropRate: 0.03, LostAnswerRate: 0.03}
	}
	if c.IdleTimeout <= 0 {
		// Far above the longest quiet spell of a working run: a backoff
		// (at most 30 s) or a Retry-After.
		c.IdleTimeout = 2 * time.Minute
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = 30 * time.Minute
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// dayReport is what happened on one day of the run.
type dayReport struct {
	Day, Rows, Changed  int
	Runs, Kills, Failed int
	KilledBy            map[string]int
	Created, Updated    int64 // by the run that finished, from its summary
	Unchanged, Rejected int64
	Requests            int64 // API requests of all the day's runs
	Took                time.Duration
	Check               *findings
	FailedRuns          []string
}

// Report is the outcome of a chaos run.
type Report struct {
	Config Config
	Days   []*dayReport
	// Faults counts the injected faults and 429s the runs met, by kind.
	Faults map[string]int64
	// Drains counts the neighbour's bursts, Drained those after which it
	// found the bucket empty.
	Drains, Drained int64
	// What the emulator was asked and did, retries and redone work
	// included: customers bulk jobs imported, and skipped because their
	// email existed (a create sent again after a kill or a lost answer,
	// which the email's uniqueness absorbs); single creates answered;
	// update and bulk assign calls applied (answered or answer lost).
	Imported, ImportSkipped, SingleCreates, UpdateCalls, AssignCalls int64
	// Rerun says whether one more run over the last day's file followed,
	// once everything was confirmed; RerunWrites are its write calls,
	// which must be none.
	Rerun       bool
	RerunWrites int64
	RerunRows   string
	Total       findings
	// Problems are failures that are not differences in the data: a
	// panic, a hang, an unexpected exit, too few kills, a fault that never
	// happened.
	Problems []string
	Took     time.Duration
}

// Kills returns how many runs were killed in all.
func (r *Report) Kills() (n int) {
	for _, d := range r.Days {
		n += d.Kills
	}
	return n
}

// Runs returns how many crmsync runs there were, the rerun excluded.
func (r *Report) Runs() (n int) {
	for _, d := range r.Days {
		n += d.Runs
	}
	return n
}

// OK reports whether the run found nothing wrong.
func (r *Report) OK() bool {
	return r.Total.differences() == 0 && len(r.Problems) == 0 && r.Rerun && r.RerunWrites == 0
}

// keyEnv carries the API key to crmsync.
const keyEnv = "CRMSYNC_CHAOS_API_KEY"

// Run starts the emulator, runs and kills crmsync day after day, and
// checks after each day. An error means the run could not be carried out;
// what it found is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	started := time.Now()
	rep := &Report{Config: cfg, Faults: map[string]int64{}}
	keyBytes := make([]byte, 12)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, err
	}
	key := "chaos-" + hex.EncodeToString(keyBytes)
	srv, err := tamiotest.NewServer(tamiotest.Options{
		DBPath:    filepath.Join(cfg.Dir, "crm.db"),
		Keys:      []tamiotest.Key{{Token: key, Name: "chaos", Permissions: []string{tamiotest.PermView, tamiotest.PermEdit, tamiotest.PermCreate, tamiotest.PermRemove}}},
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, BulkDelay: cfg.BulkDelay,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	defer srv.Close()
	fr := &front{api: srv.Handler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: fr, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	c := &chaos{cfg: cfg, rep: rep, srv: srv, front: fr, key: key,
		target:          "http://" + ln.Addr().String() + "/v2",
		statePath:       filepath.Join(cfg.Dir, "state.db"),
		rng:             mrand.New(mrand.NewPCG(cfg.Seed, 0xc4a05)),
		started:         started,
		neighbourClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	defer c.neighbourClient.CloseIdleConnections()
	fr.drain = c.drain
	err = c.days(ctx)
	rep.Drains, rep.Drained = fr.drains.Load(), fr.drained.Load()
	if err != nil {
		return rep, err
	}
	rep.Took = time.Since(started)
	return rep, nil
}

type chaos struct {
	cfg       Config
	rep       *Report
	srv       *tamiotest.Server
	front     *front
	key       string
	target    string
	statePath string
	rng       *mrand.Rand
	started   time.Time
	// emails are those valid rows had on earlier days, by key.
	emails map[string]string

	neighbourRuns   uint64
	neighbourClient *http.Client
}

func (c *chaos) logf(format string, args ...any) {
	fmt.Fprintf(c.cfg.Log, "%6.1fs  "+format+"\n", append([]any{time.Since(c.started).Seconds()}, args...)...)
}

func (c *chaos) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.rep.Problems = append(c.rep.Problems, msg)
	c.logf("PROBLEM: %s", msg)
}

func (c *chaos) days(ctx context.Context) error {
	cfg := c.cfg
	c.emails = map[string]string{}
	d, err := firstDay(filepath.Join(cfg.Dir, "day1.csv"), cfg.Rows, cfg.Seed, cfg.BadShare)
	if err != nil {
		return err
	}
	for {
		// Most kills on the first load, where a kill costs little, and at
		// least two (three of ten) on the days of updates, where a run
		// takes minutes; a day that finished before its share of kills
		// leaves them to the next.
		target := cfg.Kills - c.rep.Kills()
		if d.n == 1 {
			target = max(1, cfg.Kills-max(2, cfg.Kills*3/10))
		}
		if err := c.day(ctx, d, target); err != nil {
			return err
		}
		// Later days would pile their findings on this day's.
		if c.rep.Total.differences() > 0 || len(c.rep.Problems) > 0 {
			return nil
		}
		if d.n >= 2 && c.rep.Kills() >= cfg.Kills {
			break
		}
		if d.n >= cfg.MaxDays {
			c.problem("only %d runs were killed in %d days; -kills asks for %d", c.rep.Kills(), d.n, cfg.Kills)
			break
		}
		if d, err = nextDay(d, filepath.Join(cfg.Dir, fmt.Sprintf("day%d.csv", d.n+1)), cfg.Rows, cfg.Seed, cfg.BadShare, cfg.ChangeShare, c.rng); err != nil {
			return err
		}
	}
	return c.rerun(ctx, d)
}

// day runs crmsync over one day's file, killing it target times at random
// moments, and reruns it until a run finishes; then it checks the CRM, the
// reject file and the state against the file.
func (c *chaos) day(ctx context.Context, d *day, target int) error {
	started := time.Now()
	dr := &dayReport{Day: d.n, Rows: len(d.rows), Changed: d.changed, KilledBy: map[string]int{}}
	c.rep.Days = append(c.rep.Days, dr)
	c.srv.SetFaults(tamiotest.Faults{Seed: int64(c.cfg.Seed)*100 + int64(d.n), ErrorRate: c.cfg.Faults.ErrorRate,
		DropRate: c.cfg.Faults.DropRate, LostAnswerRate: c.cfg.Faults.LostAnswerRate, Latency: c.cfg.Faults.Latency})
	before, frontBefore := c.srv.Stats(), c.front.faults()
	// Kills land at a request anywhere in span. A first load makes about
	// a call per page of customers (bulk creates are read back by
	// listing); a later day about one per changed row, of which a kill
	// anywhere in the first half finds from nothing to several batches
	// confirmed (a batch of 1,000 rows commits when its last write is
	// answered, and --concurrency batches share the calls), without making
	// each killed run as long as a whole one.
	span := int64(len(d.rows)/100 + 20)
	if d.n > 1 {
		span = int64(d.changed/2 + len(d.rows)/100)
	}
	var out string
	for attempt := 1; ; attempt++ {
		if attempt > 10*max(target, 1)+10 {
			c.problem("day %d: no run finished in %d attempts", d.n, attempt-1)
			return nil
		}
		out = filepath.Join(c.cfg.Dir, fmt.Sprintf("out-day%d-run%d", d.n, attempt))
		var plan killPlan
		if dr.Kills < target {
			plan = c.planKill(span)
		}
		res, err := c.runOnce(ctx, d, out, plan, fmt.Sprintf("day%d-run%d", d.n, attempt))
		if err != nil {
			return err
		}
		dr.Runs++
		dr.Requests += res.requests
		switch {
		case res.killedBy != "":
			dr.Kills++
			dr.KilledBy[strings.Fields(res.killedBy)[0]]++
			c.logf("day %d run %d: killed %s, after %d requests, %s", d.n, attempt, res.killedBy, res.requests, res.took.Round(time.Millisecond))
			continue
		case res.hung != "":
			c.problem("day %d run %d hung: killed %s; log %s", d.n, attempt, res.hung, res.logPath)
			return nil
		case res.crashed != "":
			c.problem("day %d run %d crashed (exit %d): %s; log %s", d.n, attempt, res.code, res.crashed, res.logPath)
			return nil
		case res.code == 1:
			// A run that gave up (retries spent on a flaky API) is what a
			// nightly job meets too; it is rerun like a killed one, and
			// listed.
			dr.Failed++
			dr.FailedRuns = append(dr.FailedRuns, fmt.Sprintf("day %d run %d: %s", d.n, attempt, lastLine(res.output)))
			c.logf("day %d run %d: failed (exit 1) after %s: %s", d.n, attempt, res.took.Round(time.Millisecond), lastLine(res.output))
			continue
		case res.code != 0 && res.code != 3:
			c.problem("day %d run %d: exit %d; log %s:\n%s", d.n, attempt, res.code, res.logPath, tail(res.output, 20))
			return nil
		}
		s, err := readSummary(out)
		if err != nil {
			c.problem("day %d run %d finished without a readable summary: %v", d.n, attempt, err)
			return nil
		}
		dr.Created, dr.Updated, dr.Unchanged, dr.Rejected = s.Rows.Created, s.Rows.Updated, s.Rows.Unchanged, s.Rows.Rejected
		if s.Rows.Pending != 0 || s.Rows.Read != int64(len(d.rows)) {
			c.problem("day %d run %d finished with %d of %d rows read and %d pending", d.n, attempt, s.Rows.Read, len(d.rows), s.Rows.Pending)
		}
		c.logf("day %d run %d: finished (exit %d) after %s: %d created, %d updated, %d unchanged, %d rejected; %d calls, %d retries, %d answered 429",
			d.n, attempt, res.code, res.took.Round(time.Millisecond), s.Rows.Created, s.Rows.Updated, s.Rows.Unchanged, s.Rows.Rejected, s.API.Calls, s.API.Retries, s.API.RateLimited)
		break
	}
	frontAfter := c.front.faults()
	c.countFaults(before, c.srv.Stats(), [3]int64{frontAfter[0] - frontBefore[0], frontAfter[1] - frontBefore[1], frontAfter[2] - frontBefore[2]})
	dr.Took = time.Since(started)

	c.srv.SetFaults(tamiotest.Faults{})
	exp, err := expect(c.cfg.Mapping, fixtures.Columns, d.rows, c.emails)
	if err != nil {
		return err
	}
	f, err := check(ctx, c.srv, c.key, filepath.Join(out, "rejects.csv"), c.statePath, exp)
	if err != nil {
		return err
	}
	dr.Check = f
	c.rep.Total.add(f)
	for email, w := range exp.byEmail {
		c.emails[email] = w.key
	}
	c.logf("day %d checked: %d rows, %d valid, %d invalid, %d customers; %d differences", d.n, f.Rows, f.Valid, f.Invalid, f.InCRM, f.differences())
	return nil
}

// rerun runs crmsync once more over the last day's file, with the faults
// on: with everything confirmed it must write nothing.
func (c *chaos) rerun(ctx context.Context, d *day) error {
	c.srv.SetFaults(tamiotest.Faults{Seed: int64(c.cfg.Seed) * 1000, ErrorRate: c.cfg.Faults.ErrorRate,
		DropRate: c.cfg.Faults.DropRate, LostAnswerRate: c.cfg.Faults.LostAnswerRate, Latency: c.cfg.Faults.Latency})
	defer c.srv.SetFaults(tamiotest.Faults{})
	out := filepath.Join(c.cfg.Dir, "out-rerun")
	res, err := c.runOnce(ctx, d, out, killPlan{}, "rerun")
	if err != nil {
		return err
	}
	c.rep.Rerun, c.rep.RerunWrites = true, res.writes
	if res.code != 0 && res.code != 3 {
		c.problem("the rerun exited %d; log %s:\n%s", res.code, res.logPath, tail(res.output, 20))
		return nil
	}
	s, err := readSummary(out)
	if err != nil {
		c.problem("the rerun left no readable summary: %v", err)
		return nil
	}
	c.rep.RerunRows = fmt.Sprintf("%d unchanged, %d created, %d updated, %d rejected", s.Rows.Unchanged, s.Rows.Created, s.Rows.Updated, s.Rows.Rejected)
	if s.Rows.Created+s.Rows.Updated != 0 {
		c.problem("the rerun over confirmed work wrote rows: %s", c.rep.RerunRows)
	}
	for kind, n := range c.rep.Faults {
		if n == 0 {
			c.problem("no run met a %s: the chaos did not test it", kind)
		}
	}
	return nil
}

// countFaults adds what the emulator counted between two readings.
// The 5xx, 429s and cut connections are counted by the front, since the
// neighbour meets them too; lost answers by the emulator, which tells them
// from drops (the neighbour only reads, and loses none).
func (c *chaos) countFaults(before, after tamiotest.Stats, front [3]int64) {
	lost := after.ByStatus["lost"] - before.ByStatus["lost"]
	c.rep.Faults["5xx"] += front[0]
	c.rep.Faults["429"] += front[1]
	c.rep.Faults["dropped connection"] += front[2] - lost
	c.rep.Faults["lost answer"] += lost
	route := func(name string, statuses ...string) (n int64) {
		for _, st := range statuses {
			n += after.Requests[name][st] - before.Requests[name][st]
		}
		return n
	}
	c.rep.Imported += after.Imported - before.Imported
	c.rep.ImportSkipped += after.ImportSkipped - before.ImportSkipped
	// Not the lost ones: a create whose answer is lost may have been
	// refused (the email exists), and the count would say more customers
	// were made than the CRM holds.
	c.rep.SingleCreates += route("POST /customers/create", "200")
	c.rep.UpdateCalls += route("POST /customers/update/{uuid}", "200", "lost")
	c.rep.AssignCalls += route("POST /customers/bulk/assign-to-teammate", "200", "lost")
}

// killPlan says when to kill a run: after a delay, or at its nth API
// request (when it arrives, or once the emulator handled it); the zero
// plan never kills.
type killPlan struct {
	delay time.Duration
	nth   int64
	after bool
}

// planKill picks a random moment: a fifth of the kills in the first half
// second (the state loading, the account read), the others at a request
// anywhere in span.
func (c *chaos) planKill(span int64) killPlan {
	if c.rng.IntN(5) == 0 {
		return killPlan{delay: time.Duration(c.rng.Int64N(int64(500 * time.Millisecond)))}
	}
	return killPlan{nth: 1 + c.rng.Int64N(span), after: c.rng.IntN(2) == 0}
}

// runResult is how one crmsync run ended.
type runResult struct {
	code             int
	killedBy         string // how the chaos killed it, "" if it did not
	hung             string // why the run counts as hung, "" when it does not
	crashed          string // a panic or race the run reported
	took             time.Duration
	requests, writes int64
	output, logPath  string
}

func (c *chaos) runOnce(ctx context.Context, d *day, out string, plan killPlan, name string) (*runResult, error) {
	args := []string{"sync", "--source", d.path, "--mapping", c.cfg.Mapping, "--target", c.target,
		"--api-key-env", keyEnv, "--state", c.statePath, "--out", out, "--progress", "none",
		"--concurrency", strconv.Itoa(c.cfg.Concurrency)}
	logPath := filepath.Join(c.cfg.Dir, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	var output bytes.Buffer
	cmd := exec.CommandContext(ctx, c.cfg.Bin, args...)
	cmd.Env = append(os.Environ(), keyEnv+"="+c.key)
	cmd.Stdout, cmd.Stderr = &output, &output
	c.front.reset()
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", c.cfg.Bin, err)
	}
	c.front.arm(cmd.Process, plan, c.drainPlan())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	res := &runResult{logPath: logPath}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case now := <-tick.C:
			last := c.front.lastRequest()
			if last.Before(started) {
				last = started
			}
			idle := now.Sub(last)
			if idle < c.cfg.IdleTimeout && now.Sub(started) < c.cfg.RunTimeout {
				continue
			}
			res.hung = fmt.Sprintf("after %s, %s without an API request", now.Sub(started).Round(time.Second), idle.Round(time.Second))
			_ = cmd.Process.Kill()
			err = <-done
			break wait
		}
	}
	res.took = time.Since(started)
	res.killedBy = c.front.disarm()
	res.requests, res.writes = c.front.requests.Load(), c.front.writes.Load()
	res.output = output.String()
	if werr := os.WriteFile(logPath, output.Bytes(), 0o644); werr != nil {
		return nil, werr
	}
	var ee *exec.ExitError
	var signal syscall.Signal
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			signal = ws.Signal()
		}
	default:
		return nil, err
	}
	if signal != syscall.SIGKILL {
		// The kill reached a process that had exited already: it
		// finished first.
		res.killedBy = ""
	}
	if signal != 0 && res.killedBy == "" && res.hung == "" {
		res.crashed = "killed by " + signal.String() + ", not by the chaos"
	}
	for _, sign := range []string{"panic:", "fatal error:", "DATA RACE"} {
		if i := strings.Index(res.output, sign); i >= 0 && res.killedBy == "" {
			res.crashed = strings.TrimSpace(res.output[i:min(len(res.output), i+200)])
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return res, nil
}

// summary is what the chaos reads of summary.json.
type summary struct {
	Rows struct {
		Read, Created, Updated, Unchanged, Rejected, Pending int64
	} `json:"rows"`
	API struct {
		Calls       int64 `json:"calls"`
		Retries     int64 `json:"retries"`
		RateLimited int64 `json:"rate_limited"`
	} `json:"api"`
}

func readSummary(out string) (*summary, error) {
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		return nil, err
	}
	var s summary
	return &s, json.Unmarshal(data, &s)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// front serves the emulator's API to crmsync, counting requests and
// killing the crmsync process at the request its kill plan names. It sits
// in the request path so that a kill can land exactly while a write is
// being applied.
type front struct {
	api              http.Handler
	requests, writes atomic.Int64 // API requests since reset, and those that write
	got5xx, got429   atomic.Int64 // answers crmsync got, in all
	cut              atomic.Int64 // requests the emulator answered by closing the connection
	last             atomic.Int64 // when the last API request came, in Unix nanoseconds

	// drain is the neighbour's: see chaos.drain. drains counts its calls,
	// drained those that found the bucket empty.
	drain           func() bool
	drains, drained atomic.Int64

	mu      sync.Mutex
	proc    *os.Process
	plan    killPlan
	drainAt []int64 // sorted request numbers
	timer   *time.Timer
	fired   string // how the process was killed; "" while it was not
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v2/") {
		f.api.ServeHTTP(w, r)
		return
	}
	n := f.requests.Add(1)
	f.last.Store(time.Now().UnixNano())
	if r.Method != http.MethodGet {
		f.writes.Add(1)
	}
	f.killAt(n, false, r)
	if f.drainBefore(n) {
		f.drains.Add(1)
		if f.drain() {
			f.drained.Add(1)
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	f.api.ServeHTTP(sw, r)
	switch {
	case sw.status == 0:
		f.cut.Add(1)
	case sw.status == http.StatusTooManyRequests:
		f.got429.Add(1)
	case sw.status >= 500:
		f.got5xx.Add(1)
	}
	f.killAt(n, true, r)
}

// faults returns the 5xx, 429s and connections cut without an answer
// that crmsync met so far.
func (f *front) faults() [3]int64 {
	return [3]int64{f.got5xx.Load(), f.got429.Load(), f.cut.Load()}
}

// statusWriter notes the status of an answer; a connection the emulator
// cuts (a fault) has none. Unwrap lets the emulator hijack the connection
// through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (f *front) lastRequest() time.Time { return time.Unix(0, f.last.Load()) }

func (f *front) reset() {
	f.requests.Store(0)
	f.writes.Store(0)
}

func (f *front) arm(p *os.Process, plan killPlan, drainAt []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proc, f.plan, f.fired, f.drainAt = p, plan, "", drainAt
	if plan.delay > 0 {
		f.timer = time.AfterFunc(plan.delay, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.proc == p {
				f.kill(fmt.Sprintf("timed %s after start", plan.delay.Round(time.Millisecond)))
			}
		})
	}
}

// disarm forgets the process and returns how it was killed, if it was.
func (f *front) disarm() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	f.proc, f.drainAt = nil, nil
	return f.fired
}

// drainBefore reports whether the neighbour drains the bucket before
// request n.
func (f *front) drainBefore(n int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, found := slices.BinarySearch(f.drainAt, n)
	return found && f.proc != nil
}

func (f *front) killAt(n int64, after bool, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proc == nil || f.plan.nth != n || f.plan.after != after {
		return
	}
	when := "arriving"
	if after {
		when = "handled"
	}
	f.kill(fmt.Sprintf("at-request %d (%s %s, %s)", n, r.Method, routeOf(r.URL.Path), when))
}

// kill sends SIGKILL; callers hold f.mu.
func (f *front) kill(how string) {
	if f.fired != "" {
		return
	}
	// A process that already exited cannot be killed: it finished first.
	if f.proc.Signal(syscall.SIGKILL) == nil {
		f.fired = how
	}
}

// routeOf shortens a path for the log: ids are dropped.
func routeOf(p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/v2/"), "/")
	for i, s := range parts {
		if len(s) == 36 && strings.Count(s, "-") == 4 {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// drainPlan picks the requests of a run before which the neighbour
// empties the key's bucket: its first (see Config.FirstDrains), so each
// fresh process meets 429s before its pacer has learnt the rate, and then
// one every few hundred, so
// a long run meets them again; not more often, since each 429 pauses the
// whole run for its Retry-After, as each 503 does. Its numbers come from a
// source of their own, so that the kill plans stay what the seed made them.
func (c *chaos) drainPlan() []int64 {
	c.neighbourRuns++
	rng := mrand.New(mrand.NewPCG(c.cfg.Seed, c.neighbourRuns))
	var at []int64
	if rng.Float64() < c.cfg.FirstDrains {
		at = append(at, 1)
	}
	for n := int64(1); len(at) < 1000; {
		n += 300 + rng.Int64N(600)
		at = append(at, n)
	}
	return at
}

// drain plays another integration that shares crmsync's API key and
// spends its rate limit: it sends bursts of reads, several times what the
// bucket holds, until the emulator answers one with 429. The front calls
// it just before it hands crmsync's request on, which then meets an empty
// bucket. It returns whether the bucket was found empty.
func (c *chaos) drain() bool {
	var empty atomic.Bool
	for try := 0; try < 5 && !empty.Load(); try++ {
		var wg sync.WaitGroup
		for range 3*c.cfg.RateBurst + 5 {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodGet, c.srv.URL+"/teammates/list", nil)
				if err != nil {
					return
				}
				req.Header.Set("Authorization", "Bearer "+c.key)
				resp, err := c.neighbourClient.Do(req)
				if err != nil {
					return // a fault: the neighbour meets them too
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					empty.Store(true)
				}
			})
		}
		wg.Wait()
	}
	return empty.Load()
}
