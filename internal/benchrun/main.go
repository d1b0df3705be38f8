// Command benchrun measures crmsync against the targets of its issues and
// prints one table: the raw encoding/csv and pqarrow read rates of
// generated files beside `crmsync sync --dry-run` rows/s and peak RSS, at
// 1M and 5M rows, the same with a state holding the 1M customers (and the
// update calls of a 1%-changed file), the request rate a sync keeps against
// the tamio emulator limited to 500 requests/s, and against the tiquo
// emulator limited to 50 requests/s (3,000 a minute) with one request per
// changed customer; and the rows of the APIs whose files add them to
// apiRows: COUNT's (count.go) and Revnue's (revnue.go), 2,000 updates each
// at 20 requests/s, and the migration of 20,000 and 100,000 seeded tiquo
// customers into tamio, rate limits off (migrate.go). The files and the
// seeded accounts are generated into -data (never committed) and reused
// on later runs.
//
//	go build -o bin/crmsync ./cmd/crmsync && go run ./internal/benchrun -bin bin/crmsync
//	go run ./internal/benchrun -bin bin/crmsync -only tiquo-rate,revnue-rate
//	go run ./internal/benchrun -bin bin/crmsync -only migrate
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

func main() {
	bin := flag.String("bin", "bin/crmsync", "the crmsync binary to measure")
	data := flag.String("data", "bench-data", "directory for the generated files")
	sizes := flag.String("rows", "1000000,5000000", "row counts to measure, comma-separated")
	rateRows := flag.Int("rate-rows", 10000, "customers updated in the rate test (0 skips it)")
	withState := flag.Bool("state", true, "measure incremental syncs with a state holding the first size's customers")
	tiquoRows := flag.Int("tiquo-rows", 10000, "customers updated in the tiquo rate test (0 skips it)")
	tiquoMapping := flag.String("tiquo-mapping", "internal/chaos/customers.tiquo.yaml", "the mapping of the tiquo rate test")
	only := flag.String("only", "", "run only these rows, comma-separated: "+strings.Join(groupNames(), ", ")+" (dry-run includes the state rows)")
	flag.Parse()
	groups, err := parseOnly(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(2)
	}
	if !groups["dry-run"] {
		*sizes = ""
	}
	if !groups["tamio-rate"] {
		*rateRows = 0
	}
	if !groups["tiquo-rate"] {
		*tiquoRows = 0
	}
	var rows []apiRow
	for _, r := range apiRows {
		if groups[r.group] {
			rows = append(rows, r)
		}
	}
	if err := run(*bin, *data, *sizes, *rateRows, *withState, *tiquoRows, *tiquoMapping, rows); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

type result struct {
	name, value, target string
	ok                  *bool
}

// apiRow is a group of the table's rows measured against one API's
// emulator, started through the connector registry. Each lives in a file
// of its own (count.go) and adds itself to apiRows from init, with the
// flags it reads.
type apiRow struct {
	// group names it for -only.
	group string
	// run measures with the binary bin, its files under data; it is
	// called after flag.Parse, one row at a time, and returns the rows
	// of the table or why it could not measure.
	run func(bin, data string) ([]result, error)
}

// apiRows are the groups the files of API rows add, in the order of
// their file names.
var apiRows []apiRow

// groupNames are the groups -only knows.
func groupNames() []string {
	all := []string{"dry-run", "tamio-rate", "tiquo-rate"}
	for _, r := range apiRows {
		all = append(all, r.group)
	}
	return all
}

// parseOnly reads -only: the groups of rows to run, all when it is empty.
func parseOnly(s string) (map[string]bool, error) {
	all := groupNames()
	groups := map[string]bool{}
	if s == "" {
		for _, g := range all {
			groups[g] = true
		}
		return groups, nil
	}
	for _, g := range strings.Split(s, ",") {
		g = strings.TrimSpace(g)
		if !slices.Contains(all, g) {
			return nil, fmt.Errorf("-only: unknown rows %q (want %s)", g, strings.Join(all, ", "))
		}
		groups[g] = true
	}
	return groups, nil
}

func run(bin, data, sizes string, rateRows int, withState bool, tiquoRows int, tiquoMapping string, rows []apiRow) error {
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	mapping, err := filepath.Abs("samples/customers.tamio.yaml")
	if err != nil {
		return err
	}
	var results []result
	var rss []int64
	var sizeList []string
	if sizes != "" {
		sizeList = strings.Split(sizes, ",")
	}
	for _, s := range sizeList {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n <= 0 {
			return fmt.Errorf("-rows: %q is not a row count", s)
		}
		csvPath, pqPath, err := generate(data, n)
		if err != nil {
			return err
		}
		label := fmt.Sprintf("%dM", n/1000000)
		if n%1000000 != 0 {
			label = fmt.Sprintf("%d", n)
		}
		// Each baseline is measured right before the dry run it is the
		// baseline of, three rounds in turn, and the best of each kept: a
		// shared machine's speed drifts by half within minutes, and a
		// ratio of two rates measured minutes apart would measure that.
		var rawCSV, rawPQ, csvRate, pqRate float64
		var csvRSS, pqRSS int64
		for range 3 {
			r, err := rawCSVRate(csvPath)
			if err != nil {
				return err
			}
			rawCSV = max(rawCSV, r)
			r, rssKB, err := dryRun(bin, csvPath, mapping, data, n)
			if err != nil {
				return err
			}
			csvRate, csvRSS = max(csvRate, r), max(csvRSS, rssKB)
			if r, err = rawParquetRate(pqPath); err != nil {
				return err
			}
			rawPQ = max(rawPQ, r)
			if r, rssKB, err = dryRun(bin, pqPath, mapping, data, n); err != nil {
				return err
			}
			pqRate, pqRSS = max(pqRate, r), max(pqRSS, rssKB)
		}
		rss = append(rss, max(csvRSS, pqRSS))
		var stateResults []result
		if withState && len(rss) == 1 {
			if stateResults, err = stateTest(bin, mapping, data, csvPath, n); err != nil {
				return err
			}
		}
		results = append(results,
			result{name: label + " raw encoding/csv read", value: fmt.Sprintf("%.0f rows/s", rawCSV)},
			result{name: label + " raw pqarrow read", value: fmt.Sprintf("%.0f rows/s", rawPQ)},
			check(label+" sync --dry-run CSV", csvRate/rawCSV, 0.33, fmt.Sprintf("%.0f rows/s = %.2f× raw", csvRate, csvRate/rawCSV), "≥ 0.33× raw"),
			check(label+" sync --dry-run Parquet", pqRate/rawPQ, 0.5, fmt.Sprintf("%.0f rows/s = %.2f× raw", pqRate, pqRate/rawPQ), "≥ 0.5× raw"),
			checkMax(label+" peak RSS CSV", float64(csvRSS)/1024, 150, fmt.Sprintf("%.0f MB", float64(csvRSS)/1024), "≤ 150 MB"),
			checkMax(label+" peak RSS Parquet", float64(pqRSS)/1024, 150, fmt.Sprintf("%.0f MB", float64(pqRSS)/1024), "≤ 150 MB"),
		)
		results = append(results, stateResults...)
	}
	if len(rss) > 1 {
		growth := float64(rss[len(rss)-1]-rss[0]) / 1024
		results = append(results, checkMax("peak RSS growth, first to last size", growth, 50, fmt.Sprintf("%+.0f MB", growth), "flat (≤ +50 MB)"))
	}
	if rateRows > 0 {
		rr, err := rateTest(bin, mapping, data, rateRows)
		if err != nil {
			return err
		}
		results = append(results, rr...)
	}
	if tiquoRows > 0 {
		tm, err := filepath.Abs(tiquoMapping)
		if err != nil {
			return err
		}
		tr, err := tiquoRateTest(bin, tm, data, tiquoRows)
		if err != nil {
			return err
		}
		results = append(results, tr...)
	}
	for _, r := range rows {
		rr, err := r.run(bin, data)
		if err != nil {
			return fmt.Errorf("%s: %w", r.group, err)
		}
		results = append(results, rr...)
	}
	fmt.Println()
	fmt.Printf("%-44s %-60s %-18s %s\n", "measure", "value", "target", "")
	failed := 0
	for _, r := range results {
		verdict := ""
		if r.ok != nil {
			verdict = "PASS"
			if !*r.ok {
				verdict = "FAIL"
				failed++
			}
		}
		fmt.Printf("%-44s %-60s %-18s %s\n", r.name, r.value, r.target, verdict)
	}
	if failed > 0 {
		return fmt.Errorf("%d targets missed", failed)
	}
	return nil
}

func check(name string, v, atLeast float64, value, target string) result {
	ok := v >= atLeast
	return result{name: name, value: value, target: target, ok: &ok}
}

func checkMax(name string, v, atMost float64, value, target string) result {
	ok := v <= atMost
	return result{name: name, value: value, target: target, ok: &ok}
}

func generate(dir string, n int) (string, string, error) {
	csvPath := filepath.Join(dir, fmt.Sprintf("customers-%d.csv", n))
	pqPath := filepath.Join(dir, fmt.Sprintf("customers-%d.parquet", n))
	o := fixtures.Options{Rows: n, Seed: 2026, BadShare: 0.01}
	if _, err := os.Stat(csvPath); err != nil {
		fmt.Fprintf(os.Stderr, "generating %s\n", csvPath)
		if _, err := fixtures.WriteCSV(csvPath, o); err != nil {
			return "", "", err
		}
	}
	if _, err := os.Stat(pqPath); err != nil {
		fmt.Fprintf(os.Stderr, "generating %s\n", pqPath)
		if _, err := fixtures.WriteParquet(pqPath, o, 64*1024); err != nil {
			return "", "", err
		}
	}
	return csvPath, pqPath, nil
}

// rawCSVRate is the baseline: encoding/csv reading every record, nothing
// else.
func rawCSVRate(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	rows := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		rows++
	}
	return float64(rows-1) / time.Since(start).Seconds(), nil
}

