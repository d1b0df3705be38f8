package tamiotest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"crmsync/internal/emulator"
	"github.com/google/uuid"
)

const schemaVersion = 1

// The schema. email_key, name_key and last_name_key hold the values folded
// to lower case by Go (SQLite's lower() folds ASCII only): email_key is
// what makes an email unique per account, the others serve the
// case-insensitive filter and sort. seq is AUTOINCREMENT so that a deleted
// customer's sequence number is never reused and the insertion order stays
// a total order across restarts.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS customers (
		seq             INTEGER PRIMARY KEY AUTOINCREMENT,
		id              TEXT    NOT NULL UNIQUE,
		email           TEXT    NOT NULL,
		email_key       TEXT    NOT NULL UNIQUE,
		name            TEXT    NOT NULL,
		name_key        TEXT    NOT NULL,
		last_name       TEXT    NOT NULL,
		last_name_key   TEXT    NOT NULL,
		country         TEXT    NOT NULL,
		locale          TEXT    NOT NULL,
		timezone_offset TEXT    NOT NULL,
		category        TEXT    NOT NULL,
		priority        TEXT    NOT NULL,
		lead_status     TEXT,
		phone           TEXT    NOT NULL,
		company         TEXT    NOT NULL,
		teammate_id     TEXT,
		created_at      INTEGER NOT NULL,
		created_ns      INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS customers_created ON customers (created_at, seq)`,
	`CREATE INDEX IF NOT EXISTS customers_name ON customers (name_key, seq)`,
	`CREATE INDEX IF NOT EXISTS customers_country ON customers (country, seq)`,
	`CREATE INDEX IF NOT EXISTS customers_teammate ON customers (teammate_id, seq)`,
	`CREATE TABLE IF NOT EXISTS addresses (
		id             TEXT    PRIMARY KEY,
		customer_seq   INTEGER NOT NULL REFERENCES customers (seq) ON DELETE CASCADE,
		kind           TEXT    NOT NULL CHECK (kind IN ('billing', 'shipping')),
		name           TEXT    NOT NULL,
		last_name      TEXT    NOT NULL,
		email          TEXT    NOT NULL,
		address        TEXT    NOT NULL,
		city           TEXT    NOT NULL,
		postcode       TEXT    NOT NULL,
		state          TEXT    NOT NULL,
		country        TEXT    NOT NULL,
		locale         TEXT    NOT NULL,
		phone          TEXT    NOT NULL,
		company        TEXT    NOT NULL,
		message        TEXT    NOT NULL,
		vat            TEXT    NOT NULL,
		representative TEXT    NOT NULL,
		is_company     INTEGER NOT NULL,
		verified_vat   INTEGER NOT NULL,
		UNIQUE (customer_seq, kind)
	)`,
	`CREATE TABLE IF NOT EXISTS list_members (
		list_id      TEXT    NOT NULL,
		customer_seq INTEGER NOT NULL REFERENCES customers (seq) ON DELETE CASCADE,
		added_ns     INTEGER NOT NULL,
		PRIMARY KEY (list_id, customer_seq)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS list_members_customer ON list_members (customer_seq)`,
	`CREATE TABLE IF NOT EXISTS bulk_jobs (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		key_name  TEXT    NOT NULL,
		run_at_ns INTEGER NOT NULL,
		payload   BLOB    NOT NULL,
		done      INTEGER NOT NULL DEFAULT 0
	)`,
}

const customerCols = `c.seq, c.id, c.email, c.name, c.last_name, c.country, c.locale,
	c.timezone_offset, c.category, c.priority, c.lead_status, c.phone, c.company,
	c.teammate_id, c.created_at`

// addressJSON renders a customer's address of one kind as a JSON object,
// or NULL. One text column per address, rather than a join of 17 columns
// each, because the driver's per-column cost is paid on every query and
// dominates the hot single-row reads.
func addressJSON(kind string) string {
	return `(SELECT json_object('id', a.id, 'name', a.name, 'last_name', a.last_name,
		'email', a.email, 'address', a.address, 'city', a.city, 'postcode', a.postcode,
		'state', a.state, 'country', a.country, 'locale', a.locale, 'phone', a.phone,
		'company', a.company, 'message', a.message, 'vat', a.vat,
		'representative', a.representative,
		'is_company', json(iif(a.is_company, 'true', 'false')),
		'verified_vat', json(iif(a.verified_vat, 'true', 'false')))
		FROM addresses a WHERE a.customer_seq = c.seq AND a.kind = '` + kind + `')`
}

var (
	selectCustomers = `SELECT ` + customerCols + `, ` + addressJSON("billing") + `, ` +
		addressJSON("shipping") + ` FROM customers c`
	selectByID = selectCustomers + ` WHERE c.id = ?`

	insertCustomerSQL = `INSERT INTO customers (id, email, email_key, name, name_key, last_name,
		last_name_key, country, locale, timezone_offset, category, priority, lead_status, phone,
		company, teammate_id, created_at, created_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertCustomer = insertCustomerSQL + ` RETURNING seq`
	// An import skips an email that exists; RETURNING then yields no row.
	importCustomer = insertCustomerSQL + ` ON CONFLICT (email_key) DO NOTHING RETURNING seq`
	insertAddress  = `INSERT INTO addresses (id, customer_seq, kind, name, last_name, email, address,
		city, postcode, state, country, locale, phone, company, message, vat, representative,
		is_company, verified_vat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateCustomer = `UPDATE customers SET email = ?, email_key = ?, name = ?, name_key = ?,
		country = ?, teammate_id = ?, last_name = ?, last_name_key = ?, locale = ?,
		timezone_offset = ?, category = ?, priority = ?, lead_status = ?, phone = ? WHERE seq = ?`
	// SQLite rewrites the entries of every index on a column that an
	// UPDATE sets, changed or not; most updates change no indexed column,
	// and this one leaves the indexes alone.
	updateUnindexed = `UPDATE customers SET last_name = ?, last_name_key = ?, locale = ?,
		timezone_offset = ?, category = ?, priority = ?, lead_status = ?, phone = ? WHERE seq = ?`
)

// store is the SQLite database, on the kit's store: writes run in the
// group-commit writer's transactions, reads on its read pool.
type store struct {
	db *emulator.Store
	r  *sql.DB

	// clock gives created_at and created_ns; it is used inside write
	// transactions, so its order is the insertion order.
	clock emulator.Clock

	wGet, wUpdate, wUpdateUnindexed, wInsert, wImport, wAddress, rGet *sql.Stmt
}

func openStore(path string, log *slog.Logger) (*store, error) {
	s := &store{}
	db, err := emulator.OpenStore(emulator.StoreOptions{Path: path, Version: schemaVersion, Application: "tamio", Logger: log,
		Migrate: func(ctx context.Context, tx *sql.Tx, _ int) error {
			// Every statement is IF NOT EXISTS: version 1 is the only one.
			if err := emulator.ExecAll(ctx, tx, schema...); err != nil {
				return err
			}
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx, "SELECT max(created_ns) FROM customers").Scan(&last); err != nil {
				return err
			}
			s.clock.Observe(last.Int64)
			return nil
		}})
	if err != nil {
		return nil, err
	}
	s.db, s.r = db, db.Reader()
	if err := db.PrepareAll([]emulator.Statement{
		{Dst: &s.wGet, Query: selectByID},
		{Dst: &s.wUpdate, Query: updateCustomer},
		{Dst: &s.wUpdateUnindexed, Query: updateUnindexed},
		{Dst: &s.wInsert, Query: insertCustomer},
		{Dst: &s.wImport, Query: importCustomer},
		{Dst: &s.wAddress, Query: insertAddress},
		{Dst: &s.rGet, Query: selectByID, Read: true},
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// close closes the database and the statements.
func (s *store) close() error { return s.db.Close() }

// write runs fn in a write transaction of the kit's writer and returns
// its error, or the commit's. An *apiError from fn undoes what fn did and
// is returned as it is.
func (s *store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.db.Write(ctx, fn)
}

// stamp returns the creation time of a customer inserted now. It never
// goes back, even when the clock does, so that created_at follows the
// insertion order and a list sorted by it pages stably.
func (s *store) stamp() (sec, ns int64) {
	ns = s.clock.Next()
	return ns / int64(time.Second), ns
}

func isUniqueViolation(err error, column string) bool { return emulator.IsUniqueViolation(err, column) }

// scanner reads the columns of selectCustomers.
type scanner struct {
	c                    customer
	leadStatus, teammate sql.NullString
	billing, shipping    sql.NullString
	dest                 []any
}

func newScanner() *scanner {
	sc := &scanner{}
	c := &sc.c
	sc.dest = []any{&c.seq, &c.ID, &c.Email, &c.Name, &c.LastName, &c.Country, &c.Locale,
		&c.TimezoneOffset, &c.Category, &c.Priority, &sc.leadStatus, &c.Phone, &c.company,
		&sc.teammate, &c.CreatedAt, &sc.billing, &sc.shipping}
	return sc
}

func decodeAddress(js sql.NullString, shipping bool) (*address, error) {
	if !js.Valid {
		return nil, nil
	}
	a := &address{}
	if err := json.Unmarshal([]byte(js.String), a); err != nil {
		return nil, fmt.Errorf("stored address: %w", err)
	}
	a.Object = "address"
	a.ShippingAddress = shipping
	return a, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func (sc *scanner) scan(r rowScanner) (*customer, error) {
	if err := r.Scan(sc.dest...); err != nil {
		return nil, err
	}
	c := sc.c
	c.Object = "customer"
	// Copies, not pointers into the scanner, which the next row reuses;
	// NULL and "" are both "none" (neither is ever stored as "").
	c.LeadStatus = strPtr(sc.leadStatus.String)
	c.TeammateID = strPtr(sc.teammate.String)
	var err error
	if c.BillingAddress, err = decodeAddress(sc.billing, false); err != nil {
		return nil, err
	}
	if c.ShippingAddress, err = decodeAddress(sc.shipping, true); err != nil {
		return nil, err
	}
	return &c, nil
}

// get returns the customer with the id, or nil.
func (s *store) get(ctx context.Context, id string) (*customer, error) {
	c, err := newScanner().scan(s.rGet.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

func getTx(ctx context.Context, tx *sql.Tx, st *sql.Stmt, id string) (*customer, error) {
	c, err := newScanner().scan(tx.StmtContext(ctx, st).QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

func nullable(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// insert adds a customer made from n and returns it, or nil when
// skipIfExists is set and its email exists. Without skipIfExists an
// existing email is the constraint error that isUniqueViolation detects.
func (s *store) insert(ctx context.Context, tx *sql.Tx, n *newCustomer, skipIfExists bool) (*customer, error) {
	sec, ns := s.stamp()
	c := &customer{
		ID: uuid.NewString(), Object: "customer", Email: n.Email, Name: n.Name,
		LastName: n.LastName, Country: n.Country, Locale: n.Locale,
		TimezoneOffset: n.TimezoneOffset, Category: n.Category, Priority: n.Priority,
		LeadStatus: strPtr(n.LeadStatus), Phone: n.Phone, TeammateID: strPtr(n.TeammateID),
		CreatedAt: sec, company: n.Company,
	}
	st := s.wInsert
	if skipIfExists {
		st = s.wImport
	}
	err := tx.StmtContext(ctx, st).QueryRowContext(ctx, c.ID, c.Email, strings.ToLower(c.Email),
		c.Name, strings.ToLower(c.Name), c.LastName, strings.ToLower(c.LastName), c.Country,
		c.Locale, c.TimezoneOffset, c.Category, c.Priority, nullable(c.LeadStatus), c.Phone,
		c.company, nullable(c.TeammateID), sec, ns).Scan(&c.seq)
	if skipIfExists && errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, a := range []struct {
		src  *address
		dst  **address
		kind string
	}{{n.Billing, &c.BillingAddress, "billing"}, {n.Shipping, &c.ShippingAddress, "shipping"}} {
		if a.src == nil {
			continue
		}
		addr := *a.src
		addr.ID = uuid.NewString()
		addr.Object = "address"
		addr.ShippingAddress = a.kind == "shipping"
		if _, err := tx.StmtContext(ctx, s.wAddress).ExecContext(ctx, addr.ID, c.seq, a.kind,
			addr.Name, addr.LastName, addr.Email, addr.Address, addr.City, addr.Postcode,
			addr.State, addr.Country, addr.Locale, addr.Phone, addr.Company, addr.Message,
			addr.VAT, addr.Representative, addr.IsCompany, addr.VerifiedVAT); err != nil {
			return nil, err
		}
		*a.dst = &addr
	}
	return c, nil
}

// create inserts one customer; an existing email is a 10142.
func (s *store) create(ctx context.Context, n *newCustomer) (*customer, error) {
	var c *customer
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		c, err = s.insert(ctx, tx, n, false)
		if isUniqueViolation(err, "email_key") {
			return &apiError{status: 400, code: codeCustomerExists, field: "email", index: -1,
				msg: fmt.Sprintf("a customer with email %s already exists", n.Email)}
		}
		return err
	})
	return c, err
}

// save writes back the changes from old to c, if there are any.
func (s *store) save(ctx context.Context, tx *sql.Tx, old, c *customer) error {
	if c.sameData(old) {
		return nil
	}
	var err error
	if c.Email == old.Email && c.Name == old.Name && c.Country == old.Country && eqPtr(c.TeammateID, old.TeammateID) {
		_, err = tx.StmtContext(ctx, s.wUpdateUnindexed).ExecContext(ctx, c.LastName,
			strings.ToLower(c.LastName), c.Locale, c.TimezoneOffset, c.Category, c.Priority,
			nullable(c.LeadStatus), c.Phone, c.seq)
	} else {
		_, err = tx.StmtContext(ctx, s.wUpdate).ExecContext(ctx, c.Email, strings.ToLower(c.Email),
			c.Name, strings.ToLower(c.Name), c.Country, nullable(c.TeammateID), c.LastName,
			strings.ToLower(c.LastName), c.Locale, c.TimezoneOffset, c.Category, c.Priority,
			nullable(c.LeadStatus), c.Phone, c.seq)
	}
	return err
}

// update applies u to the customer with the id and returns it before and
// after.
func (s *store) update(ctx context.Context, id string, u *update) (old, cur *customer, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if old, err = getTx(ctx, tx, s.wGet, id); err != nil {
			return err
		}
		if old == nil {
			return customerNotFound(id)
		}
		n, aerr := u.apply(old)
		if aerr != nil {
			return aerr
		}
		if err := s.save(ctx, tx, old, n); err != nil {
			if isUniqueViolation(err, "email_key") {
				return &apiError{status: 400, code: codeEmailUsed, field: "email", index: -1,
					msg: fmt.Sprintf("email %s is used by another customer", n.Email)}
			}
			return err
		}
		cur = n
		return nil
	})
	return old, cur, err
}

func deleteTx(ctx context.Context, tx *sql.Tx, seq int64) error {
	// Spelt out rather than left to ON DELETE CASCADE, which depends on a
	// per-connection pragma.
	for _, q := range []string{
		"DELETE FROM addresses WHERE customer_seq = ?",
		"DELETE FROM list_members WHERE customer_seq = ?",
		"DELETE FROM customers WHERE seq = ?",
	} {
		if _, err := tx.ExecContext(ctx, q, seq); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes the customers with the ids and returns those that
// existed, in the order given.
func (s *store) remove(ctx context.Context, ids []string) ([]*customer, error) {
	var gone []*customer
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		gone = gone[:0]
		for _, id := range ids {
			c, err := getTx(ctx, tx, s.wGet, id)
			if err != nil {
				return err
			}
			if c == nil {
				continue
			}
			if err := deleteTx(ctx, tx, c.seq); err != nil {
				return err
			}
			gone = append(gone, c)
		}
		return nil
	})
	return gone, err
}

// assign sets the teammate of every customer (nil unassigns); all must
// exist. It returns the customers it changed, before and after.
func (s *store) assign(ctx context.Context, ids []string, teammate *string) (old, cur []*customer, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		old, cur = old[:0], cur[:0]
		for i, id := range ids {
			c, err := getTx(ctx, tx, s.wGet, id)
			if err != nil {
				return err
			}
			if c == nil {
				return customerNotFound(id).at(i)
			}
			if eqPtr(c.TeammateID, teammate) {
				continue
			}
			n := *c
			n.TeammateID = teammate
			if err := s.save(ctx, tx, c, &n); err != nil {
				return err
			}
			old, cur = append(old, c), append(cur, &n)
		}
		return nil
	})
	return old, cur, err
}

func seqOf(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, "SELECT seq FROM customers WHERE id = ?", id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// subscribe adds the customers to the list; all must exist (bulk is set
// when the ids come from a bulk body, for the error's index). It returns
// those that were not subscribed yet.
func (s *store) subscribe(ctx context.Context, list string, ids []string, bulk bool) ([]string, error) {
	var added []string
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		added = added[:0]
		now := time.Now().UnixNano()
		for i, id := range ids {
			seq, err := seqOf(ctx, tx, id)
			if err != nil {
				return err
			}
			if seq == 0 {
				if bulk {
					return customerNotFound(id).at(i)
				}
				return customerNotFound(id)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO list_members (list_id, customer_seq, added_ns)
				VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, list, seq, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added = append(added, id)
			}
		}
		return nil
	})
	return added, err
}

// unsubscribe removes a customer from a list and reports whether it was
// subscribed.
func (s *store) unsubscribe(ctx context.Context, list, id string) (bool, error) {
	var removed bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		seq, err := seqOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if seq == 0 {
			return customerNotFound(id)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM list_members WHERE list_id = ? AND customer_seq = ?", list, seq)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		removed = n > 0
		return err
	})
	return removed, err
}

// listQuery is a validated list request.
type listQuery struct {
	page, perPage int
	sortBy        string // a column of customers
	desc          bool
	filter        string // folded to lower case
	from, to      *int64
	countries     []string
	teammate      string
	includeLeads  bool
	only          []string // the customers a limited key sees; nil = all
}

func (q *listQuery) where() (string, []any) {
	var conds []string
	var args []any
	if !q.includeLeads {
		conds = append(conds, "c.category <> 'lead'")
	}
	if q.filter != "" {
		conds = append(conds, "(instr(c.name_key, ?) > 0 OR instr(c.last_name_key, ?) > 0 OR instr(c.email_key, ?) > 0)")
		args = append(args, q.filter, q.filter, q.filter)
	}
	if q.from != nil {
		conds = append(conds, "c.created_at >= ?")
		args = append(args, *q.from)
	}
	if q.to != nil {
		conds = append(conds, "c.created_at <= ?")
		args = append(args, *q.to)
	}
	if len(q.countries) > 0 {
		conds = append(conds, "c.country IN (?"+strings.Repeat(", ?", len(q.countries)-1)+")")
		for _, c := range q.countries {
			args = append(args, c)
		}
	}
	if q.teammate != "" {
		conds = append(conds, "c.teammate_id = ?")
		args = append(args, q.teammate)
	}
	if q.only != nil {
		ids, _ := json.Marshal(q.only)
		conds = append(conds, "c.id IN (SELECT value FROM json_each(?))")
		args = append(args, string(ids))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// list returns the number of matching customers and one page of them,
// both read in one transaction so that they agree.
func (s *store) list(ctx context.Context, q *listQuery) (int64, []*customer, error) {
	where, args := q.where()
	dir := " ASC"
	if q.desc {
		dir = " DESC"
	}
	// Prepared before the transaction: in memory there is one connection,
	// which the transaction holds.
	countSt, release, err := s.readStmt(ctx, "SELECT count(*) FROM customers c"+where)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	pageSt, release2, err := s.readStmt(ctx, selectCustomers+where+" ORDER BY c."+q.sortBy+dir+", c.seq"+dir+" LIMIT ? OFFSET ?")
	if err != nil {
		return 0, nil, err
	}
	defer release2()
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var total int64
	if err := tx.StmtContext(ctx, countSt).QueryRowContext(ctx, args...).Scan(&total); err != nil {
		return 0, nil, err
	}
	offset := int64(q.page-1) * int64(q.perPage)
	out := make([]*customer, 0, q.perPage)
	if offset >= total {
		return total, out, nil
	}
	rows, err := tx.StmtContext(ctx, pageSt).QueryContext(ctx, append(args, q.perPage, offset)...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	sc := newScanner()
	for rows.Next() {
		c, err := sc.scan(rows)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, c)
	}
	return total, out, rows.Err()
}

// readStmt returns a prepared statement of the read pool for q (see
// [emulator.Store.ReadStmt]); list queries vary in shape with the filters
// used, so there is no fixed set to prepare up front.
func (s *store) readStmt(ctx context.Context, q string) (*sql.Stmt, func(), error) {
	return s.db.ReadStmt(ctx, q)
}

// Bulk jobs live in the database from the moment they are accepted, so
// that a restart resumes them instead of losing an import the client was
// told succeeded.

func (s *store) addJob(ctx context.Context, keyName string, runAt time.Time, recs []*newCustomer) (int64, error) {
	payload, err := json.Marshal(recs)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "INSERT INTO bulk_jobs (key_name, run_at_ns, payload) VALUES (?, ?, ?) RETURNING id",
			keyName, runAt.UnixNano(), payload).Scan(&id)
	})
	return id, err
}

type jobRef struct {
	id    int64
	runAt time.Time
}

func (s *store) pendingJobs(ctx context.Context) ([]jobRef, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, run_at_ns FROM bulk_jobs ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []jobRef
	for rows.Next() {
		var j jobRef
		var ns int64
		if err := rows.Scan(&j.id, &ns); err != nil {
			return nil, err
		}
		j.runAt = time.Unix(0, ns)
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// loadJob returns a job's customers and how many of them are done.
func (s *store) loadJob(ctx context.Context, id int64) (keyName string, recs []*newCustomer, done int, err error) {
	var payload []byte
	err = s.r.QueryRowContext(ctx, "SELECT key_name, payload, done FROM bulk_jobs WHERE id = ?", id).Scan(&keyName, &payload, &done)
	if err != nil {
		return "", nil, 0, err
	}
	if err := json.Unmarshal(payload, &recs); err != nil {
		return "", nil, 0, fmt.Errorf("bulk job %d: %w", id, err)
	}
	return keyName, recs, done, nil
}

// importChunk creates recs[done:end] of a job in one transaction, which
// also records the progress, or deletes the job when end is the last.
// It returns the customers created.
func (s *store) importChunk(ctx context.Context, id int64, recs []*newCustomer, done, end int) ([]*customer, error) {
	var created []*customer
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		created = created[:0]
		for _, n := range recs[done:end] {
			c, err := s.insert(ctx, tx, n, true)
			if err != nil {
				return err
			}
			if c != nil {
				created = append(created, c)
			}
		}
		var err error
		if end == len(recs) {
			_, err = tx.ExecContext(ctx, "DELETE FROM bulk_jobs WHERE id = ?", id)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE bulk_jobs SET done = ? WHERE id = ?", end, id)
		}
		return err
	})
	return created, err
}
