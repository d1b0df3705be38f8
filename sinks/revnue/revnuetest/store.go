package revnuetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"crmsync/internal/emulator"
)

const schemaVersion = 1

// The schema. A customer is kept as its checked write shape in JSON
// (record), beside the columns the API looks customers up by: company for
// the list, name_key (the name as emulator.FoldKey folds it, so that
// "ACME GmbH" and "Acme GmbH" are one name) for the uniqueness of names
// across the account. id is AUTOINCREMENT so that an id is never given
// twice, and the list pages in id order.
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
	if err := db.PrepareAll([]emulator.Statement{
		{Dst: &st.rGet, Query: selectByID, Read: true},
		{Dst: &st.rCount, Query: countCompany, Read: true},
		{Dst: &st.rPage, Query: pageCompany, Read: true},
		{Dst: &st.wExists, Query: existsID},
		{Dst: &st.wTaken, Query: nameTakenBy},
		{Dst: &st.wInsert, Query: insertRecord},
		{Dst: &st.wUpdate, Query: updateRecord},
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

// nameTaken is the 400 of a name another customer of the account holds.
func nameTaken() *apiError {
	return invalidField("name", "A customer with this name already exists.")
}

// takenBy returns the id of the customer holding a name, or 0.
func (s *store) takenBy(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.StmtContext(ctx, s.wTaken).QueryRowContext(ctx, emulator.FoldKey(name)).Scan(&id)
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
		err := tx.StmtContext(ctx, s.wInsert).QueryRowContext(ctx, r.Company, emulator.FoldKey(r.Name), string(data)).Scan(&id)
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
		_, err = tx.StmtContext(ctx, s.wUpdate).ExecContext(ctx, r.Company, emulator.FoldKey(r.Name), string(data), id)
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
