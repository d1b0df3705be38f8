package emulator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	sqlite3 "modernc.org/sqlite/lib"
)

// StoreOptions configure [OpenStore].
type StoreOptions struct {
	// Path is the SQLite file that keeps the data across restarts; ""
	// keeps it in memory, on one connection, gone at Close. '?' and '#'
	// are refused: the driver reads what follows them as parameters.
	Path string
	// Version is the schema version Migrate brings a database to, kept in
	// PRAGMA user_version; a file of a later version is refused.
	Version int
	// Application names the emulator whose data the file holds ("tiquo");
	// it is stamped into the file (PRAGMA application_id) and a file
	// stamped by another emulator is refused, so that one sandbox file
	// given to two APIs' emulators never mixes their tables. "" stamps
	// nothing and checks nothing.
	Application string
	// Migrate brings the schema from the stored version (0 for a new
	// database) to Version. It runs in one transaction on the write
	// connection, before anything else; nil runs nothing.
	Migrate func(ctx context.Context, tx *sql.Tx, from int) error
	// Readers is the size of the read pool of a file database; 0 means 4.
	Readers int
	// CheckpointEvery is how many commits pass between two background
	// checkpoints; 0 means 256, a few MiB of WAL at most, as SQLite's
	// default of 1,000 pages.
	CheckpointEvery int
	// MaxWAL is the WAL size past which the checkpointer truncates it;
	// 0 means 64 MiB.
	MaxWAL int64
	// Logger receives checkpoint failures; nil discards them.
	Logger *slog.Logger
}

// Store is an emulator's SQLite database.
//
// Writes go through [Store.Write]: one connection, one goroutine and one
// transaction at a time, so they are serialized without SQLITE_BUSY;
// writes that arrive together share a transaction (group commit), each in
// a savepoint of its own so that one failing write leaves the others
// applied. A write returns only after its transaction committed. Reads
// use [Store.Reader], a pool of its own beside the writer (WAL lets it
// read while the writer writes), and the WAL is checkpointed in the
// background, so that the fsync of a checkpoint never holds up a write.
// A file is created readable by its owner alone, as are its -wal and
// -shm, since they hold personal data.
//
// One process at a time may serve a file. Every method may be called from
// any goroutine until Close.
type Store struct {
	name string
	w, r *sql.DB

	savepoint, rollbackTo, release *sql.Stmt

	stmtMu    sync.Mutex
	stmts     []*sql.Stmt          // prepared by the emulator, closed at Close
	readStmts map[string]*sql.Stmt // ReadStmt's cache

	log *slog.Logger

	writes     chan *writeOp
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error

	// ck checkpoints the WAL off the writer's path (file databases only).
	ck             *sql.DB
	walPath        string
	ckWake, ckDone chan struct{}
	ckEvery        int
	maxWAL         int64
	commits        int // by the writer, to wake ck every ckEvery
}

// ErrStoreClosed is returned by writes submitted after Close began.
var ErrStoreClosed = errors.New("the database is closed")

// maxBatch bounds how many writes share a transaction.
const maxBatch = 128

// maxReadStmts bounds ReadStmt's cache.
const maxReadStmts = 64

