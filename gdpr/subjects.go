package gdpr

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gocarina/gocsv"
)

// Subject is one person named by a subjects file: by the CRM's customer
// id, by email, or both (the id then decides).
type Subject struct {
	Row   int // 1-based data row of the subjects file, the header not counted
	ID    string
	Email string
}

// Key is how a subject is told apart from the others of its file: the id
// when it has one, else the folded email.
func (s Subject) Key() string {
	if s.ID != "" {
		return "id:" + strings.ToLower(s.ID)
	}
	return "email:" + strings.ToLower(s.Email)
}

// subjectRecord is one row of a subjects file as gocsv decodes it.
type subjectRecord struct {
	ID    string `csv:"id"`
	Email string `csv:"email"`
}

// maxSubjectsBytes bounds a subjects file: it names people one by one,
// and a file far larger is the wrong file (an export of the account).
const maxSubjectsBytes = 64 << 20

// ReadSubjects reads a subjects file: CSV with a header holding an
// "email" column, an "id" column, or both (matched without regard to
// case or surrounding spaces; other columns are ignored). Rows naming
// the same subject again are dropped; a row naming nobody is an error.
// Errors give row numbers, never the values.
func ReadSubjects(r io.Reader) ([]Subject, error) {
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
	hr := &headerNormalizer{r: cr}
	var recs []subjectRecord
	if err := gocsv.UnmarshalCSV(hr, &recs); err != nil {
		if errors.Is(err, gocsv.ErrEmptyCSVFile) {
			return nil, errors.New("the subjects file is empty: want a header with an email or id column")
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("the subjects file is not valid CSV at line %d: %v", pe.Line, pe.Err)
		}
		return nil, fmt.Errorf("reading the subjects file: %w", err)
	}
	if !hr.hasID && !hr.hasEmail {
		return nil, errors.New("the subjects file has neither an email nor an id column in its header")
	}
	out := make([]Subject, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	for i, rec := range recs {
		s := Subject{Row: i + 1, ID: strings.TrimSpace(rec.ID), Email: strings.TrimSpace(rec.Email)}
		if s.ID == "" && s.Email == "" {
			return nil, fmt.Errorf("row %d of the subjects file names nobody: its email and id are empty", s.Row)
		}
		if k := s.Key(); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the subjects file names nobody: it has a header and no rows")
	}
	return out, nil
}

// headerNormalizer folds the header row to lower case and trims it, so a
// spreadsheet's "Email " matches; gocsv's own normalizer is a package
// global, which concurrent readers must not touch.
type headerNormalizer struct {
	r               *csv.Reader
	hasID, hasEmail bool
}

func (h *headerNormalizer) Read() ([]string, error) { return h.r.Read() }

func (h *headerNormalizer) ReadAll() ([][]string, error) {
	rows, err := h.r.ReadAll()
	if err != nil || len(rows) == 0 {
		return rows, err
	}
	counts := map[string]int{}
	for i, c := range rows[0] {
		c = strings.ToLower(strings.TrimSpace(c))
		rows[0][i] = c
		counts[c]++
	}
	h.hasID, h.hasEmail = counts["id"] > 0, counts["email"] > 0
	for _, c := range []string{"id", "email"} {
		if counts[c] > 1 {
			return nil, fmt.Errorf("the header has the column %q %d times", c, counts[c])
		}
	}
	return rows, nil
}
