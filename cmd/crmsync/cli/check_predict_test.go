package cli_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/internal/fixtures"
)

// TestCheckPredictsDryRun runs `crmsync check --source` and `crmsync sync
// --dry-run --target sandbox` on the same files and wants the same rejects
// by stage and code, and as many rows read and sent: check applies every
// rule the dry run applies before the API, repeated keys and emails
// included. The generated file holds rows rejected by validation whose
// key or email a later row repeats: the first row that carries either
// owns it, whatever became of that row.
func TestCheckPredictsDryRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := mappingIn(t, dir)

	generated := filepath.Join(dir, "repeats.csv")
	defects, err := fixtures.WriteCSV(generated, fixtures.Options{Rows: 400, Seed: 14, BadShare: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSVFile(t, generated)
	keyCol, emailCol := column(t, rows[0], "customer_id"), column(t, rows[0], "email")
	var valid, missingName []int // data row numbers, 1-based
	for i, d := range defects {
		switch d {
		case "":
			valid = append(valid, i+1)
		case "missing_name":
			missingName = append(missingName, i+1)
		}
	}
	if len(valid) < 300 || len(missingName) < 2 {
		t.Fatalf("the generated file has %d valid rows and %d without a name; the test needs more", len(valid), len(missingName))
	}
	// Later valid rows repeat the email of an earlier valid row, and of
	// two rows that validation rejects, and the key of one of those.
	n := len(valid)
	if missingName[1] > valid[n-4] {
		t.Fatalf("the rows without a name come too late in the generated file: %v", missingName)
	}
	rows[valid[n-1]][emailCol] = rows[valid[0]][emailCol]
	rows[valid[n-2]][emailCol] = rows[missingName[0]][emailCol]
	rows[valid[n-3]][emailCol] = rows[missingName[1]][emailCol]
	rows[valid[n-4]][keyCol] = rows[missingName[0]][keyCol]
	writeCSVFile(t, generated, rows)

	code := regexp.MustCompile(`(?m)^  (\w+)/(\w+) +(\d+)$`)
	for _, tc := range []struct {
		name, source string
		want         []string // codes the file must make both commands count
	}{
		{"generated", generated, []string{"validate/duplicate_key", "validate/duplicate_email", "validate/required"}},
		{"sample", sample("customers.csv"), []string{"validate/duplicate_key", "read/bad_quote", "map/lookup_miss"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, "", "check", "--mapping", mapping, "--source", tc.source)
			if r.code != cli.ExitRejects {
				t.Fatalf("check: exit %d, want %d:\n%s%s", r.code, cli.ExitRejects, r.stdout, r.stderr)
			}
			predicted := map[string]int64{}
			for _, m := range code.FindAllStringSubmatch(r.stdout, -1) {
				predicted[m[1]+"/"+m[2]], _ = strconv.ParseInt(m[3], 10, 64)
			}

			out := t.TempDir()
			d := runBinary(t, "", syncArgs(tc.source, mapping, "sandbox", out, "--dry-run",
				"--sandbox-db", filepath.Join(t.TempDir(), "sandbox.db"))...)
			if d.code != cli.ExitRejects {
				t.Fatalf("dry run: exit %d, want %d:\n%s%s", d.code, cli.ExitRejects, d.stdout, d.stderr)
			}
			s := readSummary(t, out)
			rejects := readCSVFile(t, filepath.Join(out, "rejects.csv"))
			stageCol, codeCol := column(t, rejects[0], "_stage"), column(t, rejects[0], "_code")
			dry := map[string]int64{}
			for _, rec := range rejects[1:] {
				dry[rec[stageCol]+"/"+rec[codeCol]]++
			}
			if int64(len(rejects)-1) != s.Rows.Rejected {
				t.Fatalf("the dry run's reject file holds %d rows, its summary counts %d", len(rejects)-1, s.Rows.Rejected)
			}

			for _, c := range tc.want {
				if dry[c] == 0 {
					t.Errorf("the dry run rejected no row %s: the file does not test it", c)
				}
			}
			if fmt.Sprint(predicted) != fmt.Sprint(dry) {
				t.Errorf("check predicts rejects %v,\nthe dry run rejected %v\ncheck's output:\n%s", predicted, dry, r.stdout)
			}
			head := fmt.Sprintf("%s: %d rows tried, %d would be rejected\n", tc.source, s.Rows.Read, s.Rows.Rejected)
			sent := fmt.Sprintf("prediction from the source and the mapping alone: %d rows would go to tamio, %d would be rejected\n",
				s.Rows.Created, s.Rows.Rejected)
			for _, line := range []string{head, sent} {
				if !strings.Contains(r.stdout, line) {
					t.Errorf("check's output lacks %q:\n%s", line, r.stdout)
				}
			}
		})
	}
}
