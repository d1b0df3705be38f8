package tamio_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/pipeline/sinktest"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// account is one emulated tamio account and the suite's view of it.
type account struct {
	srv    *tamiotest.Server
	client *tamio.Client
}

func (a *account) Get(t *testing.T, id string) (map[string]string, bool) {
	t.Helper()
	c, err := a.client.Retrieve(context.Background(), id)
	if err != nil {
		if e, ok := tamio.AsAPIError(err); ok && e.Code == tamio.CodeNotFound {
			return nil, false
		}
		t.Fatalf("retrieve %s: %v", id, err)
	}
	return map[string]string{
		"email": c.Email, "name": c.Name, "last_name": c.LastName, "country": c.Country,
		"locale": c.Locale, "timezone_offset": c.TimezoneOffset, "priority": c.Priority,
		"category": c.Category, "phone": c.Phone, "teammate_id": c.TeammateID,
	}, true
}

func (a *account) Count(t *testing.T) int {
	t.Helper()
	if err := a.srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, total, err := a.client.List(context.Background(), tamio.ListQuery{Page: 1, PerPage: 1, IncludeLeads: true})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func newSink(t *testing.T, a *account, key string) pipeline.Sink {
	t.Helper()
	s, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: key, PollInterval: 20 * time.Millisecond, ConfirmTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var harness = sinktest.Harness{
	New: func(t *testing.T) (pipeline.Sink, sinktest.Target) {
		srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: filepath.Join(t.TempDir(), "tamio.db"), BulkDelay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		a := &account{srv: srv, client: tamio.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{}))}
		return newSink(t, a, srv.APIKey), a
	},
	Reopen: func(t *testing.T, tgt sinktest.Target) pipeline.Sink {
		a := tgt.(*account)
		return newSink(t, a, a.srv.APIKey)
	},
	Unauthorized: func(t *testing.T, tgt sinktest.Target) pipeline.Sink {
		return newSink(t, tgt.(*account), "not-the-key")
	},
	Valid: func(n int) []string {
		tm := tamiotest.DefaultTeammates()
		return []string{
			fmt.Sprintf("person.%d@example.com", n), fmt.Sprintf("Name%d", n), "Lastname", "DE", "en", "+01:00",
			"normal", "customer", fmt.Sprintf("+4930%07d", n), tm[n%len(tm)].ID,
		}
	},
	Refused: func(n int) []string {
		v := []string{
			fmt.Sprintf("person.%d@example.com", n), "Refused", "", "de", "en", "+01:00",
			"normal", "customer", "", "00000000-0000-4000-8000-000000000000", // no such teammate
		}
		return v
	},
	Change: func(v []string, n int) ([]string, string) {
		out := append([]string(nil), v...)
		out[1] = fmt.Sprintf("Changed%d", n)
		return out, "name"
	},
}

func TestConformance(t *testing.T) { sinktest.Run(t, harness) }
