package cli_test

// Tests of `crmsync export`, over real HTTP against the tamio emulator,
// with real files; the helpers at the top serve erase_test.go too.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"crmsync/cmd/crmsync/cli"
	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/gdpr/layout"
	"crmsync/internal/outdir"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
	csvsource "crmsync/sources/csv"
)

// testClient is a tamio client for the test's own reads and writes.
func testClient(t *testing.T, srv *tamiotest.Server) *tamio.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tamio.NewClient(srv.URL, srv.APIKey, &http.Client{Transport: tr, Timeout: 30 * time.Second},
		pipeline.NewPacer(pipeline.PacerOptions{}))
}

// personBody is the create body of the i-th test person: every third with
// a billing address copied to shipping, every third with two different
// addresses, every fourth assigned to a teammate, every fifth a lead.
func personBody(tag string, i int) map[string]any {
	b := map[string]any{
		"name":      []string{"Zoë", "Jürgen", "Ada", "Łukasz", "Mei"}[i%5],
		"last_name": "Tester" + strconv.Itoa(i),
		"email":     fmt.Sprintf("person%d.%s@example.org", i, tag),
		"country":   []string{"de", "FR", "pl", "jp", "gb"}[i%5],
		"phone":     fmt.Sprintf("+4930%07d", i),
		"priority":  []string{"low", "normal", "medium", "high"}[i%4],
	}
	if i%5 == 0 {
		b["category"], b["lead_status"] = "lead", "contacted"
	}
	if i%4 == 0 {
		b["teammate_id"] = tamiotest.DefaultTeammates()[i%3].ID
	}
	addr := func(city string) map[string]any {
		return map[string]any{"name": "Bill " + strconv.Itoa(i), "country": "de", "address": "Hauptstraße " + strconv.Itoa(i),
			"city": city, "postcode": "10115", "company": "Firma & Söhne", "vat": "DE123456789", "is_company": i%2 == 0,
			"email": fmt.Sprintf("billing%d.%s@example.org", i, tag), "phone": "+493012345678"}
	}
	switch i % 3 {
	case 0:
		b["billing_information"], b["same_shipping_address"] = addr("Berlin"), true
	case 1:
		b["billing_information"], b["shipping_information"] = addr("Köln"), addr("München")
	}
	return b
}

