package state

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"crmsync/internal/atomicfile"
	"crmsync/pipeline"
)

var _ pipeline.State = (*Store)(nil)

const schemaVersion = 3

var schemaSQL = []string{
	`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS records (
		key TEXT PRIMARY KEY,
		key_hash INTEGER NOT NULL,
		crm_id TEXT,
		digest INTEGER,
		source_digest INTEGER,
		fields TEXT,
		confirmed_at TEXT,
		confirmed_run INTEGER,
		failures INTEGER NOT NULL DEFAULT 0,
		last_run INTEGER,
		last_code TEXT,
		last_stage TEXT,
		last_field TEXT,
		last_message TEXT
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS records_failures ON records(failures) WHERE failures > 0`,
	`CREATE TABLE IF NOT EXISTS runs (
		id INTEGER PRIMARY KEY,
		started_at TEXT NOT NULL,
		finished_at TEXT,
		status TEXT NOT NULL,
		dry_run INTEGER NOT NULL,
		mode TEXT NOT NULL,
		source TEXT NOT NULL,
		mapping TEXT NOT NULL,
		target TEXT NOT NULL,
		read INTEGER NOT NULL DEFAULT 0,
		created INTEGER NOT NULL DEFAULT 0,
		updated INTEGER NOT NULL DEFAULT 0,
		unchanged INTEGER NOT NULL DEFAULT 0,
		rejected INTEGER NOT NULL DEFAULT 0,
		deleted INTEGER NOT NULL DEFAULT 0,
		pending INTEGER NOT NULL DEFAULT 0,
		api_calls INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE IF NOT EXISTS journal (
		run_id INTEGER NOT NULL,
		key TEXT NOT NULL,
		crm_id TEXT,
		match TEXT,
		planned_at TEXT NOT NULL,
		confirmed_at TEXT,
		outcome TEXT,
		PRIMARY KEY (run_id, key)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS journal_open ON journal(key) WHERE confirmed_at IS NULL`,
	`INSERT OR IGNORE INTO meta(name, value) VALUES ('generation', '0')`,
	`INSERT OR IGNORE INTO meta(name, value) VALUES ('state_id', lower(hex(randomblob(8))))`,
}

// Store is a state file. Its methods are safe for concurrent use; writes
// are serialised on one connection.
type Store struct {
	path string
	lock *os.File // held (flock) while the store is open
	w    *sql.DB  // the one writer
	r    *sql.DB  // readers, which WAL lets run beside the writer
	wmu  sync.Mutex
	run  int64 // the run being recorded, set by BeginRun
	// finished is set by FinishRun: a run begun and not finished when
	// the store closes failed.
	finished bool
	unbound  int  // keys Open unbound from a customer they shared
	fresh    bool // Open found no tables: the file is a new state
	// matchField names the field of Fields that holds a record's match
	// value, and matchFold says match values compare without regard to
	// case: what BindMatch recorded, read back by Open. "" while unbound.
	matchField string
	matchFold  bool
}