// OpenStore opens (or creates) the database, runs the migration and starts
// the writer and, for a file, the checkpointer. Errors name the file.
func OpenStore(o StoreOptions) (*Store, error) {
	if strings.ContainsAny(o.Path, "?#") {
		return nil, fmt.Errorf("db path %q: '?' and '#' are not allowed", o.Path)
	}
	const params = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	s := &Store{name: DBName(o.Path), writes: make(chan *writeOp), quit: make(chan struct{}),
		writerDone: make(chan struct{}), readStmts: make(map[string]*sql.Stmt), log: o.Logger,
		ckEvery: o.CheckpointEvery, maxWAL: o.MaxWAL}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ckEvery <= 0 {
		s.ckEvery = 256
	}
	if s.maxWAL <= 0 {
		s.maxWAL = 64 << 20
	}
	if o.Path == "" {
		db, err := sql.Open("sqlite", ":memory:?"+params)
		if err != nil {
			return nil, err
		}
		singleConn(db)
		s.w, s.r = db, db
	} else {
		// SQLite would create the file 0644 less the umask, and it gives
		// the -wal and -shm it makes beside a database that database's
		// mode: made here first, all three are readable by their owner
		// alone, as the customers they hold should be.
		f, err := os.OpenFile(o.Path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", o.Path, err)
		}
		f.Close()
		// The writer never checkpoints: see checkpointer.
		w, err := sql.Open("sqlite", o.Path+"?"+params+"&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		singleConn(w)
		s.w = w
	}
	if err := s.checkApplication(o.Application); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.migrate(o.Version, o.Migrate); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open %s: %w", s.name, err)
	}
	if o.Path != "" {
		// Opened after migrate, which put the file in WAL mode.
		r, err := sql.Open("sqlite", o.Path+"?"+params+"&_pragma=query_only(1)")
		if err != nil {
			s.w.Close()
			return nil, err
		}
		n := o.Readers
		if n <= 0 {
			n = 4
		}
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		s.r = r
		ck, err := sql.Open("sqlite", o.Path+"?"+params)
		if err != nil {
			s.w.Close()
			s.r.Close()
			return nil, err
		}
		ck.SetMaxOpenConns(1)
		s.ck = ck
		s.walPath = o.Path + "-wal"
		s.ckWake = make(chan struct{}, 1)
		s.ckDone = make(chan struct{})
		go s.checkpointer()
	}
	go s.writer()
	var err error
	if s.savepoint, err = s.PrepareWrite("SAVEPOINT op"); err == nil {
		if s.rollbackTo, err = s.PrepareWrite("ROLLBACK TO op"); err == nil {
			s.release, err = s.PrepareWrite("RELEASE op")
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", s.name, err)
	}
	return s, nil
}

func singleConn(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
}

// DBName is how logs and errors name a database path.
func DBName(path string) string {
	if path == "" {
		return "in-memory database"
	}
	return path
}

// applicationID is the PRAGMA application_id of an emulator's files.
func applicationID(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte("crmsync emulator " + name))
	id := int32(h.Sum32())
	if id == 0 {
		id = 1
	}
	return id
}

// checkApplication refuses a file another emulator stamped, and stamps a
// file no emulator stamped yet (a new one, or one written before files were
// stamped).
func (s *Store) checkApplication(name string) error {
	if name == "" {
		return nil
	}
	ctx := context.Background()
	var have int32
	if err := s.w.QueryRowContext(ctx, "PRAGMA application_id").Scan(&have); err != nil {
		return err
	}
	want := applicationID(name)
	switch have {
	case want:
		return nil
	case 0:
		_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", want))
		return err
	}
	return fmt.Errorf("%s holds another emulator's data, not %s's: give this sandbox its own file", s.name, name)
}

// Name is the file's path, or "in-memory database".
func (s *Store) Name() string { return s.name }

