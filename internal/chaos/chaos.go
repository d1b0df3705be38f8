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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"crmsync/crm"
	_ "crmsync/crm/all"
	"crmsync/internal/emulator"
	"crmsync/internal/fixtures"
	"crmsync/pipeline"
)

// Config says what a chaos run does; zero fields take the defaults of
// withDefaults.
type Config struct {
	// API names the connector whose emulator the runs write to; default
	// tamio.
	API string
	// Bin is the crmsync binary; Mapping the mapping file (its lookup
	// tables beside it; default the API's, see apis); Dir an existing
	// directory for the files.
	Bin, Mapping, Dir string
	// Rows is the size of the first day's export (default the API's);
	// BadShare the share of rows broken on purpose; ChangeShare the share
	// of valid rows whose name changes each later day (default the
	// API's).
	Rows                  int
	BadShare, ChangeShare float64
	// Kills is the fewest SIGKILLs the run must deliver; more days are
	// added until it has, at most MaxDays.
	Kills, MaxDays int
	Seed           uint64
	// Concurrency is crmsync's --concurrency.
	Concurrency int
	// RateLimit is the emulator's limit per key in requests a second
	// (default the API's), which crmsync shares with a neighbour that
	// spends it now and then (see drainPlan). RateBurst is the size of
	// tamio's token bucket.
	RateLimit float64
	RateBurst int
	// FirstDrains is the share of runs whose first request meets an
	// emptied bucket; default 1, every run. A pacer that meets a 429
	// before any answer crawls for seconds while it finds the rate again,
	// which a short run cannot always afford. An API whose limit is a
	// window of the clock minute is drained at each minute's end instead.
	FirstDrains float64
	// BulkDelay is how long tamio's bulk jobs wait before they run.
	BulkDelay time.Duration
	// Faults are injected during every crmsync run; their Seed is set
	// per day from Seed.
	Faults emulator.Faults
	// A crmsync run counts as hung when it made no API request for
	// IdleTimeout, or ran longer than RunTimeout.
	IdleTimeout, RunTimeout time.Duration
	// Log receives a line per run; nil discards them.
	Log io.Writer
}

