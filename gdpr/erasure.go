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
	// OutcomeFailed: the customer is still held after the delete.
	OutcomeFailed = "failed"
)

// ErasureColumns are the erasure log's columns. It holds no personal data
// beyond the CRM's id and a hash of the match value, which is what
// proves, when the person asks again, that they were erased and when. The
// hash's column is called email_sha256 whatever the API matches by, as
// the logs kept across runs have it.
var ErasureColumns = []string{"time", "run", "crm_id", "email_sha256", "outcome"}

// ErasureEntry is one row of the erasure log.
type ErasureEntry struct {
	Time        time.Time
	Run         string // the run's start time, which groups its rows
	CRMID       string // "" for a match value the CRM does not hold
	MatchSHA256 string // MatchHash of the match value; "" when unknown
	Outcome     string
}

// ErasureLog appends to an erasure log, a CSV file kept across runs.
type ErasureLog struct {
	f   *os.File
	buf bytes.Buffer
}

// OpenErasureLog opens the log at path for appending, creating it (0600,
// with its header, under a temporary name renamed into place) when absent;
// an existing file must have the log's header. A log cut short by a crash
// mid-row is repaired by dropping the partial row. A symbolic link under
// the log's name is refused, not followed: the log is appended to and
// chmodded, and neither may reach a file elsewhere.
func OpenErasureLog(path string) (*ErasureLog, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		d := &Dir{Root: filepath.Dir(path)}
		if _, err := d.WriteFile(filepath.Base(path), []byte(csvLine(ErasureColumns))); err != nil {
			return nil, fmt.Errorf("erasure log %s: %w", path, err)
		}
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
		rows[i] = []string{e.Time.UTC().Format(time.RFC3339Nano), e.Run, e.CRMID, e.MatchSHA256, e.Outcome}
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
// value hashes of rows that deleted, or were deleting, a customer.
type Erased struct {
	IDs     map[string]bool
	Matches map[string]string // match value hash → CRM id
}

// ReadErased reads the erasures recorded in the log at path; a log that
// does not exist records none.
func ReadErased(path string) (*Erased, error) {
	e := &Erased{IDs: map[string]bool{}, Matches: map[string]string{}}
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
	if !slices.Equal(head, ErasureColumns) {
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
		if len(rec) != len(ErasureColumns) {
			continue // a last row cut by a crash
		}
		if o := rec[4]; o != OutcomeDeleted && o != OutcomeDeleting {
			continue
		}
		id, hash := unescapeCell(rec[2]), unescapeCell(rec[3])
		if id != "" {
			e.IDs[id] = true
		}
		if hash != "" {
			e.Matches[hash] = id
		}
	}
}