// rawParquetRate is the baseline: pqarrow record batches, each string
// value touched once.
func rawParquetRate(path string) (float64, error) {
	start := time.Now()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		return 0, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	rows, total := 0, 0
	for rr.Next() {
		rec := rr.Record()
		for c := 0; c < int(rec.NumCols()); c++ {
			if col, ok := rec.Column(c).(*array.String); ok {
				for i := 0; i < col.Len(); i++ {
					total += len(col.Value(i))
				}
			}
		}
		rows += int(rec.NumRows())
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if total == 0 {
		return 0, fmt.Errorf("%s: read no values", path)
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}

// dryRun runs the binary as a user would and returns its rows/s over the
// whole process and its peak RSS in KiB.
func dryRun(bin, source, mapping, dir string, rows int) (float64, int64, error) {
	out := filepath.Join(dir, "out-dry-run")
	db := filepath.Join(dir, "dry-run-sandbox.db")
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(p)
	}
	cmd := exec.Command(bin, "sync", "--dry-run", "--source", source, "--mapping", mapping,
		"--target", "sandbox", "--sandbox-db", db, "--out", out, "--progress", "none")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		return 0, 0, fmt.Errorf("%s on %s: %w", bin, source, err)
	}
	var s struct {
		Rows struct{ Read int64 } `json:"rows"`
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		return 0, 0, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return 0, 0, err
	}
	if s.Rows.Read != int64(rows) {
		return 0, 0, fmt.Errorf("dry run of %s read %d rows, the file has %d", source, s.Rows.Read, rows)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return float64(rows) / elapsed.Seconds(), ru.Maxrss, nil
}

// rateTest loads rows customers into the emulator limited to 500
// requests/s, then syncs a file in which every name changed, so each row
// is one single update; it reports the request rate kept and the share
// answered 429.
func rateTest(bin, mapping, dir string, rows int) ([]result, error) {
	const limit = 500
	db := filepath.Join(dir, "rate-sandbox.db")
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(p)
	}
	srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: db, RateLimit: limit})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	base := filepath.Join(dir, "rate-base.csv")
	if _, err := fixtures.WriteCSV(base, fixtures.Options{Rows: rows, Seed: 99}); err != nil {
		return nil, err
	}
	if _, err := syncTo(bin, base, mapping, srv, filepath.Join(dir, "out-rate-load")); err != nil {
		return nil, err
	}
	changed := filepath.Join(dir, "rate-changed.csv")
	if err := renameAll(base, changed); err != nil {
		return nil, err
	}
	s, err := syncTo(bin, changed, mapping, srv, filepath.Join(dir, "out-rate"))
	if err != nil {
		return nil, err
	}
	rate := float64(s.API.Calls) / s.Timings.TotalSeconds
	share := float64(s.API.RateLimited) / float64(max(s.API.Calls, 1)) * 100
	return []result{
		{name: "rate test: customers updated", value: fmt.Sprintf("%d of %d", s.Rows.Updated, rows)},
		check(fmt.Sprintf("rate test: request rate vs %d/s limit", limit), rate/limit, 0.95, fmt.Sprintf("%.0f req/s = %.1f%%", rate, rate/limit*100), "≥ 95%"),
		checkMax("rate test: requests answered 429", share, 1, fmt.Sprintf("%d of %d = %.2f%%", s.API.RateLimited, s.API.Calls, share), "≤ 1%"),
	}, nil
}

