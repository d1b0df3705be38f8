package crmsource

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"crmsync/pipeline"
)

// fakeSchema is a small schema with a nested group and a list, as the
// connectors' are.
var fakeSchema = pipeline.Schema{
	API: "fakecrm",
	Fields: []pipeline.Field{
		{Name: "email", Kind: pipeline.KindEmail},
		{Name: "name", Kind: pipeline.KindString},
		{Name: "address.city", Kind: pipeline.KindString},
		{Name: "address.country", Kind: pipeline.KindCountry},
		{Name: "tags", Kind: pipeline.KindList},
	},
	MatchField: "email",
}

// fakeReader is a pipeline.Reader over made-up customers: n of them,
// pageSize a page (n < 0 pages for ever), customer i with id "c<i>".
type fakeReader struct {
	schema   *pipeline.Schema
	n        int
	pageSize int
	// failAt makes the walk fail when it would list that page (1-based).
	failAt int
	// announce makes the reader a pipeline.TotalAnnouncer announcing it
	// from the first page on.
	announce int64

	announced atomic.Int64
	// entered counts the calls of the walk's fn begun; each sends on
	// enteredc when it is not nil.
	entered  atomic.Int64
	enteredc chan int64
	// mangle, when not nil, spoils customers as a buggy reader would.
	mangle func(i int, c *pipeline.Customer)
	// hold, when not nil, keeps the walk from listing until it is closed
	// or the walk's context ends.
	hold chan struct{}
	// walked is closed when Walk returns.
	walked chan struct{}
}

var errBroken = errors.New("the list answered 500 for good")

func newFake(n, pageSize int) *fakeReader {
	return &fakeReader{schema: &fakeSchema, n: n, pageSize: pageSize, walked: make(chan struct{})}
}

func (r *fakeReader) Schema() *pipeline.Schema   { return r.schema }
func (r *fakeReader) Stats() *pipeline.CallStats { return &pipeline.CallStats{} }

// values returns customer i's values, in canonical text.
func (r *fakeReader) values(i int) []string {
	out := make([]string, len(r.schema.Fields))
	for f := range out {
		switch r.schema.Fields[f].Name {
		case "email":
			out[f] = fmt.Sprintf("c%d@example.com", i)
		case "name":
			out[f] = fmt.Sprintf("Name %d", i)
		case "address.city":
			if i%3 != 0 { // some customers hold no address
				out[f] = fmt.Sprintf("City %d", i)
			}
		case "address.country":
			out[f] = "de"
		case "tags":
			out[f] = pipeline.FormatList([]string{"a", fmt.Sprint(i)})
		default:
			out[f] = fmt.Sprintf("%s %d", r.schema.Fields[f].Name, i)
		}
	}
	return out
}

func (r *fakeReader) Walk(ctx context.Context, fn func([]pipeline.Customer) error) error {
	defer close(r.walked)
	if r.hold != nil {
		select {
		case <-r.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for page, i := 1, 0; r.n < 0 || i < r.n; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if page == r.failAt {
			return errBroken
		}
		r.announced.Store(r.announce)
		end := i + r.pageSize
		if r.n >= 0 {
			end = min(end, r.n)
		}
		cs := make([]pipeline.Customer, 0, end-i)
		for ; i < end; i++ {
			cs = append(cs, pipeline.Customer{ID: fmt.Sprintf("c%d", i), Values: r.values(i)})
			if r.mangle != nil {
				r.mangle(i, &cs[len(cs)-1])
			}
		}
		k := r.entered.Add(1)
		if r.enteredc != nil {
			r.enteredc <- k
		}
		if err := fn(cs); err != nil {
			return err
		}
	}
	return nil
}

func (r *fakeReader) Get(context.Context, string) (*pipeline.Customer, error) {
	return nil, pipeline.ErrNotFound
}

func (r *fakeReader) Find(context.Context, string) ([]pipeline.Customer, error) { return nil, nil }

// announcingReader is a fakeReader that announces the account's size.
type announcingReader struct{ *fakeReader }

func (r announcingReader) AnnouncedTotal() int64 { return r.announced.Load() }
