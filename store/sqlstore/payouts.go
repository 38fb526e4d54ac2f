package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopfile/shopfile/store"
)

// Payouts move money in two phases (TigerBeetle's pending → post | void):
//
//	hold     payout:<id>       wallet → liab:payout-pending   amount+fee  flags=pending
//	confirm  payout:<id>:post  wallet → liab:payout-pending   amount+fee  flags=post_pending
//	         payout:<id>:sent  liab:payout-pending → asset:onchain   amount
//	         payout:<id>:fee   liab:payout-pending → rev:payout-fee  fee
//	         batch:<b>:network-fee  exp:network-fee → asset:onchain  the tx's real fee
//	fail     payout:<id>:void  wallet → liab:payout-pending   amount+fee  flags=void_pending
//
// A pending transfer moves only the pending counters; post moves them to
// the posted counters; void releases them. So Σ debits = Σ credits holds
// for the posted and the pending counters alike, and asset:onchain ends
// equal to the coins the shop's keys really hold.

const sqlInsertFlagged = `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, code, flags, pending_id, ref, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// payoutCols reads a payout with the txid of its batch once it is signed.
const payoutCols = `SELECT p.id, p.account_id, p.wallet_id, p.address, p.pk_script, p.amount, p.fee, p.status,
	COALESCE(p.batch_id, ''), CASE WHEN b.status IN ('signed', 'broadcast', 'confirmed', 'failed') THEN b.txid ELSE '' END,
	p.created_at, p.updated_at
	FROM payouts p LEFT JOIN payout_batches b ON b.id = p.batch_id`

const batchCols = `SELECT id, status, psbt, unsigned_tx, txid, fee_rate, fee, change_index, change_vout, change_amount,
	change_script, raw_tx, signer, height, block_hash, attempts, last_error, conflict_height,
	created_at, signed_at, broadcast_at, confirmed_at FROM payout_batches`

// liveBatch: a batch whose inputs are taken (it may still be signed), or
// an input another transaction spent.
const liveBatch = `(b.status NOT IN ('failed', 'cancelled') OR i.spent_elsewhere = 1)`

type scanner interface{ Scan(dest ...any) error }

func scanPayout(r scanner) (store.Payout, error) {
	var p store.Payout
	err := r.Scan(&p.ID, &p.Account, &p.Wallet, &p.Address, &p.PkScript, &p.Amount, &p.Fee, &p.Status,
		&p.Batch, &p.TxID, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

func scanBatch(r scanner) (store.PayoutBatch, error) {
	var b store.PayoutBatch
	err := r.Scan(&b.ID, &b.Status, &b.PSBT, &b.UnsignedTx, &b.TxID, &b.FeeRate, &b.Fee, &b.ChangeIndex, &b.ChangeVout,
		&b.ChangeAmount, &b.ChangeScript, &b.RawTx, &b.Signer, &b.Height, &b.BlockHash, &b.Attempts, &b.LastError,
		&b.ConflictHeight, &b.CreatedAt, &b.SignedAt, &b.BroadcastAt, &b.ConfirmedAt)
	return b, err
}

// HoldPayout records the payout and holds amount+fee; see store.PayoutStore.
func (db *DB) HoldPayout(ctx context.Context, p *store.Payout) error {
	total := p.Amount + p.Fee
	if p.Amount <= 0 || p.Fee < 0 || total <= 0 {
		return fmt.Errorf("payout %s: amount %d and fee %d: %w", p.ID, p.Amount, p.Fee, store.ErrConflict)
	}
	err := db.writeLedger(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, db.q(`SELECT 1 FROM payouts WHERE id = ?`), p.ID).Scan(&one)
		if err == nil {
			return fmt.Errorf("payout %s: %w", p.ID, store.ErrDuplicate)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		pending, err := db.systemAccountTx(ctx, tx, store.AccountPayoutPending, store.KindLiability)
		if err != nil {
			return err
		}
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE balances SET debits_pending = debits_pending + ?
			WHERE account_id = ? AND credits_posted - debits_posted - debits_pending >= ?`), total, p.Wallet, total))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrInsufficientFunds
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE balances SET credits_pending = credits_pending + ? WHERE account_id = ?`), total, pending); err != nil {
			return err
		}
		at := db.micros()
		if _, err := tx.ExecContext(ctx, db.q(sqlInsertFlagged), p.HoldID(), p.Wallet, pending, total, int(store.CodePayout),
			store.FlagPending, nil, p.ID, at); err != nil {
			return err
		}
		p.Status, p.CreatedAt, p.UpdatedAt = store.PayoutPending, at, at
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO payouts (id, account_id, wallet_id, address, pk_script, amount, fee, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), p.ID, p.Account, p.Wallet, p.Address, p.PkScript, p.Amount, p.Fee, p.Status, at, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("hold payout %s: %w", p.ID, err)
	}
	return nil
}

// Payout loads one payout.
func (db *DB) Payout(ctx context.Context, id string) (*store.Payout, error) {
	p, err := scanPayout(db.r.QueryRowContext(ctx, db.q(payoutCols+` WHERE p.id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("payout %s: %w", id, mapErr(err))
	}
	return &p, nil
}

