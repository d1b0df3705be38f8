package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
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
	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/sinks/revnue"
)

// revnueRateLimit is the limit of the Revnue rate test in requests a
// second: 1,200 in any sliding minute (Revnue's documented 100 a minute
// would make the test 20 minutes).
const revnueRateLimit = 20

// The routes of revnuetest's stats the test reads.
const (
	revnuePut  = "PUT /customer/{id}"
	revnueList = "GET /customer/"
)

var (
	revnueRows    = flag.Int("revnue-rows", 2000, "customers updated in the Revnue rate test (0 skips it)")
	revnueMapping = flag.String("revnue-mapping", "samples/customers.revnue.yaml", "the mapping of the Revnue rate test")
)

func init() {
	apiRows = append(apiRows, apiRow{group: "revnue-rate", run: func(bin, data string) ([]result, error) {
		if *revnueRows <= 0 {
			return nil, nil
		}
		mapping, err := filepath.Abs(*revnueMapping)
		if err != nil {
			return nil, err
		}
		return revnueRateTest(bin, mapping, data, *revnueRows)
	}})
}

// revnueRateTest measures Revnue's read-modify-write: rows customers,
// entered with every field of the record set (revnuetest's FullCustomer)
// under the names the mapping gives a generated file, are bound to a
// state by a first sync (not measured); then the emulator is restarted
// limited to 20 requests/s and a file in which every name changed is
// synced with --rate 20 (Revnue's answers carry no rate headers): rows
// updates, each a PUT of the whole record read from a list page just
// before its batch. From the emulator's /_sandbox/stats it reports the
// API calls per updated customer (reads included), the rate of the
// requests the limit let through, and the share answered 429; and it
// reads every customer past the API to check that no field the mapping
// does not fill changed.
func revnueRateTest(bin, mapping, dir string, rows int) ([]result, error) {
	ctx := context.Background()
	conn, err := crm.Lookup("revnue")
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "revnue-rate")
	os.RemoveAll(base)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	crmDB, statePath := filepath.Join(base, "crm.db"), filepath.Join(base, "state.db")
	loadPath := filepath.Join(base, "load.csv")
	if _, err := fixtures.WriteCSV(loadPath, fixtures.Options{Rows: rows, Seed: 99}); err != nil {
		return nil, err
	}
	names, mapped, err := mappedNames(mapping, conn.Schema, loadPath)
	if err != nil {
		return nil, err
	}

	// The entering and the binding are not measured: a limit far above
	// what a run reaches, and crmsync told so.
	sb, err := conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: crmDB, RateLimit: 1000})
	if err != nil {
		return nil, err
	}
	entered, err := enterCustomers(ctx, sb, names)
	if err != nil {
		sb.Close()
		return nil, err
	}
	load, err := syncSandbox(bin, sb, loadPath, mapping, filepath.Join(base, "out-load"), statePath, "--rate", "1000")
	if cerr := sb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if load.Rows.Read != int64(rows) || load.Rows.Created != 0 || load.Rows.Rejected != 0 {
		return nil, fmt.Errorf("the Revnue load of %d entered customers read %d rows, created %d, rejected %d",
			rows, load.Rows.Read, load.Rows.Created, load.Rows.Rejected)
	}
	changed := filepath.Join(base, "changed.csv")
	if err := renameAll(loadPath, changed); err != nil {
		return nil, err
	}

	sb, err = conn.StartSandbox(ctx, crm.SandboxOptions{DBPath: crmDB, RateLimit: revnueRateLimit})
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	before, err := sandboxStats(sb)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	s, err := syncSandbox(bin, sb, changed, mapping, filepath.Join(base, "out-changed"), statePath,
		"--rate", strconv.Itoa(revnueRateLimit))
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(started)
	after, err := sandboxStats(sb)
	if err != nil {
		return nil, err
	}
	req := after.minus(before)
	overwritten, example, err := unmappedOverwritten(ctx, sb, entered, mapped)
	if err != nil {
		return nil, err
	}

	var total, limited, lists int64
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
		case route == revnuePut:
		case route == revnueList:
			lists += n
		case strings.HasPrefix(route, "GET "):
		case n > 0:
			writes = append(writes, fmt.Sprintf("%s %d", route, n))
		}
	}
	sort.Strings(writes)
	put := req.route(revnuePut, "2")
	putOther := req.route(revnuePut, "") - req.Requests[revnuePut]["429"] - put
	admitted := total - limited
	rate := float64(admitted) / elapsed.Seconds()
	share := float64(limited) / float64(max(total, 1)) * 100
	perUpdate := float64(total) / float64(rows)
	one := put == int64(rows) && putOther == 0 && len(writes) == 0 &&
		s.Rows.Updated == int64(rows) && s.Rows.Created == 0 && s.Rows.Rejected == 0
	otherText := "no other writes"
	if len(writes) > 0 {
		otherText = strings.Join(writes, ", ")
	}
	if putOther > 0 {
		otherText = fmt.Sprintf("%d PUT refused; %s", putOther, otherText)
	}
	keptText := fmt.Sprintf("all %d customers", len(entered))
	if overwritten > 0 {
		keptText = fmt.Sprintf("%d of %d changed, e.g. %s", overwritten, len(entered), example)
	}
	return []result{
		{name: "revnue rate: customers updated", value: fmt.Sprintf("%d of %d in %.0f s", s.Rows.Updated, rows, elapsed.Seconds())},
		checkMax("revnue rate: API calls per updated customer", perUpdate, 1.05,
			fmt.Sprintf("%.3f: %d PUT, %d list pages, %d other calls", perUpdate, put, lists, total-put-lists), "≤ 1.05"),
		check(fmt.Sprintf("revnue rate: request rate vs %d/s limit", revnueRateLimit), rate/revnueRateLimit, 0.95,
			fmt.Sprintf("%.1f req/s = %.1f%%", rate, rate/revnueRateLimit*100), "≥ 95%"),
		checkMax("revnue rate: requests answered 429", share, 1, fmt.Sprintf("%d of %d = %.2f%%", limited, total, share), "≤ 1%"),
		check("revnue rate: writes per changed customer", boolF(one), 1,
			fmt.Sprintf("%d PUT; %s", put, otherText), fmt.Sprintf("exactly %d PUT", rows)),
		check("revnue rate: unmapped fields kept", boolF(overwritten == 0 && len(entered) == rows), 1, keptText, "every customer"),
	}, nil
}

