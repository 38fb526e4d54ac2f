package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopfile/shopfile/store"
)

// Statements a batch runs. No statement here can fail because of another
// op in the same batch: refusals are detected by guarded UPDATEs (0 rows)
// and undone by compensating statements, never by savepoints, so the same
// code stays correct on PostgreSQL, where an error aborts the whole
// transaction (research/ledger-scale.md §5.2).
const (
	sqlShopTerms = `SELECT s.price_sats, s.payee, a.wallet_id, s.escrow_account
		FROM shops s JOIN accounts a ON a.id = s.payee WHERE s.id = ?`
	sqlInsertPurchase = `INSERT INTO purchases (id, buyer, shop_id, price_sats, fee_sats, payee, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlFindPurchase = `SELECT id, buyer, shop_id, price_sats, fee_sats, payee, created_at FROM purchases
		WHERE id = ? OR (buyer = ? AND shop_id = ?) ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`
	sqlDeletePurchase = `DELETE FROM purchases WHERE id = ?`
	// A guarded debit: it changes nothing unless the account may pay.
	sqlDebit = `UPDATE balances SET debits_posted = debits_posted + ?
		WHERE account_id = ? AND (debits_must_not_exceed_credits = 0 OR credits_posted - debits_posted - debits_pending >= ?)`
	sqlUndebit       = `UPDATE balances SET debits_posted = debits_posted - ? WHERE account_id = ?`
	sqlCredit        = `UPDATE balances SET credits_posted = credits_posted + ? WHERE account_id = ?`
	sqlUncredit      = `UPDATE balances SET credits_posted = credits_posted - ? WHERE account_id = ?`
	sqlInsertXfer    = `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, code, ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlTransferExist = `SELECT 1 FROM transfers WHERE id = ?`
)

// batch applies ops inside one transaction. Credits to hot accounts (the
// platform fee) are summed and written once at the end of the batch.
type batch struct {
	db        *DB
	tx        *sql.Tx
	ctx       context.Context
	at        int64
	hot       map[int64]int64
	stmtCache map[string]*sql.Stmt
}

func (b *batch) stmt(query string) (*sql.Stmt, error) {
	if s, ok := b.stmtCache[query]; ok {
		return s, nil
	}
	s, err := b.tx.PrepareContext(b.ctx, b.db.q(query))
	if err != nil {
		return nil, err
	}
	b.stmtCache[query] = s
	return s, nil
}

func (b *batch) exec(query string, args ...any) (int64, error) {
	s, err := b.stmt(query)
	if err != nil {
		return 0, err
	}
	return rowsAffected(s.ExecContext(b.ctx, args...))
}

func (b *batch) queryRow(query string, args ...any) (*sql.Row, error) {
	s, err := b.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(b.ctx, args...), nil
}