func (db *DB) listPayouts(ctx context.Context, what, where string, args ...any) ([]store.Payout, error) {
	rows, err := db.r.QueryContext(ctx, db.q(payoutCols+` WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []store.Payout
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Payouts lists an account's payouts, newest first.
func (db *DB) Payouts(ctx context.Context, account string, limit int) ([]store.Payout, error) {
	if limit <= 0 {
		limit = 100
	}
	return db.listPayouts(ctx, "payouts of "+account, `p.account_id = ? ORDER BY p.created_at DESC, p.id DESC LIMIT ?`, account, limit)
}

// UnbatchedPayouts lists pending payouts in no live batch, oldest first.
func (db *DB) UnbatchedPayouts(ctx context.Context, limit int) ([]store.Payout, error) {
	if limit <= 0 {
		limit = 1000
	}
	return db.listPayouts(ctx, "unbatched payouts", `p.status = 'pending' AND p.batch_id IS NULL ORDER BY p.created_at, p.id LIMIT ?`, limit)
}

// spendableQuery lists credited deposits and confirmed change that no live
// batch spends.
const spendableQuery = `SELECT d.txid, d.vout, d.amount, a.pk_script, 0, a.idx
	FROM deposits d JOIN deposit_addresses a ON a.idx = d.address_idx
	WHERE d.credited = 1 AND d.height IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payout_inputs i JOIN payout_batches b ON b.id = i.batch_id
		WHERE i.txid = d.txid AND i.vout = d.vout AND ` + liveBatch + `)
	UNION ALL
	SELECT c.txid, c.change_vout, c.change_amount, c.change_script, 1, c.change_index
	FROM payout_batches c
	WHERE c.status = 'confirmed' AND c.change_vout >= 0 AND NOT EXISTS (SELECT 1 FROM payout_inputs i JOIN payout_batches b ON b.id = i.batch_id
		WHERE i.txid = c.txid AND i.vout = c.change_vout AND ` + liveBatch + `)`

// SpendableOutputs lists the shop's confirmed, unspent outputs.
func (db *DB) SpendableOutputs(ctx context.Context) ([]store.SpendableOutput, error) {
	rows, err := db.r.QueryContext(ctx, spendableQuery)
	if err != nil {
		return nil, fmt.Errorf("spendable outputs: %w", err)
	}
	defer rows.Close()
	var out []store.SpendableOutput
	for rows.Next() {
		var o store.SpendableOutput
		if err := rows.Scan(&o.TxID, &o.Vout, &o.Amount, &o.PkScript, &o.Branch, &o.Index); err != nil {
			return nil, fmt.Errorf("spendable outputs: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// NextChangeIndex is one above the highest change index any batch took.
func (db *DB) NextChangeIndex(ctx context.Context) (uint32, error) {
	var next int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(change_index), -1) + 1 FROM payout_batches`).Scan(&next); err != nil {
		return 0, fmt.Errorf("next change index: %w", err)
	}
	return uint32(next), nil
}

