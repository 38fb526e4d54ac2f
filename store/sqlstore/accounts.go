package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopfile/shopfile/store"
)

// EnsureAccount returns the account, creating it and its wallet on first
// sight. Two first connections racing both end with the same account: on
// PostgreSQL the loser's insert fails as a duplicate and it reads the
// winner's.
func (db *DB) EnsureAccount(ctx context.Context, id, publicKey string) (*store.Account, error) {
	a, err := db.Account(ctx, id)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, db.q(`SELECT 1 FROM accounts WHERE id = ?`), id).Scan(&exists)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		wallet, err := db.createLedgerAccount(ctx, tx, "wallet:"+id, store.KindLiability, true)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO accounts (id, public_key, wallet_id, created_at) VALUES (?, ?, ?, ?)`),
			id, publicKey, wallet, db.micros())
		return err
	})
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return nil, fmt.Errorf("create account %s: %w", id, err)
	}
	return db.Account(ctx, id)
}

// Account loads an account with its roles.
func (db *DB) Account(ctx context.Context, id string) (*store.Account, error) {
	a := &store.Account{ID: id}
	err := db.r.QueryRowContext(ctx, db.q(`SELECT public_key, wallet_id, created_at FROM accounts WHERE id = ?`), id).
		Scan(&a.PublicKey, &a.WalletID, &a.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", id, mapErr(err))
	}
	if a.Roles, err = db.Roles(ctx, id); err != nil {
		return nil, err
	}
	return a, nil
}

// GrantRole records a role; granting it twice is not an error.
func (db *DB) GrantRole(ctx context.Context, id, role string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO roles (account_id, role, granted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
			id, role, db.micros())
		return err
	})
	if err != nil {
		return fmt.Errorf("grant %s to %s: %w", role, id, err)
	}
	return nil
}

// Roles lists an account's roles in a stable order.
func (db *DB) Roles(ctx context.Context, id string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT role FROM roles WHERE account_id = ? ORDER BY role`), id)
	if err != nil {
		return nil, fmt.Errorf("roles of %s: %w", id, err)
	}
	defer rows.Close()
	roles := []string{}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return roles, rows.Err()
}

// createLedgerAccount inserts a ledger account and its balance row.
func (db *DB) createLedgerAccount(ctx context.Context, tx *sql.Tx, name string, kind store.AccountKind, guarded bool) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, db.q(`INSERT INTO ledger_accounts (name, kind, created_at) VALUES (?, ?, ?) RETURNING id`),
		name, int(kind), db.micros()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger account %s: %w", name, err)
	}
	return id, db.createBalance(ctx, tx, id, name, guarded)
}

// createBalance inserts the balance row of a new ledger account.
func (db *DB) createBalance(ctx context.Context, tx *sql.Tx, id int64, name string, guarded bool) error {
	g := 0
	if guarded {
		g = 1
	}
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO balances (account_id, debits_must_not_exceed_credits) VALUES (?, ?)`), id, g); err != nil {
		return fmt.Errorf("balance row %s: %w", name, err)
	}
	return nil
}

// ensureLedgerAccount returns the (unguarded) ledger account named name,
// creating it if needed. Another server creating it at the same moment is
// no error: the insert does nothing, waits for that transaction, and the
// name is read back.
func (db *DB) ensureLedgerAccount(ctx context.Context, tx *sql.Tx, name string, kind store.AccountKind) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, db.q(`INSERT INTO ledger_accounts (name, kind, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING RETURNING id`), name, int(kind), db.micros()).Scan(&id)
	switch {
	case err == nil:
		return id, db.createBalance(ctx, tx, id, name, false)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("ledger account %s: %w", name, err)
	}
	if err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM ledger_accounts WHERE name = ?`), name).Scan(&id); err != nil {
		return 0, fmt.Errorf("ledger account %s: %w", name, err)
	}
	return id, nil
}

// SystemAccount returns the ledger account named name, creating it once.
func (db *DB) SystemAccount(ctx context.Context, name string, kind store.AccountKind) (int64, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, db.q(`SELECT id FROM ledger_accounts WHERE name = ?`), name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("system account %s: %w", name, err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		id, err = db.ensureLedgerAccount(ctx, tx, name, kind)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("system account %s: %w", name, err)
	}
	return id, nil
}
