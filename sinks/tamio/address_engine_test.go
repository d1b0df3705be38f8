package tamio_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"crmsync/mappings"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
	"crmsync/sources/csv"
	"crmsync/state"
)

// addressMapping maps a CSV's columns onto tamio with a billing address.
const addressMapping = `api: tamio
key: id
fields:
  email: email
  name: name
  country: country
  billing_information.name: name
  billing_information.country: country
  billing_information.address: street
  billing_information.city: city
`

// engineRun syncs the CSV text through the engine into a, with the state
// at statePath, as a sync does, and returns the counts and what the run
// wrote.
func engineRun(t *testing.T, a *account, dir, statePath, csvText string) (pipeline.Counts, []pipeline.Written) {
	t.Helper()
	ctx := context.Background()
	mappingPath, csvPath := filepath.Join(dir, "customers.tamio.yaml"), filepath.Join(dir, "customers.csv")
	if err := os.WriteFile(mappingPath, []byte(addressMapping), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, []byte(csvText), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := mappings.Load(mappingPath, tamio.Schema())
	if err != nil {
		t.Fatal(err)
	}
	src, err := csv.Open(csvPath, csv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	prog, err := m.Bind(src.Columns(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rej, err := csv.NewRejectWriter(filepath.Join(dir, "rejects.csv"), src.Columns(), ',')
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(ctx, statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Bind(ctx, "tamio", m.KeyColumn()); err != nil {
		t.Fatal(err)
	}
	if err := st.BindMatch(ctx, tamio.Schema().MatchField, tamio.Schema().MatchFold); err != nil {
		t.Fatal(err)
	}
	sink, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: a.srv.APIKey, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var written []pipeline.Written
	run, err := pipeline.NewRun(pipeline.RunOptions{Source: src, Mapper: prog, Mapped: m.Mapped(), Sink: sink, Rejects: rej,
		State: st, KeyColumn: slices.Index(src.Columns(), m.KeyColumn()),
		OnWritten: func(ws []pipeline.Written) error { written = append(written, ws...); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Execute(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rej.Close(); err != nil {
		t.Fatal(err)
	}
	return run.Progress(), written
}

// stateCity returns the billing city the state at path records as the
// CRM's for key.
func stateCity(t *testing.T, path, key string) string {
	t.Helper()
	st, err := state.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.Entries(context.Background(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	if es[key] == nil {
		t.Fatalf("the state holds no key %s", key)
	}
	return es[key].Fields["billing_information.city"]
}

// Through the engine and a state: a customer that tamio held before the
// first run, whose row's billing city differs, is unchanged and the state
// records the city tamio holds (the sink read it, since its index keeps
// hashes); a customer created by the run has its row's address. When a
// later row changes a created customer's billing city with its name,
// only the name is sent, the diff lists only the name, and the state
// keeps the city tamio holds.
func TestStateRecordsTheCRMsAddress(t *testing.T) {
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.db")
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	if _, err := a.client.Create(context.Background(), map[string]any{"email": "old@example.com", "name": "Old", "country": "it",
		"billing_information": map[string]any{"name": "Old", "country": "it", "address": "Via Roma 1", "city": "Roma"}}); err != nil {
		t.Fatal(err)
	}

	c1, w1 := engineRun(t, a, dir, statePath, "id,email,name,country,street,city\n"+
		"1,old@example.com,Old,IT,Via Roma 1,Milano\n"+
		"2,new@example.com,New,IT,Via Po 2,Torino\n")
	if c1.Created != 1 || c1.Unchanged != 1 || c1.Rejected != 0 {
		t.Fatalf("first run: %+v, want one created and one unchanged", c1)
	}
	if len(w1) != 1 || w1[0].Action != "create" || w1[0].Key != "2" {
		t.Errorf("first run wrote %+v, want the create of key 2 alone", w1)
	}
	if got := stateCity(t, statePath, "1"); got != "Roma" {
		t.Errorf("the state says tamio holds billing city %q for key 1, tamio holds Roma", got)
	}
	if got := stateCity(t, statePath, "2"); got != "Torino" {
		t.Errorf("the state says tamio holds billing city %q for key 2, want Torino", got)
	}

	before := a.srv.Stats()
	c2, w2 := engineRun(t, a, dir, statePath, "id,email,name,country,street,city\n"+
		"1,old@example.com,Old,IT,Via Roma 1,Milano\n"+
		"2,new@example.com,Newer,IT,Via Po 2,Napoli\n")
	if c2.Updated != 1 || c2.Unchanged != 1 || c2.Rejected != 0 {
		t.Fatalf("second run: %+v, want one updated and one unchanged", c2)
	}
	if len(w2) != 1 || len(w2[0].Changes) != 1 || w2[0].Changes[0].Field != "name" {
		t.Errorf("second run wrote %+v, want key 2's name alone", w2)
	}
	if n := a.srv.Stats().Requests["POST /customers/update/{uuid}"]["200"] - before.Requests["POST /customers/update/{uuid}"]["200"]; n != 1 {
		t.Errorf("%d updates, want 1", n)
	}
	if got := stateCity(t, statePath, "2"); got != "Torino" {
		t.Errorf("after the second run the state says tamio holds billing city %q for key 2, tamio holds Torino", got)
	}
	held := readBack(t, a)
	city := tamio.Schema().Index("billing_information.city")
	if held["new@example.com"][city] != "Torino" || held["old@example.com"][city] != "Roma" {
		t.Errorf("tamio holds billing cities %q and %q, want Torino and Roma", held["new@example.com"][city], held["old@example.com"][city])
	}
}