// CreateBatch records an unsigned batch; see store.PayoutStore.
func (db *DB) CreateBatch(ctx context.Context, b *store.PayoutBatch, payouts []string) error {
	if len(payouts) == 0 || len(b.Inputs) == 0 {
		return fmt.Errorf("batch %s: no payouts or no inputs: %w", b.ID, store.ErrConflict)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payout_batches WHERE status = 'unsigned'`).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fmt.Errorf("another batch is open: %w", store.ErrConflict)
		}
		if b.ChangeIndex >= 0 {
			var next int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(change_index), -1) + 1 FROM payout_batches`).Scan(&next); err != nil {
				return err
			}
			if b.ChangeIndex < next {
				return fmt.Errorf("change index %d already used: %w", b.ChangeIndex, store.ErrConflict)
			}
		}
		at := db.micros()
		b.Status, b.CreatedAt = store.BatchUnsigned, at
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO payout_batches (id, status, psbt, unsigned_tx, txid, fee_rate, fee,
			change_index, change_vout, change_amount, change_script, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			b.ID, b.Status, b.PSBT, b.UnsignedTx, b.TxID, b.FeeRate, b.Fee, b.ChangeIndex, b.ChangeVout, b.ChangeAmount,
			b.ChangeScript, at); err != nil {
			return err
		}
		for i, in := range b.Inputs {
			var taken int
			if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM payout_inputs i JOIN payout_batches b ON b.id = i.batch_id
				WHERE i.txid = ? AND i.vout = ? AND `+liveBatch), in.TxID, in.Vout).Scan(&taken); err != nil {
				return err
			}
			if taken > 0 {
				return fmt.Errorf("output %s:%d is spent by another batch: %w", in.TxID, in.Vout, store.ErrConflict)
			}
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO payout_inputs (batch_id, txid, vout, amount, pk_script, branch, idx, position)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), b.ID, in.TxID, in.Vout, in.Amount, in.PkScript, in.Branch, in.Index, i); err != nil {
				return err
			}
		}
		for _, id := range payouts {
			n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE payouts SET batch_id = ?, updated_at = ?
				WHERE id = ? AND status = 'pending' AND batch_id IS NULL`), b.ID, at, id))
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("payout %s is no longer waiting: %w", id, store.ErrConflict)
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) && !errors.Is(err, store.ErrConflict) {
		// Another server opened a batch at the same moment (the unique
		// index on unsigned batches) or took an id first.
		return fmt.Errorf("create batch %s: %w: %w", b.ID, store.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	return nil
}

func (db *DB) loadBatch(ctx context.Context, q *sql.DB, where string, arg any) (*store.PayoutBatch, error) {
	b, err := scanBatch(q.QueryRowContext(ctx, db.q(batchCols+` WHERE `+where), arg))
	if err != nil {
		return nil, mapErr(err)
	}
	rows, err := q.QueryContext(ctx, db.q(`SELECT txid, vout, amount, pk_script, branch, idx FROM payout_inputs
		WHERE batch_id = ? ORDER BY position`), b.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o store.SpendableOutput
		if err := rows.Scan(&o.TxID, &o.Vout, &o.Amount, &o.PkScript, &o.Branch, &o.Index); err != nil {
			return nil, err
		}
		b.Inputs = append(b.Inputs, o)
	}
	return &b, rows.Err()
}

// OpenBatch returns the unsigned batch.
func (db *DB) OpenBatch(ctx context.Context) (*store.PayoutBatch, error) {
	b, err := db.loadBatch(ctx, db.r, `status = ? ORDER BY created_at LIMIT 1`, store.BatchUnsigned)
	if err != nil {
		return nil, fmt.Errorf("open batch: %w", err)
	}
	return b, nil
}

// Batch loads one batch with its inputs.
func (db *DB) Batch(ctx context.Context, id string) (*store.PayoutBatch, error) {
	b, err := db.loadBatch(ctx, db.r, `id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", id, err)
	}
	return b, nil
}

// BatchPayouts lists a batch's payouts in the order they were requested.
func (db *DB) BatchPayouts(ctx context.Context, id string) ([]store.Payout, error) {
	return db.listPayouts(ctx, "payouts of batch "+id, `p.batch_id = ? ORDER BY p.created_at, p.id`, id)
}

// InFlightBatches lists the signed and broadcast batches.
func (db *DB) InFlightBatches(ctx context.Context) ([]store.PayoutBatch, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT id FROM payout_batches WHERE status IN ('signed', 'broadcast') ORDER BY created_at`))
	if err != nil {
		return nil, fmt.Errorf("in-flight batches: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("in-flight batches: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("in-flight batches: %w", err)
	}
	out := make([]store.PayoutBatch, 0, len(ids))
	for _, id := range ids {
		b, err := db.Batch(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, nil
}

// CancelBatch drops an unsigned batch and frees its payouts and inputs.
func (db *DB) CancelBatch(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE payout_batches SET status = 'cancelled' WHERE id = ? AND status = 'unsigned'`), id))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("batch is not unsigned: %w", store.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE payouts SET batch_id = NULL, updated_at = ? WHERE batch_id = ? AND status = 'pending'`), db.micros(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("cancel batch %s: %w", id, err)
	}
	return nil
}

// SignBatch stores the signed transaction before it is broadcast.
func (db *DB) SignBatch(ctx context.Context, id string, raw []byte, signer string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		at := db.micros()
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE payout_batches SET status = 'signed', raw_tx = ?, signer = ?, signed_at = ?
			WHERE id = ? AND status = 'unsigned'`), raw, signer, at, id))
		if err != nil {
			return err
		}
		if n == 0 {
			var status string
			var have []byte
			if err := tx.QueryRowContext(ctx, db.q(`SELECT status, raw_tx FROM payout_batches WHERE id = ?`), id).Scan(&status, &have); err != nil {
				return err
			}
			if string(have) == string(raw) && status != store.BatchFailed {
				return nil // a repeat of the same submission
			}
			return fmt.Errorf("batch is %s: %w", status, store.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE payouts SET status = 'signed', updated_at = ? WHERE batch_id = ? AND status = 'pending'`), at, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sign batch %s: %w", id, err)
	}
	return nil
}

