package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shopfile/shopfile/store"
)

const shopColumns = `s.id, s.uploader, s.payee, s.name, s.title, s.description, s.size, s.price_sats,
	s.content_hash, s.content_id, s.file_key, s.blob_size, s.frozen, s.created_at, s.updated_at`

func scanShop(row interface{ Scan(...any) error }, s *store.Shop) error {
	var frozen int
	if err := row.Scan(&s.ID, &s.Uploader, &s.Payee, &s.Name, &s.Title, &s.Description, &s.Size, &s.PriceSats,
		&s.ContentHash, &s.ContentID, &s.FileKey, &s.BlobSize, &frozen, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return err
	}
	s.Frozen = frozen != 0
	return nil
}

// CreateShop inserts a new shop.
func (db *DB) CreateShop(ctx context.Context, s *store.Shop) error {
	search := strings.ToLower(s.Title + "\n" + s.Name + "\n" + s.Description)
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO shops (id, uploader, payee, name, title, description, search, size,
			price_sats, content_hash, content_id, file_key, blob_size, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			s.ID, s.Uploader, s.Payee, s.Name, s.Title, s.Description, search, s.Size,
			s.PriceSats, s.ContentHash, s.ContentID, s.FileKey, s.BlobSize, s.CreatedAt, s.UpdatedAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("create shop %s: %w", s.ID, err)
	}
	return nil
}

// Shop loads one shop with its sales count.
func (db *DB) Shop(ctx context.Context, id string) (*store.Shop, error) {
	if p := db.pending; p != nil { // sales not yet counted in shop_sales
		p.mu.RLock()
		defer p.mu.RUnlock()
	}
	s := &store.Shop{}
	row := db.r.QueryRowContext(ctx, db.q(`SELECT `+shopColumns+`, COALESCE((SELECT n FROM shop_sales ss WHERE ss.shop_id = s.id), 0)
		FROM shops s WHERE s.id = ?`), id)
	var frozen int
	err := row.Scan(&s.ID, &s.Uploader, &s.Payee, &s.Name, &s.Title, &s.Description, &s.Size, &s.PriceSats,
		&s.ContentHash, &s.ContentID, &s.FileKey, &s.BlobSize, &frozen, &s.CreatedAt, &s.UpdatedAt, &s.Sales)
	if err != nil {
		return nil, fmt.Errorf("shop %s: %w", id, mapErr(err))
	}
	s.Frozen = frozen != 0
	if db.pending != nil {
		s.Sales += db.pending.pendingSales(id)
	}
	return s, nil
}

// ListShops returns one page of shops matching q, searched and sorted by
// the database so a session never holds the whole catalogue.
func (db *DB) ListShops(ctx context.Context, q store.ShopQuery) (store.ShopPage, error) {
	where, args := shopFilter(q)
	var page store.ShopPage
	if err := db.r.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM shops s`+where), args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count shops: %w", err)
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query := `SELECT ` + shopColumns + ` FROM shops s` + where + ` ORDER BY ` + shopOrder(q.Sort) + ` LIMIT ? OFFSET ?`
	rows, err := db.r.QueryContext(ctx, db.q(query), append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return page, fmt.Errorf("list shops: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s store.Shop
		if err := scanShop(rows, &s); err != nil {
			return page, fmt.Errorf("list shops: %w", err)
		}
		page.Shops = append(page.Shops, s)
	}
	return page, rows.Err()
}

func shopFilter(q store.ShopQuery) (string, []any) {
	var conds []string
	var args []any
	for _, word := range strings.Fields(strings.ToLower(q.Text)) {
		conds = append(conds, `s.search LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(word)+"%")
	}
	if q.Party != "" {
		conds = append(conds, `(s.uploader = ? OR s.payee = ?)`)
		args = append(args, q.Party, q.Party)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func shopOrder(sort string) string {
	switch sort {
	case store.SortPriceAsc:
		return "s.price_sats ASC, s.id ASC"
	case store.SortPriceDesc:
		return "s.price_sats DESC, s.id ASC"
	default:
		return "s.created_at DESC, s.id DESC"
	}
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// SetPrice reprices a shop if payee is still its payee and it is not frozen.
func (db *DB) SetPrice(ctx context.Context, id, payee string, price int64, at int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE shops SET price_sats = ?, updated_at = ?
			WHERE id = ? AND payee = ? AND frozen = 0`), price, at, id, payee))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrConflict
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reprice %s: %w", id, err)
	}
	return nil
}
