package revnue

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"crmsync/sinks/revnue/revnuetest"
)

// Current calls share a page read only when it began after they did: a
// read as fresh as their own, never one older than the batch. Reads no
// running call may take are dropped.
func TestCurrentCallsShareOnlyReadsAsFreshAsTheirOwn(t *testing.T) {
	srv, err := revnuetest.NewServer(revnuetest.Options{DBPath: filepath.Join(t.TempDir(), "r.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	for range 3 {
		if _, err := srv.Seed(ctx, srv.FullCustomer("C"+string(rune('a'+srv.Stats().Customers)), 1)); err != nil {
			t.Fatal(err)
		}
	}
	var lists atomic.Int64
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/customer/" {
			lists.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	a, err := NewAPI(Options{BaseURL: ts.URL, Token: srv.Token, Rate: 1e6})
	if err != nil {
		t.Fatal(err)
	}

	first := a.reads.begin()
	second := a.reads.begin()
	if _, _, err := a.sharedPage(ctx, first, 1); err != nil { // began after both
		t.Fatal(err)
	}
	if _, _, err := a.sharedPage(ctx, second, 1); err != nil {
		t.Fatal(err)
	}
	if n := lists.Load(); n != 1 {
		t.Errorf("two calls that began before a read made %d reads, want 1 shared", n)
	}
	third := a.reads.begin() // after the read: it must read again
	if _, cs, err := a.sharedPage(ctx, third, 1); err != nil || len(cs) != 3 {
		t.Fatal(cs, err)
	}
	if n := lists.Load(); n != 2 {
		t.Errorf("a call that began after the read took it: %d reads, want 2", n)
	}
	a.reads.end(first)
	a.reads.end(second)
	a.reads.end(third)
	if len(a.reads.reads) != 0 || len(a.reads.active) != 0 {
		t.Errorf("with no call running, %d reads and %d calls are kept", len(a.reads.reads), len(a.reads.active))
	}
}
