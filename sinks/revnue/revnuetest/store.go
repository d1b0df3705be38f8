package revnuetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"unicode"
	"unicode/utf8"

	"crmsync/internal/emulator"
)

const schemaVersion = 1

// The schema. A customer is kept as its checked write shape in JSON
// (record), beside the columns the API looks customers up by: company for
// the list, name_key for the uniqueness of names across the account. id
// is AUTOINCREMENT so that an id is never given twice, and the list pages
// in id order.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS customers (
		id       INTEGER PRIMARY KEY AUTOINCREMENT,
		company  INTEGER NOT NULL,
		name_key TEXT    NOT NULL UNIQUE,
		record   TEXT    NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS customers_company ON customers (company, id)`,
}

const (
	selectByID   = `SELECT record FROM customers WHERE id = ?`
	existsID     = `SELECT 1 FROM customers WHERE id = ?`
	nameTakenBy  = `SELECT id FROM customers WHERE name_key = ?`
	insertRecord = `INSERT INTO customers (company, name_key, record) VALUES (?, ?, ?) RETURNING id`
	updateRecord = `UPDATE customers SET company = ?, name_key = ?, record = ? WHERE id = ?`
	countCompany = `SELECT count(*) FROM customers WHERE company = ?`
	pageCompany  = `SELECT id, record FROM customers WHERE company = ? ORDER BY id LIMIT ? OFFSET ?`
)

// store is the customers' database, on the kit's SQLite store: writes
// group-committed on one connection, reads on a pool beside it.
type store struct {
	*emulator.Store
	// Prepared once: parsing a statement costs more than running it on
	// one row. The w ones are used inside writes, through tx.StmtContext.
	rGet, rCount, rPage, wExists, wTaken, wInsert, wUpdate *sql.Stmt
}

func openStore(path string, log *slog.Logger) (*store, error) {
	db, err := emulator.OpenStore(emulator.StoreOptions{
		Path:        path,
		Version:     schemaVersion,
		Application: "revnue",
		Migrate:     migrate,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	st := &store{Store: db}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
		read  bool
	}{
		{&st.rGet, selectByID, true},
		{&st.rCount, countCompany, true},
		{&st.rPage, pageCompany, true},
		{&st.wExists, existsID, false},
		{&st.wTaken, nameTakenBy, false},
		{&st.wInsert, insertRecord, false},
		{&st.wUpdate, updateRecord, false},
	} {
		prepare := db.PrepareWrite
		if p.read {
			prepare = db.PrepareRead
		}
		if *p.dst, err = prepare(p.query); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", db.Name(), err)
		}
	}
	return st, nil
}

// migrate creates the schema in a new database.
func migrate(ctx context.Context, tx *sql.Tx, from int) error {
	if from >= schemaVersion {
		return nil
	}
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// nameTaken is the 400 of a name another customer of the account holds.
func nameTaken() *apiError {
	return invalidField("name", "A customer with this name already exists.")
}

// takenBy returns the id of the customer holding a name, or 0.
func (s *store) takenBy(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.StmtContext(ctx, s.wTaken).QueryRowContext(ctx, nameKey(name)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// create stores a new customer and returns its id; a name another
// customer holds is the 400 of nameTaken.
func (s *store) create(ctx context.Context, r *record) (int64, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	return emulator.Do(ctx, s.Store, func(ctx context.Context, tx *sql.Tx) (int64, error) {
		if other, err := s.takenBy(ctx, tx, r.Name); err != nil || other != 0 {
			if other != 0 {
				return 0, nameTaken()
			}
			return 0, err
		}
		var id int64
		err := tx.StmtContext(ctx, s.wInsert).QueryRowContext(ctx, r.Company, nameKey(r.Name), string(data)).Scan(&id)
		return id, err
	})
}

// replace stores r as the whole of customer id: nothing of the record it
// replaces survives. An unknown id is a 404, another customer's name a
// 400; the customer's own name, in any case, is not a conflict.
func (s *store) replace(ctx context.Context, id int64, r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		switch err := tx.StmtContext(ctx, s.wExists).QueryRowContext(ctx, id).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return notFound()
		case err != nil:
			return err
		}
		if other, err := s.takenBy(ctx, tx, r.Name); err != nil || (other != 0 && other != id) {
			if err == nil {
				return nameTaken()
			}
			return err
		}
		_, err = tx.StmtContext(ctx, s.wUpdate).ExecContext(ctx, r.Company, nameKey(r.Name), string(data), id)
		return err
	})
}

// get returns the customer with the id, or nil.
func (s *store) get(ctx context.Context, id int64) (*record, error) {
	var data string
	err := s.rGet.QueryRowContext(ctx, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeRecord(id, data)
}

func decodeRecord(id int64, data string) (*record, error) {
	r := &record{}
	if err := json.Unmarshal([]byte(data), r); err != nil {
		return nil, fmt.Errorf("customer %d: stored record: %w", id, err)
	}
	return r, nil
}

// stored is a customer as a list reads it.
type stored struct {
	id int64
	r  *record
}

// page returns the number of customers of a company and those at offset
// in id order, at most limit of them. The two reads are one transaction,
// so that the count is the count of the list paged.
func (s *store) page(ctx context.Context, company int64, offset, limit int) (int64, []stored, error) {
	tx, err := s.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var n int64
	if err := tx.StmtContext(ctx, s.rCount).QueryRowContext(ctx, company).Scan(&n); err != nil {
		return 0, nil, err
	}
	rows, err := tx.StmtContext(ctx, s.rPage).QueryContext(ctx, company, limit, offset)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var (
			id   int64
			data string
		)
		if err := rows.Scan(&id, &data); err != nil {
			return 0, nil, err
		}
		r, err := decodeRecord(id, data)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, stored{id, r})
	}
	return n, out, rows.Err()
}

func (s *store) count(ctx context.Context) (int64, error) {
	var n int64
	err := s.Reader().QueryRowContext(ctx, "SELECT count(*) FROM customers").Scan(&n)
	return n, err
}

// nameKey is the form in which names are compared: each character
// replaced by the smallest of its Unicode simple case folds, so that two
// names have the same key exactly when strings.EqualFold says they are
// equal ("ACME GmbH" and "Acme GmbH"). Names are unique by it.
func nameKey(s string) string {
	buf := make([]byte, 0, len(s))
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		buf = utf8.AppendRune(buf, m)
	}
	return string(buf)
}