func (s *Store) migrate(version int, fn func(context.Context, *sql.Tx, int) error) error {
	ctx := context.Background()
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > version {
		return fmt.Errorf("schema version %d is newer than this emulator's (%d)", v, version)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if fn != nil {
		if err := fn(ctx, tx, v); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return err
	}
	return tx.Commit()
}

// PrepareWrite prepares a statement on the write connection, for use in
// write closures through tx.StmtContext; Close closes it. Called while the
// emulator sets up, after OpenStore.
func (s *Store) PrepareWrite(query string) (*sql.Stmt, error) { return s.keep(s.w.Prepare(query)) }

// PrepareRead prepares a statement on the read pool; Close closes it.
func (s *Store) PrepareRead(query string) (*sql.Stmt, error) { return s.keep(s.r.Prepare(query)) }

// Statement is one statement for [Store.PrepareAll] to prepare.
type Statement struct {
	// Dst receives the prepared statement.
	Dst **sql.Stmt
	// Query is the SQL.
	Query string
	// Read prepares it on the read pool ([Store.PrepareRead]), for reads
	// outside writes; else on the write connection ([Store.PrepareWrite]),
	// for write closures through tx.StmtContext.
	Read bool
}

// PrepareAll prepares each statement into its Dst: the statements an
// emulator runs on every request, prepared once because parsing one
// costs more than running it on a row. Called once, right after
// OpenStore. On the first failure it closes the store, statements and
// all, and returns the error naming the file: the store is not to be
// used after that.
func (s *Store) PrepareAll(stmts []Statement) error {
	for _, p := range stmts {
		prepare := s.PrepareWrite
		if p.Read {
			prepare = s.PrepareRead
		}
		st, err := prepare(p.Query)
		if err != nil {
			s.Close()
			return fmt.Errorf("open %s: %w", s.name, err)
		}
		*p.Dst = st
	}
	return nil
}

// ExecAll runs each statement in tx, in order, and returns the first
// error: the CREATE statements of a schema, in a Migrate.
func ExecAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// CountRows counts the rows of table for a stats answer, on the read pool
// and within five seconds: the count, or -1 when it cannot be had (the
// store is closed), which is logged. table is the emulator's own name,
// never a client's. Safe from any goroutine, after Close too.
func (s *Store) CountRows(table string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int64
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		s.log.Warn("cannot count "+table, "error", err)
		return -1
	}
	return n
}

func (s *Store) keep(st *sql.Stmt, err error) (*sql.Stmt, error) {
	if err != nil {
		return nil, err
	}
	s.stmtMu.Lock()
	s.stmts = append(s.stmts, st)
	s.stmtMu.Unlock()
	return st, nil
}

// Reader is the read pool: reads see every committed write. In memory it
// is the write connection itself, which a read then waits for; a read
// transaction must therefore not be held open while waiting on a write.
func (s *Store) Reader() *sql.DB { return s.r }

// ReadStmt returns a prepared statement of the read pool for query, and
// the function to call when done with it. Parsing a query can cost more
// than running it, so the shapes a client repeats are kept (up to 64);
// past that a statement is used once and closed. In memory, prepare
// before beginning a read transaction: the transaction holds the one
// connection.
func (s *Store) ReadStmt(ctx context.Context, query string) (*sql.Stmt, func(), error) {
	s.stmtMu.Lock()
	st := s.readStmts[query]
	s.stmtMu.Unlock()
	if st != nil {
		return st, func() {}, nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if prev := s.readStmts[query]; prev != nil {
		st.Close()
		return prev, func() {}, nil
	}
	if s.readStmts == nil || len(s.readStmts) >= maxReadStmts { // nil: closed
		return st, func() { st.Close() }, nil
	}
	s.readStmts[query] = st
	return st, func() {}, nil
}

// writeOp is one caller's part of a write transaction.
type writeOp struct {
	fn   func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan struct{}
}

// Write runs fn in a write transaction and returns fn's error, or the
// commit's. An error from fn undoes what fn did (and only that) and is
// returned as it is, so that an emulator can return its API errors
// through it. Called from any goroutine; returns ctx's error if ctx ends
// before the write is taken up, and [ErrStoreClosed] after Close began.
//
// Writes are group-committed: the writer goroutine runs every write
// waiting at the time in one transaction, each within a savepoint. A
// commit costs far more than a single-row update (the WAL lock, a frame
// write per page touched), so this is what lets one write connection keep
// up with many clients. fn gets the writer's context, not the caller's:
// interrupting one statement would roll back the whole shared
// transaction, and a write once taken up is carried out, as a real API
// does when the client hangs up. fn runs on the writer goroutine, so it
// must not wait for another write; it may be run in a transaction that
// also holds other callers' writes, so it must keep its results in its
// own variables until Write returns (or use [Do]).
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &writeOp{fn: fn, done: make(chan struct{})}
	select {
	case s.writes <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrStoreClosed
	}
	<-op.done
	return op.err
}

