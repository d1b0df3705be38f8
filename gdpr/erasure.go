package gdpr

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Outcomes of an erasure, as the erasure log names them.
const (
	// OutcomeDeleting is written, and synced, before a delete is sent: a
	// run killed before the answer leaves it, and the next run knows the
	// customer it then finds absent was erased by the run before.
	OutcomeDeleting = "deleting"
	// OutcomeDeleted: the customer was held, and is absent after the
	// delete.
	OutcomeDeleted = "deleted"
	// OutcomeAlreadyAbsent: the CRM does not hold the subject, and an
	// earlier erasure in this log deleted (or was deleting) it.
	OutcomeAlreadyAbsent = "already_absent"
	// OutcomeNotFound: the CRM does not hold the subject, and this log
	// has no earlier erasure of it.
	OutcomeNotFound = "not_found"
	// OutcomeWouldDelete: a dry run found the customer, and left it.
	OutcomeWouldDelete = "would_delete"
	// OutcomeFailed: the customer is still held after the delete, or
	// the API refused its anonymisation.
	OutcomeFailed = "failed"

	// OutcomeAnonymising is written, and synced, before an anonymisation
	// is sent (for an API that cannot delete): a run killed before the
	// answer leaves it, and the next run knows that the customer it then
	// finds without the subject's match value was theirs.
	OutcomeAnonymising = "anonymising"
	// OutcomeAnonymised: every personal field the API lets a client
	// change is overwritten or cleared; left_to_clear names what the API
	// gives no way to clear.
	OutcomeAnonymised = "anonymised"
	// OutcomeAlreadyAnonymised: the customer held the anonymised values
	// already (an earlier erasure anonymised it), and nothing was written.
	OutcomeAlreadyAnonymised = "already_anonymised"
	// OutcomeWouldAnonymise: a dry run found the customer, and left it.
	OutcomeWouldAnonymise = "would_anonymise"
)

// ErasureColumns are the erasure log's columns. It holds no personal data
// beyond the CRM's id and a hash of the match value, which is what
// proves, when the person asks again, that they were erased and when. The
// hash's column is called email_sha256 whatever the API matches by, as
// the logs kept across runs have it. left_to_clear names, on the rows of
// an anonymised customer, what the API gives no way to clear and the
// operator must clear by hand ("contacts"), several separated by "; ".
var ErasureColumns = []string{"time", "run", "crm_id", "email_sha256", "outcome", "left_to_clear"}

// erasureColumnsV1 are the columns of the logs written before
// left_to_clear: OpenErasureLog adds the column to such a log.
var erasureColumnsV1 = ErasureColumns[:5]

// LeftSeparator separates the names in left_to_clear.
const LeftSeparator = "; "

// ErasureEntry is one row of the erasure log.
type ErasureEntry struct {
	Time        time.Time
	Run         string // the run's start time, which groups its rows
	CRMID       string // "" for a match value the CRM does not hold
	MatchSHA256 string // MatchHash of the match value; "" when unknown
	Outcome     string
	// Left names what an anonymised customer still holds that the API
	// gives no way to clear; nil for the others.
	Left []string
}

// ErasureLog appends to an erasure log, a CSV file kept across runs.
type ErasureLog struct {
	f   *os.File
	buf bytes.Buffer
}

// OpenErasureLog opens the log at path for appending, creating it (0600,
// with its header, under a temporary name renamed into place) when absent;
// an existing file must have the log's header, or that of the logs
// written before left_to_clear, which is rewritten (under a temporary
// name renamed into place) with the column added, empty. A log cut short
// by a crash mid-row is repaired by dropping the partial row. A symbolic
// link under the log's name is refused, not followed: the log is appended
// to and chmodded, and neither may reach a file elsewhere.
func OpenErasureLog(path string) (*ErasureLog, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		d := &Dir{Root: filepath.Dir(path)}
		if _, err := d.WriteFile(filepath.Base(path), []byte(csvLine(ErasureColumns))); err != nil {
			return nil, fmt.Errorf("erasure log %s: %w", path, err)
		}
	} else if err := upgradeLog(path); err != nil {
		return nil, fmt.Errorf("erasure log %s: %w", path, err)
	}
	f, err := openLog(path, os.O_RDWR)
	if err != nil {
		return nil, err
	}
	l := &ErasureLog{f: f}
	if err := l.open(); err != nil {
		f.Close()
		return nil, fmt.Errorf("erasure log %s: %w", path, err)
	}
	return l, nil
}

