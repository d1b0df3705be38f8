package crmsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// readAll reads s to its end and returns every row.
func readAll(t *testing.T, s *Source) []pipeline.Row {
	t.Helper()
	var out []pipeline.Row
	for {
		rows, err := s.Next(t.Context())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(out), err)
		}
		if len(rows) == 0 {
			t.Fatalf("Next after %d rows returned no rows and no error", len(out))
		}
		out = append(out, rows...)
	}
}

func open(t *testing.T, r pipeline.Reader, opts Options) *Source {
	t.Helper()
	s, err := Open(t.Context(), r, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStreamsEveryCustomer(t *testing.T) {
	// Pages of 7 in batches of 5: batches cross pages, pages cross batches.
	r := newFake(23, 7)
	s := open(t, r, Options{BatchSize: 5})
	wantCols := []string{"id", "email", "name", "address.city", "address.country", "tags"}
	if !slices.Equal(s.Columns(), wantCols) {
		t.Fatalf("Columns() = %q, want %q", s.Columns(), wantCols)
	}
	if s.KeyColumn() != IDColumn {
		t.Errorf("KeyColumn() = %q, want %q", s.KeyColumn(), IDColumn)
	}
	var rows []pipeline.Row
	for {
		batch, err := s.Next(t.Context())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 || len(batch) > 5 {
			t.Fatalf("Next returned %d rows, want 1 to 5", len(batch))
		}
		rows = append(rows, batch...)
	}
	if len(rows) != 23 {
		t.Fatalf("read %d rows, want 23", len(rows))
	}
	for i, row := range rows {
		want := append([]string{fmt.Sprintf("c%d", i)}, r.values(i)...)
		if row.Num != int64(i+1) || row.Line != 0 || row.Reject != nil {
			t.Errorf("row %d: Num %d, Line %d, Reject %v; want Num %d, Line 0, no reject", i, row.Num, row.Line, row.Reject, i+1)
		}
		if !slices.Equal(row.Values, want) {
			t.Errorf("row %d = %q, want %q", i, row.Values, want)
		}
	}
	if _, err := s.Next(t.Context()); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF again", err)
	}
}

func TestEmptyAccount(t *testing.T) {
	s := open(t, announcingReader{newFake(0, 10)}, Options{})
	if rows, err := s.Next(t.Context()); err != io.EOF || len(rows) != 0 {
		t.Fatalf("Next on an empty account = %d rows, %v; want io.EOF", len(rows), err)
	}
	if done, total := s.Progress(); done != 0 || total != 0 {
		t.Errorf("Progress() = %d, %d; want 0, 0", done, total)
	}
}

func TestColumnsLimitAndOrder(t *testing.T) {
	r := newFake(4, 3)
	s := open(t, r, Options{Columns: []string{"tags", "id", "address.city"}})
	if want := []string{"tags", "id", "address.city"}; !slices.Equal(s.Columns(), want) {
		t.Fatalf("Columns() = %q, want %q", s.Columns(), want)
	}
	for i, row := range readAll(t, s) {
		v := r.values(i)
		want := []string{v[4], fmt.Sprintf("c%d", i), v[2]}
		if !slices.Equal(row.Values, want) {
			t.Errorf("row %d = %q, want %q", i, row.Values, want)
		}
	}
}

func TestUnknownColumns(t *testing.T) {
	for _, tc := range []struct {
		cols []string
		want []string
	}{
		{[]string{"id", "adress.city"}, []string{`no column "adress.city"`, `did you mean "address.city"?`,
			"id, email, name, address.city, address.country, tags"}},
		{[]string{"phone", "fax"}, []string{`no columns "phone", "fax"`, "its columns are id, email"}},
		{[]string{"name", "name"}, []string{`"name" is asked for twice`}},
	} {
		r := newFake(1, 1)
		_, err := Open(t.Context(), r, Options{Columns: tc.cols})
		if err == nil {
			t.Errorf("Open with columns %q succeeded", tc.cols)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open with columns %q: %v\nwant it to say %s", tc.cols, err, w)
			}
		}
		if pipeline.ClassOf(err) != pipeline.ClassFatal {
			t.Errorf("Open with columns %q: error of class %v, want fatal", tc.cols, pipeline.ClassOf(err))
		}
		select {
		case <-r.walked:
			t.Errorf("Open with columns %q started a walk", tc.cols)
		default:
		}
	}
}

