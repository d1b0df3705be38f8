package revnue

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"crmsync/pipeline"
)

// CategoriesTable is the reference table of the account's categories: a
// mapping's lookup("revnue:categories", segment) gives the id of the
// category with that name, which is what a customer's category is
// written with. Names match without regard to case (a decision: Revnue
// documents nothing on it, and people write "partner" for "Partner").
const CategoriesTable = "revnue:categories"

// ReferenceTables implements pipeline.ReferenceReader.
func (s *Sink) ReferenceTables() []string { return []string{CategoriesTable} }

// ReadReference implements pipeline.ReferenceReader: CategoriesTable is
// read from the category list, every page, with the columns name and id,
// its rows sorted by name whatever its case. It is called before
// Prepare.
func (s *Sink) ReadReference(ctx context.Context, name string) (*pipeline.ReferenceTable, error) {
	if name != CategoriesTable {
		return nil, pipeline.Fatalf("revnue: no reference table %s (its tables: %s)", pipeline.Quote(name), pipeline.QuoteList(s.ReferenceTables()))
	}
	cats, err := s.api.client.readCategories(ctx)
	if err != nil {
		return nil, fmt.Errorf("revnue: reading the categories: %w", err)
	}
	slices.SortFunc(cats, func(a, b Category) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	t := &pipeline.ReferenceTable{Name: CategoriesTable, Columns: []string{"name", "id"}, Key: 0, Value: 1,
		IgnoreCase: true, Rows: make([][]string, len(cats))}
	for i, c := range cats {
		t.Rows[i] = []string{c.Name, strconv.FormatInt(c.ID, 10)}
	}
	return t, nil
}

// Category is a customer category of the account.
type Category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// readCategories reads every category of the account, page by page, the
// paging guarded.
func (c *Client) readCategories(ctx context.Context) ([]Category, error) {
	var out []Category
	err := c.walkList(ctx, categoriesRoute, func(items []json.RawMessage) error {
		for _, raw := range items {
			var cat Category
			if err := json.Unmarshal(raw, &cat); err != nil || cat.ID == 0 {
				return pipeline.Fatalf("revnue answered a category that is not one")
			}
			out = append(out, cat)
		}
		return nil
	}, func(i int, items []json.RawMessage) string { return string(items[i]) })
	return out, err
}
