package counttest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"crmsync/internal/emulator"
)

const schemaVersion = 1

// The schema. email_key and name_key are the email and the name as
// emulator.FoldKey folds them: email_key makes emails unique case-insensitively
// (SQLite's NOCASE folds ASCII only), and both are what search matches.
// COUNT documents no delete, so seq is the creation order of every
// customer ever made.
const schema = `CREATE TABLE IF NOT EXISTS customers (
	seq              INTEGER PRIMARY KEY,
	id               TEXT    NOT NULL UNIQUE,
	customer         TEXT    NOT NULL,
	name_key         TEXT    NOT NULL,
	email            TEXT    NOT NULL,
	email_key        TEXT    NOT NULL UNIQUE,
	main_phone       TEXT,
	website          TEXT,
	status           TEXT    NOT NULL,
	billing_address  TEXT,             -- JSON object of the five parts, or NULL
	shipping_address TEXT,
	contacts         TEXT    NOT NULL, -- JSON array
	created_at       INTEGER NOT NULL, -- unix milliseconds
	updated_at       INTEGER NOT NULL
)`

const customerCols = `seq, id, customer, email, main_phone, website, status, billing_address,
	shipping_address, contacts, created_at, updated_at`

const (
	selectByID    = `SELECT ` + customerCols + ` FROM customers WHERE id = ?`
	selectByEmail = `SELECT ` + customerCols + ` FROM customers WHERE email_key = ?`
	insertRow     = `INSERT INTO customers (id, customer, name_key, email, email_key, main_phone,
		website, status, billing_address, shipping_address, contacts, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	updateRow = `UPDATE customers SET customer = ?, name_key = ?, email = ?, email_key = ?,
		main_phone = ?, website = ?, status = ?, billing_address = ?, shipping_address = ?,
		updated_at = ? WHERE seq = ?`
	// A customer holding the email other than the one with seq.
	emailTaken = `SELECT 1 FROM customers WHERE email_key = ? AND seq <> ?`
)

// store is the customers' database, on the kit's SQLite store: writes
// group-committed on one connection, reads on a pool beside it.
type store struct {
	*emulator.Store
	// Prepared once: parsing a statement costs more than running it on
	// one row. The w ones are used inside writes, through tx.StmtContext.
	rGet, rByEmail, wGet, wTaken, wInsert, wUpdate *sql.Stmt
}

func openStore(path string, log *slog.Logger) (*store, error) {
	db, err := emulator.OpenStore(emulator.StoreOptions{
		Path:        path,
		Version:     schemaVersion,
		Application: "count",
		Migrate:     migrate,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	st := &store{Store: db}
	if err := db.PrepareAll([]emulator.Statement{
		{Dst: &st.rGet, Query: selectByID, Read: true},
		{Dst: &st.rByEmail, Query: selectByEmail, Read: true},
		{Dst: &st.wGet, Query: selectByID},
		{Dst: &st.wTaken, Query: emailTaken},
		{Dst: &st.wInsert, Query: insertRow},
		{Dst: &st.wUpdate, Query: updateRow},
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
	return emulator.ExecAll(ctx, tx, schema)
}

type rowScanner interface{ Scan(dest ...any) error }

// scanCustomer reads a row of customerCols, followed by the columns of
// extra.
func scanCustomer(r rowScanner, extra ...any) (*customer, error) {
	var (
		c                                 customer
		phone, website, billing, shipping sql.NullString
		contacts                          string
		created, updated                  int64
	)
	dest := append([]any{&c.seq, &c.ID, &c.Customer, &c.Email, &phone, &website, &c.Status,
		&billing, &shipping, &contacts, &created, &updated}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	c.MainPhone, c.Website = nullString(phone), nullString(website)
	c.CreatedAt, c.UpdatedAt = stamp(created), stamp(updated)
	var err error
	if c.BillingAddress, err = readAddress(billing); err != nil {
		return nil, fmt.Errorf("customer %s: stored billing address: %w", c.ID, err)
	}
	if c.ShippingAddress, err = readAddress(shipping); err != nil {
		return nil, fmt.Errorf("customer %s: stored shipping address: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(contacts), &c.Contacts); err != nil {
		return nil, fmt.Errorf("customer %s: stored contacts: %w", c.ID, err)
	}
	if c.Contacts == nil {
		c.Contacts = []contact{}
	}
	return &c, nil
}

func readAddress(n sql.NullString) (*address, error) {
	if !n.Valid {
		return nil, nil
	}
	a := &address{}
	return a, json.Unmarshal([]byte(n.String), a)
}

func nullString(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	s := n.String
	return &s
}

// columns returns the values of c's changeable columns, from customer to
// shipping_address, in the order of updateRow.
func (c *customer) columns() ([]any, error) {
	addr := func(a *address) (any, error) {
		if a == nil {
			return nil, nil
		}
		b, err := json.Marshal(a)
		return string(b), err
	}
	billing, err := addr(c.BillingAddress)
	if err != nil {
		return nil, err
	}
	shipping, err := addr(c.ShippingAddress)
	if err != nil {
		return nil, err
	}
	opt := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return []any{c.Customer, emulator.FoldKey(c.Customer), c.Email, emulator.FoldKey(c.Email), opt(c.MainPhone),
		opt(c.Website), c.Status, billing, shipping}, nil
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

// create stores a customer made from in, which readInput checked as a
// create body, at now (unix milliseconds). A taken email is email_exists.
func (s *store) create(ctx context.Context, in *input, now int64) (*customer, error) {
	return emulator.Do(ctx, s.Store, func(ctx context.Context, tx *sql.Tx) (*customer, error) {
		if t, err := s.taken(ctx, tx, in.email.v, 0); err != nil || t {
			if t {
				return nil, emailExists()
			}
			return nil, err
		}
		c := &customer{ID: uuid.NewString(), Status: statusActive, Contacts: in.contacts,
			CreatedAt: stamp(now), UpdatedAt: stamp(now)}
		in.apply(c)
		cols, err := c.columns()
		if err != nil {
			return nil, err
		}
		contacts, err := json.Marshal(c.Contacts)
		if err != nil {
			return nil, err
		}
		args := append([]any{c.ID}, cols...)
		args = append(args, string(contacts), now, now)
		err = tx.StmtContext(ctx, s.wInsert).QueryRowContext(ctx, args...).Scan(&c.seq)
		if emulator.IsUniqueViolation(err, "email_key") {
			return nil, emailExists()
		}
		return c, err
	})
}

// get returns the customer with the id, or nil.
func (s *store) get(ctx context.Context, id string) (*customer, error) {
	c, err := scanCustomer(s.rGet.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// byEmail returns the customer whose email folds to the same key as
// email, or nil.
func (s *store) byEmail(ctx context.Context, email string) (*customer, error) {
	c, err := scanCustomer(s.rByEmail.QueryRowContext(ctx, emulator.FoldKey(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return c, err
}

// update applies in to the customer with the id and returns it. updatedAt
// moves, to now or past its previous value, only when a field changed.
func (s *store) update(ctx context.Context, id string, in *input, now int64) (*customer, error) {
	return emulator.Do(ctx, s.Store, func(ctx context.Context, tx *sql.Tx) (*customer, error) {
		old, err := s.getTx(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, customerNotFound()
		}
		if t, err := s.taken(ctx, tx, in.email.v, old.seq); err != nil || t {
			if t {
				return nil, emailExists()
			}
			return nil, err
		}
		c := *old
		in.apply(&c)
		if sameFields(&c, old) {
			return old, nil
		}
		// Strictly later than before, even within one millisecond or when
		// the clock steps back, so that every change moves it.
		c.UpdatedAt = max(stamp(now), old.UpdatedAt+1)
		cols, err := c.columns()
		if err != nil {
			return nil, err
		}
		_, err = tx.StmtContext(ctx, s.wUpdate).ExecContext(ctx, append(cols, int64(c.UpdatedAt), c.seq)...)
		if emulator.IsUniqueViolation(err, "email_key") {
			return nil, emailExists()
		}
		return &c, err
	})
}
