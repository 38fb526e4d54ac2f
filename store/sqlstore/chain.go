package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopfile/shopfile/store"
)

// AccountReorgReceivable holds what a reorg took back from a wallet that had
// already spent the deposit: an asset (the account owes it), never a
// negative wallet.
const AccountReorgReceivable = "asset:reorg-receivable"

// ErrAddressesExhausted: too many issued deposit addresses are unused.
var ErrAddressesExhausted = errors.New("too many unused deposit addresses; try again later")

// DepositAddress returns the account's current unused address or issues one.
func (db *DB) DepositAddress(ctx context.Context, account string, derive store.DeriveFunc, maxUnused int) (string, error) {
	var addr string
	err := db.r.QueryRowContext(ctx, db.q(`SELECT address FROM deposit_addresses WHERE account_id = ? AND used = 0
		ORDER BY idx DESC LIMIT 1`), account).Scan(&addr)
	if err == nil {
		return addr, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("deposit address of %s: %w", account, err)
	}
	// MAX(idx)+1 is this server's guess: another server may take the same
	// index first (a duplicate), and then the next guess follows it.
	for attempt := 1; ; attempt++ {
		err = db.issueAddress(ctx, account, derive, maxUnused, &addr)
		if err == nil || !errors.Is(err, store.ErrDuplicate) || attempt >= maxTxAttempts {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("issue deposit address for %s: %w", account, err)
	}
	return addr, nil
}

// issueAddress returns the account's unused address or issues the next one.
func (db *DB) issueAddress(ctx context.Context, account string, derive store.DeriveFunc, maxUnused int, addr *string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if db.dialect.rowLocks {
			// Servers issue one address at a time: the next index is read
			// after this lock, so it is free (the retry above is the
			// backstop for an engine without advisory locks).
			if _, err := tx.ExecContext(ctx, db.q(`SELECT pg_advisory_xact_lock(?)`), lockAddresses); err != nil {
				return fmt.Errorf("address lock: %w", err)
			}
		}
		err := tx.QueryRowContext(ctx, db.q(`SELECT address FROM deposit_addresses WHERE account_id = ? AND used = 0
			ORDER BY idx DESC LIMIT 1`), account).Scan(addr)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var unused int
		var next int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN used = 0 THEN 1 ELSE 0 END), 0), COALESCE(MAX(idx) + 1, 0)
			FROM deposit_addresses`).Scan(&unused, &next); err != nil {
			return err
		}
		if maxUnused > 0 && unused >= maxUnused {
			return ErrAddressesExhausted
		}
		a, script, err := derive(uint32(next))
		if err != nil {
			return err
		}
		*addr = a
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO deposit_addresses (idx, account_id, address, pk_script, created_at)
			VALUES (?, ?, ?, ?, ?)`), next, account, a, script, db.micros())
		return err
	})
}

