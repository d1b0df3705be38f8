package state

import (
	"context"
	"database/sql"
	"errors"

	"crmsync/pipeline"
)

// Claim implements pipeline.State. A key taking a new customer (its old
// one gone, or none before) loses what the state knew of the old one: the
// values last confirmed there say nothing of the new customer, so its next
// write compares with what the CRM holds.
func (s *Store) Claim(ctx context.Context, keys, ids []string) ([]string, error) {
	owners := make([]string, len(keys))
	err := s.writeRecords(ctx, func(tx *sql.Tx) error {
		find, err := tx.PrepareContext(ctx, `SELECT key FROM records WHERE crm_id = ?`)
		if err != nil {
			return err
		}
		defer find.Close()
		bind, err := tx.PrepareContext(ctx, `INSERT INTO records(key, key_hash, crm_id) VALUES (?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET crm_id = excluded.crm_id, digest = NULL, source_digest = NULL, fields = NULL
			WHERE crm_id IS NOT excluded.crm_id`)
		if err != nil {
			return err
		}
		defer bind.Close()
		for i, id := range ids {
			if id == "" || keys[i] == "" {
				continue
			}
			var owner string
			switch err := find.QueryRowContext(ctx, id).Scan(&owner); {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case owner == keys[i]:
				continue
			default:
				owners[i] = owner
				continue
			}
			if _, err := bind.ExecContext(ctx, keys[i], int64(pipeline.KeyHash(keys[i])), id); err != nil {
				return bindError(ctx, tx, keys[i], id, err)
			}
		}
		return nil
	})
	return owners, err
}