// Open opens (creating it when absent) the state file at path.
//
// One process at a time may hold a state: a second sync started by cron
// while the first still runs would send the same writes twice. Open fails
// at once, with a fatal error, when another process has it open.
func Open(ctx context.Context, path string) (*Store, error) {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, pipeline.Fatalf("state %s: %w", path, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, pipeline.Fatalf("state %s is in use by another crmsync run (it holds %s.lock); wait for it to end", path, path)
	}
	st, err := open(ctx, path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	st.lock = lock
	return st, nil
}

func open(ctx context.Context, path string) (*Store, error) {
	// SQLite would create the file 0644 less the umask, and it gives the
	// -wal and -shm it makes beside a database that database's mode: made
	// here first, all three are readable by their owner alone, as the
	// names, emails and phones they hold should be.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, pipeline.Fatalf("state %s: %w", path, err)
	}
	f.Close()
	const params = "_pragma=busy_timeout(30000)&_pragma=synchronous(NORMAL)"
	// secure_delete overwrites what a write removes (an erased person's
	// fields, a pruned journal entry) instead of leaving it readable in
	// free space. WAL mode is set once the file is known to be a state:
	// setting it writes to the file.
	w, err := sql.Open("sqlite", "file:"+path+"?"+params+"&_pragma=secure_delete(ON)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w}
	if err := s.checkOwn(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if _, err := w.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		w.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if err := s.readMatch(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+params+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// checkOwn refuses a database that holds tables but no crmsync metadata:
// --state naming another application's database must not add crmsync's
// tables to it. An empty file is a new state.
func (s *Store) checkOwn(ctx context.Context) error {
	var objects, meta int
	err := s.w.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE type = 'table' AND name = 'meta') FROM sqlite_schema WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'`).Scan(&objects, &meta)
	if err != nil {
		return pipeline.Fatalf("state %s: not an SQLite database (%w)", s.path, err)
	}
	if objects == 0 {
		s.fresh = true
		return nil
	}
	var version int
	if meta > 0 {
		// A meta table of another shape is not crmsync's either.
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE name = 'schema_version'`).Scan(&version); err != nil {
			version = 0
		}
	}
	if version == 0 {
		return pipeline.Fatalf("state %s is an SQLite database of another application (it has tables but no crmsync metadata); it was left unchanged: give --state a new file or an existing crmsync state", s.path)
	}
	return nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Unbound returns how many keys Open unbound from their customer because
// they shared it with another key, which a state written before schema 3
// could do. The next run matches them again.
func (s *Store) Unbound() int { return s.unbound }

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("not an SQLite database (%w)", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("written by a newer crmsync (schema %d, this one reads up to %d)", v, schemaVersion)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range schemaSQL {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	// Schema 2 added records.source_digest; a state of schema 1 gains it
	// empty, and the next run that finds its rows unchanged fills it. Its
	// index cache moved to a file of its own.
	var hasSource int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('records') WHERE name = 'source_digest'`).Scan(&hasSource); err != nil {
		return err
	}
	if hasSource == 0 {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE records ADD COLUMN source_digest INTEGER`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS index_cache`); err != nil {
		return err
	}
	// Schema 3 binds a CRM customer to one key at most. A state written
	// before may bind several keys to one customer; none of them can be
	// trusted to own it, so all of them lose the binding and are matched
	// again by the next run. An empty id is no customer: it becomes NULL,
	// which the index leaves out, so that every lookup of an id
	// (crm_id = ?) can use the index.
	if v < 3 {
		if _, err := tx.ExecContext(ctx, `UPDATE records SET crm_id = NULL WHERE crm_id = ''`); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE records SET crm_id = NULL, digest = NULL, source_digest = NULL, fields = NULL
			WHERE crm_id IN (SELECT crm_id FROM records WHERE crm_id IS NOT NULL GROUP BY crm_id HAVING count(*) > 1)`)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'generation'`); err != nil {
				return err
			}
		}
		s.unbound = int(n)
	}
	for _, q := range []string{
		`DROP INDEX IF EXISTS records_crm_id`,
		`CREATE UNIQUE INDEX IF NOT EXISTS records_crm_id_once ON records(crm_id) WHERE crm_id IS NOT NULL`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if s.fresh {
		// Every write to this file runs with secure_delete; see scrub.
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO meta(name, value) VALUES ('secure_delete', '1')`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(name, value) VALUES ('schema_version', ?)`, fmt.Sprint(schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the file. A run begun and never finished is recorded as
// failed: whatever stopped it returned an error before it could say how
// it ended, and a run left "running" would read as killed.
func (s *Store) Close() error {
	var errF, errR error
	if s.run != 0 && !s.finished {
		errF = s.FinishRun(context.Background(), s.run, "failed", RunCounts{})
	}
	if s.r != nil {
		errR = s.r.Close()
	}
	err := errors.Join(errF, s.w.Close(), errR)
	if s.lock != nil {
		s.lock.Close() // releases the flock
	}
	return err
}

// Bind checks that the state belongs to this API and key column, and
// claims an empty state for them. A state made for another key column is
// refused: every key would look new and be created a second time.
func (s *Store) Bind(ctx context.Context, api, keyColumn string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, kv := range [][2]string{{"api", api}, {"key_column", keyColumn}} {
		var have string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = ?`, kv[0]).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta(name, value) VALUES (?, ?)`, kv[0], kv[1]); err != nil {
				return err
			}
		case err != nil:
			return err
		case have != kv[1]:
			return pipeline.Fatalf("state %s was made for %s %q, and this mapping uses %q: use another --state file, or --full-resync with a new one",
				s.path, strings.ReplaceAll(kv[0], "_", " "), have, kv[1])
		}
	}
	return tx.Commit()
}

// BindMatch records which of a record's fields holds its match value (the
// schema's MatchField) and whether match values compare without regard to
// case (MatchFold). A sync calls it after Bind and before the run reads
// the state, not concurrently with other methods. The state keeps it, so
// that a later Open (a report, a check of the state) reads match values
// the same way. Until a state is bound so, it knows no match value:
// Synced reports "", and Entries reports the match of every unconfirmed
// create of a key without a customer.
func (s *Store) BindMatch(ctx context.Context, field string, fold bool) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO meta(name, value) VALUES ('match_field', ?), ('match_fold', ?)`,
			field, strconv.FormatBool(fold))
		return err
	})
	if err != nil {
		return err
	}
	s.matchField, s.matchFold = field, fold
	return nil
}

// readMatch reads what BindMatch recorded.
func (s *Store) readMatch(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT name, value FROM meta WHERE name IN ('match_field', 'match_fold')`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return err
		}
		if name == "match_field" {
			s.matchField = value
		} else {
			s.matchFold = value == "true"
		}
	}
	return rows.Err()
}