func TestSchemaFieldNamedID(t *testing.T) {
	for _, tc := range []struct {
		fields []string
		key    string
	}{
		{[]string{"id", "name"}, "crm_id"},
		{[]string{"crm_id", "id", "crm_id_2"}, "crm_id_3"},
	} {
		sc := &pipeline.Schema{API: "fakecrm", MatchField: tc.fields[0]}
		for _, f := range tc.fields {
			sc.Fields = append(sc.Fields, pipeline.Field{Name: f})
		}
		r := newFake(2, 5)
		r.schema = sc
		s := open(t, r, Options{})
		if s.KeyColumn() != tc.key || KeyColumn(sc) != tc.key {
			t.Errorf("fields %q: key column %q (package: %q), want %q", tc.fields, s.KeyColumn(), KeyColumn(sc), tc.key)
		}
		want := append([]string{tc.key}, tc.fields...)
		if !slices.Equal(s.Columns(), want) {
			t.Errorf("fields %q: Columns() = %q, want %q", tc.fields, s.Columns(), want)
		}
		rows := readAll(t, s)
		if rows[1].Values[0] != "c1" || rows[1].Values[slices.Index(want, "id")] != "id 1" {
			t.Errorf("fields %q: row 2 = %q: the key column must hold the CRM's id, the id field its value", tc.fields, rows[1].Values)
		}
	}
}

func TestProgressAgainstAnnouncedTotal(t *testing.T) {
	f := newFake(10, 4)
	f.announce = 12 // two customers deleted during the walk
	s := open(t, announcingReader{f}, Options{BatchSize: 3})
	if done, total := s.Progress(); done != 0 || total != 12 {
		t.Errorf("Progress() after Open = %d, %d; want 0, 12", done, total)
	}
	if _, err := s.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := s.EstimatedRows(); n != 12 {
		t.Errorf("EstimatedRows() = %d, want 12", n)
	}
	if done, total := s.Progress(); done != 3 || total != 12 {
		t.Errorf("Progress() after a batch = %d, %d; want 3, 12", done, total)
	}
	readAll(t, s)
	if done, total := s.Progress(); done != 10 || total != 12 {
		t.Errorf("Progress() at the end = %d, %d; want 10, 12", done, total)
	}

	// Customers created during the walk take the count past the total.
	f = newFake(10, 4)
	f.announce = 8
	s = open(t, announcingReader{f}, Options{})
	readAll(t, s)
	if done, total := s.Progress(); done != 10 || total != 10 {
		t.Errorf("Progress() past the announced total = %d, %d; want 10, 10", done, total)
	}

	// A reader that announces nothing: the total is unknown.
	s = open(t, newFake(5, 2), Options{})
	readAll(t, s)
	if done, total := s.Progress(); done != 5 || total != 0 {
		t.Errorf("Progress() without announcer = %d, %d; want 5, 0", done, total)
	}
	if n := s.EstimatedRows(); n != 0 {
		t.Errorf("EstimatedRows() without announcer = %d, want 0", n)
	}
}

func TestWalkErrors(t *testing.T) {
	// On the first page: Open fails, as for a file that cannot be read.
	r := newFake(10, 4)
	r.failAt = 1
	if _, err := Open(t.Context(), r, Options{}); !errors.Is(err, errBroken) || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Fatalf("Open with a walk failing at once = %v (%v), want the walk's error, fatal", err, pipeline.ClassOf(err))
	}
	<-r.walked

	// Later: the rows before it, then the error, fatal, naming the API.
	r = newFake(10, 4)
	r.failAt = 3
	s := open(t, r, Options{BatchSize: 100})
	var got int
	var err error
	for {
		var rows []pipeline.Row
		rows, err = s.Next(t.Context())
		if err != nil {
			break
		}
		got += len(rows)
	}
	if got != 8 || !errors.Is(err, errBroken) || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), "fakecrm") {
		t.Errorf("a walk failing at page 3 gave %d rows then %v (%v); want 8 rows then the walk's error, fatal, naming fakecrm", got, err, pipeline.ClassOf(err))
	}
	if _, err2 := s.Next(t.Context()); !errors.Is(err2, errBroken) {
		t.Errorf("Next after the error = %v, want the error again", err2)
	}
}

// TestPagesBuffered checks the walk runs at most PagesBuffered pages
// ahead of Next (plus the one it is handing over), whatever the account's
// size: memory is that of a few pages.
func TestPagesBuffered(t *testing.T) {
	r := newFake(-1, 10) // pages for ever
	r.enteredc = make(chan int64, 1000)
	s := open(t, r, Options{BatchSize: 10})
	// Open took page 1; the channel holds the next PagesBuffered, and
	// the walk waits to hand over the one after. Each Next past the first
	// (which hands out page 1) frees a place for one more page.
	var seen int64
	waitEntered(t, r, &seen, PagesBuffered+2)
	if cap(s.pages) != PagesBuffered || len(s.pages) != PagesBuffered {
		t.Fatalf("the walk's channel holds %d pages of %d, want %d of %d", len(s.pages), cap(s.pages), PagesBuffered, PagesBuffered)
	}
	for k := int64(1); k <= 5; k++ {
		if rows, err := s.Next(t.Context()); err != nil || len(rows) != 10 {
			t.Fatalf("Next = %d rows, %v", len(rows), err)
		}
		waitEntered(t, r, &seen, PagesBuffered+1+k)
		if len(s.pages) != PagesBuffered {
			t.Fatalf("the walk's channel holds %d pages, want %d", len(s.pages), PagesBuffered)
		}
	}
	if n := r.entered.Load(); n != PagesBuffered+6 {
		t.Errorf("the walk listed %d pages with 5 handed out, want %d: it ran ahead of its bound", n, PagesBuffered+6)
	}
	s.Close()
	<-r.walked
}