// seedPeople creates n people one by one and returns them in order.
func seedPeople(t *testing.T, srv *tamiotest.Server, tag string, n int) []tamio.Customer {
	t.Helper()
	c := testClient(t, srv)
	out := make([]tamio.Customer, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cu, err := c.Create(context.Background(), personBody(tag, i))
			if err != nil {
				errs <- err
				return
			}
			out[i] = *cu
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// writeSubjects writes a subjects file of rows under header.
func writeSubjects(t *testing.T, path string, header []string, rows ...[]string) string {
	t.Helper()
	writeCSVFile(t, path, append([][]string{header}, rows...))
	return path
}

// exportArgs are the arguments of an export from target into out, quiet.
func exportArgs(target, out string, extra ...string) []string {
	return append([]string{"export", "--api", "tamio", "--target", target, "--out", out, "--api-key-env", keyEnv, "--progress", "none"}, extra...)
}

// serverCustomer is the server's customer object, as decoded JSON.
func serverCustomer(t *testing.T, c *tamio.Client, id string) map[string]any {
	t.Helper()
	raw, err := c.RetrieveRaw(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// subjectFile is a subject's own file of an export.
type subjectFile struct {
	ExportedAt time.Time      `json:"exported_at"`
	Customer   map[string]any `json:"customer"`
	Teammate   *struct {
		ID, Email, Name string
	} `json:"teammate"`
}

func readSubjectFile(t *testing.T, data []byte) subjectFile {
	t.Helper()
	var s subjectFile
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("subject file: %v\n%s", err, data)
	}
	return s
}

// tamioTable is the columns of tamio's export table, as the registry has
// them.
func tamioTable(t *testing.T) []layout.Column {
	t.Helper()
	c, err := crm.Lookup("tamio")
	if err != nil {
		t.Fatal(err)
	}
	return c.ExportLayout().Table()
}

// checkPrivate fails unless every directory under root is 0700 and every
// file 0600.
func checkPrivate(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readManifest verifies out against its manifest and returns its header.
func readManifest(t *testing.T, out string) (cli.ExportManifest, []gdpr.FileEntry) {
	t.Helper()
	if _, err := gdpr.VerifyManifest(out); err != nil {
		t.Fatal(err)
	}
	var m cli.ExportManifest
	files, err := gdpr.ReadManifest(out, &m)
	if err != nil {
		t.Fatal(err)
	}
	return m, files
}

// tableRows reads an export's combined table (plain) into one map per
// row, column name → cell, as the format's own reader gives it: CSV
// cells as strings, JSON values as decoded, Parquet values typed.
func tableRows(t *testing.T, format string, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	switch format {
	case "jsonl":
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var m map[string]any
			if err := dec.Decode(&m); err == io.EOF {
				return out
			} else if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs[1:] {
			m := map[string]any{}
			for i, name := range recs[0] {
				m[name] = rec[i]
			}
			out = append(out, m)
		}
		return out
	case "parquet":
		pf, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 512}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		for rr.Next() {
			rec := rr.Record()
			for r := range int(rec.NumRows()) {
				m := map[string]any{}
				for c, f := range rec.Schema().Fields() {
					col := rec.Column(c)
					switch a := col.(type) {
					case *array.String:
						m[f.Name] = a.Value(r)
					case *array.Int64:
						m[f.Name] = float64(a.Value(r))
					case *array.Boolean:
						m[f.Name] = a.Value(r)
					default:
						t.Fatalf("column %s has type %s", f.Name, col.DataType())
					}
					if col.IsNull(r) {
						m[f.Name] = nil
					}
				}
				out = append(out, m)
			}
		}
		if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	}
	return out
}

// wantCell is what the table should hold in column name for the server's
// customer object cu, worked out from the object itself and not through
// the exporter's flattening: address columns from the address objects,
// teammate columns from the emulator's teammates.
func wantCell(t *testing.T, cu map[string]any, name string) any {
	t.Helper()
	if name == layout.OtherFields {
		return nil // the emulator answers only documented keys
	}
	if name == "teammate_email" || name == "teammate_name" {
		for _, tm := range tamiotest.DefaultTeammates() {
			if id, _ := cu["teammate_id"].(string); strings.EqualFold(id, tm.ID) {
				if name == "teammate_email" {
					return tm.Email
				}
				return tm.Name
			}
		}
		return nil
	}
	for _, a := range []string{"billing_address_", "shipping_address_"} {
		if key, ok := strings.CutPrefix(name, a); ok {
			addr, _ := cu[strings.TrimSuffix(a, "_")].(map[string]any)
			if addr == nil {
				return nil
			}
			return addr[key]
		}
	}
	v, ok := cu[name]
	if !ok {
		t.Fatalf("the table has a column %s that the customer object lacks", name)
	}
	if _, isArray := v.([]any); isArray {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return v
}

// TestExportSubjects exports known subjects, named by email (in any case)
// and by id, with some the CRM does not hold, in each format, and checks
// every file against what the server holds, field for field.
func TestExportSubjects(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "sar", 40)
	others := seedPeople(t, srv, "other", 10)
	c := testClient(t, srv)
	dir := t.TempDir()

	// Every third person by id, the others by email, upper-cased now
	// and then; person 0 twice (by email and by id), and two nobodies.
	var rows [][]string
	want := map[string]bool{} // ids
	for i, p := range people[:12] {
		want[p.ID] = true
		switch {
		case i%3 == 0:
			rows = append(rows, []string{"", p.ID, "ignored column"})
		case i%2 == 0:
			rows = append(rows, []string{strings.ToUpper(p.Email), "", ""})
		default:
			rows = append(rows, []string{p.Email, "", ""})
		}
	}
	rows = append(rows, []string{people[0].Email, "", ""},
		[]string{"nobody.here@example.org", "", ""},
		[]string{"", "11111111-2222-4333-8444-555555555555", ""})
	subjects := writeSubjects(t, filepath.Join(dir, "subjects.csv"), []string{"Email", "ID", "note"}, rows...)

	for _, format := range gdpr.Formats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "sar")
			if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--subjects", subjects, "--format", format)...); code != cli.ExitOK {
				t.Fatalf("exit %d", code)
			}
			checkPrivate(t, out)
			m, files := readManifest(t, out)
			if m.Scope != "subjects" || m.Format != format || m.Counts.Subjects != 15 || m.Counts.Exported != 12 || m.Counts.NotFound != 2 ||
				m.Counts.Files != 14 || len(files) != 14 || m.Encrypted {
				t.Errorf("manifest %+v with %d files", m, len(files))
			}
			if m.KeyFingerprint != gdpr.KeyFingerprint(srv.APIKey) || m.Target != srv.URL || m.Calls.Calls == 0 {
				t.Errorf("manifest names target %q key %q after %d calls", m.Target, m.KeyFingerprint, m.Calls.Calls)
			}
			mdata, _ := os.ReadFile(filepath.Join(out, gdpr.ManifestName))
			if bytes.Contains(mdata, []byte(srv.APIKey)) || bytes.Contains(mdata, []byte("@")) {
				t.Errorf("the manifest holds the key or an email:\n%s", mdata)
			}

			// Each subject's own file: the server's object, exactly.
			got := map[string]bool{}
			for _, f := range files {
				name, ok := strings.CutPrefix(f.Path, "subjects/")
				if !ok {
					continue
				}
				if strings.Contains(name, "@") {
					t.Errorf("file name %s holds an email", name)
				}
				data, err := os.ReadFile(filepath.Join(out, f.Path))
				if err != nil {
					t.Fatal(err)
				}
				s := readSubjectFile(t, data)
				id, _ := s.Customer["id"].(string)
				if name != id+".json" {
					t.Errorf("%s holds customer %s", f.Path, id)
				}
				got[id] = true
				if server := serverCustomer(t, c, id); !reflect.DeepEqual(s.Customer, server) {
					t.Errorf("%s differs from the server:\n got %v\nwant %v", f.Path, s.Customer, server)
				}
				if tid, _ := s.Customer["teammate_id"].(string); tid != "" {
					if s.Teammate == nil || s.Teammate.ID != tid || s.Teammate.Email == "" || s.Teammate.Name == "" {
						t.Errorf("%s: teammate %+v for teammate_id %s", f.Path, s.Teammate, tid)
					}
				} else if s.Teammate != nil {
					t.Errorf("%s: teammate %+v without a teammate_id", f.Path, s.Teammate)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("exported %v, want %v", got, want)
			}
			for _, o := range others {
				if got[o.ID] {
					t.Errorf("exported %s, whom nobody asked for", o.ID)
				}
			}

			// The combined table: one row per subject, every column as
			// the server holds it.
			data, err := os.ReadFile(filepath.Join(out, "customers."+format))
			if err != nil {
				t.Fatal(err)
			}
			table := tableRows(t, format, data)
			if len(table) != 12 {
				t.Fatalf("the table has %d rows, want 12", len(table))
			}
			for _, row := range table {
				id, _ := row["id"].(string)
				server := serverCustomer(t, c, id)
				for _, col := range tamioTable(t) {
					v, ok := row[col.Name]
					if !ok {
						t.Fatalf("no column %s", col.Name)
					}
					w := wantCell(t, server, col.Name)
					if format == "csv" {
						switch wv := w.(type) {
						case nil:
							w = ""
						case float64:
							w = strconv.FormatFloat(wv, 'f', -1, 64)
						case bool:
							w = strconv.FormatBool(wv)
						case string:
							// As rejects.csv has it: a cell a
							// spreadsheet would run (+00:00 too) is
							// quoted.
							w = csvsource.EscapeFormula(wv)
						}
					}
					if !reflect.DeepEqual(v, w) {
						t.Errorf("customer %s, %s: %#v, the server holds %#v", id, col.Name, v, w)
					}
				}
				// Every key the server answers has a column (or two).
				for k, v := range server {
					if k == "object" {
						continue
					}
					if addr, ok := v.(map[string]any); ok {
						for ak := range addr {
							if _, ok := row[k+"_"+ak]; !ok && ak != "object" && ak != "shipping_address" {
								t.Errorf("no column for %s.%s", k, ak)
							}
						}
					} else if _, ok := row[k]; !ok && v != nil {
						t.Errorf("no column for %s", k)
					}
				}
			}

			nf := readCSVFile(t, filepath.Join(out, "not_found.csv"))
			if !reflect.DeepEqual(nf, [][]string{{"row", "id", "email"}, {"14", "", "nobody.here@example.org"},
				{"15", "11111111-2222-4333-8444-555555555555", ""}}) {
				t.Errorf("not_found.csv: %q", nf)
			}
		})
	}
}

