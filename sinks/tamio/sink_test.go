package tamio_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"crmsync/pipeline"
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

// harness makes the records the tamio tests write. (The conformance
// suite, pipeline/sinktest, runs for tamio from crm/all, like for every
// registered connector.)
var harness = struct {
	// Valid returns the values, by schema field, of a record tamio
	// accepts; distinct n give distinct emails.
	Valid func(n int) []string
}{
	Valid: func(n int) []string {
		tm := tamiotest.DefaultTeammates()
		v := make([]string, len(tamio.Schema().Fields))
		copy(v, []string{
			fmt.Sprintf("person.%d@example.com", n), fmt.Sprintf("Name%d", n), "Lastname", "DE", "en", "+01:00",
			"normal", "customer", fmt.Sprintf("+4930%07d", n), tm[n%len(tm)].ID,
		})
		return v
	},
}
