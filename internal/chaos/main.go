// Command chaos syncs a generated export into the tamio emulator under
// faults (5xx answers, dropped connections, answers lost after the write,
// bursts of 429s), kills crmsync with SIGKILL at random moments and reruns
// it until a run finishes, first on a first load, then on later days'
// exports with changes, and checks after each day that the CRM holds every
// valid row exactly once with the values its mapping gives, that every
// invalid row and nothing else is in the last run's reject file, and that
// the state links each key to the customer the CRM holds for it. It prints
// a table and exits 1 on any difference.
//
//	go build -o bin/crmsync ./cmd/crmsync && go run ./internal/chaos -bin bin/crmsync
//
// The same code runs, smaller, in `make test` (chaos_test.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	flag.StringVar(&cfg.Bin, "bin", "bin/crmsync", "the crmsync binary")
	flag.StringVar(&cfg.Mapping, "mapping", "samples/customers.tamio.yaml", "the mapping file, its lookup tables beside it")
	flag.IntVar(&cfg.Rows, "rows", 20000, "rows of the first day's export")
	flag.IntVar(&cfg.Kills, "kills", 10, "the fewest runs to kill with SIGKILL")
	flag.Float64Var(&cfg.ChangeShare, "change", 0.25, "share of the valid rows renamed on each day after the first")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the data, the faults and the kill moments (0: from the clock; the table shows it, to rerun with the same data, faults and kill points)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 8, "crmsync --concurrency")
	flag.Float64Var(&cfg.RateLimit, "rate-limit", 100, "the emulator's requests per second per key (burst 5)")
	dir := flag.String("dir", "", "directory for the files, kept afterwards (default: a temporary one, removed when the run passes)")
	verbose := flag.Bool("v", false, "a line per crmsync run")
	flag.Parse()
	if err := run(cfg, *dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(cfg Config, dir string, verbose bool) error {
	var err error
	if cfg.Bin, err = filepath.Abs(cfg.Bin); err != nil {
		return err
	}
	if cfg.Mapping, err = filepath.Abs(cfg.Mapping); err != nil {
		return err
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano()%1_000_000) + 1
	}
	keep := dir != ""
	if keep {
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "crmsync-chaos-")
	}
	if err != nil {
		return err
	}
	cfg.Dir = dir
	if verbose {
		cfg.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg)
	if rep != nil {
		rep.Print(os.Stdout)
	}
	if err != nil {
		return fmt.Errorf("%w (files in %s)", err, dir)
	}
	if !rep.OK() {
		return fmt.Errorf("the run failed (see above); its files are in %s", dir)
	}
	if !keep {
		return os.RemoveAll(dir)
	}
	return nil
}