// TestExportLogsNothingPersonal runs the binary with debug logs and
// checks that neither its standard output nor its standard error holds an
// email or a name, and that --help documents the command.
func TestExportLogsNothingPersonal(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "quiet", 6)
	dir := t.TempDir()
	var rows [][]string
	for _, p := range people {
		rows = append(rows, []string{p.Email})
	}
	rows = append(rows, []string{"absent.person@example.org"})
	subjects := writeSubjects(t, filepath.Join(dir, "s.csv"), []string{"email"}, rows...)
	for _, extra := range [][]string{{"--subjects", subjects}, {"--all", "--format", "parquet"}} {
		r := runBinary(t, srv.APIKey, append([]string{"-v"}, exportArgs(srv.URL, filepath.Join(dir, "out"), append(extra, "--progress", "log")...)...)...)
		if r.code != cli.ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, p := range append(people, tamio.Customer{Email: "absent.person@example.org", LastName: "absent.person"}) {
			for _, s := range []string{p.Email, p.LastName, "@example.org"} {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("output holds %q:\n%s\n%s", s, r.stdout, r.stderr)
				}
			}
		}
		if strings.Contains(r.stdout+r.stderr, srv.APIKey) {
			t.Error("output holds the API key")
		}
	}
	for _, cmd := range []string{"export", "erase"} {
		r := runBinary(t, "", cmd, "--help")
		for _, want := range []string{"Examples:", "EXIT STATUS", "  0 ", "  1 ", "  2 ", "  130 "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("crmsync %s --help lacks %q", cmd, want)
			}
		}
	}
}

