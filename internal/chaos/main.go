// Command chaos syncs a generated export into a CRM's emulator under
// faults (5xx answers, dropped connections, answers lost after the write,
// bursts of 429s), kills crmsync with SIGKILL at random moments and reruns
// it until a run finishes, first on a first load, then on later days'
// exports with changes, and checks after each day that the CRM holds every
// valid row exactly once with the values its mapping gives, that every
// invalid row and nothing else is in the last run's reject file, and that
// the state links each key to the customer the CRM holds for it. It prints
// a table per API and exits 1 on any difference.
//
//	go build -o bin/crmsync ./cmd/crmsync && go run ./internal/chaos -bin bin/crmsync -api tamio,tiquo,count,revnue
//
// -api names the APIs; several run at once, each against its own
// emulator, which keeps `make chaos` within the time of the longest: the
// runs spend most of it waiting out Retry-After pauses, not computing.
// The emulator is started through the connector registry (crm) and the CRM
// read back through the connector's reader, so the checks are the same for
// every API; what the registry does not offer (switching faults while the
// emulator runs, serving it behind the front that kills crmsync) comes
// from the connector's emulator package (apis.go).
//
// The same code runs, smaller, in `make test` (chaos_test.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	flag.StringVar(&cfg.Bin, "bin", "bin/crmsync", "the crmsync binary")
	names := flag.String("api", "tamio", "the CRM APIs whose emulators the runs write to, comma-separated (tamio, tiquo, count, revnue); several run at once")
	flag.StringVar(&cfg.Mapping, "mapping", "", "the mapping file, its lookup tables beside it, for a single -api (default: samples/customers.tamio.yaml for tamio, internal/chaos/customers.NAME.yaml for the others)")
	flag.IntVar(&cfg.Rows, "rows", 0, "rows of the first day's export (default: 20000 for tamio; 3000 for tiquo, 2000 for count and revnue, which make a request or two per row)")
	flag.IntVar(&cfg.Kills, "kills", 10, "the fewest runs to kill with SIGKILL")
	flag.Float64Var(&cfg.ChangeShare, "change", 0, "share of the valid rows renamed on each day after the first (default: 0.10 for tamio, 0.25 for the others)")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the data, the faults and the kill moments (0: from the clock; the table shows it, to rerun with the same data, faults and kill points)")
	flag.IntVar(&cfg.Concurrency, "concurrency", 8, "crmsync --concurrency")
	flag.Float64Var(&cfg.RateLimit, "rate-limit", 0, "the emulator's requests per second per key (default: 100 for tamio, burst 5; 33.33 for tiquo and count, 2,000 a minute; 25 for revnue, 1,500 in any sliding minute; count's and revnue's crmsync is told it with --rate)")
	dir := flag.String("dir", "", "directory for the files, kept afterwards, a subdirectory per API (default: a temporary one per API, removed when its run passes)")
	verbose := flag.Bool("v", false, "a line per crmsync run")
	flag.Parse()
	if err := run(cfg, strings.Split(*names, ","), *dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

// run runs the chaos for each API at once and prints their tables in the
// order named.
func run(cfg Config, names []string, dir string, verbose bool) error {
	if len(names) > 1 && cfg.Mapping != "" {
		return errors.New("-mapping goes with a single -api")
	}
	for i, name := range names {
		names[i] = strings.TrimSpace(name)
		if _, err := lookupAPI(names[i]); err != nil {
			return err
		}
	}
	var err error
	if cfg.Bin, err = filepath.Abs(cfg.Bin); err != nil {
		return err
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano()%1_000_000) + 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errs := make([]error, len(names))
	reps := make([]*Report, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		c := cfg
		c.API = name
		if verbose {
			c.Log = os.Stderr
			if len(names) > 1 {
				c.Log = &prefixWriter{prefix: name + ": ", w: os.Stderr}
			}
		}
		sub := dir
		if sub != "" && len(names) > 1 {
			sub = filepath.Join(dir, name)
		}
		wg.Go(func() { reps[i], errs[i] = runOne(ctx, c, sub) })
	}
	wg.Wait()
	var failed []string
	for i, name := range names {
		if reps[i] != nil {
			reps[i].Print(os.Stdout)
		}
		if errs[i] != nil {
			fmt.Fprintf(os.Stderr, "chaos %s: %v\n", name, errs[i])
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s failed", strings.Join(failed, " and "))
	}
	return nil
}

// runOne runs the chaos for one API in dir, a temporary directory when
// dir is "", removed if the run passes.
func runOne(ctx context.Context, cfg Config, dir string) (*Report, error) {
	a, err := lookupAPI(cfg.API)
	if err != nil {
		return nil, err
	}
	if cfg.Mapping == "" {
		cfg.Mapping = a.mapping
	}
	if cfg.Mapping, err = filepath.Abs(cfg.Mapping); err != nil {
		return nil, err
	}
	keep := dir != ""
	if keep {
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "crmsync-chaos-"+cfg.API+"-")
	}
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	rep, err := Run(ctx, cfg)
	if err != nil {
		return rep, fmt.Errorf("%w (files in %s)", err, dir)
	}
	if !rep.OK() {
		return rep, fmt.Errorf("the run failed (see its table); its files are in %s", dir)
	}
	if !keep {
		return rep, os.RemoveAll(dir)
	}
	return rep, nil
}

// prefixWriter starts each write, a log line, with its prefix, so that the
// lines of runs going on at once tell their API.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, p.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
