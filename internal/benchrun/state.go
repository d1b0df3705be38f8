package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"crmsync/sinks/tamio/tamiotest"
)

// stateTest measures an incremental sync: a dry run over the same file
// with a state holding every customer of it (the nightly run on a quiet
// day), and a real run over the file with 1% of its synced rows changed,
// which must make exactly that many update calls.
//
// Loading the emulator and the state with the file's customers takes
// minutes; the loaded pair is kept in -data and reused, and the changed
// run works on copies of it.
func stateTest(bin, mapping, dir, csvPath string, rows int) ([]result, error) {
	base := filepath.Join(dir, fmt.Sprintf("state-%d", rows))
	crmDB, statePath := filepath.Join(base, "crm.db"), filepath.Join(base, "state.db")
	loaded := filepath.Join(base, "loaded")
	if _, err := os.Stat(loaded); err != nil {
		if err := loadState(bin, mapping, base, csvPath, crmDB, statePath); err != nil {
			return nil, err
		}
		if err := os.WriteFile(loaded, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return nil, err
		}
	}

	srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: crmDB})
	if err != nil {
		return nil, err
	}
	// Last night's run over the same file: it writes nothing to the CRM,
	// and it brings a state kept from an older crmsync up to date (the
	// source digests that let a run skip mapping unchanged rows), as any
	// user's first nightly run after an upgrade would.
	if _, err := runSync(bin, srv, csvPath, mapping, filepath.Join(base, "out-nightly"), statePath); err != nil {
		srv.Close()
		return nil, err
	}
	// As for the dry runs without a state, each round measures its own
	// baseline right before.
	best, peak, rawCSV := 0.0, int64(0), 0.0
	for range 3 {
		raw, err := rawCSVRate(csvPath)
		if err != nil {
			srv.Close()
			return nil, err
		}
		rawCSV = max(rawCSV, raw)
		out := filepath.Join(base, "out-dry-run")
		start := time.Now()
		ru, err := runSync(bin, srv, csvPath, mapping, out, statePath, "--dry-run")
		if err != nil {
			srv.Close()
			return nil, err
		}
		best, peak = max(best, float64(rows)/time.Since(start).Seconds()), max(peak, ru.Maxrss)
	}
	srv.Close()

	// The changed run writes: it gets copies, so the next bench starts
	// from the same state.
	work := filepath.Join(base, "work")
	os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	for _, p := range []string{crmDB, crmDB + "-wal", statePath, statePath + "-wal", statePath + ".index"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := copyFile(p, filepath.Join(work, filepath.Base(p))); err != nil {
			return nil, err
		}
	}
	changedPath := filepath.Join(base, "changed.csv")
	want, err := changeOnePercent(csvPath, filepath.Join(base, "out-load", "rejects.csv"), changedPath, rows/100)
	if err != nil {
		return nil, err
	}
	srv, err = tamiotest.NewServer(tamiotest.Options{DBPath: filepath.Join(work, "crm.db")})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	before := updateCalls(srv.Stats())
	out := filepath.Join(base, "out-changed")
	if _, err := runSync(bin, srv, changedPath, mapping, out, filepath.Join(work, "state.db")); err != nil {
		return nil, err
	}
	calls := updateCalls(srv.Stats()) - before
	s, err := readSummary(out)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("%dM", rows/1000000)
	return []result{
		check(label+" state: dry run, nothing changed", best/rawCSV, 0.33, fmt.Sprintf("%.0f rows/s = %.2f× raw %.0f", best, best/rawCSV, rawCSV), "≥ 0.33× raw"),
		checkMax(label+" state: peak RSS of that dry run", float64(peak)/1024, 200, fmt.Sprintf("%.0f MB", float64(peak)/1024), "≤ 200 MB"),
		check(label+" state: 1% changed → update calls", boolF(calls == int64(want) && s.Rows.Updated == int64(want) && s.Rows.Created == 0), 1,
			fmt.Sprintf("%d calls, %d updated, %d created", calls, s.Rows.Updated, s.Rows.Created), fmt.Sprintf("exactly %d", want)),
	}, nil
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// loadState syncs the file into a new emulator with a state: the first
// run of a nightly job.
func loadState(bin, mapping, base, csvPath, crmDB, statePath string) error {
	os.RemoveAll(base)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loading the emulator and a state with %s (once; kept in %s)\n", csvPath, base)
	srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: crmDB})
	if err != nil {
		return err
	}
	defer srv.Close()
	_, err = runSync(bin, srv, csvPath, mapping, filepath.Join(base, "out-load"), statePath, "--concurrency", "16")
	return err
}

// runSync runs one sync of the binary against srv with a state; exit 3
// (rows rejected) is a success.
func runSync(bin string, srv *tamiotest.Server, source, mapping, out, statePath string, extra ...string) (*syscall.Rusage, error) {
	args := append([]string{"sync", "--source", source, "--mapping", mapping, "--target", srv.URL,
		"--state", statePath, "--out", out, "--progress", "none"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TAMIO_API_KEY="+srv.APIKey)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !(errors.As(err, &ee) && ee.ExitCode() == 3) {
			return nil, fmt.Errorf("crmsync %v: %w", args, err)
		}
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage), nil
}

func readSummary(out string) (*summary, error) {
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		return nil, err
	}
	var s summary
	return &s, json.Unmarshal(data, &s)
}

func updateCalls(st tamiotest.Stats) int64 {
	var n int64
	for status, c := range st.Requests["POST /customers/update/{uuid}"] {
		if status == "200" {
			n += c
		}
	}
	return n
}

// changeOnePercent copies src to dst with the first name changed on n
// rows that the load did not reject, spread over the file, and returns n.
func changeOnePercent(src, rejectsPath, dst string, n int) (int, error) {
	rejected := map[int]bool{}
	if f, err := os.Open(rejectsPath); err == nil {
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		f.Close()
		if err != nil {
			return 0, err
		}
		for _, rec := range recs[1:] {
			if row, err := strconv.Atoi(rec[len(rec)-5]); err == nil {
				rejected[row] = true
			}
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	r, w := csv.NewReader(in), csv.NewWriter(out)
	r.FieldsPerRecord = -1
	changed := 0
	for row := 0; ; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Close()
			return 0, err
		}
		if row > 0 && row%97 == 0 && changed < n && !rejected[row] && len(rec) > 2 && rec[2] != "" {
			rec[2] = "Changed" + rec[2]
			changed++
		}
		if err := w.Write(rec); err != nil {
			out.Close()
			return 0, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		out.Close()
		return 0, err
	}
	if changed != n {
		out.Close()
		return 0, fmt.Errorf("could change only %d of %d rows", changed, n)
	}
	return n, out.Close()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