// TestExportEncrypted encrypts an export to two age recipients and
// decrypts it with one identity; the manifest's hashes are of the files
// as written, and another identity cannot read them.
func TestExportEncrypted(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "enc", 5)
	c := testClient(t, srv)
	ids := make([]*age.X25519Identity, 3)
	for i := range ids {
		var err error
		if ids[i], err = age.GenerateX25519Identity(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	subjects := writeSubjects(t, filepath.Join(dir, "s.csv"), []string{"email"}, []string{people[1].Email}, []string{people[3].Email},
		[]string{"nobody.enc@example.org"})
	out := filepath.Join(dir, "out")
	code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--subjects", subjects, "--format", "csv",
		"--age-recipient", ids[0].Recipient().String(), "--age-recipient", ids[1].Recipient().String())...)
	if code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	checkPrivate(t, out)
	m, files := readManifest(t, out)
	if !m.Encrypted || len(m.Recipients) != 2 || m.Recipients[0] != ids[0].Recipient().String() || len(files) != 4 {
		t.Fatalf("manifest %+v, %d files", m, len(files))
	}
	decrypt := func(path string, id age.Identity) ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(data, []byte("@example.org")) {
			t.Errorf("%s holds an email in the clear", path)
		}
		r, err := age.Decrypt(bytes.NewReader(data), id)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".age") {
			t.Errorf("%s is not encrypted", f.Path)
			continue
		}
		path := filepath.Join(out, f.Path)
		if _, err := decrypt(path, ids[2]); err == nil {
			t.Errorf("%s decrypts with an identity it was not encrypted to", f.Path)
		}
		plain, err := decrypt(path, ids[1])
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		switch {
		case strings.HasPrefix(f.Path, "subjects/"):
			s := readSubjectFile(t, plain)
			id, _ := s.Customer["id"].(string)
			if !reflect.DeepEqual(s.Customer, serverCustomer(t, c, id)) || (id != people[1].ID && id != people[3].ID) {
				t.Errorf("%s: %v", f.Path, s.Customer)
			}
		case f.Path == "customers.csv.age":
			if rows := tableRows(t, "csv", plain); len(rows) != 2 {
				t.Errorf("the table holds %d rows, want 2", len(rows))
			}
		case f.Path == "not_found.csv.age":
			if !strings.Contains(string(plain), "nobody.enc@example.org") {
				t.Errorf("not_found.csv: %s", plain)
			}
		default:
			t.Errorf("unexpected file %s", f.Path)
		}
	}
}