// sameMatch reports whether match is the match value fields hold, as the
// target compares them.
func (s *Store) sameMatch(match string, fields map[string]string) bool {
	if s.matchField == "" {
		return false
	}
	held, ok := fields[s.matchField]
	if !ok {
		return false
	}
	if s.matchFold {
		return strings.EqualFold(match, held)
	}
	return match == held
}

// Len returns how many keys the state holds, and how many of them have a
// CRM id.
func (s *Store) Len(ctx context.Context) (keys, synced int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT count(*), count(crm_id) FROM records`).Scan(&keys, &synced)
	return keys, synced, err
}

// Scan implements pipeline.State. It reads the index cache when no write
// happened since it was made, which is far faster than reading the
// records.
func (s *Store) Scan(ctx context.Context, size func(keys int), fn func(keyHash, digest, source uint64)) error {
	stamp, err := s.cacheStamp(ctx, s.r)
	if err != nil {
		return fmt.Errorf("state %s: loading: %w", s.path, err)
	}
	if entries, ok := s.readIndexCache(stamp); ok {
		if size != nil {
			size(len(entries) / indexEntry)
		}
		for i := 0; i < len(entries); i += indexEntry {
			fn(binary.LittleEndian.Uint64(entries[i:]), binary.LittleEndian.Uint64(entries[i+8:]), binary.LittleEndian.Uint64(entries[i+16:]))
		}
		return nil
	}
	return s.scanRecords(ctx, fn)
}

// The index cache is the file IndexCachePath: indexCacheMagic, the stamp
// of the records it was made from (the state's id and generation) and a
// newline, then per key its hash, digest and source digest, in the order
// of the hashes, little-endian. It lives beside the database because SQLite is slow to
// hand over a blob of tens of megabytes (a quarter of a second for a
// million keys), and it is only a cache: a file that is missing, damaged
// or of another generation is ignored, and the records are read instead.
const (
	indexCacheMagic = "crmsync index cache 2\n"
	indexEntry      = 24
)

// IndexCachePath is where the state at path keeps its index cache.
func IndexCachePath(path string) string { return path + ".index" }

// cacheStamp names the records as they are now: the state's id, so that
// the cache of another state file is never taken for this one's, and the
// generation, which every write to the records moves on.
func (s *Store) cacheStamp(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	var stamp string
	err := q.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE name = 'state_id') || ':' || (SELECT value FROM meta WHERE name = 'generation')`).Scan(&stamp)
	return stamp, err
}

// readIndexCache returns the cache's entries when it was made from the
// records as stamp names them.
func (s *Store) readIndexCache(stamp string) ([]byte, bool) {
	data, err := os.ReadFile(IndexCachePath(s.path))
	if err != nil {
		return nil, false
	}
	rest, ok := bytes.CutPrefix(data, []byte(indexCacheMagic+stamp+"\n"))
	if !ok || len(rest)%indexEntry != 0 {
		return nil, false
	}
	return rest, true
}

// scanDigests are the digests Scan gives a key: none when its last
// attempt failed, so that it is written again even if its row is as it
// was at its last confirmed write. That write may no longer be what the
// CRM holds, and a row taken as unchanged would never retry the failure.
const scanDigests = `CASE WHEN failures > 0 THEN 0 ELSE coalesce(digest, 0) END, CASE WHEN failures > 0 THEN 0 ELSE coalesce(source_digest, 0) END`

