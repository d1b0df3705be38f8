package tamiotest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/tamio/tamiotest"
)

func TestFaultErrors(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := oneShot(t, s)
	id := c.create(person("there@example.com"))["id"].(string)

	s.SetFaults(tamiotest.Faults{Seed: 1, ErrorRate: 0.5})
	statuses := map[int]int{}
	for range 80 {
		a, err := c.send("GET", "/customers/retrieve/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		statuses[a.Status]++
		if a.Status >= 500 {
			if a.code() != 1005 {
				t.Errorf("injected error: %v", a)
			}
			if (a.Status == 503) != (a.Header.Get("Retry-After") == "1") {
				t.Errorf("%d with Retry-After %q", a.Status, a.Header.Get("Retry-After"))
			}
		}
	}
	if statuses[200] == 0 || statuses[500] == 0 || statuses[502] == 0 || statuses[503] == 0 {
		t.Errorf("statuses %v: want 200 and each of 500, 502, 503", statuses)
	}

	// A failed write is not applied.
	s.SetFaults(tamiotest.Faults{Seed: 1, ErrorRate: 1})
	if a := c.do("POST", "/customers/create", person("failed@example.com")); a.Status < 500 {
		t.Fatalf("create with error rate 1: %v", a)
	}
	s.SetFaults(tamiotest.Faults{})
	if got := c.allCustomers("filter=failed"); len(got) != 0 {
		t.Errorf("a create answered with a 5xx was applied: %v", got)
	}
	st := s.Stats().Requests["GET /customers/retrieve/{uuid}"]
	if st["200"] != int64(statuses[200]) || st["500"] != int64(statuses[500]) || st["503"] != int64(statuses[503]) {
		t.Errorf("stats %v, client saw %v", st, statuses)
	}
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := oneShot(t, s)
	s.SetFaults(tamiotest.Faults{Seed: 3, DropRate: 1})
	if a, err := c.send("POST", "/customers/create", person("dropped@example.com")); err == nil {
		t.Fatalf("a dropped request got an answer: %v", a)
	}
	if _, err := c.send("GET", "/teammates/list", nil); err == nil {
		t.Fatal("a dropped read got an answer")
	}
	// /_sandbox/ is never faulted.
	stats := c.sandbox(strings.TrimSuffix(s.URL, "/v2"))
	a := stats.ok("GET", "/_sandbox/stats", nil)
	if !strings.Contains(string(a.Raw), `"dropped":1`) {
		t.Errorf("stats: %s", a.Raw)
	}
	s.SetFaults(tamiotest.Faults{})
	if got := c.allCustomers("filter=dropped"); len(got) != 0 {
		t.Errorf("a dropped create was applied: %v", got)
	}
	if n := s.Stats().Requests["POST /customers/create"]["dropped"]; n != 1 {
		t.Errorf("dropped creates counted: %d", n)
	}
}

func TestFaultLostAnswer(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{})
	c := oneShot(t, s)
	s.SetFaults(tamiotest.Faults{Seed: 4, LostAnswerRate: 1})
	if a, err := c.send("POST", "/customers/create", person("lost@example.com")); err == nil {
		t.Fatalf("a lost answer arrived: %v", a)
	}
	// Reads are never lost: there is nothing to apply.
	if _, err := c.send("GET", "/teammates/list", nil); err != nil {
		t.Fatalf("read with lost answers on: %v", err)
	}
	s.SetFaults(tamiotest.Faults{})
	got := c.allCustomers("filter=lost")
	if len(got) != 1 {
		t.Fatalf("the create whose answer was lost was not applied: %v", got)
	}
	// A retry, as a sink would make, learns the customer exists.
	if a := c.do("POST", "/customers/create", person("lost@example.com")); a.code() != 10142 {
		t.Errorf("retry: %v", a)
	}
	if n := s.Stats().Requests["POST /customers/create"]["lost"]; n != 1 {
		t.Errorf("lost answers counted: %d", n)
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	t.Parallel()
	emutest.CheckReplay(t, "POST /customers/create", "GET /customers/list", func(f emulator.Faults) emutest.Replayed {
		s := start(t, tamiotest.Options{Faults: f})
		c := oneShot(t, s)
		return emutest.Replayed{
			Create: func(i int) (*emutest.Answer, error) {
				return c.Send("POST", "/customers/create", person(fmt.Sprintf("d%d@example.com", i)))
			},
			List:     func() (*emutest.Answer, error) { return c.Send("GET", "/customers/list?page=1&per_page=100", nil) },
			Requests: func() map[string]map[string]int64 { return s.Stats().Requests },
		}
	})
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	s := start(t, tamiotest.Options{Faults: tamiotest.Faults{Latency: 80 * time.Millisecond}})
	c := newClient(t, s)
	began := time.Now()
	c.ok("GET", "/teammates/list", nil)
	if d := time.Since(began); d < 80*time.Millisecond {
		t.Errorf("request took %v with 80ms latency", d)
	}
	// Latency applies to every endpoint, to errors too.
	began = time.Now()
	c.do("GET", "/customers/retrieve/nothing", nil)
	if d := time.Since(began); d < 80*time.Millisecond {
		t.Errorf("failing request took %v with 80ms latency", d)
	}
}
