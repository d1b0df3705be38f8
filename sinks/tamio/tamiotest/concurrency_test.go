package tamiotest_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/sinks/tamio/tamiotest"
)

// pooled returns a client whose transport keeps enough connections for
// many goroutines.
func pooled(t testing.TB, s *tamiotest.Server) *client {
	c := &client{newClient(t, s).Pooled(64)}
	c.HTTP.Timeout = 60 * time.Second
	t.Cleanup(c.HTTP.CloseIdleConnections)
	return c
}

// mixCase writes an email in one of several spellings.
func mixCase(email string, i int) string {
	switch i % 3 {
	case 1:
		return strings.ToUpper(email)
	case 2:
		return strings.ToUpper(email[:1]) + email[1:]
	}
	return email
}

func TestConcurrentCreatesOneCustomerPerEmail(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := pooled(t, s)
	const workers, perWorker, emails = 64, 4, 40
	var created, exists atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := (w*perWorker + i) % emails
				a, err := c.send("POST", "/customers/create", person(mixCase(fmt.Sprintf("shared%02d@example.com", n), w+i)))
				switch {
				case err != nil:
					t.Error(err)
				case a.Status == 200:
					created.Add(1)
				case a.code() == 10142:
					exists.Add(1)
				default:
					t.Errorf("create: %v", a)
				}
			}
		})
	}
	wg.Wait()
	if created.Load() != emails || exists.Load() != workers*perWorker-emails {
		t.Errorf("%d created and %d refused as existing, want %d and %d", created.Load(), exists.Load(), emails, workers*perWorker-emails)
	}
	seen := map[string]int{}
	for _, cu := range c.allCustomers("") {
		seen[strings.ToLower(cu["email"].(string))]++
	}
	if len(seen) != emails {
		t.Errorf("%d distinct emails, want %d", len(seen), emails)
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("%s: %d customers", e, n)
		}
	}
}

func TestConcurrentBulkCreatesWithOverlaps(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{BulkDelay: time.Millisecond})
	c := pooled(t, s)
	// Eight bodies of 100 from a pool of 300 emails, overlapping.
	var wg sync.WaitGroup
	for b := range 8 {
		wg.Go(func() {
			var cs []any
			for i := range 100 {
				cs = append(cs, person(mixCase(fmt.Sprintf("pool%03d@example.com", (b*37+i)%300), b)))
			}
			if a, err := c.send("POST", "/customers/bulk/create", map[string]any{"customers": cs}); err != nil || a.Status != 200 {
				t.Errorf("bulk create: %v %v", a, err)
			}
		})
	}
	// Single creates race with the jobs for some of the same emails.
	for i := range 20 {
		wg.Go(func() {
			a, err := c.send("POST", "/customers/create", person(fmt.Sprintf("pool%03d@example.com", i*3)))
			if err != nil || a.Status != 200 && a.code() != 10142 {
				t.Errorf("create: %v %v", a, err)
			}
		})
	}
	wg.Wait()
	waitIdle(t, s)
	want := map[string]bool{}
	for b := range 8 {
		for i := range 100 {
			want[fmt.Sprintf("pool%03d@example.com", (b*37+i)%300)] = true
		}
	}
	for i := range 20 {
		want[fmt.Sprintf("pool%03d@example.com", i*3)] = true
	}
	seen := map[string]int{}
	for _, cu := range c.allCustomers("") {
		seen[strings.ToLower(cu["email"].(string))]++
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct emails, want %d", len(seen), len(want))
	}
	for e, n := range seen {
		if n != 1 || !want[e] {
			t.Errorf("%s: %d customers (expected: %v)", e, n, want[e])
		}
	}
	if st := s.Stats(); st.JobsRun != 8 || st.Customers != int64(len(want)) {
		t.Errorf("stats: %d jobs, %d customers", st.JobsRun, st.Customers)
	}
}

// TestConcurrentUpdatesLoseNothing has four goroutines per customer each
// change a different field, all at once: each change must survive the
// others.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := pooled(t, s)
	const customers = 16
	var cids []string
	for i := range customers {
		cids = append(cids, c.create(person(fmt.Sprintf("u%d@example.com", i)))["id"].(string))
	}
	changes := []map[string]any{
		{"name": "Test", "last_name": "Changed"},
		{"name": "Test", "phone": "+4930123456"},
		{"name": "Test", "locale": "fr"},
		{"name": "Test", "priority": "high"},
	}
	var wg sync.WaitGroup
	for _, id := range cids {
		for _, ch := range changes {
			wg.Go(func() {
				if a, err := c.send("POST", "/customers/update/"+id, ch); err != nil || a.Status != 200 {
					t.Errorf("update: %v %v", a, err)
				}
			})
		}
	}
	wg.Wait()
	for _, id := range cids {
		cu := c.ok("GET", "/customers/retrieve/"+id, nil).customer()
		if cu["last_name"] != "Changed" || cu["phone"] != "+4930123456" || cu["locale"] != "fr" || cu["priority"] != "high" {
			t.Errorf("lost update: %v", cu)
		}
	}
}