// WatchedScriptsAfter lists the scripts of addresses issued at indexes
// above after, and the highest index seen (after when none): a watcher
// shared by several servers picks up what the others issued.
func (db *DB) WatchedScriptsAfter(ctx context.Context, after int64) ([][]byte, int64, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT idx, pk_script FROM deposit_addresses WHERE idx > ? ORDER BY idx`), after)
	if err != nil {
		return nil, after, fmt.Errorf("watched scripts: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	last := after
	for rows.Next() {
		var s []byte
		if err := rows.Scan(&last, &s); err != nil {
			return nil, after, fmt.Errorf("watched scripts: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("watched scripts: %w", err)
	}
	return out, last, nil
}

// WatchedScripts lists every issued address's script.
func (db *DB) WatchedScripts(ctx context.Context) ([][]byte, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT pk_script FROM deposit_addresses`)
	if err != nil {
		return nil, fmt.Errorf("watched scripts: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var s []byte
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PendingDeposits sums the account's seen but uncredited deposits.
func (db *DB) PendingDeposits(ctx context.Context, account string) (int64, error) {
	var sum int64
	err := db.r.QueryRowContext(ctx, db.q(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM deposits WHERE account_id = ? AND credited = 0`), account).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("pending deposits of %s: %w", account, err)
	}
	return sum, nil
}

// ChainCursor returns the processed blocks, newest first.
func (db *DB) ChainCursor(ctx context.Context) ([]store.ChainCursor, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT height, hash FROM chain_cursor ORDER BY height DESC LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("chain cursor: %w", err)
	}
	defer rows.Close()
	var out []store.ChainCursor
	for rows.Next() {
		var c store.ChainCursor
		if err := rows.Scan(&c.Height, &c.Hash); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// recordOutput stores a deposit seen in the mempool (height NULL) or in a
// block, and marks its address used so the account gets a fresh one.
func (db *DB) recordOutput(ctx context.Context, tx *sql.Tx, o store.ChainOutput, height *int64, block *string) error {
	var idx int64
	var account string
	err := tx.QueryRowContext(ctx, db.q(`SELECT idx, account_id FROM deposit_addresses WHERE pk_script = ?`), o.PkScript).Scan(&idx, &account)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not ours (the watcher's set may be newer than this row, or older)
	}
	if err != nil {
		return err
	}
	if o.Amount <= 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE deposit_addresses SET used = 1 WHERE idx = ?`), idx); err != nil {
		return err
	}
	if height == nil {
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO deposits (txid, vout, address_idx, account_id, amount, seen_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (txid, vout) DO NOTHING`), o.TxID, o.Vout, idx, account, o.Amount, db.micros())
		return err
	}
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO deposits (txid, vout, address_idx, account_id, amount, height, block_hash, seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (txid, vout) DO UPDATE SET height = excluded.height, block_hash = excluded.block_hash`),
		o.TxID, o.Vout, idx, account, o.Amount, *height, *block, db.micros())
	return err
}

// SeenMempool records unconfirmed outputs; they show as pending only.
func (db *DB) SeenMempool(ctx context.Context, outs []store.ChainOutput) error {
	if len(outs) == 0 {
		return nil
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, o := range outs {
			if err := db.recordOutput(ctx, tx, o, nil, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record mempool deposits: %w", err)
	}
	return nil
}

// ConnectBlock records a block's deposits, credits those now deep enough
// and advances the cursor, in one transaction: exactly once.
func (db *DB) ConnectBlock(ctx context.Context, c store.ChainCursor, outs []store.ChainOutput, confirmations int) error {
	if confirmations < 1 {
		confirmations = 1
	}
	err := db.writeLedger(ctx, func(tx *sql.Tx) error {
		var have string
		err := tx.QueryRowContext(ctx, db.q(`SELECT hash FROM chain_cursor WHERE height = ?`), c.Height).Scan(&have)
		switch {
		case err == nil && have == c.Hash:
			return nil // already connected: a restart replays nothing
		case err == nil:
			return fmt.Errorf("block %d is %s here, not %s: disconnect it first: %w", c.Height, have, c.Hash, store.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		for _, o := range outs {
			if err := db.recordOutput(ctx, tx, o, &c.Height, &c.Hash); err != nil {
				return err
			}
		}
		if err := db.creditDeep(ctx, tx, c.Height-int64(confirmations)+1); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO chain_cursor (height, hash) VALUES (?, ?)`), c.Height, c.Hash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`DELETE FROM chain_cursor WHERE height < ?`), c.Height-200)
		return err
	})
	if err != nil {
		return fmt.Errorf("connect block %d %s: %w", c.Height, c.Hash, err)
	}
	return nil
}

type deposit struct {
	txid       string
	vout       uint32
	wallet     int64
	amount     int64
	generation int
}

// creditDeep credits every uncredited deposit confirmed at or below height.
func (db *DB) creditDeep(ctx context.Context, tx *sql.Tx, height int64) error {
	deps, err := db.deposits(ctx, tx, `d.credited = 0 AND d.height IS NOT NULL AND d.height <= ?`, height)
	if err != nil {
		return err
	}
	if len(deps) == 0 {
		return nil
	}
	onchain, err := db.systemAccountTx(ctx, tx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		return err
	}
	for _, d := range deps {
		id := fmt.Sprintf("deposit:%s:%d:%d", d.txid, d.vout, d.generation)
		if err := db.postTransfer(ctx, tx, store.Transfer{ID: id, Debit: onchain, Credit: d.wallet, Amount: d.amount,
			Code: store.CodeDeposit, Ref: fmt.Sprintf("%s:%d", d.txid, d.vout)}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE deposits SET credited = 1 WHERE txid = ? AND vout = ?`), d.txid, d.vout); err != nil {
			return err
		}
	}
	return nil
}

// DisconnectBlock reverses the credits of the block's deposits and drops
// the block from the cursor, in one transaction.
func (db *DB) DisconnectBlock(ctx context.Context, c store.ChainCursor) error {
	err := db.writeLedger(ctx, func(tx *sql.Tx) error {
		deps, err := db.deposits(ctx, tx, `d.block_hash = ? AND d.credited = 1`, c.Hash)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := db.reverseDeposit(ctx, tx, d); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE deposits SET height = NULL, block_hash = NULL WHERE block_hash = ?`), c.Hash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`DELETE FROM chain_cursor WHERE height = ? AND hash = ?`), c.Height, c.Hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("disconnect block %d %s: %w", c.Height, c.Hash, err)
	}
	return nil
}

// reverseDeposit takes a credited deposit back with new transfers. What the
// wallet has already spent is booked to the reorg receivable instead, so no
// wallet ever goes below zero and the ledger still balances.
func (db *DB) reverseDeposit(ctx context.Context, tx *sql.Tx, d deposit) error {
	onchain, err := db.systemAccountTx(ctx, tx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		return err
	}
	var avail int64
	if err := tx.QueryRowContext(ctx, db.q(`SELECT credits_posted - debits_posted - debits_pending FROM balances WHERE account_id = ?`), d.wallet).Scan(&avail); err != nil {
		return err
	}
	fromWallet := min(d.amount, max(avail, 0))
	ref := fmt.Sprintf("%s:%d", d.txid, d.vout)
	if fromWallet > 0 {
		id := fmt.Sprintf("reversal:%s:%d:%d", d.txid, d.vout, d.generation)
		if err := db.postTransfer(ctx, tx, store.Transfer{ID: id, Debit: d.wallet, Credit: onchain, Amount: fromWallet, Code: store.CodeReversal, Ref: ref}); err != nil {
			return err
		}
	}
	if rest := d.amount - fromWallet; rest > 0 {
		recv, err := db.systemAccountTx(ctx, tx, AccountReorgReceivable, store.KindAsset)
		if err != nil {
			return err
		}
		id := fmt.Sprintf("reversal-owed:%s:%d:%d", d.txid, d.vout, d.generation)
		if err := db.postTransfer(ctx, tx, store.Transfer{ID: id, Debit: recv, Credit: onchain, Amount: rest, Code: store.CodeReversal, Ref: ref}); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, db.q(`UPDATE deposits SET credited = 0, generation = generation + 1 WHERE txid = ? AND vout = ?`), d.txid, d.vout)
	return err
}

func (db *DB) deposits(ctx context.Context, tx *sql.Tx, where string, arg any) ([]deposit, error) {
	rows, err := tx.QueryContext(ctx, db.q(`SELECT d.txid, d.vout, a.wallet_id, d.amount, d.generation FROM deposits d
		JOIN accounts a ON a.id = d.account_id WHERE `+where+` ORDER BY d.height, d.txid, d.vout`), arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deposit
	for rows.Next() {
		var d deposit
		if err := rows.Scan(&d.txid, &d.vout, &d.wallet, &d.amount, &d.generation); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// postTransfer applies one unguarded system transfer inside tx.
func (db *DB) postTransfer(ctx context.Context, tx *sql.Tx, t store.Transfer) error {
	if _, err := tx.ExecContext(ctx, db.q(sqlInsertXfer), t.ID, t.Debit, t.Credit, t.Amount, int(t.Code), t.Ref, db.micros()); err != nil {
		return fmt.Errorf("transfer %s: %w", t.ID, err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE balances SET debits_posted = debits_posted + ? WHERE account_id = ?`), t.Amount, t.Debit); err != nil {
		return fmt.Errorf("transfer %s: %w", t.ID, err)
	}
	if _, err := tx.ExecContext(ctx, db.q(sqlCredit), t.Amount, t.Credit); err != nil {
		return fmt.Errorf("transfer %s: %w", t.ID, err)
	}
	return nil
}

// systemAccountTx finds or creates a system ledger account inside tx.
func (db *DB) systemAccountTx(ctx context.Context, tx *sql.Tx, name string, kind store.AccountKind) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM ledger_accounts WHERE name = ?`), name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return db.ensureLedgerAccount(ctx, tx, name, kind)
}
