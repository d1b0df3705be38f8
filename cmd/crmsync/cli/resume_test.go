package cli_test

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
	"crmsync/sinks/tamio/tamiotest"
)

// TestKillAndResume kills incremental syncs with SIGKILL at random moments
// of a first load and of a day of updates, against an emulator with
// faults on, and reruns each until it finishes. Afterwards every valid
// row is in the CRM exactly once with its values, the state links each
// key to the one customer the CRM holds for it, and one more run writes
// nothing.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a dozen runs")
	}
	dir := t.TempDir()
	srv := newCRM(t, tamiotest.Options{BulkDelay: 20 * time.Millisecond, RateLimit: 600, RateBurst: 20})
	mapping := mappingIn(t, dir)
	statePath := filepath.Join(dir, "state.db")
	rng := rand.New(rand.NewPCG(42, 7))

	day1, rows := generate(t, dir, "day1.csv", fixtures.Options{Rows: 2500, Seed: 21, BadShare: 0.03})
	day2 := filepath.Join(dir, "day2.csv")
	for i := 1; i < len(rows); i++ {
		if i%4 == 0 {
			rows[i][2] = "Resumed" + strconv.Itoa(i) + " " + rows[i][2]
		}
	}
	writeCSVFile(t, day2, rows)

	kills := 0
	for day, source := range []string{day1, day2} {
		srv.SetFaults(tamiotest.Faults{Seed: int64(day + 1), ErrorRate: 0.05, DropRate: 0.02, LostAnswerRate: 0.03})
		for attempt := 0; ; attempt++ {
			out := filepath.Join(dir, "out"+strconv.Itoa(day)+"-"+strconv.Itoa(attempt))
			args := syncArgs(source, mapping, srv.URL, out, "--state", statePath)
			started := time.Now()
			cmd, stdout, stderr := startBinary(t, srv.APIKey, args...)
			if attempt < 6 {
				// Anywhere from the state's loading to the last batches.
				time.Sleep(time.Duration(20+rng.IntN(600)) * time.Millisecond)
				if cmd.Process.Kill() == nil {
					_ = cmd.Wait()
					if cmd.ProcessState.Success() {
						t.Logf("day %d attempt %d finished before the kill", day+1, attempt)
						break
					}
					kills++
					continue
				}
			}
			// The final run of day 1 updates about a thousand customers one
			// call each (tamio has no bulk update): 23 s alone, several
			// times that beside the rest of the suite under -race. The
			// bound only catches a hang.
			res := waitBinary(t, cmd, stdout, stderr, started, 5*time.Minute)
			if res.code != cli.ExitRejects {
				t.Fatalf("day %d final run: exit %d\n%s\n%s", day+1, res.code, res.stdout, res.stderr)
			}
			s := readSummary(t, out)
			checkCounts(t, s)
			t.Logf("day %d after %d kills: %+v, api %+v, took %s", day+1, attempt, s.Rows, s.API, res.took)
			if testing.Verbose() {
				t.Log(res.stderr)
			}
			srv.SetFaults(tamiotest.Faults{})
			checkCRM(t, srv, source, out)
			stateMatchesCRM(t, statePath, srv)
			break
		}
	}
	if kills < 8 {
		t.Errorf("only %d runs were killed mid-way; the test needs more to mean something", kills)
	}

	before := writeCalls(sandboxStats(t, srv))
	s := syncState(t, srv.APIKey, day2, mapping, srv.URL, filepath.Join(dir, "final"), statePath, cli.ExitRejects)
	if after := writeCalls(sandboxStats(t, srv)); !mapsEqual(before, after) || s.Rows.Created+s.Rows.Updated != 0 {
		t.Errorf("a run after the resumed ones wrote: %+v (calls before %v, after %v)", s.Rows, before, after)
	}
}
