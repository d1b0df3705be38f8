package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"crmsync/crm"
	"crmsync/internal/seed"
)

var (
	migrateRows    = flag.Int("migrate-rows", 100000, "customers migrated from the tiquo emulator to the tamio emulator (0 skips the migration rows)")
	migrateSmall   = flag.Int("migrate-small", 20000, "customers of a smaller migration measured first, whose peak RSS the large one's is compared with (0: none)")
	migrateMapping = flag.String("migrate-mapping", "samples/migrate/tiquo-to-tamio.yaml", "the mapping of the migration test")
)

// migrateSeed picks the seeded customers; the cached accounts in -data
// are named after it, so changing it seeds new ones.
const migrateSeed = 2026

func init() {
	apiRows = append(apiRows, apiRow{group: "migrate", run: func(bin, data string) ([]result, error) {
		if *migrateRows <= 0 {
			return nil, nil
		}
		mapping, err := filepath.Abs(*migrateMapping)
		if err != nil {
			return nil, err
		}
		var sizes []int
		if *migrateSmall > 0 && *migrateSmall < *migrateRows {
			sizes = append(sizes, *migrateSmall)
		}
		return migrateTest(bin, mapping, data, append(sizes, *migrateRows))
	}})
}

// migration is what one migration run measured.
type migration struct {
	rows    int
	s       *summary
	elapsed time.Duration
	// verifying is how long the verification pass that ends the run
	// took (0 when its log line was not found).
	verifying              time.Duration
	rssKB                  int64
	sourceCalls, tgtCalls  int64
	sourceByRoute, tgtByRt string
}

// migrateTest migrates each size of seeded tiquo customers into an empty
// tamio account, both emulators without a rate limit, with crmsync
// reading tiquo as a source (--source NAME:, a remote of the tiquo
// emulator) and writing tamio through the mapping: rows/s over the whole
// run, crmsync's peak RSS, and the requests each emulator served per
// customer, from their counters at crm.StatsPath. The emulators run in
// this process, so the RSS is crmsync's alone.
func migrateTest(bin, mapping, data string, sizes []int) ([]result, error) {
	var runs []migration
	for _, n := range sizes {
		m, err := migrateOnce(bin, mapping, data, n)
		if err != nil {
			return nil, err
		}
		runs = append(runs, m)
	}
	var out []result
	for _, m := range runs {
		label := fmt.Sprintf("migrate %dk", m.rows/1000)
		rate := float64(m.rows) / m.elapsed.Seconds()
		phases := ""
		if m.verifying > 0 {
			load := m.elapsed - m.verifying
			phases = fmt.Sprintf("; migration %.0f s = %.0f rows/s, verification %.0f s", load.Seconds(), float64(m.rows)/load.Seconds(), m.verifying.Seconds())
		}
		v := m.s.Verify
		out = append(out,
			check(label+" tiquo→tamio: migrated", float64(m.s.Rows.Created), float64(m.rows),
				fmt.Sprintf("%d created, %d rejected of %d read", m.s.Rows.Created, m.s.Rows.Rejected, m.s.Rows.Read), fmt.Sprintf("%d created", m.rows)),
			result{name: label + ": rate", value: fmt.Sprintf("%.0f rows/s (%.0f s%s)", rate, m.elapsed.Seconds(), phases)},
			check(label+": verification", boolF(v.Checked == int64(m.rows) && v.Agree == v.Checked), 1,
				fmt.Sprintf("%d checked, %d agree, %d differ, %d missing", v.Checked, v.Agree, v.Differ, v.Missing), "every one agrees"),
			result{name: label + ": peak RSS", value: fmt.Sprintf("%.0f MB", float64(m.rssKB)/1024)},
			result{name: label + ": tiquo calls/customer", value: fmt.Sprintf("%.4f (%d: %s)", float64(m.sourceCalls)/float64(m.rows), m.sourceCalls, m.sourceByRoute)},
			result{name: label + ": tamio calls/customer", value: fmt.Sprintf("%.4f (%d: %s)", float64(m.tgtCalls)/float64(m.rows), m.tgtCalls, m.tgtByRt)},
		)
	}
	if len(runs) > 1 {
		first, last := runs[0], runs[len(runs)-1]
		growth := float64(last.rssKB-first.rssKB) / 1024
		out = append(out, checkMax(fmt.Sprintf("migrate peak RSS growth, %dk to %dk", first.rows/1000, last.rows/1000), growth, 50,
			fmt.Sprintf("%+.0f MB (%.0f → %.0f MB)", growth, float64(first.rssKB)/1024, float64(last.rssKB)/1024), "flat (≤ +50 MB)"))
	}
	return out, nil
}

