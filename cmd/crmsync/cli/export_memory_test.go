package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/parquet/file"
	"golang.org/x/sync/errgroup"

	"crmsync/gdpr"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// exportAllCustomers is the size of the account TestExportAllMemory
// exports, and exportAllMaxRSS the peak resident memory it may take.
const (
	exportAllCustomers = 100_000
	exportAllMaxRSS    = 150 << 20
)

// TestExportAllMemory exports an account of 100,000 customers with --all
// and checks the peak resident memory of the crmsync process. The
// emulator runs as a `crmsync sandbox` process of its own, so that the
// race detector of the test binary does not slow it down and its memory
// is not counted.
func TestExportAllMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds and exports 100,000 customers: about two minutes")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the peak memory from /proc")
	}
	t.Parallel()
	dir := t.TempDir()
	url, stop := startSandboxProcess(t, filepath.Join(dir, "sandbox.db"))
	defer stop()
	seedStarted := time.Now()
	seedBulk(t, url, exportAllCustomers)
	t.Logf("seeded %d customers in %s", exportAllCustomers, time.Since(seedStarted).Round(time.Millisecond))

	out := filepath.Join(dir, "all")
	started := time.Now()
	cmd := exec.Command(binary, "export", "--api", "tamio", "--target", url, "--all", "--format", "parquet", "--out", out,
		"--api-key-env", keyEnv, "--progress", "none")
	cmd.Env = append(os.Environ(), keyEnv+"="+tamiotest.DefaultKey)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The child's rusage cannot be used: Go starts it with vfork, and
	// Linux counts the parent's peak (this race-enabled test binary's)
	// in the child's ru_maxrss. The kernel's own high-water mark of the
	// child's memory, VmHWM, is read until it exits instead; it only
	// grows, so the last reading is within a few milliseconds of the end.
	var peak int64
	var err error
wait:
	for tick := time.NewTicker(5 * time.Millisecond); ; {
		if hwm := vmHWM(cmd.Process.Pid); hwm > peak {
			peak = hwm
		}
		select {
		case err = <-done:
			tick.Stop()
			break wait
		case <-tick.C:
		}
	}
	if err != nil {
		t.Fatalf("export: %v\n%s", err, output.Bytes())
	}
	took := time.Since(started)
	t.Logf("crmsync export --all --format parquet over %d customers: %s, peak RSS (VmHWM) %.1f MiB",
		exportAllCustomers, took.Round(time.Millisecond), float64(peak)/(1<<20))
	if peak == 0 {
		t.Fatal("no reading of the export's memory")
	}
	if peak > exportAllMaxRSS {
		t.Errorf("peak RSS %.1f MiB, over %d MiB", float64(peak)/(1<<20), exportAllMaxRSS>>20)
	}

	var m struct {
		Counts struct {
			Exported int64 `json:"customers_exported"`
			Files    int   `json:"files"`
		} `json:"counts"`
	}
	files, err := gdpr.ReadManifest(out, &m)
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Exported != exportAllCustomers || m.Counts.Files != exportAllCustomers+1 || len(files) != exportAllCustomers+1 {
		t.Errorf("manifest: %d exported, %d files (%d listed)", m.Counts.Exported, m.Counts.Files, len(files))
	}
	entries, err := os.ReadDir(filepath.Join(out, "subjects"))
	if err != nil || len(entries) != exportAllCustomers {
		t.Errorf("subjects/ holds %d files (%v)", len(entries), err)
	}
	pf, err := file.OpenParquetFile(filepath.Join(out, "customers.parquet"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if n := pf.NumRows(); n != exportAllCustomers {
		t.Errorf("customers.parquet holds %d rows", n)
	}
}

// vmHWM returns the peak resident memory of process pid in bytes, from
// /proc/pid/status, or 0 when it cannot be read (the process is gone).
func vmHWM(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kib << 10
		}
	}
	return 0
}

// startSandboxProcess runs `crmsync sandbox` on a free port of 127.0.0.1
// and returns its base URL and a function stopping it.
func startSandboxProcess(t *testing.T, db string) (string, func()) {
	t.Helper()
	cmd := exec.Command(binary, "sandbox", "--api", "tamio", "--listen", "127.0.0.1:0", "--db", db)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "tamio sandbox serving at "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return url, stop
		}
	}
	stop()
	t.Fatal("the sandbox printed no URL")
	return "", nil
}

// seedBulk creates n customers through bulk/create and waits until the
// sandbox's jobs have created them all.
func seedBulk(t *testing.T, url string, n int) {
	t.Helper()
	ctx := context.Background()
	c := tamio.NewClient(url, tamiotest.DefaultKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	defer c.CloseIdleConnections()
	const body = 1000
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for start := 0; start < n; start += body {
		g.Go(func() error {
			bodies := make([]map[string]any, 0, body)
			for i := start; i < min(start+body, n); i++ {
				bodies = append(bodies, personBody("bulk", i))
			}
			return c.BulkCreate(gctx, bodies)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	stats := strings.TrimSuffix(url, "/v2") + "/_sandbox/stats"
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get(stats)
		if err != nil {
			t.Fatal(err)
		}
		var st tamiotest.Stats
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.Customers == int64(n) && st.JobsPending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 minutes the sandbox holds %d of %d customers", st.Customers, n)
		}
	}
}
