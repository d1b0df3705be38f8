package tiquotest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"crmsync/internal/emulator"
)

const schemaVersion = 1

// The schema. email_key is the email as emulator.FoldKey folds it, which
// makes emails unique case-insensitively (SQLite's own NOCASE folds ASCII
// only) and is what the list's email filter matches.
// seq is AUTOINCREMENT so that a deleted customer's number is never given
// again: the list is in seq order, and a cursor naming a deleted customer
// (kept in deleted_customers) still marks a place in it.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS customers (
		seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
		id                    TEXT    NOT NULL UNIQUE,
		first_name            TEXT    NOT NULL,
		last_name             TEXT    NOT NULL,
		email                 TEXT    NOT NULL,
		email_key             TEXT    NOT NULL UNIQUE,
		phone                 TEXT,
		date_of_birth         TEXT,
		address               TEXT,             -- JSON object of the six parts, or NULL
		tags                  TEXT    NOT NULL, -- JSON array of strings
		notes                 TEXT,
		preferred_location_id TEXT,
		marketing_consent     INTEGER,
		company_id            TEXT,
		loyalty_points        INTEGER NOT NULL DEFAULT 0,
		created_at            INTEGER NOT NULL, -- Unix milliseconds
		updated_at            INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS deleted_customers (
		id  TEXT    PRIMARY KEY,
		seq INTEGER NOT NULL
	) WITHOUT ROWID`,
}

const customerCols = `seq, id, first_name, last_name, email, phone, date_of_birth, address, tags,
	notes, preferred_location_id, marketing_consent, company_id, loyalty_points, created_at, updated_at`

const (
	selectByID     = `SELECT ` + customerCols + ` FROM customers WHERE id = ?`
	insertCustomer = `INSERT INTO customers (id, first_name, last_name, email, email_key, phone,
		date_of_birth, address, tags, notes, preferred_location_id, marketing_consent, company_id,
		loyalty_points, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	updateCustomer = `UPDATE customers SET first_name = ?, last_name = ?, email = ?, email_key = ?,
		phone = ?, date_of_birth = ?, address = ?, tags = ?, notes = ?, preferred_location_id = ?,
		marketing_consent = ?, company_id = ?, updated_at = ? WHERE seq = ?`
	// A customer holding the email other than the one with seq.
	emailTaken = `SELECT 1 FROM customers WHERE email_key = ? AND seq <> ?`
)

// store is the customers' database, on the kit's SQLite store: writes
// group-committed on one connection, reads on a pool beside it.
type store struct {
	*emulator.Store
	// Prepared once: parsing a statement costs more than running it on
	// one row. The w ones are used inside writes, through tx.StmtContext.
	rGet, wGet, wTaken, wInsert, wUpdate *sql.Stmt
}