// MarkBroadcast moves a signed batch and its payouts to broadcast.
func (db *DB) MarkBroadcast(ctx context.Context, id string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		at := db.micros()
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE payout_batches SET status = 'broadcast', broadcast_at = ?, last_error = ''
			WHERE id = ? AND status = 'signed'`), at, id))
		if err != nil || n == 0 {
			return err // already broadcast (or further): nothing to do
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE payouts SET status = 'broadcast', updated_at = ? WHERE batch_id = ? AND status = 'signed'`), at, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark batch %s broadcast: %w", id, err)
	}
	return nil
}

// NoteBatch records an attempt's error and the first conflict height.
func (db *DB) NoteBatch(ctx context.Context, id, lastErr string, conflictHeight int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`UPDATE payout_batches SET attempts = attempts + 1, last_error = ?,
			conflict_height = CASE WHEN CAST(? AS BIGINT) = 0 THEN 0 WHEN conflict_height = 0 THEN CAST(? AS BIGINT) ELSE conflict_height END WHERE id = ?`),
			truncate(lastErr, 500), conflictHeight, conflictHeight, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("note batch %s: %w", id, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// batchPayoutsTx lists the batch's payouts inside tx.
func (db *DB) batchPayoutsTx(ctx context.Context, tx *sql.Tx, id string) ([]store.Payout, error) {
	rows, err := tx.QueryContext(ctx, db.q(payoutCols+` WHERE p.batch_id = ? ORDER BY p.created_at, p.id`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Payout
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// resolveHold posts (post=true) or voids the payout's pending transfer.
func (db *DB) resolveHold(ctx context.Context, tx *sql.Tx, p store.Payout, pending int64, post bool, at int64) error {
	total := p.Amount + p.Fee
	id, flag, dq, cq := p.HoldID()+":void", store.FlagVoidPending,
		`UPDATE balances SET debits_pending = debits_pending - ? WHERE account_id = ? AND debits_pending >= ?`,
		`UPDATE balances SET credits_pending = credits_pending - ? WHERE account_id = ? AND credits_pending >= ?`
	if post {
		id, flag, dq, cq = p.HoldID()+":post", store.FlagPostPending,
			`UPDATE balances SET debits_pending = debits_pending - ?, debits_posted = debits_posted + ? WHERE account_id = ? AND debits_pending >= ?`,
			`UPDATE balances SET credits_pending = credits_pending - ?, credits_posted = credits_posted + ? WHERE account_id = ? AND credits_pending >= ?`
	}
	// The transfer row first: its unique id makes a second resolution fail
	// before any counter moves.
	if _, err := tx.ExecContext(ctx, db.q(sqlInsertFlagged), id, p.Wallet, pending, total, int(store.CodePayout), flag, p.HoldID(), p.ID, at); err != nil {
		return fmt.Errorf("transfer %s: %w", id, err)
	}
	var dargs, cargs []any
	if post {
		dargs, cargs = []any{total, total, p.Wallet, total}, []any{total, total, pending, total}
	} else {
		dargs, cargs = []any{total, p.Wallet, total}, []any{total, pending, total}
	}
	for _, u := range []struct {
		q    string
		args []any
	}{{dq, dargs}, {cq, cargs}} {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(u.q), u.args...))
		if err != nil {
			return fmt.Errorf("transfer %s: %w", id, err)
		}
		if n != 1 {
			return fmt.Errorf("transfer %s: the hold of %d sats is not pending: %w", id, total, store.ErrConflict)
		}
	}
	return nil
}

// ConfirmBatch posts the batch's holds and books where the money went.
func (db *DB) ConfirmBatch(ctx context.Context, id string, height int64, blockHash string) error {
	err := db.writeLedger(ctx, func(tx *sql.Tx) error {
		if err := db.rowLock(ctx, tx, "payout_batches", "id", id); err != nil {
			return err
		}
		var status string
		var fee int64
		if err := tx.QueryRowContext(ctx, db.q(`SELECT status, fee FROM payout_batches WHERE id = ?`), id).Scan(&status, &fee); err != nil {
			return err
		}
		switch status {
		case store.BatchConfirmed:
			return nil
		case store.BatchSigned, store.BatchBroadcast:
		default:
			return fmt.Errorf("batch is %s: %w", status, store.ErrConflict)
		}
		accts, err := db.payoutAccounts(ctx, tx)
		if err != nil {
			return err
		}
		payouts, err := db.batchPayoutsTx(ctx, tx, id)
		if err != nil {
			return err
		}
		at := db.micros()
		for _, p := range payouts {
			if err := db.resolveHold(ctx, tx, p, accts.pending, true, at); err != nil {
				return err
			}
			if err := db.postTransfer(ctx, tx, store.Transfer{ID: p.HoldID() + ":sent", Debit: accts.pending, Credit: accts.onchain,
				Amount: p.Amount, Code: store.CodePayout, Ref: p.ID}); err != nil {
				return err
			}
			if p.Fee > 0 {
				if err := db.postTransfer(ctx, tx, store.Transfer{ID: p.HoldID() + ":fee", Debit: accts.pending, Credit: accts.fees,
					Amount: p.Fee, Code: store.CodeFee, Ref: p.ID}); err != nil {
					return err
				}
			}
		}
		if err := db.postTransfer(ctx, tx, store.Transfer{ID: "batch:" + id + ":network-fee", Debit: accts.network, Credit: accts.onchain,
			Amount: fee, Code: store.CodeNetworkFee, Ref: id}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE payouts SET status = 'confirmed', updated_at = ? WHERE batch_id = ?`), at, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE payout_batches SET status = 'confirmed', height = ?, block_hash = ?, confirmed_at = ?,
			last_error = '', conflict_height = 0 WHERE id = ?`), height, blockHash, at, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("confirm batch %s: %w", id, err)
	}
	return nil
}

// FailBatch voids the batch's holds: the money is back in the wallets.
func (db *DB) FailBatch(ctx context.Context, id, reason string, spentElsewhere []string) error {
	err := db.writeLedger(ctx, func(tx *sql.Tx) error {
		if err := db.rowLock(ctx, tx, "payout_batches", "id", id); err != nil {
			return err
		}
		var status string
		if err := tx.QueryRowContext(ctx, db.q(`SELECT status FROM payout_batches WHERE id = ?`), id).Scan(&status); err != nil {
			return err
		}
		switch status {
		case store.BatchFailed:
			return nil
		case store.BatchSigned, store.BatchBroadcast:
		default:
			return fmt.Errorf("batch is %s: %w", status, store.ErrConflict)
		}
		pending, err := db.systemAccountTx(ctx, tx, store.AccountPayoutPending, store.KindLiability)
		if err != nil {
			return err
		}
		payouts, err := db.batchPayoutsTx(ctx, tx, id)
		if err != nil {
			return err
		}
		at := db.micros()
		for _, p := range payouts {
			if err := db.resolveHold(ctx, tx, p, pending, false, at); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE payouts SET status = 'failed', updated_at = ? WHERE batch_id = ?`), at, id); err != nil {
			return err
		}
		for _, op := range spentElsewhere {
			txid, voutStr, ok := strings.Cut(op, ":")
			vout, err := strconv.ParseUint(voutStr, 10, 32)
			if !ok || err != nil {
				return fmt.Errorf("outpoint %q: want txid:vout", op)
			}
			if _, err := tx.ExecContext(ctx, db.q(`UPDATE payout_inputs SET spent_elsewhere = 1 WHERE batch_id = ? AND txid = ? AND vout = ?`),
				id, txid, vout); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE payout_batches SET status = 'failed', last_error = ?, confirmed_at = ? WHERE id = ?`),
			truncate(reason, 500), at, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("fail batch %s: %w", id, err)
	}
	return nil
}

type payoutAccounts struct{ pending, onchain, fees, network int64 }

func (db *DB) payoutAccounts(ctx context.Context, tx *sql.Tx) (payoutAccounts, error) {
	var a payoutAccounts
	for _, x := range []struct {
		dst  *int64
		name string
		kind store.AccountKind
	}{
		{&a.pending, store.AccountPayoutPending, store.KindLiability},
		{&a.onchain, store.AccountOnchain, store.KindAsset},
		{&a.fees, store.AccountPayoutFees, store.KindRevenue},
		{&a.network, store.AccountNetworkFees, store.KindExpense},
	} {
		id, err := db.systemAccountTx(ctx, tx, x.name, x.kind)
		if err != nil {
			return a, fmt.Errorf("account %s: %w", x.name, err)
		}
		*x.dst = id
	}
	return a, nil
}
