package gdpr

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"crmsync/pipeline"
)

// Subject is one person named by a subjects file: by the CRM's customer
// id, by their match value (the value of the API's match field, an email
// say), by their email where the match value is not one, or by several
// of these (the id decides, then the match value).
type Subject struct {
	Row   int // 1-based data row of the subjects file, the header not counted
	ID    string
	Match string
	// Email is read from the column MatchColumn.Email names: set for an
	// API whose match field holds no email, and for a request across
	// several CRMs, where the email is what names the person in each.
	Email string
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
	// Email names a column of emails read into Subject.Email, beside the
	// match column; "" for none. Emails compare without regard to case.
	Email string
	// NoID refuses an "id" column: ids are a CRM's own, and a request
	// across several CRMs names people by what they share.
	NoID bool
}

// EmailColumn is the subjects column of emails, which every API's
// subjects file may have.
const EmailColumn = "email"

// SubjectColumnsOf returns the columns of a subjects file for one API:
// its match column (MatchColumnOf) and, when its match field holds no
// email, an email column as well.
func SubjectColumnsOf(s *pipeline.Schema) MatchColumn {
	m := MatchColumnOf(s)
	if i := s.Index(s.MatchField); (i < 0 || s.Fields[i].Kind != pipeline.KindEmail) && !strings.EqualFold(m.Name, EmailColumn) {
		m.Email = EmailColumn
	}
	return m
}

// AcrossColumns are the columns of a subjects file for a request across
// several CRMs: the person's email, no id.
var AcrossColumns = MatchColumn{Email: EmailColumn, NoID: true}

// FoldEmail is an email as CRMs compare them: trimmed, in lower case.
func FoldEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

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
	switch {
	case s.ID != "":
		return "id:" + s.ID
	case s.Match == "":
		return "email:" + FoldEmail(s.Email)
	case m.Fold:
		return "match:" + strings.ToLower(s.Match)
	}
	return "match:" + s.Match
}

// an names the match column with its article, for messages.
func (m MatchColumn) an() string { return article(m.Name) }

func article(name string) string {
	if strings.ContainsRune("aeiouAEIOU", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// maxSubjectsBytes bounds a subjects file: it names people one by one,
// and a file far larger is the wrong file (an export of the account).
const maxSubjectsBytes = 64 << 20

// ReadSubjects reads a subjects file: CSV with a header holding the match
// column (under its name or an alias), the email column (m.Email), an
// "id" column (unless m.NoID), or several of them, matched without regard
// to case or surrounding spaces; other columns are ignored. Rows naming
// the same subject again are dropped; a row naming nobody is an error.
// Errors give row numbers, never the values.
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
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("the subjects file is empty: want a header with %s column", orList(m.wanted()))
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols, err := m.columns(head)
	if err != nil {
		return nil, err
	}
	if cols.id < 0 && cols.match < 0 && cols.email < 0 {
		switch w := m.wanted(); len(w) {
		case 1:
			return nil, fmt.Errorf("the subjects file has no %s column in its header", strings.TrimPrefix(strings.TrimPrefix(w[0], "an "), "a "))
		case 2:
			return nil, fmt.Errorf("the subjects file has neither %s nor %s column in its header", w[0], w[1])
		default:
			return nil, fmt.Errorf("the subjects file has none of %s column in its header", orList(w))
		}
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
		s := Subject{Row: row, ID: cell(rec, cols.id), Match: cell(rec, cols.match), Email: cell(rec, cols.email)}
		if s.ID == "" && s.Match == "" && s.Email == "" {
			present := cols.names(m)
			verb := "is"
			if len(present) > 1 {
				verb = "are"
			}
			return nil, fmt.Errorf("row %d of the subjects file names nobody: its %s %s empty", s.Row, andList(present), verb)
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

// wanted names, for messages, the columns a subjects file may name
// people by.
func (m MatchColumn) wanted() []string {
	var w []string
	if m.Name != "" {
		w = append(w, m.an())
	}
	if m.Email != "" && !strings.EqualFold(m.Email, m.Name) {
		w = append(w, article(m.Email))
	}
	if !m.NoID {
		w = append(w, "an id")
	}
	return w
}

func orList(w []string) string {
	if len(w) < 2 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " or " + w[len(w)-1]
}

func andList(w []string) string {
	if len(w) < 2 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// subjectCols are the positions of a header's columns, -1 for none.
type subjectCols struct{ id, match, email int }

// names are the names of the columns present, match first and id last.
func (c subjectCols) names(m MatchColumn) []string {
	var n []string
	if c.match >= 0 {
		n = append(n, m.Name)
	}
	if c.email >= 0 {
		n = append(n, m.Email)
	}
	if c.id >= 0 {
		n = append(n, "id")
	}
	return n
}

// columns finds the id, the match and the email column in a header. A
// spreadsheet's "Email " matches "email".
func (m MatchColumn) columns(head []string) (subjectCols, error) {
	cols := subjectCols{-1, -1, -1}
	var names []string
	if m.Name != "" {
		names = append([]string{m.Name}, m.Aliases...)
	}
	email := m.Email
	if strings.EqualFold(email, m.Name) {
		email = ""
	}
	counts := map[string]int{}
	matchName := ""
	for i, c := range head {
		c = strings.ToLower(strings.TrimSpace(c))
		counts[c]++
		switch {
		case c == "id":
			if m.NoID {
				return cols, errors.New("the subjects file has an id column, but a request across several CRMs names people by email: each CRM has ids of its own")
			}
			cols.id = i
		case slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, c) }):
			if cols.match >= 0 && matchName != c {
				return cols, fmt.Errorf("the header names the %s column twice, as %q and %q: keep one", m.Name, matchName, c)
			}
			cols.match, matchName = i, c
		case email != "" && strings.EqualFold(email, c):
			cols.email = i
		}
	}
	check := append([]string{"id"}, names...)
	if email != "" {
		check = append(check, email)
	}
	for _, c := range check {
		if n := counts[strings.ToLower(c)]; n > 1 {
			return cols, fmt.Errorf("the header has the column %q %d times", strings.ToLower(c), n)
		}
	}
	return cols, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("the subjects file is not valid CSV at line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("reading the subjects file: %w", err)
}

// Answer is what a request found of one subject across the CRMs it asked
// (one CRM for an export of one target): what a report on the subject is
// made of.
type Answer struct {
	Subject Subject
	// Holdings are the customers found, in the order the CRMs were asked,
	// then as each CRM answered them. A CRM may hold several customers on
	// one person by email (the contact of two companies, say).
	Holdings []Holding
	// NotFoundIn names the CRMs that hold nothing on the subject, in the
	// order they were asked.
	NotFoundIn []string
	// NotReadIn names the CRMs that could not be read, in the same order:
	// whether they hold the subject is unknown.
	NotReadIn []string
}

// Holding is one customer a CRM holds on a subject.
type Holding struct {
	// Target names the CRM as the request did (a remote's name, or
	// sandbox:API); API is its connector.
	Target, API string
	CustomerID  string
	// File is the customer's own file, relative to the export's top
	// directory, slash-separated, as written (ending in .age when
	// encrypted): the machine-readable copy.
	File string
	// Customer is the customer object exactly as the API answered it.
	Customer json.RawMessage
	// Related are the records the API keeps apart that belong to the
	// customer, by the names of its export layout's Related; nil when
	// the API has none.
	Related map[string]json.RawMessage
}