func (c Config) withDefaults(a *api) Config {
	c.API = a.name
	if c.Mapping == "" {
		c.Mapping = a.mapping
	}
	if c.Rows <= 0 {
		c.Rows = a.rows
	}
	if c.BadShare == 0 {
		c.BadShare = 0.03
	}
	if c.ChangeShare == 0 {
		c.ChangeShare = a.change
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
		c.RateLimit = a.rate
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
	if c.Faults == (emulator.Faults{}) {
		c.Faults = emulator.Faults{ErrorRate: 0.10, DropRate: 0.03, LostAnswerRate: 0.03}
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
	// included. Answered counts, by write route ("PATCH /customers/{id}"),
	// the writes answered 2xx; Lost those applied whose answer was then
	// lost (a write refused may be among them); Refused the writes
	// answered 4xx other than 429, by route and status (a create sent
	// again after a kill or a lost answer, which the email's uniqueness
	// refuses). Imported and ImportSkipped are tamio's bulk jobs':
	// customers created, and skipped because their email existed.
	Answered, Lost, Refused map[string]int64
	Imported, ImportSkipped int64
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

// credentialEnv is the environment variable that carries a credential
// (tiquo's "api_key", COUNT's "token", "client_id" and "client_secret")
// to crmsync.
func credentialEnv(name string) string {
	return "CRMSYNC_CHAOS_" + strings.ToUpper(name)
}

// Run starts the emulator, runs and kills crmsync day after day, and
// checks after each day. An error means the run could not be carried out;
// what it found is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.API == "" {
		cfg.API = "tamio"
	}
	a, err := lookupAPI(cfg.API)
	if err != nil {
		return nil, err
	}
	conn, err := crm.Lookup(a.name)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(a)
	started := time.Now()
	rep := &Report{Config: cfg, Faults: map[string]int64{},
		Answered: map[string]int64{}, Lost: map[string]int64{}, Refused: map[string]int64{}}
	keyBytes := make([]byte, 12)
	if _, err := rand.Read(keyBytes); err != nil {
		return nil, err
	}
	key := "chaos-" + hex.EncodeToString(keyBytes)
	// What SandboxOptions cannot say (the key's permissions, tamio's
	// bucket and bulk delay) goes in the emulator's configuration file.
	conf := filepath.Join(cfg.Dir, "sandbox.yaml")
	if err := os.WriteFile(conf, []byte(a.config(cfg, key)), 0o600); err != nil {
		return nil, err
	}
	sb, err := conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: filepath.Join(cfg.Dir, "crm.db"), ConfigFile: conf})
	if err != nil {
		return nil, fmt.Errorf("starting the %s emulator: %w", a.name, err)
	}
	defer sb.Close()
	base, err := url.Parse(sb.URL())
	if err != nil {
		return nil, err
	}
	sink, err := conn.NewSink(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials()})
	if err != nil {
		return nil, err
	}
	props := sink.Properties()
	if err := sink.Close(); err != nil {
		return nil, err
	}
	fr := &front{api: sb.Handler(), prefix: strings.TrimSuffix(base.Path, "/"), window: a.window}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: fr, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	c := &chaos{cfg: cfg, api: a, conn: conn, bulk: props.BulkCreate, sb: sb, front: fr,
		target:          "http://" + ln.Addr().String() + fr.prefix,
		statePath:       filepath.Join(cfg.Dir, "state.db"),
		rng:             mrand.New(mrand.NewPCG(cfg.Seed, 0xc4a05)),
		started:         started,
		rep:             rep,
		client:          &http.Client{Timeout: 30 * time.Second},
		neighbourClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	defer c.neighbourClient.CloseIdleConnections()
	defer c.client.CloseIdleConnections()
	fr.drain, fr.lead = c.drain, c.drainLead
	err = c.days(ctx)
	rep.Drains, rep.Drained = fr.drains.Load(), fr.drained.Load()
	if err != nil {
		return rep, err
	}
	rep.Took = time.Since(started)
	return rep, nil
}