// Do is [Store.Write] for a closure with a result: the result of fn when
// the write committed, else the zero value and the error.
func Do[T any](ctx context.Context, s *Store, fn func(ctx context.Context, tx *sql.Tx) (T, error)) (T, error) {
	var out T
	err := s.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		v, err := fn(ctx, tx)
		out = v
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// writer runs the write transactions until quit. The channel is
// unbuffered, so once the writer has gone no write can be left in it.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-s.writes:
			batch = append(batch[:0], op)
		case <-s.quit:
			return
		}
		// Let the goroutines that the last batch woke up run first: most
		// of them are about to queue their next write, and a batch that
		// waits for them costs one commit instead of many.
		runtime.Gosched()
	gather:
		for len(batch) < maxBatch {
			select {
			case op := <-s.writes:
				batch = append(batch, op)
			default:
				break gather
			}
		}
		s.commit(batch)
		if s.ckWake != nil {
			if s.commits++; s.commits%s.ckEvery == 0 {
				select {
				case s.ckWake <- struct{}{}:
				default:
				}
			}
		}
		for _, op := range batch {
			close(op.done)
		}
	}
}

func (s *Store) commit(batch []*writeOp) {
	ctx := context.Background()
	fail := func(err error) {
		for _, op := range batch {
			if op.err == nil {
				op.err = err
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	if len(batch) == 1 {
		if err := batch[0].fn(ctx, tx); err != nil {
			batch[0].err = err
			tx.Rollback()
			return
		}
		batch[0].err = tx.Commit()
		return
	}
	for _, op := range batch {
		if _, err := tx.StmtContext(ctx, s.savepoint).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		if op.err = op.fn(ctx, tx); op.err != nil {
			if _, err := tx.StmtContext(ctx, s.rollbackTo).ExecContext(ctx); err != nil {
				// The transaction is gone (a disk error): nothing of the
				// batch was applied.
				tx.Rollback()
				fail(err)
				return
			}
		}
		if _, err := tx.StmtContext(ctx, s.release).ExecContext(ctx); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
}

// checkpointer copies the WAL into the database in the background. Left to
// SQLite, a checkpoint runs inside the commit that crosses the threshold,
// and with synchronous=NORMAL it fsyncs: tens of milliseconds during which
// every write waits. A PASSIVE checkpoint from another connection does the
// same work while the writer goes on appending.
func (s *Store) checkpointer() {
	defer close(s.ckDone)
	for {
		select {
		case <-s.ckWake:
		case <-s.quit:
			return
		}
		if _, err := s.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			// Not fatal: the WAL grows until a checkpoint succeeds, and
			// closing the last connection checkpoints it.
			s.log.Warn("WAL checkpoint failed", "error", err)
		}
		// A PASSIVE checkpoint never makes the WAL start over while some
		// reader is always between transactions, and under steady reads
		// it grew to gigabytes, slowing every read. Past maxWAL, wait for
		// the readers (the writer waits too, briefly) and truncate it.
		if fi, err := os.Stat(s.walPath); err == nil && fi.Size() > s.maxWAL {
			if _, err := s.ck.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				s.log.Warn("WAL truncation failed", "error", err, "wal_bytes", fi.Size())
			}
		}
	}
}

// Close stops the writer (writes waiting to be taken up get
// [ErrStoreClosed]; a transaction under way commits first) and the
// checkpointer, closes the prepared statements and the database. The
// emulator must have stopped using the read pool. A second call returns
// the first's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.writerDone
		if s.ck != nil {
			<-s.ckDone
			s.ck.Close()
		}
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		for _, st := range s.readStmts {
			st.Close()
		}
		s.stmts, s.readStmts = nil, nil
		s.stmtMu.Unlock()
		err := s.w.Close()
		if s.r != s.w {
			err = errors.Join(err, s.r.Close())
		}
		s.closeErr = err
	})
	return s.closeErr
}

// IsUniqueViolation reports whether err is SQLite refusing a row for a
// UNIQUE constraint on a column whose name holds column.
func IsUniqueViolation(err error, column string) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE &&
		strings.Contains(se.Error(), column)
}