// migrateOnce runs one migration of n customers.
func migrateOnce(bin, mapping, data string, n int) (migration, error) {
	ctx := context.Background()
	src, err := seededSource(ctx, data, n)
	if err != nil {
		return migration{}, err
	}
	work := filepath.Join(data, fmt.Sprintf("migrate-%d", n))
	os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return migration{}, err
	}
	srcDB := filepath.Join(work, "tiquo.db")
	// Made-up customers, but customers: kept as a CRM's file is.
	if err := copyFile(src, srcDB); err != nil {
		return migration{}, err
	}
	if err := os.Chmod(srcDB, 0o600); err != nil {
		return migration{}, err
	}
	tiquo, err := crm.Lookup("tiquo")
	if err != nil {
		return migration{}, err
	}
	tamio, err := crm.Lookup("tamio")
	if err != nil {
		return migration{}, err
	}
	// Rate limits off: a limit far above what a run reaches.
	source, err := tiquo.StartSandbox(ctx, crm.SandboxOptions{DBPath: srcDB, RateLimit: 1e6})
	if err != nil {
		return migration{}, err
	}
	defer source.Close()
	target, err := tamio.StartSandbox(ctx, crm.SandboxOptions{DBPath: filepath.Join(work, "tamio.db"), RateLimit: 1e6})
	if err != nil {
		return migration{}, err
	}
	defer target.Close()

	// The two emulators as named remotes, their keys in variables the
	// file names.
	var file strings.Builder
	env := os.Environ()
	file.WriteString("remotes:\n")
	for _, r := range []struct {
		name string
		conn *crm.Connector
		sb   crm.Sandbox
	}{{"bench-source", tiquo, source}, {"bench-target", tamio, target}} {
		fmt.Fprintf(&file, "  %s:\n    api: %s\n    url: %s\n    credentials:\n", r.name, r.conn.Name, r.sb.URL())
		for name, v := range r.sb.Credentials() {
			variable := "BENCHRUN_" + strings.ToUpper(strings.ReplaceAll(r.name, "-", "_")+"_"+name)
			fmt.Fprintf(&file, "      %s: %s\n", name, variable)
			env = append(env, variable+"="+v)
		}
	}
	remotes := filepath.Join(work, "remotes.yaml")
	if err := os.WriteFile(remotes, []byte(file.String()), 0o644); err != nil {
		return migration{}, err
	}

	before := [2]*requestStats{}
	for i, sb := range []crm.Sandbox{source, target} {
		if before[i], err = sandboxStats(sb); err != nil {
			return migration{}, err
		}
	}
	out := filepath.Join(work, "out")
	cmd := exec.Command(bin, "sync", "--config", remotes, "--source", "bench-source:", "--mapping", mapping,
		"--target", "bench-target", "--state", filepath.Join(work, "state.db"), "--out", out, "--progress", "none")
	cmd.Env = env
	// The log says when the verification pass starts.
	var logged bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, io.MultiWriter(os.Stderr, &logged)
	fmt.Fprintf(os.Stderr, "migrating %d customers: %s\n", n, strings.Join(cmd.Args, " "))
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		return migration{}, fmt.Errorf("migration of %d customers: %w", n, err)
	}
	s, err := readSummary(out)
	if err != nil {
		return migration{}, err
	}
	m := migration{rows: n, s: s, elapsed: elapsed, rssKB: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss,
		verifying: verifyTime(logged.String(), start.Add(elapsed))}
	for i, sb := range []crm.Sandbox{source, target} {
		after, err := sandboxStats(sb)
		if err != nil {
			return migration{}, err
		}
		calls, routes := callsByRoute(after.minus(before[i]))
		if i == 0 {
			m.sourceCalls, m.sourceByRoute = calls, routes
		} else {
			m.tgtCalls, m.tgtByRt = calls, routes
		}
	}
	return m, nil
}

// verifyTime reads, from a run's log, when its verification pass started
// and returns the time from then to end; 0 when the log does not say.
func verifyTime(log string, end time.Time) time.Duration {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="verification starting"`) {
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			return end.Sub(t)
		}
	}
	return 0
}

// callsByRoute sums the requests an emulator served and names them by
// route, the most first.
func callsByRoute(st *requestStats) (int64, string) {
	type routeCount struct {
		route string
		n     int64
	}
	var all []routeCount
	var total int64
	for route := range st.Requests {
		if n := st.route(route, ""); n > 0 {
			all = append(all, routeCount{route, n})
			total += n
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].route < all[j].route })
	parts := make([]string, len(all))
	for i, r := range all {
		parts[i] = fmt.Sprintf("%d %s", r.n, r.route)
	}
	return total, strings.Join(parts, ", ")
}

// seededSource returns the SQLite file of a tiquo account holding n seeded
// customers, every field filled, seeding it on the first run and keeping
// it in data for the next: seeding goes through the API one customer a
// request, which is no part of what the bench measures.
func seededSource(ctx context.Context, data string, n int) (string, error) {
	path := filepath.Join(data, fmt.Sprintf("migrate-tiquo-%d-seed%d-v%d.db", n, migrateSeed, seed.Version))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tiquo, err := crm.Lookup("tiquo")
	if err != nil {
		return "", err
	}
	tmp := path + ".seeding"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	fmt.Fprintf(os.Stderr, "seeding %d tiquo customers into %s\n", n, path)
	started := time.Now()
	c, err := seed.Sandbox(ctx, tiquo, crm.SandboxOptions{DBPath: tmp}, seed.Spec{N: n, Seed: migrateSeed, Complete: true}, nil)
	if err != nil {
		return "", err
	}
	if c.Created != int64(n) {
		return "", fmt.Errorf("seeding %s created %d of %d customers", path, c.Created, n)
	}
	fmt.Fprintf(os.Stderr, "seeded in %.0f s\n", time.Since(started).Seconds())
	// Closed, the emulator's database holds everything in its main file.
	for _, p := range []string{tmp + "-wal", tmp + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			return "", fmt.Errorf("%s is left after the emulator closed: the copy would miss it", p)
		}
	}
	return path, os.Rename(tmp, path)
}