// ApplyBatch runs ops in one transaction; see store.LedgerStore.
func (db *DB) ApplyBatch(ctx context.Context, ops []store.Op) ([]store.OpResult, error) {
	results := make([]store.OpResult, len(ops))
	err := db.write(ctx, func(tx *sql.Tx) error {
		b := &batch{db: db, tx: tx, ctx: ctx, at: db.micros(), hot: map[int64]int64{}, stmtCache: map[string]*sql.Stmt{}}
		defer b.close()
		for i, op := range ops {
			r, err := b.apply(op)
			if err != nil {
				return fmt.Errorf("ledger op %d: %w", i, err)
			}
			results[i] = r
		}
		return b.flushHot()
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

func (b *batch) close() {
	for _, s := range b.stmtCache {
		_ = s.Close()
	}
}

func (b *batch) apply(op store.Op) (store.OpResult, error) {
	switch op := op.(type) {
	case store.BuyOp:
		return b.buy(op)
	case store.TransferOp:
		return b.transfers(op.Transfers)
	default:
		return store.OpResult{}, fmt.Errorf("unknown ledger op %T", op)
	}
}

func (b *batch) flushHot() error {
	for acct, amount := range b.hot {
		if _, err := b.exec(sqlCredit, amount, acct); err != nil {
			return fmt.Errorf("credit hot account %d: %w", acct, err)
		}
	}
	return nil
}

// buy records one purchase at the shop's live terms.
func (b *batch) buy(op store.BuyOp) (store.OpResult, error) {
	var price, payeeWallet int64
	var payee string
	var escrow sql.NullInt64
	row, err := b.queryRow(sqlShopTerms, op.Shop)
	if err != nil {
		return store.OpResult{}, err
	}
	if err := row.Scan(&price, &payee, &payeeWallet, &escrow); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.OpResult{Err: fmt.Errorf("shop %s: %w", op.Shop, store.ErrNotFound)}, nil
		}
		return store.OpResult{}, err
	}
	if existing, err := b.findPurchase(op); err != nil || existing != nil {
		return store.OpResult{Purchase: existing, Existing: existing != nil}, err
	}
	if payee == op.Buyer {
		return store.OpResult{Err: store.ErrSelfPurchase}, nil
	}
	if op.MaxPrice > 0 && price > op.MaxPrice {
		return store.OpResult{Err: fmt.Errorf("%w: the price is now %d sats", store.ErrPriceAboveMax, price)}, nil
	}
	fee := price * op.FeeBps / 10000
	credited := payeeWallet
	payeeName := payee
	if escrow.Valid {
		credited, payeeName = escrow.Int64, fmt.Sprintf("escrow:%d", escrow.Int64)
	}
	p := &store.Purchase{ID: op.PurchaseID, Buyer: op.Buyer, Shop: op.Shop, PriceSats: price, FeeSats: fee, Payee: payeeName, CreatedAt: op.At}
	n, err := b.exec(sqlInsertPurchase, p.ID, p.Buyer, p.Shop, p.PriceSats, p.FeeSats, p.Payee, p.CreatedAt)
	if err != nil {
		return store.OpResult{}, err
	}
	if n == 0 { // raced with an earlier op of this very batch
		existing, err := b.findPurchase(op)
		return store.OpResult{Purchase: existing, Existing: existing != nil}, err
	}
	ok, err := b.exec(sqlDebit, price, op.BuyerWallet, price)
	if err != nil {
		return store.OpResult{}, err
	}
	if ok == 0 {
		if _, err := b.exec(sqlDeletePurchase, p.ID); err != nil {
			return store.OpResult{}, err
		}
		return store.OpResult{Err: store.ErrInsufficientFunds}, nil
	}
	if err := b.creditPurchase(p, op, credited, price-fee, fee); err != nil {
		return store.OpResult{}, err
	}
	return store.OpResult{Purchase: p}, nil
}

func (b *batch) creditPurchase(p *store.Purchase, op store.BuyOp, payeeWallet, share, fee int64) error {
	if share > 0 {
		if _, err := b.exec(sqlCredit, share, payeeWallet); err != nil {
			return err
		}
		if _, err := b.exec(sqlInsertXfer, "purchase:"+p.ID, op.BuyerWallet, payeeWallet, share, int(store.CodePurchase), p.Shop, b.at); err != nil {
			return err
		}
	}
	if fee > 0 {
		b.hot[op.FeeAccount] += fee
		if _, err := b.exec(sqlInsertXfer, "fee:"+p.ID, op.BuyerWallet, op.FeeAccount, fee, int(store.CodeFee), p.Shop, b.at); err != nil {
			return err
		}
	}
	return nil
}

// findPurchase returns the purchase with this key, or this buyer's purchase
// of the shop, or nil.
func (b *batch) findPurchase(op store.BuyOp) (*store.Purchase, error) {
	row, err := b.queryRow(sqlFindPurchase, op.PurchaseID, op.Buyer, op.Shop, op.PurchaseID)
	if err != nil {
		return nil, err
	}
	p := &store.Purchase{}
	err = row.Scan(&p.ID, &p.Buyer, &p.Shop, &p.PriceSats, &p.FeeSats, &p.Payee, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.ID == op.PurchaseID && (p.Buyer != op.Buyer || p.Shop != op.Shop) {
		return nil, fmt.Errorf("purchase key %s was used for another purchase: %w", op.PurchaseID, store.ErrConflict)
	}
	return p, nil
}

// transfers applies linked transfers: all or none. A transfer whose id is
// already recorded makes the whole op a repeat.
func (b *batch) transfers(ts []store.Transfer) (store.OpResult, error) {
	if len(ts) == 0 {
		return store.OpResult{}, nil
	}
	row, err := b.queryRow(sqlTransferExist, ts[0].ID)
	if err != nil {
		return store.OpResult{}, err
	}
	var one int
	switch err := row.Scan(&one); {
	case err == nil:
		return store.OpResult{Existing: true}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return store.OpResult{}, err
	}
	for _, t := range ts {
		if t.Amount <= 0 || t.Debit == t.Credit {
			return store.OpResult{Err: fmt.Errorf("transfer %s: invalid amount or accounts: %w", t.ID, store.ErrConflict)}, nil
		}
	}
	for i, t := range ts {
		n, err := b.exec(sqlDebit, t.Amount, t.Debit, t.Amount)
		if err != nil {
			return store.OpResult{}, err
		}
		if n == 0 {
			if err := b.undo(ts[:i]); err != nil {
				return store.OpResult{}, err
			}
			return store.OpResult{Err: store.ErrInsufficientFunds}, nil
		}
		if _, err := b.exec(sqlCredit, t.Amount, t.Credit); err != nil {
			return store.OpResult{}, err
		}
	}
	for _, t := range ts {
		at := t.CreatedAt
		if at == 0 {
			at = b.at
		}
		if _, err := b.exec(sqlInsertXfer, t.ID, t.Debit, t.Credit, t.Amount, int(t.Code), t.Ref, at); err != nil {
			return store.OpResult{}, err
		}
	}
	return store.OpResult{}, nil
}

// undo reverses the balance updates of transfers applied earlier in the
// same op (their rows are not inserted yet).
func (b *batch) undo(ts []store.Transfer) error {
	for _, t := range ts {
		if _, err := b.exec(sqlUndebit, t.Amount, t.Debit); err != nil {
			return err
		}
		if _, err := b.exec(sqlUncredit, t.Amount, t.Credit); err != nil {
			return err
		}
	}
	return nil
}

// Balance reads one account's counters.
func (db *DB) Balance(ctx context.Context, acct int64) (store.Balance, error) {
	var b store.Balance
	err := db.r.QueryRowContext(ctx, db.q(`SELECT debits_posted, credits_posted, debits_pending, credits_pending
		FROM balances WHERE account_id = ?`), acct).Scan(&b.DebitsPosted, &b.CreditsPosted, &b.DebitsPending, &b.CreditsPending)
	if err != nil {
		return b, fmt.Errorf("balance of %d: %w", acct, mapErr(err))
	}
	return b, nil
}

// History lists the newest transfers touching acct.
func (db *DB) History(ctx context.Context, acct int64, limit int) ([]store.Transfer, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT seq, id, debit_account_id, credit_account_id, amount, code, ref, created_at FROM (
		SELECT * FROM (SELECT * FROM transfers WHERE debit_account_id = ? ORDER BY seq DESC LIMIT ?) d
		UNION ALL
		SELECT * FROM (SELECT * FROM transfers WHERE credit_account_id = ? ORDER BY seq DESC LIMIT ?) c
	) t ORDER BY seq DESC LIMIT ?`), acct, limit, acct, limit, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %d: %w", acct, err)
	}
	defer rows.Close()
	var out []store.Transfer
	for rows.Next() {
		var t store.Transfer
		var code int
		if err := rows.Scan(&t.Seq, &t.ID, &t.Debit, &t.Credit, &t.Amount, &code, &t.Ref, &t.CreatedAt); err != nil {
			return nil, err
		}
		t.Code = store.TransferCode(code)
		out = append(out, t)
	}
	return out, rows.Err()
}

// LedgerTotals sums the ledger for the invariant checks.
func (db *DB) LedgerTotals(ctx context.Context) (store.LedgerTotals, error) {
	var t store.LedgerTotals
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(debits_posted), 0), COALESCE(SUM(credits_posted), 0),
		COALESCE(SUM(debits_pending), 0), COALESCE(SUM(credits_pending), 0),
		COALESCE(SUM(CASE WHEN debits_must_not_exceed_credits = 1 AND debits_posted + debits_pending > credits_posted THEN 1 ELSE 0 END), 0)
		FROM balances`).Scan(&t.DebitsPosted, &t.CreditsPosted, &t.DebitsPending, &t.CreditsPending, &t.NegativeWallets)
	if err != nil {
		return t, fmt.Errorf("ledger totals: %w", err)
	}
	err = db.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM transfers`).Scan(&t.Transfers, &t.TransferSum)
	if err != nil {
		return t, fmt.Errorf("transfer totals: %w", err)
	}
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM purchases`).Scan(&t.Purchases); err != nil {
		return t, fmt.Errorf("purchase totals: %w", err)
	}
	return t, nil
}

// BalanceMismatches counts balance rows whose posted counters differ from
// the sums of the transfers that touch them (an invariant check; it scans
// the whole transfer table).
func (db *DB) BalanceMismatches(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM balances b WHERE
		b.debits_posted <> (SELECT COALESCE(SUM(amount), 0) FROM transfers t WHERE t.debit_account_id = b.account_id)
		OR b.credits_posted <> (SELECT COALESCE(SUM(amount), 0) FROM transfers t WHERE t.credit_account_id = b.account_id)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("balance check: %w", err)
	}
	return n, nil
}
