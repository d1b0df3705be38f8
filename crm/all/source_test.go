package all_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"crmsync/crm"
	"crmsync/internal/httpapi"
	"crmsync/pipeline"
	"crmsync/pipeline/sinktest"
	"crmsync/sources/crmsource"
)

// announces lists the connectors whose readers announce the account's
// size (pipeline.TotalAnnouncer); the others page by cursor and announce
// nothing.
var announces = map[string]bool{"tamio": true, "count": true, "revnue": true}

// sourceCustomers is how many customers the source test writes: more than
// PagesBuffered+2 pages of 100, the largest page a connector lists, so
// that a source that did not stream would hold more than its bound.
const sourceCustomers = (crmsource.PagesBuffered+2)*100 + 50

// sandboxRate is the sandboxes' rate limit in the source test, and the
// rate of the connectors paced by their configuration: the test is about
// what is read, not about pacing.
const sandboxRate = 1000

// TestCRMAsSource writes customers through every connector's sink and
// reads them back through crmsource over its reader: each written field
// in its column with the same canonical text, the CRM's id in the key
// column, progress against the total the API announced, and the walk
// never further ahead of the rows read than the source's bound.
func TestCRMAsSource(t *testing.T) {
	all := crm.All()
	if len(all) == 0 {
		t.Fatal("crm/all registers no connector")
	}
	for _, c := range all {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			testCRMAsSource(t, c)
		})
	}
}

func testCRMAsSource(t *testing.T, c *crm.Connector) {
	h := hints[c.Name]
	values, mapped, err := sinktest.Records(c.Schema, h, 0, sourceCustomers)
	if err != nil {
		t.Fatal(err)
	}
	cfg := startSourceSandbox(t, c, h)
	ids := writeCustomers(t, c, cfg, mapped, values)

	r, err := c.NewReader(cfg)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	if _, ok := r.(pipeline.TotalAnnouncer); ok != announces[c.Name] {
		t.Errorf("the %s reader implements pipeline.TotalAnnouncer: %v, want %v", c.Name, ok, announces[c.Name])
	}
	w := &watchedReader{Reader: r}
	src, err := crmsource.Open(t.Context(), w, crmsource.Options{BatchSize: 7})
	if err != nil {
		t.Fatalf("crmsource.Open: %v", err)
	}
	defer src.Close()

	cols := src.Columns()
	if want := crmsource.AllColumns(c.Schema); !slices.Equal(cols, want) {
		t.Fatalf("Columns() = %q, want %q", cols, want)
	}
	key := slices.Index(cols, src.KeyColumn())
	if key != 0 {
		t.Fatalf("the key column %q is column %d, want 0", src.KeyColumn(), key)
	}
	byID := map[string][]string{}
	var num int64
	for {
		rows, err := src.Next(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", num, err)
		}
		for _, row := range rows {
			num++
			if row.Num != num || row.Reject != nil {
				t.Fatalf("row %d: Num %d, Reject %v", num, row.Num, row.Reject)
			}
			id := row.Values[key]
			if _, dup := byID[id]; dup {
				t.Errorf("the source gives customer %s twice", id)
			}
			byID[id] = row.Values
		}
		w.read.Add(int64(len(rows)))
		w.check(t)
	}
	if err := w.failure(); err != nil {
		t.Error(err)
	}
	if len(byID) != len(ids) {
		t.Errorf("the source gives %d customers, %d were written", len(byID), len(ids))
	}
	for i, id := range ids {
		got, ok := byID[id]
		if !ok {
			t.Errorf("customer %s (record %d) is not among the rows", id, i)
			continue
		}
		for f := range c.Schema.Fields {
			if !mapped[f] {
				continue
			}
			fl := &c.Schema.Fields[f]
			col := slices.Index(cols, fl.Name)
			if v := got[col]; !sameText(fl, v, values[i][f]) {
				t.Errorf("customer %s: column %s = %q, written %q", id, fl.Name, v, values[i][f])
			}
		}
	}

	done, total := src.Progress()
	if done != int64(len(ids)) {
		t.Errorf("Progress() done = %d, want %d", done, len(ids))
	}
	want := int64(0)
	if announces[c.Name] {
		want = int64(len(ids))
	}
	if total != want || src.EstimatedRows() != want {
		t.Errorf("Progress() total = %d, EstimatedRows() = %d; want %d (the account's size as the API announces it, 0 if it announces none)", total, src.EstimatedRows(), want)
	}
}

// sameText compares a value read back with the one written: an empty
// value may read back as the empty list of a list field.
func sameText(f *pipeline.Field, got, want string) bool {
	if pipeline.IsEmpty(want) {
		return got == "" || (f.Kind == pipeline.KindList && got == "[]")
	}
	return got == want
}