type summary struct {
	Rows    struct{ Read, Created, Updated, Rejected int64 } `json:"rows"`
	API     struct{ Calls, RateLimited int64 }               `json:"api"`
	Timings struct {
		TotalSeconds float64 `json:"total_seconds"`
	} `json:"timings"`
	// Verify is the verification pass that ends a sync from a CRM.
	Verify struct{ Checked, Agree, Differ, Missing int64 } `json:"verify"`
}

func syncTo(bin, source, mapping string, srv *tamiotest.Server, out string) (*summary, error) {
	cmd := exec.Command(bin, "sync", "--source", source, "--mapping", mapping, "--target", srv.URL,
		"--out", out, "--progress", "none", "--concurrency", "16")
	cmd.Env = append(os.Environ(), "TAMIO_API_KEY="+srv.APIKey)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !(errors.As(err, &ee) && ee.ExitCode() == 3) {
			return nil, fmt.Errorf("sync of %s: %w", source, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		return nil, err
	}
	var s summary
	return &s, json.Unmarshal(data, &s)
}

func renameAll(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	recs, err := csv.NewReader(in).ReadAll()
	if err != nil {
		return err
	}
	for i := 1; i < len(recs); i++ {
		recs[i][2] = "Re" + recs[i][2]
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := csv.NewWriter(out)
	if err := w.WriteAll(recs); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
