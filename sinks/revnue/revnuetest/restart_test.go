package revnuetest_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
	"crmsync/sinks/revnue/revnuetest"
)

// TestRestartKeepsData stops a server and starts another on the same
// file: customers as written and replaced, their order, the uniqueness of
// names and the sequence of ids survive.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "revnue.db")
	first, err := revnuetest.NewServer(revnuetest.Options{DBPath: db, RateLimit: testRateLimit})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, first)
	a := c.create(first.FullCustomer("Alpha", 0))
	b := c.create(first.FullCustomer("Beta", 1))
	b = c.put(idOf(b), emutest.With(minimal("Beta"), "city", "Hamburg"))
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	s := start(t, revnuetest.Options{DBPath: db})
	c = newClient(t, s)
	for _, want := range []map[string]any{a, b} {
		if got := c.get(idOf(want)); !reflect.DeepEqual(got, want) {
			t.Errorf("after restart\n got %v\nwant %v", got, want)
		}
	}
	if a := c.do("POST", "/customer/", minimal("ALPHA")); a.Status != 400 {
		t.Errorf("a taken name after restart: %v", a)
	}
	d := c.create(minimal("Delta"))
	if got, want := ids(c.all(1)), []int64{idOf(a), idOf(b), idOf(d)}; !slices.Equal(got, want) || idOf(d) <= idOf(b) {
		t.Errorf("order after restart %v, want %v", got, want)
	}
}

// TestStoreRefusesAnotherEmulatorsFile checks that a sandbox file is
// stamped as Revnue's: the kit refuses it to another emulator, and this
// one reopens it.
func TestStoreRefusesAnotherEmulatorsFile(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "sandbox.db")
	s, err := revnuetest.NewServer(revnuetest.Options{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, err := emulator.OpenStore(emulator.StoreOptions{Path: db, Version: 1, Application: "tiquo"}); err == nil {
		st.Close()
		t.Error("another emulator opened Revnue's file")
	}
	if s, err := revnuetest.NewServer(revnuetest.Options{DBPath: db}); err != nil {
		t.Errorf("reopening its own file: %v", err)
	} else {
		s.Close()
	}
}
