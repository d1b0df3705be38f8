package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"crmsync/crm"
	"crmsync/internal/fixtures"
)

// countRateLimit is the limit of the COUNT rate test in requests a second:
// 1,200 a minute, which COUNT counts per client id in each minute of the
// clock (its documented 100 a minute would make the test 20 minutes).
const countRateLimit = 20

// The routes of counttest's stats the test reads.
const (
	countPut  = "PUT /customers/{uuid}"
	countFind = "GET /customers/find-by-email"
)

var (
	countRows    = flag.Int("count-rows", 2000, "customers updated in the COUNT rate test, a tenth of them changing email (0 skips it)")
	countMapping = flag.String("count-mapping", "samples/customers.count.yaml", "the mapping of the COUNT rate test")
)

func init() {
	apiRows = append(apiRows, apiRow{group: "count-rate", run: func(bin, data string) ([]result, error) {
		if *countRows <= 0 {
			return nil, nil
		}
		mapping, err := filepath.Abs(*countMapping)
		if err != nil {
			return nil, err
		}
		return countRateTest(bin, mapping, data, *countRows)
	}})
}

// countRateTest loads rows customers into the COUNT emulator with a
// state, then restarts the emulator limited to 20 requests/s and syncs,
// with --rate 20 (COUNT's answers carry no rate headers, so crmsync must
// be told a raised limit), a file in which every name changed and a
// tenth of the emails: rows updates. It reports the rate the run keeps
// against the limit, the share of requests answered 429, and whether
// each changed customer cost exactly one PUT and each changed email one
// find-by-email, all from the emulator's /_sandbox/stats.
//
// The rate is that of the requests the limit let through (the PUTs, the
// find-by-emails and the credentials check as the run starts: every one
// counts against COUNT's limit) over the run's time on the clock. As in
// the tiquo test, the run starts at the top of a minute, since a fresh
// window of the clock allows its 1,200 requests at once, and lasts about
// two windows.
func countRateTest(bin, mapping, dir string, rows int) ([]result, error) {
	ctx := context.Background()
	conn, err := crm.Lookup("count")
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "count-rate")
	os.RemoveAll(base)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	crmDB, statePath := filepath.Join(base, "crm.db"), filepath.Join(base, "state.db")
	loadPath := filepath.Join(base, "load.csv")
	if _, err := fixtures.WriteCSV(loadPath, fixtures.Options{Rows: rows, Seed: 99}); err != nil {
		return nil, err
	}
	// The load is not measured: a limit far above what a run reaches,
	// and crmsync told so.
	sb, err := conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: crmDB, RateLimit: 10000})
	if err != nil {
		return nil, err
	}
	load, err := syncSandbox(bin, sb, loadPath, mapping, filepath.Join(base, "out-load"), statePath, "--rate", "10000")
	if cerr := sb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if load.Rows.Created != int64(rows) {
		return nil, fmt.Errorf("the COUNT load created %d of %d customers", load.Rows.Created, rows)
	}
	changed := filepath.Join(base, "changed.csv")
	moved, err := renameAndMove(loadPath, changed, 10)
	if err != nil {
		return nil, err
	}

	sb, err = conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: crmDB, RateLimit: countRateLimit})
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
	s, err := syncSandbox(bin, sb, changed, mapping, filepath.Join(base, "out-changed"), statePath,
		"--rate", strconv.Itoa(countRateLimit))
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(started)
	after, err := sandboxStats(sb)
	if err != nil {
		return nil, err
	}
	req := after.minus(before)

	var total, limited, otherReads int64
	var writes []string
	for route, byStatus := range req.Requests {
		for status, n := range byStatus {
			total += n
			if status == "429" {
				limited += n
			}
		}
		n := req.route(route, "") - req.Requests[route]["429"]
		switch {
		case route == countPut || route == countFind:
		case strings.HasPrefix(route, "GET "):
			otherReads += n
		case n > 0:
			writes = append(writes, fmt.Sprintf("%s %d", route, n))
		}
	}
	sort.Strings(writes)
	// A request answered 429 was not applied and is resent; those count
	// in the 429 share, not as a second write or find.
	put := req.route(countPut, "2")
	putOther := req.route(countPut, "") - req.Requests[countPut]["429"] - put
	finds := req.route(countFind, "") - req.Requests[countFind]["429"]
	admitted := total - limited
	rate := float64(admitted) / elapsed.Seconds()
	share := float64(limited) / float64(max(total, 1)) * 100
	one := put == int64(rows) && putOther == 0 && finds == int64(moved) && len(writes) == 0 &&
		s.Rows.Updated == int64(rows) && s.Rows.Created == 0 && s.Rows.Rejected == 0
	otherText := "no other writes"
	if len(writes) > 0 {
		otherText = strings.Join(writes, ", ")
	}
	if putOther > 0 {
		otherText = fmt.Sprintf("%d PUT refused; %s", putOther, otherText)
	}
	return []result{
		{name: "count rate: customers updated", value: fmt.Sprintf("%d of %d (%d emails) in %.0f s", s.Rows.Updated, rows, moved, elapsed.Seconds())},
		check(fmt.Sprintf("count rate: request rate vs %d/s limit", countRateLimit), rate/countRateLimit, 0.95,
			fmt.Sprintf("%.1f req/s = %.1f%% (PUT alone %.1f/s)", rate, rate/countRateLimit*100, float64(put)/elapsed.Seconds()), "≥ 95%"),
		checkMax("count rate: requests answered 429", share, 1, fmt.Sprintf("%d of %d = %.2f%%", limited, total, share), "≤ 1%"),
		check("count rate: requests per changed customer", boolF(one), 1,
			fmt.Sprintf("%d PUT, %d find-by-email, %d other GET; %s", put, finds, otherReads, otherText),
			fmt.Sprintf("%d PUT, %d find", rows, moved)),
	}, nil
}

// renameAndMove writes src to dst with every name changed and the email
// of every nth row too (a new address, still unique): a sync with a
// state sees every row changed, and every nth as an email change. It
// returns how many emails changed.
func renameAndMove(src, dst string, nth int) (int, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	recs, err := csv.NewReader(in).ReadAll()
	if err != nil {
		return 0, err
	}
	name, email := slices.Index(fixtures.Columns, "full_name"), slices.Index(fixtures.Columns, "email")
	moved := 0
	for i := 1; i < len(recs); i++ {
		recs[i][name] = "Re" + recs[i][name]
		if i%nth == 0 {
			recs[i][email] = "moved." + strings.TrimSpace(recs[i][email])
			moved++
		}
	}
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	w := csv.NewWriter(out)
	if err := w.WriteAll(recs); err != nil {
		out.Close()
		return 0, err
	}
	return moved, out.Close()
}
