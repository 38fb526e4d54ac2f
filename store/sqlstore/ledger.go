package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopfile/shopfile/store"
)

// Statements a batch runs. No statement here can fail because of another
// op in the same batch: refusals are detected by guarded UPDATEs (0 rows)
// and undone by compensating statements, never by savepoints, so the same
// code stays correct on PostgreSQL, where an error aborts the whole
// transaction (research/ledger-scale.md §5.2). They are prepared once on
// the writer connection (hotStatements) and reused by every batch.
const (
	// A shop's terms and its payee's wallet (the payee is an account: a
	// foreign key).
	sqlShopTerms = `SELECT s.price_sats, s.payee, s.escrow_account, s.title, a.wallet_id
		FROM shops s JOIN accounts a ON a.id = s.payee WHERE s.id = ?`
	// Changes when another connection (another process) commits.
	sqlDataVersion = `PRAGMA data_version`
	// A purchase row carries its two legs (buyer_wallet → credit_account
	// for price - fee, buyer_wallet → fee_account for fee): see
	// migrations/*/0006_purchase_legs.sql.
	sqlInsertPurchase = `INSERT INTO purchases (id, buyer, shop_id, price_sats, fee_sats, payee, created_at,
		buyer_wallet, credit_account, fee_account)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlFindPurchase = `SELECT id, buyer, shop_id, price_sats, fee_sats, payee, created_at FROM purchases
		WHERE id = ? OR (buyer = ? AND shop_id = ?) ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`
	sqlDeletePurchase = `DELETE FROM purchases WHERE id = ?`
	// SQLite (write-behind entitlements, 0009): a purchase by key, by its
	// seq, and a wallet's entitlement to a shop already in the table.
	sqlPurchaseByID  = `SELECT id, buyer, shop_id, price_sats, fee_sats, payee, created_at FROM purchases WHERE id = ?`
	sqlPurchaseBySeq = `SELECT id, buyer, shop_id, price_sats, fee_sats, payee, created_at FROM purchases WHERE seq = ?`
	sqlEntitlement   = `SELECT purchase FROM entitlements WHERE wallet = ? AND shop_id = ?`
	sqlDeleteXfer    = `DELETE FROM transfers WHERE id = ?`
	// A guarded debit: it changes nothing unless the account may pay.
	sqlDebit = `UPDATE balances SET debits_posted = debits_posted + ?
		WHERE account_id = ? AND (debits_must_not_exceed_credits = 0 OR credits_posted - debits_posted - debits_pending >= ?)`
	// The guarded debit of a purchase, returning the counters after it: no
	// row when the buyer cannot pay.
	sqlDebitReturning = sqlDebit + ` RETURNING debits_posted, credits_posted, debits_pending, credits_pending`
	sqlBalance        = `SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM balances WHERE account_id = ?`
	sqlBalanceGuard   = `SELECT debits_posted, credits_posted, debits_pending, credits_pending, debits_must_not_exceed_credits
		FROM balances WHERE account_id = ?`
	sqlUndebit    = `UPDATE balances SET debits_posted = debits_posted - ? WHERE account_id = ?`
	sqlCredit     = `UPDATE balances SET credits_posted = credits_posted + ? WHERE account_id = ?`
	sqlUncredit   = `UPDATE balances SET credits_posted = credits_posted - ? WHERE account_id = ?`
	sqlInsertXfer = `INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, code, ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	// A transfer of a TransferOp: a repeat of its id inserts nothing
	// (and, on PostgreSQL, waits for a concurrent insert of the same id to
	// commit or roll back) instead of failing the batch.
	sqlInsertXferOnce = sqlInsertXfer + ` ON CONFLICT (id) DO NOTHING`
)

// hotStatements are prepared on the writer connection when the store opens.
func (db *DB) hotStatements() []string {
	qs := []string{db.shopTermsSQL(), sqlInsertPurchase, sqlFindPurchase, sqlDeletePurchase, sqlDeleteXfer, sqlDebit,
		sqlDebitReturning, sqlBalance, sqlBalanceGuard, sqlUndebit, sqlCredit, sqlUncredit, sqlInsertXfer, sqlInsertXferOnce}
	if db.termsCached() {
		qs = append(qs, sqlDataVersion)
	}
	if db.dialect.creditLegs { // SQLite: the write-behind sweeper's
		qs = append(qs, sqlPurchaseByID, sqlPurchaseBySeq, sqlEntitlement)
		qs = append(qs, flushStatements()...)
	}
	return qs
}

// shopTermsSQL reads a shop's terms. On PostgreSQL the row is share-locked
// until the batch commits: a reprice, a claim or a dispute committed by
// another server either happened before the purchase (and the batch reads
// it) or waits for the batch, so a purchase is never charged at terms that
// were already replaced.
func (db *DB) shopTermsSQL() string { return sqlShopTerms + db.dialect.forShare }

// termsCached: shop terms may be kept across batches. Only on SQLite,
// where every writer is known (this store's own writes, or another
// process's commits, which PRAGMA data_version reveals). With several
// servers on PostgreSQL nothing would tell a batch in time that another
// server changed a price or a payee, so each batch reads them afresh.
func (db *DB) termsCached() bool { return !db.dialect.rowLocks }

// shopTerms is what a purchase needs from its shop.
type shopTerms struct {
	price       int64
	payee       string
	payeeWallet int64
	escrow      sql.NullInt64
	title       string
}

// termsCache keeps shop terms across batches. It is emptied whenever
// anything else may have changed a shop: any other write through this
// store (db.write counts them) or a commit by another connection (PRAGMA
// data_version). Only the ledger batch, holding the writer connection,
// uses it.
type termsCache struct {
	mu      sync.Mutex
	writes  int64
	version int64
	shops   map[string]*shopTerms
}

const maxCachedTerms = 1 << 16