func (s *Store) scanRecords(ctx context.Context, fn func(keyHash, digest, source uint64)) error {
	rows, err := s.r.QueryContext(ctx, `SELECT key_hash, `+scanDigests+` FROM records`)
	if err != nil {
		return fmt.Errorf("state %s: loading: %w", s.path, err)
	}
	defer rows.Close()
	var kh, dg, sd int64
	for rows.Next() {
		if err := rows.Scan(&kh, &dg, &sd); err != nil {
			return fmt.Errorf("state %s: loading: %w", s.path, err)
		}
		fn(uint64(kh), uint64(dg), uint64(sd))
	}
	return rows.Err()
}

// Entries implements pipeline.State.
func (s *Store) Entries(ctx context.Context, keys []string) (map[string]*pipeline.StateEntry, error) {
	out := make(map[string]*pipeline.StateEntry, len(keys))
	const chunk = 500
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		in := placeholders(len(part))
		rows, err := s.r.QueryContext(ctx, `SELECT key, coalesce(crm_id, ''), coalesce(fields, ''), failures FROM records WHERE key IN (`+in+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
		for rows.Next() {
			var key, fields string
			e := &pipeline.StateEntry{}
			if err := rows.Scan(&key, &e.CRMID, &fields, &e.Failures); err != nil {
				rows.Close()
				return nil, fmt.Errorf("state %s: %w", s.path, err)
			}
			if fields != "" {
				if err := json.Unmarshal([]byte(fields), &e.Fields); err != nil {
					rows.Close()
					return nil, fmt.Errorf("state %s: key %q: fields are not JSON: %w", s.path, key, err)
				}
			}
			out[key] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
		// A create journaled by a killed run may have reached the CRM
		// under a match value the state does not know.
		rows, err = s.r.QueryContext(ctx, `SELECT key, match FROM journal WHERE confirmed_at IS NULL AND run_id <> ? AND match IS NOT NULL AND key IN (`+in+`) ORDER BY run_id`,
			append([]any{s.run}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
		for rows.Next() {
			var key, match string
			if err := rows.Scan(&key, &match); err != nil {
				rows.Close()
				return nil, fmt.Errorf("state %s: %w", s.path, err)
			}
			e := out[key]
			if e == nil {
				e = &pipeline.StateEntry{}
				out[key] = e
			}
			if e.CRMID == "" && !s.sameMatch(match, e.Fields) {
				e.UnconfirmedMatch = match
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Begin implements pipeline.State.
func (s *Store) Begin(ctx context.Context, writes []pipeline.PlannedWrite) error {
	if len(writes) == 0 {
		return nil
	}
	now := nowText()
	return s.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO journal(run_id, key, crm_id, match, planned_at) VALUES (?, ?, nullif(?, ''), nullif(?, ''), ?)
			ON CONFLICT(run_id, key) DO UPDATE SET crm_id = excluded.crm_id, match = excluded.match, planned_at = excluded.planned_at, confirmed_at = NULL, outcome = NULL`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, w := range writes {
			if _, err := st.ExecContext(ctx, s.run, w.Key, w.CRMID, w.Match, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// Commit implements pipeline.State.
func (s *Store) Commit(ctx context.Context, outcomes []pipeline.StateOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	now := nowText()
	return s.writeRecords(ctx, func(tx *sql.Tx) error {
		ok, err := tx.PrepareContext(ctx, `INSERT INTO records(key, key_hash, crm_id, digest, source_digest, fields, confirmed_at, confirmed_run, failures, last_run)
			VALUES (?, ?, nullif(?, ''), ?, nullif(?, 0), ?, ?, ?, 0, ?)
			ON CONFLICT(key) DO UPDATE SET crm_id = coalesce(excluded.crm_id, crm_id), digest = excluded.digest, source_digest = excluded.source_digest,
				fields = coalesce(excluded.fields, fields), confirmed_at = excluded.confirmed_at, confirmed_run = excluded.confirmed_run,
				failures = 0, last_run = excluded.last_run, last_code = NULL, last_stage = NULL, last_field = NULL, last_message = NULL`)
		if err != nil {
			return err
		}
		defer ok.Close()
		// A key fails "in a row" once per run, however many times the
		// run tried it; a failure after a success of the same run still
		// counts, or the key's last attempt would look successful.
		failed, err := tx.PrepareContext(ctx, `INSERT INTO records(key, key_hash, failures, last_run, last_code, last_stage, last_field, last_message)
			VALUES (?, ?, 1, ?, ?, ?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET failures = failures + (failures = 0 OR coalesce(last_run, -1) <> excluded.last_run),
				last_run = excluded.last_run, last_code = excluded.last_code, last_stage = excluded.last_stage,
				last_field = excluded.last_field, last_message = excluded.last_message`)
		if err != nil {
			return err
		}
		defer failed.Close()
		journal, err := tx.PrepareContext(ctx, `UPDATE journal SET confirmed_at = ?, outcome = ? WHERE key = ? AND confirmed_at IS NULL`)
		if err != nil {
			return err
		}
		defer journal.Close()
		for i := range outcomes {
			o := &outcomes[i]
			if o.Key == "" {
				continue
			}
			kh := int64(pipeline.KeyHash(o.Key))
			switch o.Outcome {
			case pipeline.OutcomeCreated, pipeline.OutcomeUpdated, pipeline.OutcomeUnchanged:
				var fields any
				if o.Fields != nil {
					b, err := json.Marshal(o.Fields)
					if err != nil {
						return err
					}
					fields = string(b)
				}
				if _, err := ok.ExecContext(ctx, o.Key, kh, o.CRMID, int64(o.Digest), int64(o.Source), fields, now, s.run, s.run); err != nil {
					return bindError(ctx, tx, o.Key, o.CRMID, err)
				}
			case pipeline.OutcomeRejected:
				r := o.Reject
				if r == nil {
					r = &pipeline.Reject{Code: "unknown"}
				}
				if _, err := failed.ExecContext(ctx, o.Key, kh, s.run, r.Code, string(r.Stage), r.Field, r.Message); err != nil {
					return err
				}
			default:
				continue
			}
			if _, err := journal.ExecContext(ctx, now, o.Outcome.String(), o.Key); err != nil {
				return err
			}
		}
		return nil
	})
}

// bindError explains a failed write of key's record: when the customer
// crmID is bound to another key, the records table's unique index refused
// a second binding, and the error names both keys.
func bindError(ctx context.Context, tx *sql.Tx, key, crmID string, err error) error {
	if crmID == "" {
		return err
	}
	var owner string
	if qerr := tx.QueryRowContext(ctx, `SELECT key FROM records WHERE crm_id = ? AND key <> ?`, crmID, key).Scan(&owner); qerr != nil {
		return err
	}
	return pipeline.Fatalf("customer %s is bound to key %q, and key %q was to be bound to it too; a customer belongs to one key only (%w)", crmID, owner, key, err)
}

// Owners returns, of the CRM ids given, those bound to a key, with that
// key.
func (s *Store) Owners(ctx context.Context, crmIDs []string) (map[string]string, error) {
	out := make(map[string]string)
	const chunk = 500
	for start := 0; start < len(crmIDs); start += chunk {
		part := crmIDs[start:min(start+chunk, len(crmIDs))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.r.QueryContext(ctx, `SELECT crm_id, key FROM records WHERE crm_id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
		for rows.Next() {
			var id, key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return nil, fmt.Errorf("state %s: %w", s.path, err)
			}
			out[id] = key
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", s.path, err)
		}
	}
	return out, nil
}

// SetSources implements pipeline.State.
func (s *Store) SetSources(ctx context.Context, keys []string, sources []uint64) error {
	if len(keys) == 0 {
		return nil
	}
	return s.writeRecords(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE records SET source_digest = nullif(?, 0) WHERE key = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, k := range keys {
			if _, err := st.ExecContext(ctx, int64(sources[i]), k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Forget implements pipeline.State.
func (s *Store) Forget(ctx context.Context, keys []string) error {
	return s.writeRecords(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `DELETE FROM records WHERE key = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, k := range keys {
			if _, err := st.ExecContext(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetCRMIDs removes the customers with those CRM ids from the state
// (an erasure), and returns how many it held. What it removed is left
// nowhere in the files: see scrub.
func (s *Store) ForgetCRMIDs(ctx context.Context, ids []string) (int, error) {
	n := 0
	err := s.writeRecords(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `DELETE FROM records WHERE crm_id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		// The journal holds the erased person's match value (an email,
		// say) in the match of
		// every write planned for their key, and a create is journaled
		// before its customer has an id: its entries are found by key,
		// before the records that name the key go. One statement per
		// chunk, since the journal has no index on key alone.
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := make([]any, 0, 2*len(chunk))
			for _, id := range chunk {
				args = append(args, id)
			}
			args = append(args, args...)
			in := placeholders(len(chunk))
			if _, err := tx.ExecContext(ctx, `DELETE FROM journal WHERE crm_id IN (`+in+`) OR key IN (SELECT key FROM records WHERE crm_id IN (`+in+`))`, args...); err != nil {
				return err
			}
		}
		for _, id := range ids {
			res, err := st.ExecContext(ctx, id)
			if err != nil {
				return err
			}
			c, _ := res.RowsAffected()
			n += int(c)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, s.scrub(ctx)
}

// scrub leaves no copy of what a delete removed anywhere in the files.
// secure_delete zeroes it in the pages the delete wrote, but older frames
// of the write-ahead log still hold those pages as they were until a
// checkpoint copies the new ones into the database and empties the log.
// A state written before secure_delete was set (no secure_delete in meta)
// also holds, in its free space, what earlier deletes and updates
// removed: it is rebuilt once with VACUUM.
func (s *Store) scrub(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var flag string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'secure_delete'`).Scan(&flag)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := s.w.ExecContext(ctx, `VACUUM`); err != nil {
			return fmt.Errorf("state %s: clearing deleted data: %w", s.path, err)
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO meta(name, value) VALUES ('secure_delete', '1')`); err != nil {
			return fmt.Errorf("state %s: %w", s.path, err)
		}
	case err != nil:
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	var busy, frames, copied int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("state %s: emptying the write-ahead log: %w", s.path, err)
	}
	if busy != 0 {
		return fmt.Errorf("state %s: a reader kept the write-ahead log %s-wal from being emptied, and it may still hold erased values until the state is next closed", s.path, s.path)
	}
	return nil
}

// Synced implements pipeline.State: it calls fn for every key with a CRM
// id, in key order, with the value of the field BindMatch named ("" when
// none was).
func (s *Store) Synced(ctx context.Context, fn func(key, crmID, match string) error) error {
	match := `''`
	var args []any
	if s.matchField != "" {
		// A quoted label, since a field of a nested object is named with
		// a dot ("contact.email") and is one key of fields.
		match = `coalesce(json_extract(fields, ?), '')`
		args = append(args, `$."`+s.matchField+`"`)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT key, crm_id, `+match+` FROM records WHERE crm_id IS NOT NULL ORDER BY key`, args...)
	if err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, id, match string
		if err := rows.Scan(&key, &id, &match); err != nil {
			return fmt.Errorf("state %s: %w", s.path, err)
		}
		if err := fn(key, id, match); err != nil {
			return err
		}
	}
	return rows.Err()
}

// writeRecords is write for changes to the records table: it also moves
// the generation on, which makes the index cache stale.
func (s *Store) writeRecords(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'generation'`)
		return err
	})
}

func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// A batch's outcome must reach the file even when the run is being
	// interrupted: it is what keeps the next run from redoing it.
	ctx = context.WithoutCancel(ctx)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	return nil
}

// RefreshIndexCache rewrites the index cache when writes happened since
// it was made, so the next run loads the state in milliseconds. A run
// calls it as it finishes.
func (s *Store) RefreshIndexCache(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	stamp, err := s.cacheStamp(ctx, s.r)
	if err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	if _, ok := s.readIndexCache(stamp); ok {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	defer tx.Rollback()
	// Read inside a write transaction: no write can slip between the
	// records read and the generation stamped on them.
	if stamp, err = s.cacheStamp(ctx, tx); err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT key_hash, `+scanDigests+` FROM records`)
	if err != nil {
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	type entry struct{ kh, dg, sd uint64 }
	var entries []entry
	var kh, dg, sd int64
	for rows.Next() {
		if err := rows.Scan(&kh, &dg, &sd); err != nil {
			rows.Close()
			return fmt.Errorf("state %s: %w", s.path, err)
		}
		entries = append(entries, entry{uint64(kh), uint64(dg), uint64(sd)})
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return fmt.Errorf("state %s: %w", s.path, err)
	}
	rows.Close()
	// In the order of the hashes, the engine's index fills its table
	// from start to end as it loads them.
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.kh, b.kh) })
	data := make([]byte, 0, len(indexCacheMagic)+len(stamp)+1+len(entries)*indexEntry)
	data = append(data, indexCacheMagic...)
	data = append(data, stamp...)
	data = append(data, '\n')
	for _, e := range entries {
		data = binary.LittleEndian.AppendUint64(data, e.kh)
		data = binary.LittleEndian.AppendUint64(data, e.dg)
		data = binary.LittleEndian.AppendUint64(data, e.sd)
	}
	if err := atomicfile.Write(IndexCachePath(s.path), data); err != nil {
		return fmt.Errorf("state %s: index cache: %w", s.path, err)
	}
	return nil
}

func nowText() string { return time.Now().UTC().Format(time.RFC3339Nano) }
