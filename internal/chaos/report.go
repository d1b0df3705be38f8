package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Print writes the report as the table `make chaos` shows.
func (r *Report) Print(w io.Writer) {
	cfg := r.Config
	f := cfg.Faults
	limit := fmt.Sprintf("rate limit %.0f req/s per key", cfg.RateLimit)
	if a := apis[cfg.API]; a != nil {
		limit = a.limit(cfg)
	}
	fmt.Fprintf(w, "\ncrmsync chaos run against %s: %d rows (%.0f%% broken on purpose), seed %d, at least %d kills\n", cfg.API, cfg.Rows, cfg.BadShare*100, cfg.Seed, cfg.Kills)
	fmt.Fprintf(w, "faults: %.0f%% 5xx, %.0f%% dropped connections, %.0f%% lost answers; %s\n\n",
		f.ErrorRate*100, f.DropRate*100, f.LostAnswerRate*100, limit)

	fmt.Fprintf(w, "%-4s %7s %8s %5s %6s %7s %8s %8s %10s %9s %9s %9s  %s\n",
		"day", "rows", "changed", "runs", "kills", "failed", "created", "updated", "unchanged", "rejected", "requests", "took", "kills by")
	var created, updated int64
	for _, d := range r.Days {
		created += d.Created
		updated += d.Updated
		fmt.Fprintf(w, "%-4d %7d %8d %5d %6d %7d %8d %8d %10d %9d %9d %9s  %s\n",
			d.Day, d.Rows, d.Changed, d.Runs, d.Kills, d.Failed, d.Created, d.Updated, d.Unchanged, d.Rejected, d.Requests,
			d.Took.Round(100*time.Millisecond), kinds(d.KilledBy))
	}
	fmt.Fprintln(w)
	var met []string
	for _, k := range []string{"5xx", "dropped connection", "lost answer", "429"} {
		met = append(met, fmt.Sprintf("%s %d", k, r.Faults[k]))
	}
	fmt.Fprintf(w, "faults the runs met: %s (the key's limit spent by a neighbour %d times, found spent %d)\n",
		strings.Join(met, ", "), r.Drains, r.Drained)
	fmt.Fprintln(w, "writes the CRM got (retries and redone work included):")
	for _, route := range sortedKeys(r.Answered, r.Lost) {
		fmt.Fprintf(w, "  %-44s %7d answered 2xx, %5d applied with the answer lost\n", route, r.Answered[route], r.Lost[route])
	}
	for _, route := range sortedKeys(r.Refused) {
		fmt.Fprintf(w, "  %-44s %7d refused\n", route, r.Refused[route])
	}
	if r.Imported+r.ImportSkipped > 0 {
		fmt.Fprintf(w, "  bulk jobs: %d customers imported, %d more skipped (their email taken)\n", r.Imported, r.ImportSkipped)
	}
	fmt.Fprintln(w)

	t := &r.Total
	var rerun any = r.RerunWrites
	if !r.Rerun {
		rerun = "not run"
	}
	verdict := func(n int) string {
		if n == 0 {
			return "ok"
		}
		return "FAIL"
	}
	type row struct {
		name  string
		value any
		check string
	}
	rows := []row{
		{"rows (last day)", t.Rows, ""},
		{"valid", t.Valid, ""},
		{"invalid", t.Invalid, ""},
		{"customers in the CRM", t.InCRM, verdict(abs(t.InCRM - t.Valid))},
		{"kills (SIGKILL)", r.Kills(), verdict(boolInt(r.Kills() < cfg.Kills))},
		{"runs", r.Runs(), ""},
		{"created (finishing runs)", created, ""},
		{"updated (finishing runs)", updated, ""},
		{"duplicates", t.Duplicates, verdict(t.Duplicates)},
		{"lost", t.Lost, verdict(t.Lost)},
		{"wrong values", t.Wrong, verdict(t.Wrong)},
		{"extra customers", t.Extra, verdict(t.Extra)},
		{"invalid rows not in rejects", t.RejectsMissing, verdict(t.RejectsMissing)},
		{"other rows in rejects", t.RejectsExtra, verdict(t.RejectsExtra)},
		{"state mismatches", t.State, verdict(t.State)},
		{"generator/mapping disagree", t.Disagree, verdict(t.Disagree)},
		{"writes of a rerun", rerun, verdict(int(r.RerunWrites) + boolInt(!r.Rerun))},
		{"duration", r.Took.Round(100 * time.Millisecond), ""},
	}
	if a := apis[cfg.API]; a != nil && a.entered != nil {
		// Before the rerun's and the duration.
		rows = slices.Insert(rows, len(rows)-2,
			row{"entered before the first run", t.Entered, verdict(boolInt(t.Entered == 0))},
			row{"unmapped fields overwritten", t.Overwritten, verdict(t.Overwritten)})
	}
	for _, row := range rows {
		fmt.Fprintf(w, "%-30s %12v  %s\n", row.name, row.value, row.check)
	}
	if len(r.Days) > 1 {
		fmt.Fprintln(w, "(differences are summed over the checks after each day)")
	}
	if len(t.Examples) > 0 {
		fmt.Fprintln(w, "\ndifferences:")
		for _, ex := range t.Examples {
			fmt.Fprintln(w, "  "+ex)
		}
	}
	var failed []string
	for _, d := range r.Days {
		failed = append(failed, d.FailedRuns...)
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nruns that gave up (exit 1), rerun:")
		for _, l := range failed {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "\nproblems:")
		for _, p := range r.Problems {
			fmt.Fprintln(w, "  "+p)
		}
	}
	if r.OK() {
		fmt.Fprintln(w, "\nchaos: PASS")
	} else {
		fmt.Fprintln(w, "\nchaos: FAIL")
	}
}

// sortedKeys returns the keys of the maps, sorted, each once.
func sortedKeys(ms ...map[string]int64) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func kinds(m map[string]int) string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