// mappedNames maps the file with the mapping as a run would and returns
// each row's customer name, and the names of the fields the mapping
// fills.
func mappedNames(mapping string, schema *pipeline.Schema, source string) ([]string, []string, error) {
	m, err := mappings.Load(mapping, schema)
	if err != nil {
		return nil, nil, err
	}
	prog, err := m.Bind(fixtures.Columns, nil)
	if err != nil {
		return nil, nil, err
	}
	s := m.Schema()
	var mapped []string
	for i, on := range m.Mapped() {
		if on {
			mapped = append(mapped, s.Fields[i].Name)
		}
	}
	recs, err := readCSV(source)
	if err != nil {
		return nil, nil, err
	}
	at := s.Index(s.MatchField)
	names := make([]string, 0, len(recs))
	for i, values := range recs {
		var rec pipeline.Record
		if rej := prog.Apply(&pipeline.Row{Num: int64(i + 1), Values: values}, &rec); rej != nil {
			return nil, nil, fmt.Errorf("%s row %d: %s", source, i+1, rej.Message)
		}
		names = append(names, rec.Values[at])
	}
	return names, mapped, nil
}

// enterCustomers stores a customer under each name, every field of the
// record set, past the API (no request counted), and returns each
// customer's read shape, flattened, by id.
func enterCustomers(ctx context.Context, sb crm.Sandbox, names []string) (map[int64]map[string]string, error) {
	srv := revnue.Server(sb)
	if srv == nil {
		return nil, fmt.Errorf("not a Revnue sandbox: %T", sb)
	}
	entered := make(map[int64]map[string]string, len(names))
	for i, name := range names {
		c, err := srv.Seed(ctx, srv.FullCustomer(name, i))
		if err != nil {
			return nil, err
		}
		id, ok := c["id"].(float64)
		if !ok {
			return nil, fmt.Errorf("revnuetest stored a customer without an id: %v", c["id"])
		}
		entered[int64(id)] = flatten(c)
	}
	return entered, nil
}

// unmappedOverwritten reads each entered customer past the API and counts
// those on which a field the mapping does not fill changed, with the
// first as an example.
func unmappedOverwritten(ctx context.Context, sb crm.Sandbox, entered map[int64]map[string]string, mapped []string) (int, string, error) {
	srv := revnue.Server(sb)
	ids := make([]int64, 0, len(entered))
	for id := range entered {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	n, example := 0, ""
	for _, id := range ids {
		c, err := srv.Customer(ctx, id)
		if err != nil {
			return 0, "", err
		}
		now := map[string]string{}
		if c != nil {
			now = flatten(c)
		}
		for p, was := range entered[id] {
			if now[p] != was && !filledBy(p, mapped) {
				if n++; example == "" {
					example = fmt.Sprintf("customer %d %s", id, p)
				}
				break
			}
		}
	}
	return n, example, nil
}

// filledBy reports whether a path of Revnue's read shape is one a mapped
// field fills: the field's own ("phone"), one below it ("category.name"),
// or a template field's value, which Revnue reads under template.fields.
func filledBy(path string, mapped []string) bool {
	for _, f := range mapped {
		if key, ok := strings.CutPrefix(f, revnue.TemplatePrefix); ok {
			f = "template.fields." + key
		}
		if path == f || strings.HasPrefix(path, f+".") {
			return true
		}
	}
	return false
}

// flatten returns the leaves of a decoded JSON object by their dotted
// paths, each as its JSON text.
func flatten(obj map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, x := range m {
				walk(prefix+k+".", x)
			}
			return
		}
		b, _ := json.Marshal(v)
		out[strings.TrimSuffix(prefix, ".")] = string(b)
	}
	walk("", obj)
	return out
}

// readCSV returns the records of a CSV file after its header.
func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s has no header", path)
	}
	return recs[1:], nil
}
