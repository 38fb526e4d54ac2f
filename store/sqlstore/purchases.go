package sqlstore

import (
	"context"
	"fmt"

	"github.com/shopfile/shopfile/store"
)

const purchaseColumns = `p.id, p.buyer, p.shop_id, p.price_sats, p.fee_sats, p.payee, p.created_at`

// Purchase loads a purchase by id.
func (db *DB) Purchase(ctx context.Context, id string) (*store.Purchase, error) {
	p := &store.Purchase{}
	err := db.r.QueryRowContext(ctx, db.q(`SELECT `+purchaseColumns+` FROM purchases p WHERE p.id = ?`), id).
		Scan(&p.ID, &p.Buyer, &p.Shop, &p.PriceSats, &p.FeeSats, &p.Payee, &p.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("purchase %s: %w", id, mapErr(err))
	}
	return p, nil
}

// On SQLite who owns what is in entitlements up to the buyer wallet's
// legs_through (or swept_through) and in the newest purchase rows after it
// (0009, deferred.go): one statement reads both, so it sees each purchase
// exactly once whichever side of a sweep it reads.
//
// The wallet and the tail's start are scalar subqueries, constants to the
// planner, so every SQLite picks a range scan of the newest rows (a join to
// a CTE let an older SQLite scan all of purchases).
const (
	// walletOf is the wallet of account ?1.
	walletOf = `(SELECT wallet_id FROM accounts WHERE id = ?1)`
	// inOwnedTail: purchase p is one of that wallet's not yet in
	// entitlements.
	inOwnedTail = `p.seq > (SELECT MAX(b.legs_through, s.swept_through) FROM balances b, ledger_state s
		WHERE b.account_id = ` + walletOf + `) AND p.buyer_wallet = ` + walletOf
	// ownedBy: the CTE mine, the seqs of that wallet's purchases.
	ownedBy = `WITH mine(seq) AS (SELECT e.purchase FROM entitlements e WHERE e.wallet = ` + walletOf + `
		UNION ALL SELECT p.seq FROM purchases p WHERE ` + inOwnedTail + `)`
)

// PurchaseFor loads buyer's purchase of shop.
func (db *DB) PurchaseFor(ctx context.Context, buyer, shop string) (*store.Purchase, error) {
	p := &store.Purchase{}
	q := db.q(`SELECT ` + purchaseColumns + ` FROM purchases p WHERE p.buyer = ? AND p.shop_id = ?`)
	if db.dialect.creditLegs {
		q = `SELECT ` + purchaseColumns + ` FROM entitlements e JOIN purchases p ON p.seq = e.purchase
			WHERE e.wallet = ` + walletOf + ` AND e.shop_id = ?2
		UNION ALL
		SELECT ` + purchaseColumns + ` FROM purchases p WHERE ` + inOwnedTail + ` AND p.shop_id = ?2
		LIMIT 1`
	}
	err := db.r.QueryRowContext(ctx, q, buyer, shop).
		Scan(&p.ID, &p.Buyer, &p.Shop, &p.PriceSats, &p.FeeSats, &p.Payee, &p.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("purchase of %s by %s: %w", shop, buyer, mapErr(err))
	}
	return p, nil
}

// Library lists what buyer bought, newest first.
func (db *DB) Library(ctx context.Context, buyer string, limit int) ([]store.LibraryItem, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := db.q(`SELECT ` + purchaseColumns + `, COALESCE(s.title, ''), COALESCE(s.name, '') FROM purchases p
		LEFT JOIN shops s ON s.id = p.shop_id WHERE p.buyer = ? ORDER BY p.created_at DESC, p.id DESC LIMIT ?`)
	if db.dialect.creditLegs {
		q = ownedBy + ` SELECT ` + purchaseColumns + `, COALESCE(s.title, ''), COALESCE(s.name, '') FROM mine
			JOIN purchases p ON p.seq = mine.seq LEFT JOIN shops s ON s.id = p.shop_id
			ORDER BY p.created_at DESC, p.id DESC LIMIT ?2`
	}
	rows, err := db.r.QueryContext(ctx, q, buyer, limit)
	if err != nil {
		return nil, fmt.Errorf("library of %s: %w", buyer, err)
	}
	defer rows.Close()
	out := []store.LibraryItem{}
	for rows.Next() {
		var it store.LibraryItem
		if err := rows.Scan(&it.ID, &it.Buyer, &it.Shop, &it.PriceSats, &it.FeeSats, &it.Payee, &it.CreatedAt, &it.Title, &it.Name); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
