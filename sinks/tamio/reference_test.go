package tamio_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// TestTeammatesTable reads tamio:teammates from an emulated account: every
// teammate, sorted by email, keyed by email ignoring case, giving the id;
// a name tamio does not offer and a key the API refuses are fatal errors.
func TestTeammatesTable(t *testing.T) {
	tms := []tamiotest.Teammate{
		{ID: "0b6f2a55-0000-4000-8000-000000000002", Email: "Zoe.Weber@Example.com", Name: "Zoë Weber"},
		{ID: "0b6f2a55-0000-4000-8000-000000000001", Email: "adam.smith@example.com", Name: "Adam Smith"},
	}
	srv, err := tamiotest.NewServer(tamiotest.Options{Teammates: tms})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	sink, err := tamio.New(tamio.Options{BaseURL: srv.URL, APIKey: srv.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	got, err := pipeline.ReadReferences(ctx, sink, []string{tamio.TeammatesTable})
	if err != nil {
		t.Fatal(err)
	}
	tb := got[tamio.TeammatesTable]
	want := [][]string{{tms[1].Email, tms[1].Name, tms[1].ID}, {tms[0].Email, tms[0].Name, tms[0].ID}}
	if !slices.Equal(tb.Columns, []string{"email", "name", "id"}) || tb.Columns[tb.Key] != "email" || tb.Columns[tb.Value] != "id" || !tb.IgnoreCase ||
		!slices.EqualFunc(tb.Rows, want, slices.Equal) {
		t.Errorf("tamio:teammates = %+v, want the rows %q keyed by email ignoring case", tb, want)
	}

	_, err = pipeline.ReadReferences(ctx, sink, []string{"tamio:countries"})
	if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal || !strings.Contains(err.Error(), `"tamio:teammates"`) {
		t.Errorf("an unknown table: %v, want a fatal error naming tamio:teammates", err)
	}
	if _, err := sink.ReadReference(ctx, "tamio:countries"); err == nil || !strings.Contains(err.Error(), `"tamio:teammates"`) {
		t.Errorf("ReadReference of an unknown table: %v", err)
	}

	bad, err := tamio.New(tamio.Options{BaseURL: srv.URL, APIKey: "not-a-key"})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := pipeline.ReadReferences(ctx, bad, []string{tamio.TeammatesTable}); err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
		t.Errorf("a refused key: %v, want a fatal error", err)
	}
}