// TestExportReplacesAndSurvivesKills checks that a re-run replaces an
// export as a whole (the files of people deleted since are gone), that a
// run killed with SIGKILL or stopped with SIGINT leaves the previous
// export as it was, and that the next run clears what the killed one left.
func TestExportReplacesAndSurvivesKills(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	people := seedPeople(t, srv, "rerun", 250)
	c := testClient(t, srv)
	out := filepath.Join(t.TempDir(), "all")
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--all")...); code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	first, _ := readManifest(t, out)
	if first.Counts.Exported != 250 {
		t.Fatalf("exported %d, want 250", first.Counts.Exported)
	}
	before, _ := os.ReadFile(filepath.Join(out, gdpr.ManifestName))

	// Slow answers, one page at a time: the runs below are stopped once
	// they have written some files to their staging directory.
	srv.SetFaults(tamiotest.Faults{Latency: 300 * time.Millisecond})
	for _, sig := range []os.Signal{syscall.SIGKILL, syscall.SIGINT} {
		// The killed run's staging directory is there when the second
		// run starts: wait for files in a new one.
		old, _ := filepath.Glob(filepath.Join(out, ".crmsync-staging-*"))
		started := time.Now()
		cmd, stdout, stderr := startBinary(t, srv.APIKey, exportArgs(srv.URL, out, "--all", "--concurrency", "1", "--format", "parquet")...)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			m, _ := filepath.Glob(filepath.Join(out, ".crmsync-staging-*", "subjects", "*.json"))
			if slices.ContainsFunc(m, func(p string) bool { return !slices.Contains(old, filepath.Dir(filepath.Dir(p))) }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the export wrote nothing to its staging directory in 30 s")
			}
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		r := waitBinary(t, cmd, stdout, stderr, started, time.Minute)
		if sig == syscall.SIGINT && r.code != cli.ExitInterrupted {
			t.Errorf("after SIGINT: exit %d, want %d; stderr:\n%s", r.code, cli.ExitInterrupted, r.stderr)
		}
		if after, _ := os.ReadFile(filepath.Join(out, gdpr.ManifestName)); !bytes.Equal(after, before) {
			t.Errorf("after %v the manifest changed", sig)
		}
		staged, _ := filepath.Glob(filepath.Join(out, ".crmsync-staging-*"))
		if sig == syscall.SIGINT && len(staged) != 0 {
			t.Errorf("an interrupted export left %v", staged)
		}
		if sig == syscall.SIGKILL && len(staged) != 1 {
			t.Errorf("a killed export left %v; want its staging directory", staged)
		}
		// Strict: a file the manifest does not list fails it, so a
		// staging directory left behind, and the lock file of a killed
		// run, must be the only extra entries.
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			if sig == syscall.SIGKILL && e.Name() == outdir.LockName {
				continue
			}
			if !strings.HasPrefix(e.Name(), ".crmsync-staging-") && !slices.Contains([]string{"subjects", "customers.jsonl", gdpr.ManifestName}, e.Name()) {
				t.Errorf("after %v the export holds %s", sig, e.Name())
			}
		}
	}
	srv.SetFaults(tamiotest.Faults{})

	gone := []string{people[3].ID, people[77].ID, people[249].ID}
	if _, err := c.BulkDelete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, "--all", "--format", "csv")...); code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	second, files := readManifest(t, out) // strict: nothing stale, nothing left over
	if second.Counts.Exported != 247 || len(files) != 248 {
		t.Errorf("second export: %d customers, %d files", second.Counts.Exported, len(files))
	}
	for _, id := range gone {
		if _, err := os.Stat(filepath.Join(out, "subjects", id+".json")); !os.IsNotExist(err) {
			t.Errorf("the file of deleted customer %s survived the re-run (%v)", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "customers.jsonl")); !os.IsNotExist(err) {
		t.Errorf("the first run's table survived a run in another format (%v)", err)
	}
	checkPrivate(t, out)
}