// waitEntered waits until the walk has begun handing over page n (seen
// is the last page seen begun), and fails if it began more.
func waitEntered(t *testing.T, r *fakeReader, seen *int64, n int64) {
	t.Helper()
	for *seen < n {
		select {
		case *seen = <-r.enteredc:
		case <-r.walked:
			t.Fatalf("the walk ended before page %d", n)
		}
	}
	if *seen > n {
		t.Fatalf("the walk began handing over page %d, want at most %d", *seen, n)
	}
	// Drain what came meanwhile, to see a walk past its bound.
	select {
	case *seen = <-r.enteredc:
		t.Fatalf("the walk began handing over page %d, want at most %d", *seen, n)
	default:
	}
}

func TestCloseStopsTheWalk(t *testing.T) {
	r := newFake(-1, 10)
	r.enteredc = make(chan int64, 100)
	s, err := Open(t.Context(), r, Options{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Close while the walk waits to hand over a page.
	var seen int64
	waitEntered(t, r, &seen, PagesBuffered+2)
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	// Close waits for the walk's goroutine, which returns after Walk.
	select {
	case <-r.walked:
	default:
		t.Fatal("Close returned with the walk still running")
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close = %v", err)
	}
	if _, err := s.Next(t.Context()); err == nil {
		t.Error("Next after Close succeeded")
	}
}

func TestContextCancelledMidWalk(t *testing.T) {
	r := newFake(-1, 10)
	r.enteredc = make(chan int64, 100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := Open(ctx, r, Options{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(ctx); err != nil {
		t.Fatal(err)
	}
	// Cancel while the walk waits to hand over a page.
	var seen int64
	waitEntered(t, r, &seen, PagesBuffered+2)
	cancel()
	// The walk ends without Close: Walk returns, then the goroutine.
	<-r.walked
	<-s.done
	for {
		rows, err := s.Next(t.Context())
		if err == nil {
			continue // pages buffered before the cancel
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next after the cancel = %d rows, %v; want context.Canceled", len(rows), err)
		}
		break
	}

	// Cancelled while Open waits for the first page.
	r = newFake(-1, 10)
	r.hold = make(chan struct{})
	ctx, cancel = context.WithCancel(t.Context())
	go cancel()
	if _, err := Open(ctx, r, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open cancelled before the first page = %v, want context.Canceled", err)
	}
	select {
	case <-r.walked:
	default:
		t.Error("Open returned with the walk still running")
	}
}

// TestReaderBugsAreFatal checks a customer without an id or with values
// that do not fit the schema stops the run rather than become a row
// without a key, or blanks that a migration would send as clearing.
func TestReaderBugsAreFatal(t *testing.T) {
	for _, tc := range []struct {
		what   string
		mangle func(*pipeline.Customer)
		want   string
	}{
		{"no id", func(c *pipeline.Customer) { c.ID = "" }, "the customer of row 6 has no id"},
		{"short values", func(c *pipeline.Customer) { c.Values = c.Values[:2] }, "customer c5 has 2 values for the schema's 5 fields"},
		{"long values", func(c *pipeline.Customer) { c.Values = append(c.Values, "x") }, "customer c5 has 6 values for the schema's 5 fields"},
	} {
		r := newFake(9, 4)
		r.mangle = func(i int, c *pipeline.Customer) {
			if i == 5 {
				tc.mangle(c)
			}
		}
		s := open(t, r, Options{BatchSize: 3})
		var got int
		var err error
		for {
			var rows []pipeline.Row
			if rows, err = s.Next(t.Context()); err != nil {
				break
			}
			got += len(rows)
		}
		if got > 5 || err == io.EOF || !strings.Contains(err.Error(), tc.want) || pipeline.ClassOf(err) != pipeline.ClassFatal {
			t.Errorf("%s: %d rows, then %v (%v); want at most 5 rows, then a fatal error saying %q", tc.what, got, err, pipeline.ClassOf(err), tc.want)
		}
		if _, err2 := s.Next(t.Context()); err2 == nil || err2 == io.EOF {
			t.Errorf("%s: Next after the error = %v, want the error again", tc.what, err2)
		}
	}
}