func openStore(path string, log *slog.Logger) (*store, error) {
	db, err := emulator.OpenStore(emulator.StoreOptions{
		Path:        path,
		Version:     schemaVersion,
		Application: "tiquo",
		Migrate:     migrate,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	st := &store{Store: db}
	if err := db.PrepareAll([]emulator.Statement{
		{Dst: &st.rGet, Query: selectByID, Read: true},
		{Dst: &st.wGet, Query: selectByID},
		{Dst: &st.wTaken, Query: emailTaken},
		{Dst: &st.wInsert, Query: insertCustomer},
		{Dst: &st.wUpdate, Query: updateCustomer},
	}); err != nil {
		return nil, err
	}
	return st, nil
}

// migrate creates the schema in a new database.
func migrate(ctx context.Context, tx *sql.Tx, from int) error {
	if from >= schemaVersion {
		return nil
	}
	return emulator.ExecAll(ctx, tx, schema...)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanCustomer(r rowScanner) (*customer, error) {
	var (
		c                                     customer
		phone, dob, addr, notes, loc, company sql.NullString
		tags                                  string
		consent                               sql.NullBool
		created, updated                      int64
	)
	if err := r.Scan(&c.seq, &c.ID, &c.FirstName, &c.LastName, &c.Email, &phone, &dob, &addr,
		&tags, &notes, &loc, &consent, &company, &c.LoyaltyPoints, &created, &updated); err != nil {
		return nil, err
	}
	c.Phone, c.DateOfBirth, c.Notes = nullString(phone), nullString(dob), nullString(notes)
	c.PreferredLocationID, c.CompanyID = nullString(loc), nullString(company)
	if consent.Valid {
		c.MarketingConsent = &consent.Bool
	}
	c.CreatedAt, c.UpdatedAt = stamp(created), stamp(updated)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return nil, fmt.Errorf("customer %s: stored tags: %w", c.ID, err)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if addr.Valid {
		c.Address = &address{}
		if err := json.Unmarshal([]byte(addr.String), c.Address); err != nil {
			return nil, fmt.Errorf("customer %s: stored address: %w", c.ID, err)
		}
	}
	return &c, nil
}

func nullString(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	s := n.String
	return &s
}

// columns returns the values of c's writable columns, from first_name to
// company_id, in the order of insertCustomer and updateCustomer.
func (c *customer) columns() ([]any, error) {
	tags, err := json.Marshal(c.Tags)
	if err != nil {
		return nil, err
	}
	var addr any
	if c.Address != nil {
		b, err := json.Marshal(c.Address)
		if err != nil {
			return nil, err
		}
		addr = string(b)
	}
	opt := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	var consent any
	if c.MarketingConsent != nil {
		consent = *c.MarketingConsent
	}
	return []any{c.FirstName, c.LastName, c.Email, emulator.FoldKey(c.Email), opt(c.Phone), opt(c.DateOfBirth),
		addr, string(tags), opt(c.Notes), opt(c.PreferredLocationID), consent, opt(c.CompanyID)}, nil
}

func (s *store) getTx(ctx context.Context, tx *sql.Tx, id string) (*customer, error) {
	c, err := scanCustomer(tx.StmtContext(ctx, s.wGet).QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// taken reports whether a customer other than the one with seq holds the
// email.
func (s *store) taken(ctx context.Context, tx *sql.Tx, email string, seq int64) (bool, error) {
	var one int
	err := tx.StmtContext(ctx, s.wTaken).QueryRowContext(ctx, emulator.FoldKey(email), seq).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// create stores a customer made from p, which readBody checked as a
// create body. A taken email is the email_exists error.
func (s *store) create(ctx context.Context, p *patch) (*customer, error) {
	var c *customer
	err := s.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if t, err := s.taken(ctx, tx, p.email.v, 0); err != nil || t {
			if t {
				return emailExists()
			}
			return err
		}
		now := stamp(time.Now().UnixMilli())
		c = &customer{ID: randomID("cust_"), Tags: []string{}, CreatedAt: now, UpdatedAt: now}
		p.apply(c)
		cols, err := c.columns()
		if err != nil {
			return err
		}
		args := append([]any{c.ID}, cols...)
		args = append(args, c.LoyaltyPoints, int64(c.CreatedAt), int64(c.UpdatedAt))
		return tx.StmtContext(ctx, s.wInsert).QueryRowContext(ctx, args...).Scan(&c.seq)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// get returns the customer with the id, or nil.
func (s *store) get(ctx context.Context, id string) (*customer, error) {
	c, err := scanCustomer(s.rGet.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// update applies p to the customer with the id and returns it before and
// after; updatedAt moves even when nothing else does.
func (s *store) update(ctx context.Context, id string, p *patch) (old, cur *customer, err error) {
	err = s.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if old, err = s.getTx(ctx, tx, id); err != nil {
			return err
		}
		if old == nil {
			return customerNotFound()
		}
		if p.email.set {
			if t, err := s.taken(ctx, tx, p.email.v, old.seq); err != nil || t {
				if t {
					return emailExists()
				}
				return err
			}
		}
		n := old.clone()
		p.apply(n)
		// Strictly later than before, even within one millisecond or when
		// the clock steps back, so that every PATCH moves it.
		n.UpdatedAt = max(stamp(time.Now().UnixMilli()), old.UpdatedAt+1)
		cols, err := n.columns()
		if err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, s.wUpdate).ExecContext(ctx, append(cols, int64(n.UpdatedAt), n.seq)...)
		cur = n
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return old, cur, nil
}

// remove deletes the customer with the id and returns it, or
// not_found. Its id stays known as a cursor; its email is free again.
func (s *store) remove(ctx context.Context, id string) (*customer, error) {
	var c *customer
	err := s.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if c, err = s.getTx(ctx, tx, id); err != nil {
			return err
		}
		if c == nil {
			return customerNotFound()
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE seq = ?", c.seq); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO deleted_customers (id, seq) VALUES (?, ?)", c.ID, c.seq)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// listQuery is a validated list request.
type listQuery struct {
	limit    int
	after    int64  // the seq of the cursor's customer; 0 = from the start
	emailKey string // "" = every customer
}

// cursorSeq returns the seq of the customer a cursor names, deleted or
// not, and whether there is one.
func (s *store) cursorSeq(ctx context.Context, id string) (int64, bool, error) {
	var seq int64
	err := s.Reader().QueryRowContext(ctx, `SELECT seq FROM customers WHERE id = ?
		UNION ALL SELECT seq FROM deleted_customers WHERE id = ? LIMIT 1`, id, id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}

// list returns the page of q and whether customers follow it.
func (s *store) list(ctx context.Context, q listQuery) ([]*customer, bool, error) {
	query := `SELECT ` + customerCols + ` FROM customers WHERE seq > ?`
	args := []any{q.after}
	if q.emailKey != "" {
		query += ` AND email_key = ?`
		args = append(args, q.emailKey)
	}
	// One more than the page, to tell whether there is a next page.
	query += ` ORDER BY seq LIMIT ?`
	args = append(args, q.limit+1)
	// Two shapes (with and without email), kept prepared by the kit.
	st, release, err := s.ReadStmt(ctx, query)
	if err != nil {
		return nil, false, err
	}
	defer release()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	out := make([]*customer, 0, q.limit+1)
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > q.limit {
		return out[:q.limit], true, nil
	}
	return out, false, nil
}
