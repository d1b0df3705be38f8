package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"crmsync/pipeline"
)

// Kind is the type of a table column.
type Kind int

// The kinds of column. Every column is nullable: null is what the CRM
// answered (or a key it left out), which a typed format keeps apart from
// "".
const (
	String Kind = iota
	Int64
	Bool
)

// OtherFields is the name of the table's last column: a JSON object of
// what the CRM sent in the customer object that no column took, nested as
// it was sent; null when nothing was left.
const OtherFields = "other_fields"

// Column is one column of the table.
type Column struct {
	Name string
	Kind Kind
	// Related names the related record the value is read from, one of
	// Layout.Related; "" reads the customer object.
	Related string
	// Path is the keys leading to the value from the top of the object:
	// {"billing_address", "city"}. Objects and arrays found there are
	// given as compact JSON text in a String column.
	Path []string
}

// Layout is the combined table of a connector's export. It is declared
// once, as a package variable, and not changed after its first use; its
// methods may then be called concurrently.
type Layout struct {
	// Columns are the table's columns in order; OtherFields follows them.
	Columns []Column
	// Related names the records related to a customer that an export
	// hands over with it, as the connector's reader gives them (see
	// RelatedReader): each is a key of the customer's own file, null for
	// a customer without one.
	Related []string
	// Ignore lists paths of the customer object that hold nothing a
	// person needs and are left out of OtherFields too: a type tag such
	// as "object": "customer".
	Ignore [][]string
	// Normalize, when set, brings a variant shape of the API's answers
	// into the one the columns read (an object answered as a list of one,
	// say) before any column reads it. It is given the customer object's
	// top-level keys, may change them, and is called concurrently.
	Normalize func(obj map[string]json.RawMessage)

	once    sync.Once
	err     error
	table   []Column
	root    *node            // the customer object's paths
	related map[string]*node // each related record's
}

// node is one key of the paths a layout reads: a column's value, a key
// ignored, or an object whose keys are read further.
type node struct {
	col      int // index in the table, or -1
	ignore   bool
	children map[string]*node
}

func newNode() *node { return &node{col: -1} }

// RelatedReader is implemented by a pipeline.Reader whose API keeps
// records related to a customer apart from it (the member of staff a
// customer is assigned to, say): they are part of what the CRM holds on
// the person, so an export hands them over with the customer.
type RelatedReader interface {
	// Related is called once per export, before any customer is read,
	// and reads what the lookups need (an account's staff list, say).
	// The function it returns gives a customer's related records by the
	// names of the connector's Layout.Related, absent or JSON null for
	// none; it is called concurrently. Errors are fatal.
	Related(ctx context.Context) (func(ctx context.Context, c *pipeline.Customer) (map[string]json.RawMessage, error), error)
}

// Default returns the layout of a connector that declares none: the id,
// then every schema field in the schema's order (a field of a nested
// object, "address.city", read from its path and named "address_city"),
// typed by its kind. What else the CRM sends lands in OtherFields.
func Default(s *pipeline.Schema) *Layout {
	l := &Layout{Columns: []Column{{Name: "id", Kind: String, Path: []string{"id"}}}}
	for _, f := range s.Fields {
		if f.Name == "id" {
			continue
		}
		k := String
		switch f.Kind {
		case pipeline.KindBool:
			k = Bool
		case pipeline.KindInt:
			k = Int64
		}
		l.Columns = append(l.Columns, Column{Name: strings.ReplaceAll(f.Name, ".", "_"), Kind: k, Path: strings.Split(f.Name, ".")})
	}
	return l
}

// Check reports a layout that cannot be used: two columns of one name, a
// path that is empty or reads the inside of another column's value, an
// unknown kind or related record.
func (l *Layout) Check() error {
	l.once.Do(l.compile)
	return l.err
}

// Table returns the table's columns: Columns, then OtherFields.
func (l *Layout) Table() []Column {
	l.once.Do(l.compile)
	return l.table
}

func (l *Layout) compile() {
	l.table = append(append([]Column(nil), l.Columns...), Column{Name: OtherFields, Kind: String})
	l.root = newNode()
	l.related = map[string]*node{}
	for _, name := range l.Related {
		if name == "" || l.related[name] != nil {
			l.err = fmt.Errorf("related record %q is empty or named twice", name)
			return
		}
		l.related[name] = newNode()
	}
	names := map[string]bool{}
	for i, c := range l.table {
		switch {
		case c.Name == "" || names[c.Name]:
			l.err = fmt.Errorf("column %d: the name %q is empty or taken", i+1, c.Name)
		case c.Kind != String && c.Kind != Int64 && c.Kind != Bool:
			l.err = fmt.Errorf("column %s: unknown kind %d", c.Name, c.Kind)
		}
		if l.err != nil {
			return
		}
		names[c.Name] = true
		if i == len(l.table)-1 {
			break // OtherFields reads no path
		}
		root := l.root
		if c.Related != "" {
			if root = l.related[c.Related]; root == nil {
				l.err = fmt.Errorf("column %s reads related record %q, which Related does not name", c.Name, c.Related)
				return
			}
		}
		if err := root.add(c.Path, i, false); err != nil {
			l.err = fmt.Errorf("column %s: %w", c.Name, err)
			return
		}
	}
	for _, p := range l.Ignore {
		if err := l.root.add(p, -1, true); err != nil {
			l.err = fmt.Errorf("ignored path %q: %w", strings.Join(p, "."), err)
			return
		}
	}
}

// add puts the end of path under n, as column col or ignored.
func (n *node) add(path []string, col int, ignore bool) error {
	if len(path) == 0 {
		return errors.New("no path")
	}
	for i, k := range path {
		if n.col >= 0 || n.ignore {
			return errors.New("the path goes inside a value another column takes whole")
		}
		if n.children == nil {
			n.children = map[string]*node{}
		}
		c := n.children[k]
		if c == nil {
			c = newNode()
			n.children[k] = c
		}
		n = c
		if i == len(path)-1 && (n.col >= 0 || n.ignore || n.children != nil) {
			return errors.New("another column or ignored path reads the same value or inside it")
		}
	}
	n.col, n.ignore = col, ignore
	return nil
}
