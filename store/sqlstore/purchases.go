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

// PurchaseFor loads buyer's purchase of shop.
func (db *DB) PurchaseFor(ctx context.Context, buyer, shop string) (*store.Purchase, error) {
	p := &store.Purchase{}
	err := db.r.QueryRowContext(ctx, db.q(`SELECT `+purchaseColumns+` FROM purchases p WHERE p.buyer = ? AND p.shop_id = ?`), buyer, shop).
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
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT `+purchaseColumns+`, COALESCE(s.title, ''), COALESCE(s.name, '') FROM purchases p
		LEFT JOIN shops s ON s.id = p.shop_id WHERE p.buyer = ? ORDER BY p.created_at DESC, p.id DESC LIMIT ?`), buyer, limit)
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
