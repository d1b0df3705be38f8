package counttest_test

import (
	"fmt"
	"sync"
	"testing"

	"crmsync/sinks/count/counttest"
)

// TestRacingEmails sends, at once, creates of one email in different
// cases and PUTs that move other customers onto it: exactly one request
// wins, the others are 409 email_exists, never a 5xx.
func TestRacingEmails(t *testing.T) {
	t.Parallel()
	s := start(t, counttest.Options{RateLimit: 10_000})
	c := newClient(t, s)
	var ids []string
	for i := range 8 {
		ids = append(ids, c.create(company("Mover", fmt.Sprintf("mover%d@example.com", i)))["id"].(string))
	}
	const creates = 8
	statuses := make([]int, creates+len(ids))
	var wg sync.WaitGroup
	for i := range creates {
		wg.Go(func() {
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@Example.com"
			}
			statuses[i] = c.do("POST", "/customers", company("Racer", email)).Status
		})
	}
	for i, id := range ids {
		wg.Go(func() {
			statuses[creates+i] = c.do("PUT", "/customers/"+id, company("Mover", "Race@EXAMPLE.com")).Status
		})
	}
	wg.Wait()
	wins, created := 0, 0
	for i, st := range statuses {
		switch st {
		case 201:
			created++
			fallthrough
		case 200:
			wins++
		case 409:
		default:
			t.Errorf("request %d: %d", i, st)
		}
	}
	if wins != 1 {
		t.Errorf("%d requests won, want 1: %v", wins, statuses)
	}
	if got := s.Stats().Customers; got != int64(len(ids)+created) {
		t.Errorf("%d customers, want %d", got, len(ids)+created)
	}
}