// batch applies ops inside one transaction. Credits are deferred and
// summed per account: each credited account gets one UPDATE at the end of
// the batch (the fee account and a hit shop's payee take hundreds of
// credits per batch), or just before that account is next debited, so a
// debit's guard still sees every credit that came before it.
type batch struct {
	db      *DB
	tx      *sql.Tx
	ctx     context.Context
	at      int64
	credits map[int64]int64
	sales   map[string]int64      // purchases per shop, counted once at the end
	shops   map[string]*shopTerms // db.terms.shops, valid for this batch
	stmts   map[string]*sql.Stmt
	legs    *batchLegs // write-behind legs (SQLite); nil: legs go to the balances at once
}

func (b *batch) stmt(query string) (*sql.Stmt, error) {
	if s, ok := b.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if hot, ok := b.db.hot[query]; ok {
		s = b.tx.StmtContext(b.ctx, hot)
	} else {
		var err error
		if s, err = b.tx.PrepareContext(b.ctx, b.db.q(query)); err != nil {
			return nil, err
		}
	}
	b.stmts[query] = s
	return s, nil
}

func (b *batch) exec(query string, args ...any) (int64, error) {
	s, err := b.stmt(query)
	if err != nil {
		return 0, err
	}
	return rowsAffected(s.ExecContext(b.ctx, args...))
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and returns the new row's
// rowid, or 0 when it inserted nothing (SQLite).
func (b *batch) insert(query string, args ...any) (int64, error) {
	s, err := b.stmt(query)
	if err != nil {
		return 0, err
	}
	res, err := s.ExecContext(b.ctx, args...)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	return res.LastInsertId()
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
	db.terms.mu.Lock()
	defer db.terms.mu.Unlock()
	// On PostgreSQL a batch that deadlocked with another server's is run
	// again whole; if it keeps losing, the ledger retries op by op.
	if db.ledgerElsewhere {
		return nil, fmt.Errorf("%w: %w", store.ErrUnavailable, ErrLedgerOwned)
	}
	db.restartWAL(ctx)
	if db.pending != nil {
		db.pending.lastBatch.Store(time.Now().UnixNano())
	}
	err := db.retry(ctx, func() error {
		var legs *batchLegs
		if db.pending != nil {
			legs = newBatchLegs()
		}
		return db.ledgerTx(ctx, legs, func(tx *sql.Tx) error {
			b := &batch{db: db, tx: tx, ctx: ctx, at: db.micros(), credits: map[int64]int64{},
				sales: map[string]int64{}, stmts: make(map[string]*sql.Stmt, len(db.hot)), legs: legs}
			defer b.close()
			if err := b.loadTerms(); err != nil {
				return err
			}
			if legs != nil {
				if err := b.prefetch(ops); err != nil {
					return err
				}
			}
			for i, op := range ops {
				r, err := b.apply(op)
				if err != nil {
					return fmt.Errorf("ledger op %d: %w", i, err)
				}
				results[i] = r
			}
			if err := b.flushCredits(); err != nil {
				return err
			}
			if legs != nil {
				if err := b.sweep(); err != nil {
					return err
				}
			}
			return b.flushSales()
		})
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// loadTerms takes the cached shop terms, or empties the cache if a shop
// may have changed since it was filled.
func (b *batch) loadTerms() error {
	c := &b.db.terms
	if !b.db.termsCached() {
		c.shops = nil
		b.shops = map[string]*shopTerms{}
		return nil
	}
	row, err := b.queryRow(sqlDataVersion)
	if err != nil {
		return err
	}
	var version int64
	if err := row.Scan(&version); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	writes := b.db.writes.Load()
	if c.shops == nil || len(c.shops) > maxCachedTerms || version != c.version || writes != c.writes {
		c.shops, c.version, c.writes = map[string]*shopTerms{}, version, writes
	}
	b.shops = c.shops
	return nil
}

func (b *batch) close() {
	for _, s := range b.stmts {
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

// credit defers a credit to the end of the batch.
func (b *batch) credit(acct, amount int64) {
	if amount != 0 {
		b.credits[acct] += amount
	}
}

// settle writes acct's deferred credit, before acct is debited or read.
func (b *batch) settle(acct int64) error {
	amount, ok := b.credits[acct]
	if !ok {
		return nil
	}
	delete(b.credits, acct)
	b.rowsChanged(acct)
	if _, err := b.exec(sqlCredit, amount, acct); err != nil {
		return fmt.Errorf("credit account %d: %w", acct, err)
	}
	return nil
}

// flushCredits writes every deferred credit, in account order.
func (b *batch) flushCredits() error {
	accts := make([]int64, 0, len(b.credits))
	for acct := range b.credits {
		accts = append(accts, acct)
	}
	slices.Sort(accts)
	for _, acct := range accts {
		if err := b.settle(acct); err != nil {
			return err
		}
	}
	return nil
}

// salesRowsPerStatement keeps flushSales under every engine's limit on
// bound parameters.
const salesRowsPerStatement = 500

// flushSales adds the batch's purchases to each shop's sales count, one
// statement for up to salesRowsPerStatement shops, in shop order (on
// PostgreSQL two servers then lock the rows in the same order).
func (b *batch) flushSales() error {
	shops := make([]string, 0, len(b.sales))
	for shop := range b.sales {
		shops = append(shops, shop)
	}
	slices.Sort(shops)
	for len(shops) > 0 {
		chunk := shops[:min(len(shops), salesRowsPerStatement)]
		shops = shops[len(chunk):]
		args := make([]any, 0, 2*len(chunk))
		for _, shop := range chunk {
			args = append(args, shop, b.sales[shop])
		}
		query := `INSERT INTO shop_sales (shop_id, n) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, len(chunk)-1) +
			` ON CONFLICT (shop_id) DO UPDATE SET n = shop_sales.n + excluded.n`
		if _, err := b.exec(query, args...); err != nil {
			return fmt.Errorf("count sales: %w", err)
		}
	}
	return nil
}

// terms returns a shop's live terms; nil when there is no such shop.
func (b *batch) terms(shop string) (*shopTerms, error) {
	if t, ok := b.shops[shop]; ok {
		return t, nil
	}
	row, err := b.queryRow(b.db.shopTermsSQL(), shop)
	if err != nil {
		return nil, err
	}
	t := &shopTerms{}
	switch err := row.Scan(&t.price, &t.payee, &t.escrow, &t.title, &t.payeeWallet); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, err
	}
	b.shops[shop] = t
	return t, nil
}

// buy records one purchase at the shop's live terms. The common case is
// two statements: the purchase row, which records both legs, and the
// guarded debit (which returns the buyer's balance); the payee and fee
// credits are deferred to the end of the batch.
func (b *batch) buy(op store.BuyOp) (store.OpResult, error) {
	t, err := b.terms(op.Shop)
	if err != nil {
		return store.OpResult{}, err
	}
	if t == nil {
		return store.OpResult{Err: fmt.Errorf("shop %s: %w", op.Shop, store.ErrNotFound)}, nil
	}
	var refusal error
	switch {
	case t.payee == op.Buyer:
		refusal = store.ErrSelfPurchase
	case op.MaxPrice > 0 && t.price > op.MaxPrice:
		refusal = fmt.Errorf("%w: the price is now %d sats", store.ErrPriceAboveMax, t.price)
	}
	if refusal != nil { // a repeat of an earlier purchase still answers with it
		if res, err := b.existing(op, t); err != nil || res.Existing || res.Err != nil {
			return res, err
		}
		return store.OpResult{Err: refusal}, nil
	}
	fee := t.price * op.FeeBps / 10000
	credited, payeeName := t.payeeWallet, t.payee
	if t.escrow.Valid {
		credited, payeeName = t.escrow.Int64, fmt.Sprintf("escrow:%d", t.escrow.Int64)
	}
	p := &store.Purchase{ID: op.PurchaseID, Buyer: op.Buyer, Shop: op.Shop, PriceSats: t.price, FeeSats: fee, Payee: payeeName, CreatedAt: op.At}
	if b.legs != nil {
		return b.buyDeferred(op, t, p, credited)
	}
	n, err := b.exec(sqlInsertPurchase, p.ID, p.Buyer, p.Shop, p.PriceSats, p.FeeSats, p.Payee, p.CreatedAt,
		op.BuyerWallet, credited, op.FeeAccount)
	if err != nil {
		return store.OpResult{}, err
	}
	if n == 0 {
		return b.repeat(op, t)
	}
	bal, ok, err := b.debit(op.BuyerWallet, t.price)
	if err != nil {
		return store.OpResult{}, err
	}
	if !ok {
		if _, err := b.exec(sqlDeletePurchase, p.ID); err != nil {
			return store.OpResult{}, err
		}
		return store.OpResult{Err: store.ErrInsufficientFunds}, nil
	}
	b.credit(credited, t.price-fee)
	b.credit(op.FeeAccount, fee)
	b.sales[p.Shop]++
	return store.OpResult{Purchase: p, Title: t.title, Balance: bal}, nil
}

// repeat answers a buy whose purchase row was not inserted: its key, or
// this buyer's purchase of the shop, exists already.
func (b *batch) repeat(op store.BuyOp, t *shopTerms) (store.OpResult, error) {
	res, err := b.existing(op, t)
	if err == nil && !res.Existing && res.Err == nil {
		err = fmt.Errorf("purchase %s conflicted with no purchase", op.PurchaseID)
	}
	return res, err
}

// buyDeferred is buy with write-behind legs: the purchase row is the
// record of both legs, the guard reads the buyer's balance row plus its
// pending legs, and the legs join the pending ones.
func (b *batch) buyDeferred(op store.BuyOp, t *shopTerms, p *store.Purchase, credited int64) (store.OpResult, error) {
	// No index on purchases refuses a second purchase of the shop by this
	// buyer any more (0009): the entitlements, pending ones included, do.
	owner, err := b.ownerOf(op.BuyerWallet, op.Shop)
	if err != nil {
		return store.OpResult{}, err
	}
	if owner != 0 {
		return b.repeat(op, t)
	}
	rowid, err := b.insert(sqlInsertPurchase, p.ID, p.Buyer, p.Shop, p.PriceSats, p.FeeSats, p.Payee, p.CreatedAt,
		op.BuyerWallet, credited, op.FeeAccount)
	if err != nil {
		return store.OpResult{}, err
	}
	if rowid == 0 {
		return b.repeat(op, t)
	}
	bal, guarded, err := b.guardedBalance(op.BuyerWallet)
	if err != nil {
		return store.OpResult{}, err
	}
	if guarded && bal.Available() < p.PriceSats {
		if _, err := b.exec(sqlDeletePurchase, p.ID); err != nil {
			return store.OpResult{}, err
		}
		return store.OpResult{Err: store.ErrInsufficientFunds}, nil
	}
	b.legs.maxRowid = max(b.legs.maxRowid, rowid)
	b.addLeg(op.BuyerWallet, p.PriceSats, 0, rowid)
	b.addLeg(credited, 0, p.PriceSats-p.FeeSats, rowid)
	b.addLeg(op.FeeAccount, 0, p.FeeSats, rowid)
	b.addOwned(op.BuyerWallet, p.Shop, rowid)
	bal.DebitsPosted += p.PriceSats
	b.countSale(p.Shop, rowid)
	return store.OpResult{Purchase: p, Title: t.title, Balance: bal}, nil
}

// guardedBalance reads an account's counters, pending legs included, and
// whether its debits may not exceed its credits.
func (b *batch) guardedBalance(acct int64) (store.Balance, bool, error) {
	row, ok := b.cachedRow(acct)
	if !ok {
		var guarded int
		r, err := b.queryRow(sqlBalanceGuard, acct)
		if err != nil {
			return store.Balance{}, false, err
		}
		if err := r.Scan(&row.bal.DebitsPosted, &row.bal.CreditsPosted, &row.bal.DebitsPending, &row.bal.CreditsPending, &guarded); err != nil {
			return store.Balance{}, false, fmt.Errorf("balance of %d: %w", acct, err)
		}
		row.guarded = guarded != 0
		b.legs.rows[acct] = row
	}
	return b.pendingOf(acct).onto(row.bal), row.guarded, nil
}

// debit applies a guarded debit and returns the counters after it; ok is
// false (and nothing changed) when the account may not pay.
func (b *batch) debit(acct, amount int64) (store.Balance, bool, error) {
	if err := b.settle(acct); err != nil {
		return store.Balance{}, false, err
	}
	row, err := b.queryRow(sqlDebitReturning, amount, acct, amount)
	if err != nil {
		return store.Balance{}, false, err
	}
	var bal store.Balance
	switch err := row.Scan(&bal.DebitsPosted, &bal.CreditsPosted, &bal.DebitsPending, &bal.CreditsPending); {
	case errors.Is(err, sql.ErrNoRows):
		return bal, false, nil
	case err != nil:
		return bal, false, fmt.Errorf("debit %d: %w", acct, err)
	}
	return bal, true, nil
}

// balance reads an account's counters inside the batch.
func (b *batch) balance(acct int64) (store.Balance, error) {
	var bal store.Balance
	if err := b.settle(acct); err != nil {
		return bal, err
	}
	row, err := b.queryRow(sqlBalance, acct)
	if err != nil {
		return bal, err
	}
	if err := row.Scan(&bal.DebitsPosted, &bal.CreditsPosted, &bal.DebitsPending, &bal.CreditsPending); err != nil {
		return bal, fmt.Errorf("balance of %d: %w", acct, err)
	}
	if b.legs != nil {
		bal = b.pendingOf(acct).onto(bal)
	}
	return bal, nil
}

// existing answers a buy whose key or (buyer, shop) is already recorded:
// the earlier purchase and the buyer's balance, a refusal when the key was
// used for another purchase, or an empty result when there is none.
func (b *batch) existing(op store.BuyOp, t *shopTerms) (store.OpResult, error) {
	p, err := b.findPurchase(op)
	if err != nil || p == nil {
		return store.OpResult{}, err
	}
	if p.ID == op.PurchaseID && (p.Buyer != op.Buyer || p.Shop != op.Shop) {
		return store.OpResult{Err: fmt.Errorf("purchase key %s was used for another purchase: %w", op.PurchaseID, store.ErrConflict)}, nil
	}
	bal, err := b.balance(op.BuyerWallet)
	if err != nil {
		return store.OpResult{}, err
	}
	return store.OpResult{Purchase: p, Existing: true, Title: t.title, Balance: bal}, nil
}

// findPurchase returns the purchase with this key, or this buyer's purchase
// of the shop, or nil.
func (b *batch) findPurchase(op store.BuyOp) (*store.Purchase, error) {
	if b.legs != nil {
		return b.findPurchaseDeferred(op)
	}
	row, err := b.queryRow(sqlFindPurchase, op.PurchaseID, op.Buyer, op.Shop, op.PurchaseID)
	if err != nil {
		return nil, err
	}
	return scanPurchase(row)
}

// findPurchaseDeferred is findPurchase where entitlements are written
// behind: the key through purchases' index, else the buyer's entitlement.
func (b *batch) findPurchaseDeferred(op store.BuyOp) (*store.Purchase, error) {
	row, err := b.queryRow(sqlPurchaseByID, op.PurchaseID)
	if err != nil {
		return nil, err
	}
	if p, err := scanPurchase(row); err != nil || p != nil {
		return p, err
	}
	owner, err := b.ownerOf(op.BuyerWallet, op.Shop)
	if err != nil || owner == 0 {
		return nil, err
	}
	if row, err = b.queryRow(sqlPurchaseBySeq, owner); err != nil {
		return nil, err
	}
	p, err := scanPurchase(row)
	if err == nil && p == nil {
		err = fmt.Errorf("entitlement of %s to %s names purchase %d, which is not there", op.Buyer, op.Shop, owner)
	}
	return p, err
}

// scanPurchase reads a purchase row, or nil when there is none.
func scanPurchase(row *sql.Row) (*store.Purchase, error) {
	p := &store.Purchase{}
	err := row.Scan(&p.ID, &p.Buyer, &p.Shop, &p.PriceSats, &p.FeeSats, &p.Payee, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// transfers applies linked transfers: all or none. A transfer whose id is
// already recorded makes the whole op a repeat. The rows go in first, each
// with ON CONFLICT DO NOTHING, so a repeat (even one another server is
// committing right now) is seen without an error that would abort the
// batch; a refusal then deletes them again.
func (b *batch) transfers(ts []store.Transfer) (store.OpResult, error) {
	if len(ts) == 0 {
		return store.OpResult{}, nil
	}
	for _, t := range ts {
		if t.Amount <= 0 || t.Debit == t.Credit {
			return store.OpResult{Err: fmt.Errorf("transfer %s: invalid amount or accounts: %w", t.ID, store.ErrConflict)}, nil
		}
	}
	if b.legs != nil { // the guarded statements below read balance rows
		var accts []int64
		for _, t := range ts {
			accts = append(accts, t.Debit, t.Credit)
		}
		slices.Sort(accts)
		accts = slices.Compact(accts)
		if err := b.flushAccounts(accts); err != nil {
			return store.OpResult{}, err
		}
		b.rowsChanged(accts...)
	}
	for i, t := range ts {
		at := t.CreatedAt
		if at == 0 {
			at = b.at
		}
		n, err := b.exec(sqlInsertXferOnce, t.ID, t.Debit, t.Credit, t.Amount, int(t.Code), t.Ref, at)
		if err != nil {
			return store.OpResult{}, err
		}
		if n == 1 {
			continue
		}
		if err := b.deleteTransfers(ts[:i]); err != nil {
			return store.OpResult{}, err
		}
		if i == 0 {
			return store.OpResult{Existing: true}, nil
		}
		return store.OpResult{Err: fmt.Errorf("transfer %s: %w", t.ID, store.ErrDuplicate)}, nil
	}
	for i, t := range ts {
		if err := b.settle(t.Debit); err != nil {
			return store.OpResult{}, err
		}
		n, err := b.exec(sqlDebit, t.Amount, t.Debit, t.Amount)
		if err != nil {
			return store.OpResult{}, err
		}
		if n == 0 {
			if err := b.undo(ts[:i]); err != nil {
				return store.OpResult{}, err
			}
			if err := b.deleteTransfers(ts); err != nil {
				return store.OpResult{}, err
			}
			return store.OpResult{Err: store.ErrInsufficientFunds}, nil
		}
		if _, err := b.exec(sqlCredit, t.Amount, t.Credit); err != nil {
			return store.OpResult{}, err
		}
	}
	return store.OpResult{}, nil
}

// deleteTransfers removes rows this op inserted (a compensating statement).
func (b *batch) deleteTransfers(ts []store.Transfer) error {
	for _, t := range ts {
		if _, err := b.exec(sqlDeleteXfer, t.ID); err != nil {
			return err
		}
	}
	return nil
}

// undo reverses the balance updates of transfers applied earlier in the
// same op.
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

// Balance reads one account's counters, pending legs included.
func (db *DB) Balance(ctx context.Context, acct int64) (store.Balance, error) {
	if p := db.pending; p != nil {
		p.mu.RLock()
		defer p.mu.RUnlock()
	}
	var b store.Balance
	err := db.r.QueryRowContext(ctx, db.q(`SELECT debits_posted, credits_posted, debits_pending, credits_pending
		FROM balances WHERE account_id = ?`), acct).Scan(&b.DebitsPosted, &b.CreditsPosted, &b.DebitsPending, &b.CreditsPending)
	if err != nil {
		return b, fmt.Errorf("balance of %d: %w", acct, mapErr(err))
	}
	if db.pending != nil {
		b = db.pending.overlay(acct).onto(b)
	}
	return b, nil
}

// settled applies the pending legs (so the checks below mostly read
// complete rows) and returns with the pending legs held still: release
// it when done. Its callers add what is still pending.
func (db *DB) settled(ctx context.Context) (release func(), err error) {
	p := db.pending
	if p == nil {
		return func() {}, nil
	}
	if err := db.writeLedger(ctx, func(*sql.Tx) error { return nil }); err != nil {
		return nil, err
	}
	p.mu.RLock()
	return p.mu.RUnlock, nil
}

// History lists the newest transfers touching acct: rows of transfers, and
// the legs that purchase rows record (purchaseLegs), newest first.
func (db *DB) History(ctx context.Context, acct int64, limit int) ([]store.Transfer, error) {
	if limit <= 0 {
		limit = 100
	}
	// Post-pending rows are left out: the pending row they settle already
	// showed the movement when the money was held. Each arm is cut to
	// limit rows through its own index before the arms are merged.
	credited := `
		SELECT * FROM (SELECT ` + shareLeg + ` FROM purchases WHERE credit_account = ? AND price_sats > fee_sats
			ORDER BY created_at DESC LIMIT ?) cs
		UNION ALL
		SELECT * FROM (SELECT ` + feeLeg + ` FROM purchases WHERE fee_account = ? AND fee_sats > 0
			ORDER BY created_at DESC LIMIT ?) cf`
	if db.dialect.creditLegs {
		// SQLite: credit_legs holds the legs the sweeper has applied to
		// acct's balance; the rest are purchases after its legs_through
		// (and after swept_through), a short scan of the newest rows.
		credited = `
		SELECT * FROM (SELECT ` + creditedLeg + ` FROM credit_legs c JOIN purchases p ON p.rowid = c.purchase
			WHERE c.account_id = ? ORDER BY c.purchase DESC LIMIT ?) cl
		UNION ALL
		SELECT * FROM (SELECT ` + creditedLeg + ` FROM (SELECT ? AS account_id) c JOIN purchases p
			ON p.rowid > (SELECT MAX(b.legs_through, s.swept_through) FROM balances b, ledger_state s WHERE b.account_id = c.account_id)
			AND ((p.credit_account = c.account_id AND p.price_sats > p.fee_sats) OR (p.fee_account = c.account_id AND p.fee_sats > 0))
			ORDER BY p.rowid DESC LIMIT ?) ct`
	}
	// The purchases acct paid for.
	paid, paidArgs := `buyer = (SELECT id FROM accounts WHERE wallet_id = ?)`, []any{acct}
	if db.dialect.creditLegs {
		// SQLite: its entitlements, and its purchases after its
		// legs_through (and after swept_through) not in them yet (0009).
		paid = `purchases.seq IN (SELECT e.purchase FROM entitlements e WHERE e.wallet = ?
			UNION ALL SELECT t.seq FROM purchases t WHERE t.seq > (SELECT MAX(b.legs_through, s.swept_through)
				FROM balances b, ledger_state s WHERE b.account_id = ?) AND t.buyer_wallet = ?)`
		paidArgs = []any{acct, acct, acct}
	}
	args := []any{acct, limit, acct, limit}
	args = append(append(args, paidArgs...), limit)
	args = append(append(args, paidArgs...), limit)
	args = append(args, acct, limit, acct, limit, limit)
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT seq, id, debit_account_id, credit_account_id, amount, code, ref, created_at, flags, pending FROM (
		SELECT * FROM (SELECT `+transferColumns+` FROM transfers WHERE debit_account_id = ? AND flags <> 4 ORDER BY seq DESC LIMIT ?) d
		UNION ALL
		SELECT * FROM (SELECT `+transferColumns+` FROM transfers WHERE credit_account_id = ? AND flags <> 4 ORDER BY seq DESC LIMIT ?) c
		UNION ALL
		SELECT * FROM (SELECT `+shareLeg+` FROM purchases WHERE `+paid+`
			AND buyer_wallet IS NOT NULL AND price_sats > fee_sats ORDER BY created_at DESC LIMIT ?) ps
		UNION ALL
		SELECT * FROM (SELECT `+feeLeg+` FROM purchases WHERE `+paid+`
			AND buyer_wallet IS NOT NULL AND fee_sats > 0 ORDER BY created_at DESC LIMIT ?) pf
		UNION ALL`+credited+`
	) t ORDER BY created_at DESC, seq DESC, id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("history of %d: %w", acct, err)
	}
	defer rows.Close()
	var out []store.Transfer
	for rows.Next() {
		var t store.Transfer
		var code int
		if err := rows.Scan(&t.Seq, &t.ID, &t.Debit, &t.Credit, &t.Amount, &code, &t.Ref, &t.CreatedAt, &t.Flags, &t.PendingID); err != nil {
			return nil, err
		}
		t.Code = store.TransferCode(code)
		out = append(out, t)
	}
	return out, rows.Err()
}

// The columns History reads from transfers, and the same columns for the
// two legs a purchase row records. A leg has no seq of its own (0) and is
// named as its transfer row used to be: purchase:<id> and fee:<id>.
const (
	transferColumns = `seq, id, debit_account_id, credit_account_id, amount, code, ref, created_at, flags,
		COALESCE(pending_id, '') AS pending`
	shareLeg = `0 AS seq, 'purchase:' || id AS id, buyer_wallet AS debit_account_id, credit_account AS credit_account_id,
		price_sats - fee_sats AS amount, 1 AS code, shop_id AS ref, created_at, 0 AS flags, '' AS pending`
	feeLeg = `0 AS seq, 'fee:' || id AS id, buyer_wallet AS debit_account_id, fee_account AS credit_account_id,
		fee_sats AS amount, 2 AS code, shop_id AS ref, created_at, 0 AS flags, '' AS pending`
	// creditedLeg is the leg of purchase p that credited account
	// c.account_id: its share if it is the payee, else the fee.
	creditedLeg = `0 AS seq, CASE WHEN p.credit_account = c.account_id THEN 'purchase:' ELSE 'fee:' END || p.id AS id,
		p.buyer_wallet AS debit_account_id, c.account_id AS credit_account_id,
		CASE WHEN p.credit_account = c.account_id THEN p.price_sats - p.fee_sats ELSE p.fee_sats END AS amount,
		CASE WHEN p.credit_account = c.account_id THEN 1 ELSE 2 END AS code, p.shop_id AS ref, p.created_at, 0 AS flags, '' AS pending`
)

// LedgerTotals sums the ledger for the invariant checks.
func (db *DB) LedgerTotals(ctx context.Context) (store.LedgerTotals, error) {
	var t store.LedgerTotals
	release, err := db.settled(ctx)
	if err != nil {
		return t, fmt.Errorf("ledger totals: %w", err)
	}
	defer release()
	t, err = db.ledgerTotals(ctx)
	if err != nil || db.pending == nil {
		return t, err
	}
	// Purchases committed since the flush: their legs are pending.
	for acct, d := range db.pending.accts {
		var bal store.Balance
		var guarded int
		err := db.r.QueryRowContext(ctx, `SELECT debits_posted, credits_posted, debits_pending, credits_pending, debits_must_not_exceed_credits
			FROM balances WHERE account_id = ?`, acct).Scan(&bal.DebitsPosted, &bal.CreditsPosted, &bal.DebitsPending, &bal.CreditsPending, &guarded)
		if err != nil {
			return t, fmt.Errorf("ledger totals: balance of %d: %w", acct, err)
		}
		after := d.onto(bal)
		if guarded != 0 && bal.Available() < 0 {
			t.NegativeWallets--
		}
		if guarded != 0 && after.Available() < 0 {
			t.NegativeWallets++
		}
		t.DebitsPosted += d.debits
		t.CreditsPosted += d.credits
	}
	return t, nil
}

func (db *DB) ledgerTotals(ctx context.Context) (store.LedgerTotals, error) {
	var t store.LedgerTotals
	// SUM of BIGINT is NUMERIC on PostgreSQL: cast back to scan an int64.
	err := db.r.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(debits_posted), 0) AS BIGINT), CAST(COALESCE(SUM(credits_posted), 0) AS BIGINT),
		CAST(COALESCE(SUM(debits_pending), 0) AS BIGINT), CAST(COALESCE(SUM(credits_pending), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN debits_must_not_exceed_credits = 1 AND debits_posted + debits_pending > credits_posted THEN 1 ELSE 0 END), 0) AS BIGINT)
		FROM balances`).Scan(&t.DebitsPosted, &t.CreditsPosted, &t.DebitsPending, &t.CreditsPending, &t.NegativeWallets)
	if err != nil {
		return t, fmt.Errorf("ledger totals: %w", err)
	}
	// Posted sums: plain and post-pending rows. A pending row only holds
	// (its amount sits in the pending counters until posted or voided).
	err = db.r.QueryRowContext(ctx, `SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN (flags & 10) = 0 THEN amount ELSE 0 END), 0) AS BIGINT)
		FROM transfers`).Scan(&t.Transfers, &t.TransferSum)
	if err != nil {
		return t, fmt.Errorf("transfer totals: %w", err)
	}
	// Purchases that record their own legs add them: one leg for a share
	// above zero, one for a fee above zero, summing to the price.
	var legs, legSum int64
	err = db.r.QueryRowContext(ctx, `SELECT COUNT(*),
		CAST(COALESCE(SUM(CASE WHEN buyer_wallet IS NULL THEN 0 WHEN price_sats > fee_sats AND fee_sats > 0 THEN 2 ELSE 1 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN buyer_wallet IS NULL THEN 0 ELSE price_sats END), 0) AS BIGINT)
		FROM purchases`).Scan(&t.Purchases, &legs, &legSum)
	if err != nil {
		return t, fmt.Errorf("purchase totals: %w", err)
	}
	t.Transfers += legs
	t.TransferSum += legSum
	// Every shop with purchases has their count (pending ones included),
	// and the counts sum to the purchases: so no shop counts a sale it
	// never made either.
	rows, err := db.r.QueryContext(ctx, `SELECT p.shop_id, p.c - COALESCE(ss.n, 0)
		FROM (SELECT shop_id, COUNT(*) AS c FROM purchases GROUP BY shop_id) p
		LEFT JOIN shop_sales ss ON ss.shop_id = p.shop_id WHERE ss.n IS NULL OR ss.n <> p.c`)
	if err != nil {
		return t, fmt.Errorf("sales totals: %w", err)
	}
	defer rows.Close()
	short := map[string]bool{}
	for rows.Next() {
		var shop string
		var missing int64
		if err := rows.Scan(&shop, &missing); err != nil {
			return t, fmt.Errorf("sales totals: %w", err)
		}
		short[shop] = true
		if db.pending == nil || db.pending.pendingSales(shop) != missing {
			t.SalesMismatches++
		}
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("sales totals: %w", err)
	}
	var counted int64
	if err := db.r.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM shop_sales`).Scan(&counted); err != nil {
		return t, fmt.Errorf("sales totals: %w", err)
	}
	if db.pending != nil {
		for shop, d := range db.pending.sales {
			counted += d.debits
			if !short[shop] { // counted already: its pending sales would count twice
				t.SalesMismatches++
			}
		}
	}
	if t.SalesMismatches == 0 && counted != t.Purchases {
		t.SalesMismatches = 1
	}
	return t, nil
}

// BalanceMismatches counts balance rows whose counters, pending legs
// included, differ from the transfers that touch them: posted counters
// from plain and post-pending rows and from the legs purchase rows record,
// pending counters from pending rows not yet posted or voided (an
// invariant check; one pass over transfers and purchases).
func (db *DB) BalanceMismatches(ctx context.Context) (int, error) {
	release, err := db.settled(ctx)
	if err != nil {
		return 0, fmt.Errorf("balance check: %w", err)
	}
	defer release()
	rows, err := db.r.QueryContext(ctx, `WITH open_pending AS (
			SELECT t.debit_account_id, t.credit_account_id, t.amount FROM transfers t
			WHERE t.flags = 2 AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)),
		legs (acct, dp, cp, dq, cq) AS (
			SELECT debit_account_id, amount, 0, 0, 0 FROM transfers WHERE (flags & 10) = 0
			UNION ALL SELECT credit_account_id, 0, amount, 0, 0 FROM transfers WHERE (flags & 10) = 0
			UNION ALL SELECT debit_account_id, 0, 0, amount, 0 FROM open_pending
			UNION ALL SELECT credit_account_id, 0, 0, 0, amount FROM open_pending
			UNION ALL SELECT buyer_wallet, price_sats, 0, 0, 0 FROM purchases WHERE buyer_wallet IS NOT NULL
			UNION ALL SELECT credit_account, 0, price_sats - fee_sats, 0, 0 FROM purchases WHERE buyer_wallet IS NOT NULL
			UNION ALL SELECT fee_account, 0, fee_sats, 0, 0 FROM purchases WHERE buyer_wallet IS NOT NULL),
		sums AS (SELECT acct, SUM(dp) AS dp, SUM(cp) AS cp, SUM(dq) AS dq, SUM(cq) AS cq FROM legs GROUP BY acct)
		SELECT b.account_id, CAST(b.debits_posted - COALESCE(s.dp, 0) AS BIGINT), CAST(b.credits_posted - COALESCE(s.cp, 0) AS BIGINT),
			b.debits_pending <> COALESCE(s.dq, 0) OR b.credits_pending <> COALESCE(s.cq, 0)
		FROM balances b LEFT JOIN sums s ON s.acct = b.account_id WHERE
			b.debits_posted <> COALESCE(s.dp, 0) OR b.credits_posted <> COALESCE(s.cp, 0)
			OR b.debits_pending <> COALESCE(s.dq, 0) OR b.credits_pending <> COALESCE(s.cq, 0)`)
	if err != nil {
		return 0, fmt.Errorf("balance check: %w", err)
	}
	defer rows.Close()
	// A row short of exactly its pending legs is right; so is every
	// other row that has no pending legs.
	n := 0
	short := map[int64]bool{}
	for rows.Next() {
		var acct, debits, credits int64
		var pendingOff bool
		if err := rows.Scan(&acct, &debits, &credits, &pendingOff); err != nil {
			return 0, fmt.Errorf("balance check: %w", err)
		}
		short[acct] = true
		d := legDelta{}
		if db.pending != nil {
			d = db.pending.overlay(acct)
		}
		if pendingOff || debits+d.debits != 0 || credits+d.credits != 0 {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("balance check: %w", err)
	}
	if db.pending != nil {
		for acct := range db.pending.accts {
			if !short[acct] { // complete already: its pending legs would count twice
				n++
			}
		}
	}
	return n, nil
}

// SeedAccount is one account for SeedAccounts.
type SeedAccount struct {
	ID        string // the SHA256: fingerprint of PublicKey
	PublicKey string // authorized_keys form
	Funds     int64  // > 0: credited by a deposit transfer from the on-chain asset account
}

// seedChunk is how many accounts SeedAccounts writes per transaction.
const seedChunk = 100_000

// SeedAccounts creates many accounts, each with its wallet and an optional
// opening deposit, in large transactions: a million in seconds, for
// benchmarks and load tests. Every deposit is a real transfer from the
// on-chain asset account, so the ledger invariants hold afterwards. It
// returns each account's wallet id, in the order given.
func (db *DB) SeedAccounts(ctx context.Context, accts []SeedAccount) ([]int64, error) {
	onchain, err := db.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		return nil, err
	}
	wallets := make([]int64, len(accts))
	for lo := 0; lo < len(accts); lo += seedChunk {
		hi := min(lo+seedChunk, len(accts))
		if err := db.write(ctx, func(tx *sql.Tx) error { return db.seedChunk(ctx, tx, onchain, accts[lo:hi], wallets[lo:hi]) }); err != nil {
			return nil, fmt.Errorf("seed accounts %d..%d: %w", lo, hi, err)
		}
	}
	return wallets, nil
}

func (db *DB) seedChunk(ctx context.Context, tx *sql.Tx, onchain int64, accts []SeedAccount, wallets []int64) error {
	if db.dialect.rowLocks {
		return db.seedChunkRows(ctx, tx, onchain, accts, wallets)
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_accounts`).Scan(&next); err != nil {
		return fmt.Errorf("next ledger account: %w", err)
	}
	prep := func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, db.q(q)) }
	insLedger, err := prep(`INSERT INTO ledger_accounts (id, name, kind, created_at) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insLedger.Close()
	insBalance, err := prep(`INSERT INTO balances (account_id, credits_posted, debits_must_not_exceed_credits) VALUES (?, ?, 1)`)
	if err != nil {
		return err
	}
	defer insBalance.Close()
	insAccount, err := prep(`INSERT INTO accounts (id, public_key, wallet_id, created_at) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insAccount.Close()
	insXfer, err := prep(sqlInsertXfer)
	if err != nil {
		return err
	}
	defer insXfer.Close()
	at := db.micros()
	var total int64
	for i, a := range accts {
		if a.Funds < 0 {
			return fmt.Errorf("account %s: negative funds: %w", a.ID, store.ErrConflict)
		}
		wallets[i] = next + int64(i)
		if _, err := insLedger.ExecContext(ctx, wallets[i], "wallet:"+a.ID, int(store.KindLiability), at); err != nil {
			return fmt.Errorf("wallet of %s: %w", a.ID, err)
		}
		if _, err := insBalance.ExecContext(ctx, wallets[i], a.Funds); err != nil {
			return fmt.Errorf("balance of %s: %w", a.ID, err)
		}
		if _, err := insAccount.ExecContext(ctx, a.ID, a.PublicKey, wallets[i], at); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
		if a.Funds > 0 {
			if _, err := insXfer.ExecContext(ctx, fmt.Sprintf("seed:%d", wallets[i]), onchain, wallets[i], a.Funds,
				int(store.CodeDeposit), "seed", at); err != nil {
				return fmt.Errorf("deposit to %s: %w", a.ID, err)
			}
			total += a.Funds
		}
	}
	if total > 0 {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE balances SET debits_posted = debits_posted + ? WHERE account_id = ?`), total, onchain); err != nil {
			return fmt.Errorf("debit the on-chain account: %w", err)
		}
	}
	return nil
}

// seedChunkRows is seedChunk for PostgreSQL: wallet ids come from the
// identity sequence (other servers may be creating accounts), and rows go
// in many per statement, since each statement costs a round trip.
func (db *DB) seedChunkRows(ctx context.Context, tx *sql.Tx, onchain int64, accts []SeedAccount, wallets []int64) error {
	rows, err := tx.QueryContext(ctx, db.q(`SELECT nextval(pg_get_serial_sequence('ledger_accounts', 'id')) FROM generate_series(1, ?)`), len(accts))
	if err != nil {
		return fmt.Errorf("ledger account ids: %w", err)
	}
	n := 0
	for rows.Next() && n < len(wallets) {
		if err := rows.Scan(&wallets[n]); err != nil {
			rows.Close()
			return fmt.Errorf("ledger account ids: %w", err)
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil || n != len(accts) {
		return fmt.Errorf("ledger account ids: got %d of %d: %w", n, len(accts), err)
	}
	at := db.micros()
	var ledgers, balances, accounts, xfers [][]any
	var total int64
	for i, a := range accts {
		if a.Funds < 0 {
			return fmt.Errorf("account %s: negative funds: %w", a.ID, store.ErrConflict)
		}
		w := wallets[i]
		ledgers = append(ledgers, []any{w, "wallet:" + a.ID, int(store.KindLiability), at})
		balances = append(balances, []any{w, a.Funds, 1})
		accounts = append(accounts, []any{a.ID, a.PublicKey, w, at})
		if a.Funds > 0 {
			xfers = append(xfers, []any{fmt.Sprintf("seed:%d", w), onchain, w, a.Funds, int(store.CodeDeposit), "seed", at})
			total += a.Funds
		}
	}
	for _, ins := range []struct {
		head string
		rows [][]any
	}{
		{`INSERT INTO ledger_accounts (id, name, kind, created_at) VALUES `, ledgers},
		{`INSERT INTO balances (account_id, credits_posted, debits_must_not_exceed_credits) VALUES `, balances},
		{`INSERT INTO accounts (id, public_key, wallet_id, created_at) VALUES `, accounts},
		{`INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, code, ref, created_at) VALUES `, xfers},
	} {
		if err := db.insertRows(ctx, tx, ins.head, ins.rows); err != nil {
			return err
		}
	}
	if total > 0 {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE balances SET debits_posted = debits_posted + ? WHERE account_id = ?`), total, onchain); err != nil {
			return fmt.Errorf("debit the on-chain account: %w", err)
		}
	}
	return nil
}