func TestConcurrentEmailSwapsKeepEmailsUnique(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := pooled(t, s)
	var cids []string
	for i := range 8 {
		cids = append(cids, c.create(person(fmt.Sprintf("s%d@example.com", i)))["id"].(string))
	}
	// Everyone tries to take everyone's email: 10082 or success, and at
	// no point two customers with one email.
	var wg sync.WaitGroup
	for i, id := range cids {
		for j := range 8 {
			wg.Go(func() {
				a, err := c.send("POST", "/customers/update/"+id, map[string]any{"name": "T", "email": mixCase(fmt.Sprintf("s%d@example.com", (i+j)%10), j)})
				if err != nil || a.Status != 200 && a.code() != 10082 {
					t.Errorf("update: %v %v", a, err)
				}
			})
		}
	}
	wg.Wait()
	seen := map[string]int{}
	for _, cu := range c.allCustomers("") {
		seen[strings.ToLower(cu["email"].(string))]++
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("%s: %d customers", e, n)
		}
	}
	if len(seen) != 8 {
		t.Errorf("%d emails for 8 customers", len(seen))
	}
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "tamio.db")
	s := start(t, tamiotest.Options{DBPath: db})
	c := newClient(t, s)
	a := c.create(map[string]any{"name": "Kept", "email": "kept@example.com", "country": "it",
		"billing_information": map[string]any{"name": "K", "country": "it", "address": "Via Roma 1", "city": "Roma"}})
	c.ok("POST", "/customers/update/"+a["id"].(string), map[string]any{"name": "Kept", "priority": "high"})
	want := c.ok("GET", "/customers/retrieve/"+a["id"].(string), nil).Raw
	list := "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	c.ok("POST", "/customers/add-to-list/"+a["id"].(string), map[string]any{"mailing_list": list})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}

	s2 := start(t, tamiotest.Options{DBPath: db})
	c2 := newClient(t, s2)
	if got := c2.ok("GET", "/customers/retrieve/"+a["id"].(string), nil).Raw; string(got) != string(want) {
		t.Errorf("after restart:\n%s\nbefore:\n%s", got, want)
	}
	// Uniqueness and list memberships survived too.
	if r := c2.do("POST", "/customers/create", person("KEPT@example.com")); r.code() != 10142 {
		t.Errorf("create of a kept email: %v", r)
	}
	if got := ids(c2.ok("POST", "/customers/add-to-list/"+a["id"].(string), map[string]any{"mailing_list": list})); len(got) != 0 {
		t.Errorf("membership lost: add-to-list answered %v", got)
	}
	// New customers come after the old ones.
	b := c2.create(person("new@example.com"))
	if all := c2.allCustomers("sort_by=created_at"); len(all) != 2 || all[1]["id"] != b["id"] {
		t.Errorf("order after restart: %v", all)
	}
}

// TestBulkJobSurvivesRestart closes the server before the job's delay and
// checks the next server runs it.
func TestBulkJobSurvivesRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "tamio.db")
	s := start(t, tamiotest.Options{DBPath: db, BulkDelay: time.Hour})
	c := newClient(t, s)
	c.ok("POST", "/customers/bulk/create", map[string]any{"customers": []any{person("later@example.com")}})
	if st := s.Stats(); st.JobsPending != 1 {
		t.Fatalf("pending jobs: %d", st.JobsPending)
	}
	s.Close()

	s2 := start(t, tamiotest.Options{DBPath: db})
	waitIdle(t, s2)
	if got := newClient(t, s2).allCustomers("filter=later"); len(got) != 1 {
		t.Errorf("after restart the job created %d customers", len(got))
	}
}

func TestMemoryDatabase(t *testing.T) {
	t.Parallel()
	s, err := tamiotest.NewServer(tamiotest.Options{BulkDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := pooled(t, s)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if a, err := c.send("POST", "/customers/create", person(fmt.Sprintf("m%d@example.com", i%8))); err != nil || a.Status != 200 && a.code() != 10142 {
				t.Errorf("create: %v %v", a, err)
			}
			if a, err := c.send("GET", "/customers/list?page=1&per_page=5", nil); err != nil || a.Status != 200 {
				t.Errorf("list: %v %v", a, err)
			}
		})
	}
	wg.Wait()
	c.ok("POST", "/customers/bulk/create", map[string]any{"customers": []any{person("m0@example.com"), person("m100@example.com")}})
	waitIdle(t, s)
	if n := len(c.allCustomers("")); n != 9 {
		t.Errorf("%d customers in memory, want 9", n)
	}
}

// TestPaginationUnderInserts pages through by created_at while customers
// are being created: every customer that existed before paging started is
// seen exactly once, and no customer twice.
func TestPaginationUnderInserts(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{BulkDelay: time.Millisecond})
	c := pooled(t, s)
	var body []any
	for i := range 300 {
		body = append(body, person(fmt.Sprintf("page%03d@example.com", i)))
	}
	c.ok("POST", "/customers/bulk/create", map[string]any{"customers": body})
	waitIdle(t, s)
	before := map[string]bool{}
	for _, cu := range c.allCustomers("") {
		before[cu["id"].(string)] = true
	}
	if len(before) != 300 {
		t.Fatalf("%d customers before paging", len(before))
	}

	stop := make(chan struct{})
	var inserted atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if a, err := c.send("POST", "/customers/create", person(fmt.Sprintf("during%d-%d@example.com", w, i))); err != nil || a.Status != 200 {
					t.Errorf("create: %v %v", a, err)
					return
				}
				inserted.Add(1)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); inserted.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatal("no insert started")
		}
	}
	seen := map[string]int{}
	for page := 1; ; page++ {
		a := c.ok("GET", fmt.Sprintf("/customers/list?page=%d&per_page=23&sort_by=created_at&order=asc", page), nil)
		l := a.list("customers")
		for _, v := range l {
			seen[v.(map[string]any)["id"].(string)]++
		}
		// Stop once every old customer is read and a page came back short.
		if len(l) < 23 || page > 100 {
			break
		}
		time.Sleep(time.Millisecond) // let the writers in between pages
	}
	close(stop)
	wg.Wait()
	for id := range before {
		if seen[id] != 1 {
			t.Errorf("customer %s seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("customer %s seen %d times", id, n)
		}
	}
}