// startSourceSandbox starts the connector's sandbox on a SQLite file in
// t.TempDir and returns a configuration calling it.
func startSourceSandbox(t *testing.T, c *crm.Connector, h sinktest.Hints) crm.Config {
	t.Helper()
	if c.StartSandbox == nil {
		t.Fatalf("connector %s has no sandbox", c.Name)
	}
	sb, err := c.StartSandbox(context.Background(), crm.SandboxOptions{
		DBPath: filepath.Join(t.TempDir(), c.Name+".db"), Addr: "127.0.0.1:0",
		RateLimit: sandboxRate, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("starting the %s sandbox: %v", c.Name, err)
	}
	hc := httpapi.NewHTTPClient(0)
	t.Cleanup(func() {
		// A connection left open would hold the server's Shutdown.
		hc.CloseIdleConnections()
		if err := sb.Close(); err != nil {
			t.Errorf("closing the %s sandbox: %v", c.Name, err)
		}
	})
	cfg := crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), HTTPClient: hc,
		Logger: slog.New(slog.DiscardHandler)}
	if h.RateFromConfig {
		cfg.Rate = sandboxRate
	}
	return cfg
}

// writeCustomers creates a customer per record through the connector's
// sink and returns their ids.
func writeCustomers(t *testing.T, c *crm.Connector, cfg crm.Config, mapped []bool, values [][]string) []string {
	t.Helper()
	ctx := t.Context()
	sk, err := c.NewSink(cfg)
	if err != nil {
		t.Fatalf("NewSink: %v", err)
	}
	if err := sk.Prepare(ctx, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert, IndexAccount: true}); err != nil {
		sk.Close()
		t.Fatalf("Prepare: %v", err)
	}
	chs := make([]pipeline.Change, len(values))
	for i, v := range values {
		chs[i] = pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)},
			Key: fmt.Sprintf("k%d", i), Values: slices.Clone(v)}}
	}
	res := make([]pipeline.Result, len(chs))
	batch := max(1, sk.Properties().MaxBatch)
	workers := 4
	if n := sk.Properties().MaxInFlight; n > 0 && n < workers {
		workers = n
	}
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for lo := range next {
				hi := min(lo+batch, len(chs))
				if err := sk.Apply(ctx, chs[lo:hi], res[lo:hi]); err != nil && errs[k] == nil {
					errs[k] = err
				}
			}
		})
	}
	for lo := 0; lo < len(chs); lo += batch {
		next <- lo
	}
	close(next)
	wg.Wait()
	if err := sk.Close(); err != nil {
		t.Fatalf("closing the sink: %v", err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	ids := make([]string, len(res))
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated || r.ID == "" {
			t.Fatalf("record %d: %v with id %q (%v), want created with an id", i, r.Outcome, r.ID, r.Reject)
		}
		ids[i] = r.ID
	}
	return ids
}

// watchedReader is a connector's reader whose walk is watched: how many
// customers it has listed against how many rows the test has read.
type watchedReader struct {
	pipeline.Reader
	read    atomic.Int64 // rows the test has read
	listed  atomic.Int64 // customers the walk has handed over or is handing over
	maxPage atomic.Int64 // the longest page listed

	mu  sync.Mutex
	err error // the first time the walk ran past the bound
}

// AnnouncedTotal passes the reader's announcement on, if it makes one.
func (w *watchedReader) AnnouncedTotal() int64 {
	if a, ok := w.Reader.(pipeline.TotalAnnouncer); ok {
		return a.AnnouncedTotal()
	}
	return 0
}

func (w *watchedReader) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	return w.Reader.Walk(ctx, func(page []pipeline.Customer) error {
		if n := int64(len(page)); n > w.maxPage.Load() {
			w.maxPage.Store(n)
		}
		w.listed.Add(int64(len(page)))
		w.bound()
		return fn(page)
	})
}

// bound notes an error when the walk has listed more customers than the
// rows read, plus the page being handed out, the pages in the source's
// channel and the page waiting to enter it, plus a batch the test has
// read but not yet counted.
func (w *watchedReader) bound() {
	ahead := w.listed.Load() - w.read.Load()
	limit := int64(crmsource.PagesBuffered+2)*w.maxPage.Load() + 7
	if ahead > limit {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.err == nil {
			w.err = fmt.Errorf("the walk listed %d customers ahead of the rows read, more than the %d that %d pages buffered allow: the source does not stream", ahead, limit, crmsource.PagesBuffered)
		}
	}
}

func (w *watchedReader) check(t *testing.T) {
	t.Helper()
	w.bound()
	if err := w.failure(); err != nil {
		t.Fatal(err)
	}
}

func (w *watchedReader) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
