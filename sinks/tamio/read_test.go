package tamio_test

import (
	"context"
	"encoding/json"
	"testing"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// TestRawReads checks that the raw reads keep every key of the customer
// object, addresses included, and that only the API's 400 "not found" is
// taken for a customer it does not hold: a 404 from a wrong base URL is
// not.
func TestRawReads(t *testing.T) {
	srv, err := tamiotest.NewServer(tamiotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	c := tamio.NewClient(srv.URL, srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 1}))
	defer c.CloseIdleConnections()
	created, err := c.Create(ctx, map[string]any{"name": "Ana", "email": "ana@example.com", "country": "de",
		"billing_information": map[string]any{"name": "Ana", "country": "de", "address": "Weg 1", "city": "Bonn"}})
	if err != nil {
		t.Fatal(err)
	}

	raw, err := c.RetrieveRaw(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	var one map[string]any
	if err := json.Unmarshal(raw, &one); err != nil {
		t.Fatal(err)
	}
	billing, _ := one["billing_address"].(map[string]any)
	if billing["city"] != "Bonn" || one["object"] != "customer" || len(one) < 20 {
		t.Errorf("retrieve kept %d keys, billing address %v", len(one), billing)
	}

	page, total, err := c.ListRaw(ctx, tamio.ListQuery{Page: 1, PerPage: tamio.MaxPerPage, SortBy: "created_at", Order: "asc", IncludeLeads: true})
	if err != nil || total != 1 || len(page) != 1 {
		t.Fatalf("list: %d of %d, %v", len(page), total, err)
	}
	var listed map[string]any
	if err := json.Unmarshal(page[0], &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != len(one) {
		t.Errorf("list answered %d keys, retrieve %d", len(listed), len(one))
	}

	_, err = c.RetrieveRaw(ctx, "00000000-0000-4000-8000-000000000000")
	if !tamio.IsNotFound(err) {
		t.Errorf("an unknown customer: %v, not a not-found", err)
	}
	wrong := tamio.NewClient(srv.URL+"/nope", srv.APIKey, nil, pipeline.NewPacer(pipeline.PacerOptions{MaxRetries: 1}))
	defer wrong.CloseIdleConnections()
	_, err = wrong.RetrieveRaw(ctx, created.ID)
	if err == nil || tamio.IsNotFound(err) {
		t.Errorf("a wrong base URL: %v; want an error that is not a not-found", err)
	}
}