type chaos struct {
	cfg  Config
	api  *api
	conn *crm.Connector
	// bulk says the sink creates customers in bulk calls, a few per
	// thousand rows, rather than one request each.
	bulk      bool
	rep       *Report
	sb        crm.Sandbox
	front     *front
	target    string
	statePath string
	rng       *mrand.Rand
	started   time.Time
	// emails are those valid rows had on earlier days, by key.
	emails map[string]string
	// kept is the check of the customers api.entered stored, nil without.
	kept func(ctx context.Context, f *findings) error
	// client reads the emulator's stats and, through the connector's
	// reader, the CRM for the checks.
	client *http.Client

	neighbourRuns   uint64
	neighbourClient *http.Client
	// drainSpeed is the reads a second of the neighbour's last drain, as
	// math.Float64bits; 0 before the first.
	drainSpeed atomic.Uint64
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
	if d.n == 1 && c.api.entered != nil {
		exp, err := expect(c.conn.Schema, c.cfg.Mapping, fixtures.Columns, d.rows, nil)
		if err != nil {
			return err
		}
		if c.kept, err = c.api.entered(ctx, c.sb, exp); err != nil {
			return fmt.Errorf("entering customers before the first run: %w", err)
		}
	}
	faults := c.cfg.Faults
	faults.Seed = int64(c.cfg.Seed)*100 + int64(d.n)
	c.sb.SetFaults(faults)
	before, err := readStats(ctx, c.client, c.sb.URL())
	if err != nil {
		return err
	}
	frontBefore := c.front.faults()
	// Kills land at a request anywhere in span. A first load through bulk
	// creates makes about a call per page of customers (they are read
	// back by listing); one through single creates a call per row, of
	// which each kill takes a share, so that the runs before the last
	// still get through the file. A later day makes about one call per
	// changed row, of which a kill anywhere in the first half finds from
	// nothing to several batches confirmed (a batch of 1,000 rows commits
	// when its last write is answered, and --concurrency batches share
	// the calls), without making each killed run as long as a whole one.
	span := int64(len(d.rows)/100 + 20)
	if !c.bulk {
		span = int64(len(d.rows)/max(target, 1) + 20)
	}
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
	after, err := readStats(ctx, c.client, c.sb.URL())
	if err != nil {
		return err
	}
	c.countFaults(before, after, [3]int64{frontAfter[0] - frontBefore[0], frontAfter[1] - frontBefore[1], frontAfter[2] - frontBefore[2]})
	dr.Took = time.Since(started)

	c.sb.SetFaults(emulator.Faults{})
	exp, err := expect(c.conn.Schema, c.cfg.Mapping, fixtures.Columns, d.rows, c.emails)
	if err != nil {
		return err
	}
	// Work of killed runs the emulator queued (tamio's bulk jobs) is part
	// of what the CRM ends up holding.
	idle, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.sb.WaitIdle(idle); err != nil {
		return fmt.Errorf("waiting for the emulator's queued work: %w", err)
	}
	rd, err := c.reader(exp.schema)
	if err != nil {
		return err
	}
	f, err := check(ctx, rd, filepath.Join(out, "rejects.csv"), c.statePath, exp)
	if err != nil {
		return err
	}
	if c.kept != nil {
		if err := c.kept(ctx, f); err != nil {
			return err
		}
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
	faults := c.cfg.Faults
	faults.Seed = int64(c.cfg.Seed) * 1000
	c.sb.SetFaults(faults)
	defer c.sb.SetFaults(emulator.Faults{})
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
func (c *chaos) countFaults(before, after *emuStats, front [3]int64) {
	lost := after.ByStatus["lost"] - before.ByStatus["lost"]
	c.rep.Faults["5xx"] += front[0]
	c.rep.Faults["429"] += front[1]
	c.rep.Faults["dropped connection"] += front[2] - lost
	c.rep.Faults["lost answer"] += lost
	c.rep.Imported += after.Imported - before.Imported
	c.rep.ImportSkipped += after.ImportSkipped - before.ImportSkipped
	for route, byStatus := range after.Requests {
		if strings.HasPrefix(route, "GET ") || !strings.Contains(route, " ") {
			continue
		}
		for status := range byStatus {
			n := after.count(before, route, status)
			switch {
			case n == 0:
			case status == "lost":
				c.rep.Lost[route] += n
			case strings.HasPrefix(status, "2"):
				c.rep.Answered[route] += n
			case strings.HasPrefix(status, "4") && status != "429":
				c.rep.Refused[route+" "+status] += n
			}
		}
	}
}

// reader returns the connector's reader of the CRM with the mapping's
// schema, for the checks; at crmsync's rate when the connector cannot
// learn the limit from the answers.
func (c *chaos) reader(schema *pipeline.Schema) (pipeline.Reader, error) {
	cfg := crm.Config{BaseURL: c.sb.URL(), Credentials: c.sb.Credentials(), HTTPClient: c.client, Schema: schema}
	if c.api.pace {
		cfg.Rate = c.cfg.RateLimit
	}
	return c.conn.NewReader(cfg)
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
		"--state", c.statePath, "--out", out, "--progress", "none",
		"--concurrency", strconv.Itoa(c.cfg.Concurrency)}
	if c.api.pace {
		args = append(args, "--rate", strconv.FormatFloat(c.cfg.RateLimit, 'g', -1, 64))
	}
	env := os.Environ()
	for cred, v := range c.sb.Credentials() {
		args = append(args, "--credential-env", cred+"="+credentialEnv(cred))
		env = append(env, credentialEnv(cred)+"="+v)
	}
	logPath := filepath.Join(c.cfg.Dir, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	var output bytes.Buffer
	cmd := exec.CommandContext(ctx, c.cfg.Bin, args...)
	cmd.Env = env
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