// TestExportUsageErrors checks that bad flags exit 2 before the CRM is
// called or --out is created.
func TestExportUsageErrors(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, tamiotest.Options{})
	dir := t.TempDir()
	good := writeSubjects(t, filepath.Join(dir, "good.csv"), []string{"email"}, []string{"a@example.org"})
	bad := writeSubjects(t, filepath.Join(dir, "bad.csv"), []string{"name"}, []string{"Ada"})
	id, _ := age.GenerateX25519Identity()
	cases := []struct {
		name string
		args []string
	}{
		{"neither --subjects nor --all", exportArgs(srv.URL, filepath.Join(dir, "o1"))},
		{"both --subjects and --all", exportArgs(srv.URL, filepath.Join(dir, "o2"), "--subjects", good, "--all")},
		{"bad --format", exportArgs(srv.URL, filepath.Join(dir, "o3"), "--all", "--format", "xlsx")},
		{"missing --out", []string{"export", "--api", "tamio", "--target", srv.URL, "--api-key-env", keyEnv, "--all"}},
		{"a private key as recipient", exportArgs(srv.URL, filepath.Join(dir, "o4"), "--all", "--age-recipient", id.String())},
		{"subjects without email or id", exportArgs(srv.URL, filepath.Join(dir, "o5"), "--subjects", bad)},
		{"missing subjects file", exportArgs(srv.URL, filepath.Join(dir, "o6"), "--subjects", filepath.Join(dir, "none.csv"))},
		{"bad --concurrency", exportArgs(srv.URL, filepath.Join(dir, "o7"), "--all", "--concurrency", "0")},
		{"stray argument", append(exportArgs(srv.URL, filepath.Join(dir, "o8"), "--all"), "extra")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code := runMain(t, srv.APIKey, tc.args...); code != cli.ExitUsage {
				t.Errorf("exit %d, want %d", code, cli.ExitUsage)
			}
		})
	}
	if st := sandboxStats(t, srv); st.TotalRequests != 0 {
		t.Errorf("usage errors made %d requests", st.TotalRequests)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "o*")); len(m) != 0 {
		t.Errorf("usage errors created %v", m)
	}
	// The private key must not be echoed.
	r := runBinary(t, srv.APIKey, exportArgs(srv.URL, filepath.Join(dir, "o9"), "--all", "--age-recipient", id.String())...)
	if r.code != cli.ExitUsage || strings.Contains(r.stderr, id.String()) {
		t.Errorf("exit %d; stderr %q", r.code, r.stderr)
	}
}

// TestExportUnderFaultsAndRateLimit exports, by subjects and with --all,
// from an emulator that limits requests per second and fails or drops
// some: the pacer's retries and slowing down give the same export as a
// calm server would.
func TestExportUnderFaultsAndRateLimit(t *testing.T) {
	t.Parallel()
	// --all reads pages one after another; the subjects' parallel
	// lookups are what must meet the limit.
	srv := newCRM(t, tamiotest.Options{RateLimit: 15, RateBurst: 2})
	c := testClient(t, srv)
	const n = 130
	bodies := make([]map[string]any, n)
	var rows [][]string
	for i := range bodies {
		bodies[i] = personBody("faulty", i)
		if i < 20 {
			rows = append(rows, []string{bodies[i]["email"].(string)})
		}
	}
	if err := c.BulkCreate(context.Background(), bodies); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	subjects := writeSubjects(t, filepath.Join(t.TempDir(), "s.csv"), []string{"email"}, rows...)
	srv.SetFaults(tamiotest.Faults{Seed: 3, ErrorRate: 0.1, DropRate: 0.05})
	var retries, limited int64
	for _, extra := range [][]string{{"--subjects", subjects}, {"--all"}} {
		out := filepath.Join(t.TempDir(), "out")
		if code := runMain(t, srv.APIKey, exportArgs(srv.URL, out, append(extra, "--concurrency", "8")...)...); code != cli.ExitOK {
			t.Fatalf("%v: exit %d", extra, code)
		}
		m, files := readManifest(t, out)
		want := int64(20)
		if extra[0] == "--all" {
			want = n
		}
		if m.Counts.Exported != want || m.Counts.NotFound != 0 {
			t.Errorf("%v: %+v; want %d exported", extra, m.Counts, want)
		}
		retries, limited = retries+m.Calls.Retries, limited+m.Calls.RateLimited
		for _, f := range files[:10] {
			data, _ := os.ReadFile(filepath.Join(out, f.Path))
			s := readSubjectFile(t, data)
			id, _ := s.Customer["id"].(string)
			if server := serverCustomer(t, c, id); !reflect.DeepEqual(s.Customer, server) {
				t.Errorf("%s differs from the server", f.Path)
			}
		}
	}
	if retries == 0 || limited == 0 {
		t.Errorf("%d retries, %d answers 429: the faults and the limit were not met", retries, limited)
	}
}