// insertRows runs head (…), (…), … for rows, many rows per statement.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, head string, rows [][]any) error {
	const perStmt = 1000
	for len(rows) > 0 {
		n := min(len(rows), perStmt)
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", len(r)), ", ") + ")")
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, db.q(b.String()), args...); err != nil {
			return fmt.Errorf("%s…: %w", strings.Fields(head)[2], err)
		}
		rows = rows[n:]
	}
	return nil
}

// SeedShops inserts many shops in one transaction (benchmarks and load
// tests; no blob is written, so they can be bought but not fetched).
func (db *DB) SeedShops(ctx context.Context, shops []store.Shop) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, db.q(`INSERT INTO shops (id, uploader, payee, name, title, description, search, size,
			price_sats, content_hash, content_id, file_key, blob_size, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, s := range shops {
			if _, err := ins.ExecContext(ctx, s.ID, s.Uploader, s.Payee, s.Name, s.Title, s.Description,
				strings.ToLower(s.Title+"\n"+s.Name+"\n"+s.Description), s.Size, s.PriceSats, s.ContentHash, s.ContentID,
				s.FileKey, s.BlobSize, s.CreatedAt, s.UpdatedAt); err != nil {
				return fmt.Errorf("shop %s: %w", s.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed shops: %w", err)
	}
	return nil
}
