package gdpr

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"crmsync/pipeline"
)

// Subject is one person named by a subjects file: by the CRM's customer
// id, by their match value (the value of the API's match field, an email
// say), or by both (the id then decides).
type Subject struct {
	Row   int // 1-based data row of the subjects file, the header not counted
	ID    string
	Match string
}

// MatchColumn says which column of a subjects file holds match values,
// and how they compare.
type MatchColumn struct {
	// Name is the column's name: the API's match field. "" when the API
	// finds no customer by a match value, and subjects are named by id.
	Name string
	// Aliases are other names the column may go by.
	Aliases []string
	// Fold says match values compare without regard to case.
	Fold bool
}

// MatchColumnOf returns the match column of an API's schema: named as its
// match field and, when that field holds an email, also "email", the
// column every subjects file has had.
func MatchColumnOf(s *pipeline.Schema) MatchColumn {
	m := MatchColumn{Name: s.MatchField, Fold: s.MatchFold}
	if i := s.Index(s.MatchField); i >= 0 && s.Fields[i].Kind == pipeline.KindEmail && !strings.EqualFold(s.MatchField, "email") {
		m.Aliases = []string{"email"}
	}
	return m
}

// key is how a subject is told apart from the others of its file: the id
// when it has one, else the match value, folded when the API folds it.
func (m MatchColumn) key(s Subject) string {
	if s.ID != "" {
		return "id:" + s.ID
	}
	if m.Fold {
		return "match:" + strings.ToLower(s.Match)
	}
	return "match:" + s.Match
}

// an names the match column with its article, for messages.
func (m MatchColumn) an() string {
	if strings.ContainsRune("aeiouAEIOU", rune(m.Name[0])) {
		return "an " + m.Name
	}
	return "a " + m.Name
}

// maxSubjectsBytes bounds a subjects file: it names people one by one,
// and a file far larger is the wrong file (an export of the account).
const maxSubjectsBytes = 64 << 20

// ReadSubjects reads a subjects file: CSV with a header holding the match
// column (under its name or an alias), an "id" column, or both, matched
// without regard to case or surrounding spaces; other columns are
// ignored. Rows naming the same subject again are dropped; a row naming
// nobody is an error. Errors give row numbers, never the values.
func ReadSubjects(r io.Reader, m MatchColumn) ([]Subject, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSubjectsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSubjectsBytes {
		return nil, fmt.Errorf("the subjects file is over %d MiB", maxSubjectsBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	wanted := "an id column"
	if m.Name != "" {
		wanted = m.an() + " or an id column"
	}
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("the subjects file is empty: want a header with %s", wanted)
	}
	if err != nil {
		return nil, csvError(err)
	}
	idCol, matchCol, err := m.columns(head)
	if err != nil {
		return nil, err
	}
	if idCol < 0 && matchCol < 0 {
		if m.Name == "" {
			return nil, errors.New("the subjects file has no id column in its header")
		}
		return nil, fmt.Errorf("the subjects file has neither %s nor an id column in its header", m.an())
	}
	cell := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var out []Subject
	seen := map[string]bool{}
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		s := Subject{Row: row, ID: cell(rec, idCol), Match: cell(rec, matchCol)}
		if s.ID == "" && s.Match == "" {
			if matchCol < 0 {
				return nil, fmt.Errorf("row %d of the subjects file names nobody: its id is empty", s.Row)
			}
			return nil, fmt.Errorf("row %d of the subjects file names nobody: its %s and id are empty", s.Row, m.Name)
		}
		if k := m.key(s); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the subjects file names nobody: it has a header and no rows")
	}
	return out, nil
}

// columns finds the id and the match column in a header, -1 for none. A
// spreadsheet's "Email " matches "email".
func (m MatchColumn) columns(head []string) (idCol, matchCol int, err error) {
	idCol, matchCol = -1, -1
	var names []string
	if m.Name != "" {
		names = append([]string{m.Name}, m.Aliases...)
	}
	counts := map[string]int{}
	matchName := ""
	for i, c := range head {
		c = strings.ToLower(strings.TrimSpace(c))
		counts[c]++
		switch {
		case c == "id":
			idCol = i
		case slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, c) }):
			if matchCol >= 0 && matchName != c {
				return -1, -1, fmt.Errorf("the header names the %s column twice, as %q and %q: keep one", m.Name, matchName, c)
			}
			matchCol, matchName = i, c
		}
	}
	for _, c := range append([]string{"id"}, names...) {
		if n := counts[strings.ToLower(c)]; n > 1 {
			return -1, -1, fmt.Errorf("the header has the column %q %d times", strings.ToLower(c), n)
		}
	}
	return idCol, matchCol, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("the subjects file is not valid CSV at line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("reading the subjects file: %w", err)
}