// openLog opens an existing log without following a link, and makes sure
// it is a regular file.
func openLog(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("erasure log %s is a symbolic link; crmsync writes through no link: give --out the directory the log itself is in", path)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("erasure log %s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (l *ErasureLog) open() error {
	if err := l.f.Chmod(FileMode); err != nil {
		return err
	}
	data, err := io.ReadAll(l.f)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return l.flushRows([][]string{ErasureColumns})
	}
	if !bytes.HasPrefix(data, []byte(csvLine(ErasureColumns))) {
		return errors.New("not an erasure log: its header is not " + csvLine(ErasureColumns))
	}
	// Every row is written whole and synced, so only a crash mid-write
	// leaves a last line without its newline.
	if end := bytes.LastIndexByte(data, '\n') + 1; end < len(data) {
		if err := l.f.Truncate(int64(end)); err != nil {
			return err
		}
	}
	_, err = l.f.Seek(0, io.SeekEnd)
	return err
}

// upgradeLog adds left_to_clear to a log written before it: each row
// keeps its cells and gets an empty one. A last row cut by a crash is
// dropped, as open drops it.
func upgradeLog(path string) error {
	f, err := openLog(path, os.O_RDONLY)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.HasPrefix(data, []byte(csvLine(erasureColumnsV1))) {
		return err
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b) // the cells as read, escaped already
	w.Write(ErasureColumns)
	for _, rec := range recs[1:] {
		w.Write(append(rec, ""))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	d := &Dir{Root: filepath.Dir(path)}
	if _, err := d.WriteFile(filepath.Base(path), b.Bytes()); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

func csvLine(rec []string) string {
	var b bytes.Buffer
	w := NewCSVWriter(&b)
	w.Write(rec)
	w.Flush()
	return b.String()
}

// Append writes entries and syncs them to disk before it returns.
func (l *ErasureLog) Append(entries ...ErasureEntry) error {
	rows := make([][]string, len(entries))
	for i, e := range entries {
		rows[i] = []string{e.Time.UTC().Format(time.RFC3339Nano), e.Run, e.CRMID, e.MatchSHA256, e.Outcome, strings.Join(e.Left, LeftSeparator)}
	}
	return l.flushRows(rows)
}

func (l *ErasureLog) flushRows(rows [][]string) error {
	// One write of whole lines, so that a crash cuts at most the last.
	l.buf.Reset()
	w := NewCSVWriter(&l.buf)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if _, err := l.f.Write(l.buf.Bytes()); err != nil {
		return err
	}
	return l.f.Sync()
}

// Close closes the log.
func (l *ErasureLog) Close() error { return l.f.Close() }

// Erased is what an erasure log says was erased: the CRM ids and match
// value hashes of rows that deleted, or were deleting, a customer, and
// of rows that anonymised one (or were anonymising it, or found it
// anonymised already).
type Erased struct {
	IDs     map[string]bool
	Matches map[string]string // match value hash → CRM id
	// AnonymisedIDs and AnonymisedMatches are those of anonymisations.
	AnonymisedIDs     map[string]bool
	AnonymisedMatches map[string]string
}

// ReadErased reads the erasures recorded in the log at path; a log that
// does not exist records none. It reads a log written before
// left_to_clear too.
func ReadErased(path string) (*Erased, error) {
	e := &Erased{IDs: map[string]bool{}, Matches: map[string]string{},
		AnonymisedIDs: map[string]bool{}, AnonymisedMatches: map[string]string{}}
	f, err := openLog(path, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err == io.EOF {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("erasure log %s: %w", path, err)
	}
	if !slices.Equal(head, ErasureColumns) && !slices.Equal(head, erasureColumnsV1) {
		return nil, fmt.Errorf("erasure log %s: not an erasure log", path)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return e, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) {
			// A last row cut by a crash; OpenErasureLog drops it.
			return e, nil
		}
		if err != nil {
			return nil, fmt.Errorf("erasure log %s: %w", path, err)
		}
		if len(rec) != len(head) {
			continue // a last row cut by a crash
		}
		ids, matches := e.IDs, e.Matches
		switch rec[4] {
		case OutcomeDeleted, OutcomeDeleting:
		case OutcomeAnonymised, OutcomeAnonymising, OutcomeAlreadyAnonymised:
			ids, matches = e.AnonymisedIDs, e.AnonymisedMatches
		default:
			continue
		}
		id, hash := unescapeCell(rec[2]), unescapeCell(rec[3])
		if id != "" {
			ids[id] = true
		}
		if hash != "" && (id != "" || matches[hash] == "") {
			matches[hash] = id
		}
	}
}
