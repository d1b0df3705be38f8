package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"crmsync/crm"
	_ "crmsync/crm/all"
	"crmsync/internal/fixtures"
)

// tiquoRateLimit is the limit of the tiquo rate test in requests a second:
// 3,000 a minute, which tiquo counts per key in each minute of the clock.
const tiquoRateLimit = 50

// tiquoRateTest loads rows customers into the tiquo emulator with a state,
// then restarts the emulator limited to 50 requests/s and syncs a file in
// which every first name changed: rows updates, each one PATCH of one
// field. It reports the rate of those PATCHes, the share of requests
// answered 429, and whether each changed customer cost exactly one
// request, all from the emulator's /_sandbox/stats.
//
// The emulator's window is the clock minute: a fresh window allows its
// 3,000 requests at once, so a run that starts late in a minute can beat
// the average. The changed run starts at the top of a minute, and the
// rate is taken over the whole run (rows at 50/s is 200 s, four
// windows), so it measures the pacer's steady state.
func tiquoRateTest(bin, mapping, dir string, rows int) ([]result, error) {
	ctx := context.Background()
	conn, err := crm.Lookup("tiquo")
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "tiquo-rate")
	os.RemoveAll(base)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	crmDB, statePath := filepath.Join(base, "crm.db"), filepath.Join(base, "state.db")
	loadPath := filepath.Join(base, "load.csv")
	if _, err := fixtures.WriteCSV(loadPath, fixtures.Options{Rows: rows, Seed: 99}); err != nil {
		return nil, err
	}
	// The load is not measured: a limit far above what a run reaches.
	sb, err := conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: crmDB, RateLimit: 10000})
	if err != nil {
		return nil, err
	}
	load, err := syncSandbox(bin, sb, loadPath, mapping, filepath.Join(base, "out-load"), statePath)
	if cerr := sb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if load.Rows.Created != int64(rows) {
		return nil, fmt.Errorf("the tiquo load created %d of %d customers", load.Rows.Created, rows)
	}
	changed := filepath.Join(base, "changed.csv")
	if err := renameAll(loadPath, changed); err != nil {
		return nil, err
	}

	sb, err = conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: crmDB, RateLimit: tiquoRateLimit})
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	before, err := sandboxStats(sb)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)))
	started := time.Now()
	s, err := syncSandbox(bin, sb, changed, mapping, filepath.Join(base, "out-changed"), statePath)
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(started)
	after, err := sandboxStats(sb)
	if err != nil {
		return nil, err
	}
	req := after.minus(before)

	patch := "PATCH /customers/{id}"
	patched := req.route(patch, "2")
	var total, limited, reads int64
	var writes []string
	for route, byStatus := range req.Requests {
		for status, n := range byStatus {
			total += n
			if status == "429" {
				limited += n
			}
		}
		n := req.route(route, "")
		switch {
		case strings.HasPrefix(route, "GET "):
			reads += n
		case route != patch && n > 0:
			writes = append(writes, fmt.Sprintf("%s %d", route, n))
		}
	}
	sort.Strings(writes)
	resent := req.route(patch, "") - patched
	rate := float64(patched) / elapsed.Seconds()
	share := float64(limited) / float64(max(total, 1)) * 100
	// One PATCH per changed customer: each applied once, and no other
	// write (no create, no delete). A PATCH answered 429 was not applied
	// and is resent; those count in the 429 share. Reads (the key's check
	// as the run starts) are listed, not counted against it.
	one := patched == int64(rows) && s.Rows.Updated == int64(rows) && len(writes) == 0
	otherText := "no other writes"
	if len(writes) > 0 {
		otherText = strings.Join(writes, ", ")
	}
	return []result{
		{name: "tiquo rate: customers updated", value: fmt.Sprintf("%d of %d in %.0f s", s.Rows.Updated, rows, elapsed.Seconds())},
		check(fmt.Sprintf("tiquo rate: PATCH rate vs %d/s limit", tiquoRateLimit), rate/tiquoRateLimit, 0.95,
			fmt.Sprintf("%.1f req/s = %.1f%%", rate, rate/tiquoRateLimit*100), "≥ 95%"),
		checkMax("tiquo rate: requests answered 429", share, 1, fmt.Sprintf("%d of %d = %.2f%%", limited, total, share), "≤ 1%"),
		check("tiquo rate: requests per changed customer", boolF(one), 1,
			fmt.Sprintf("%d PATCH, %d resent, %d GET; %s", patched, resent, reads, otherText), fmt.Sprintf("%d PATCH", rows)),
	}, nil
}

// syncSandbox runs one sync against a registry sandbox with a state,
// its credentials given through environment variables of the bench's
// own; extra are more flags (--rate). Exit 3 (rows rejected) is a
// success.
func syncSandbox(bin string, sb crm.Sandbox, source, mapping, out, statePath string, extra ...string) (*summary, error) {
	args := []string{"sync", "--source", source, "--mapping", mapping, "--target", sb.URL(),
		"--state", statePath, "--out", out, "--progress", "none"}
	env := os.Environ()
	for name, v := range sb.Credentials() {
		variable := "BENCHRUN_CREDENTIAL_" + strings.ToUpper(name)
		args = append(args, "--credential-env", name+"="+variable)
		env = append(env, variable+"="+v)
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !(errors.As(err, &ee) && ee.ExitCode() == 3) {
			return nil, fmt.Errorf("sync of %s: %w", source, err)
		}
	}
	return readSummary(out)
}

// requestStats are the request counters of an emulator's
// /_sandbox/stats: answers by route and status.
type requestStats struct {
	Requests map[string]map[string]int64 `json:"requests"`
}

// sandboxStats reads the counters of a sandbox's emulator.
func sandboxStats(sb crm.Sandbox) (*requestStats, error) {
	u, err := url.Parse(sb.URL())
	if err != nil {
		return nil, err
	}
	u.Path = crm.StatsPath
	resp, err := http.Get(u.String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	// Every emulator serves the kit's counters at its top level.
	var st requestStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	if st.Requests == nil {
		return nil, fmt.Errorf("%s holds no request counts", u)
	}
	return &st, nil
}

// minus returns the requests counted since before.
func (s *requestStats) minus(before *requestStats) *requestStats {
	out := &requestStats{Requests: map[string]map[string]int64{}}
	for route, byStatus := range s.Requests {
		out.Requests[route] = map[string]int64{}
		for status, n := range byStatus {
			if d := n - before.Requests[route][status]; d != 0 {
				out.Requests[route][status] = d
			}
		}
	}
	return out
}

// route returns the answers of a route whose status starts with prefix
// ("2" for 2xx, "" for all).
func (s *requestStats) route(route, prefix string) (n int64) {
	for status, c := range s.Requests[route] {
		if strings.HasPrefix(status, prefix) {
			n += c
		}
	}
	return n
}
