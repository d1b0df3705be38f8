package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"crmsync/pipeline"
)

// referenceSink is a fakeSink that offers reference tables through
// function fields.
type referenceSink struct {
	fakeSink
	tables []string
	read   func(ctx context.Context, name string) (*pipeline.ReferenceTable, error)
}

func (s *referenceSink) ReferenceTables() []string { return s.tables }

func (s *referenceSink) ReadReference(ctx context.Context, name string) (*pipeline.ReferenceTable, error) {
	return s.read(ctx, name)
}

// TestReadReferences checks what ReadReferences refuses, each as a fatal
// error saying what the target offers, and that it reads each table
// asked for.
func TestReadReferences(t *testing.T) {
	ctx := context.Background()
	good := func(_ context.Context, name string) (*pipeline.ReferenceTable, error) {
		return &pipeline.ReferenceTable{Name: name, Columns: []string{"email", "id"}, Key: 0, Value: 1,
			Rows: [][]string{{"a@example.com", "1"}}}, nil
	}
	s := &referenceSink{tables: []string{"fake:teammates", "fake:countries"}, read: good}
	got, err := pipeline.ReadReferences(ctx, s, []string{"fake:teammates"})
	if err != nil || len(got) != 1 || got["fake:teammates"] == nil || len(got["fake:teammates"].Rows) != 1 {
		t.Fatalf("ReadReferences = %v, %v", got, err)
	}

	refused := func(name string, sink pipeline.Sink, names []string, want ...string) {
		t.Helper()
		_, err := pipeline.ReadReferences(ctx, sink, names)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if pipeline.ClassOf(err) != pipeline.ClassFatal {
			t.Errorf("%s: class %v, want fatal", name, pipeline.ClassOf(err))
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, err, w)
			}
		}
	}
	refused("unknown table", s, []string{"fake:teamates"}, `"fake:teamates"`, `"fake:teammates"`, `"fake:countries"`)
	refused("a sink without tables", &fakeSink{}, []string{"fake:teammates"}, "offers no tables")
	refused("a read that fails", &referenceSink{tables: s.tables, read: func(context.Context, string) (*pipeline.ReferenceTable, error) {
		return nil, pipeline.Retryable(errors.New("503 after every retry"), 0)
	}}, []string{"fake:teammates"}, "503")
	refused("a short row", &referenceSink{tables: s.tables, read: func(ctx context.Context, name string) (*pipeline.ReferenceTable, error) {
		tb, _ := good(ctx, name)
		tb.Rows = append(tb.Rows, []string{"b@example.com"})
		return tb, nil
	}}, []string{"fake:teammates"}, "row 2 has 1 values")
	refused("a key out of range", &referenceSink{tables: s.tables, read: func(ctx context.Context, name string) (*pipeline.ReferenceTable, error) {
		tb, _ := good(ctx, name)
		tb.Value = 2
		return tb, nil
	}}, []string{"fake:teammates"}, "value column 2")
}
