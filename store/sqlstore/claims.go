package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopfile/shopfile/store"
)

const claimColumns = `id, match_id, shop_id, holder, uploader, status, prev_payee, prev_price, price, COALESCE(escrow_account, 0), reason, created_at, updated_at`

func scanClaim(row interface{ Scan(...any) error }, c *store.Claim) error {
	return row.Scan(&c.ID, &c.Match, &c.Shop, &c.Holder, &c.Uploader, &c.Status, &c.PrevPayee, &c.PrevPrice, &c.Price, &c.Escrow,
		&c.Reason, &c.CreatedAt, &c.UpdatedAt)
}

func (db *DB) claimTx(ctx context.Context, tx *sql.Tx, id string) (*store.Claim, error) {
	c := &store.Claim{}
	if err := scanClaim(tx.QueryRowContext(ctx, db.q(`SELECT `+claimColumns+` FROM claims WHERE id = ?`), id), c); err != nil {
		return nil, fmt.Errorf("claim %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ApproveMatch makes the match's holder the shop's payee, sets the price,
// and records the claim and its first audit entry, in one transaction.
func (db *DB) ApproveMatch(ctx context.Context, p store.ApproveParams) (*store.Claim, error) {
	var c *store.Claim
	err := db.write(ctx, func(tx *sql.Tx) error {
		var holder, status, shop string
		err := tx.QueryRowContext(ctx, db.q(`SELECT holder, status, shop_id FROM matches WHERE id = ?`), p.MatchID).Scan(&holder, &status, &shop)
		if err != nil {
			return fmt.Errorf("match %s: %w", p.MatchID, mapErr(err))
		}
		if db.dialect.rowLocks {
			// Lock the shop, then read the match again: a second approval
			// of any match of this shop waits here and then sees the claim.
			if err := db.rowLock(ctx, tx, "shops", "id", shop); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, db.q(`SELECT holder, status FROM matches WHERE id = ?`), p.MatchID).Scan(&holder, &status); err != nil {
				return fmt.Errorf("match %s: %w", p.MatchID, mapErr(err))
			}
		}
		if holder != p.Holder || status != store.MatchOpen {
			return fmt.Errorf("match %s is %s: %w", p.MatchID, status, store.ErrConflict)
		}
		var payee, uploader string
		var price int64
		if err := tx.QueryRowContext(ctx, db.q(`SELECT payee, uploader, price_sats FROM shops WHERE id = ?`), shop).Scan(&payee, &uploader, &price); err != nil {
			return fmt.Errorf("shop %s: %w", shop, mapErr(err))
		}
		var open int
		if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM claims WHERE shop_id = ? AND status IN ('active', 'disputed')`), shop).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return fmt.Errorf("shop %s: %w", shop, store.ErrClaimed)
		}
		newPrice := price
		if p.Price > 0 {
			newPrice = p.Price
		}
		c = &store.Claim{ID: p.ClaimID, Match: p.MatchID, Shop: shop, Holder: p.Holder, Uploader: uploader, Status: store.ClaimActive,
			PrevPayee: payee, PrevPrice: price, Price: newPrice, CreatedAt: p.At, UpdatedAt: p.At}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO claims (id, match_id, shop_id, holder, uploader, status, prev_payee, prev_price, price, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), c.ID, c.Match, c.Shop, c.Holder, c.Uploader, c.Status, c.PrevPayee, c.PrevPrice, c.Price,
			c.CreatedAt, c.UpdatedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE shops SET payee = ?, price_sats = ?, updated_at = ? WHERE id = ?`), p.Holder, newPrice, p.At, shop); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE matches SET status = 'approved', updated_at = ? WHERE id = ?`), p.At, p.MatchID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, c.ID, p.Holder, "approved", p.Note, p.At)
	})
	if err != nil {
		return nil, fmt.Errorf("approve %s: %w", p.MatchID, err)
	}
	return c, nil
}

// DisputeClaim moves an active claim to disputed: the price freezes and
// the payee's share of new sales goes to a fresh escrow account.
func (db *DB) DisputeClaim(ctx context.Context, id, uploader, reason string, at int64) (*store.Claim, error) {
	var c *store.Claim
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := db.rowLock(ctx, tx, "claims", "id", id); err != nil {
			return err
		}
		var err error
		if c, err = db.claimTx(ctx, tx, id); err != nil {
			return err
		}
		if c.Uploader != uploader || c.Status != store.ClaimActive {
			return fmt.Errorf("claim %s is %s: %w", id, c.Status, store.ErrConflict)
		}
		escrow, err := db.createLedgerAccount(ctx, tx, "escrow:claim:"+id, store.KindLiability, false)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE claims SET status = 'disputed', escrow_account = ?, reason = ?, updated_at = ? WHERE id = ?`),
			escrow, reason, at, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE shops SET frozen = 1, escrow_account = ?, updated_at = ? WHERE id = ?`), escrow, at, c.Shop); err != nil {
			return err
		}
		c.Status, c.Escrow, c.Reason, c.UpdatedAt = store.ClaimDisputed, escrow, reason, at
		return db.appendEvent(ctx, tx, id, uploader, "disputed", reason, at)
	})
	if err != nil {
		return nil, fmt.Errorf("dispute %s: %w", id, err)
	}
	return c, nil
}

// ResolveClaim ends a dispute: the escrow goes to the winner and, on
// reverse, the payee and price from before the claim come back.
func (db *DB) ResolveClaim(ctx context.Context, id, admin, decision string, at int64) (*store.Claim, error) {
	var c *store.Claim
	err := db.writeLedger(ctx, func(tx *sql.Tx) error {
		if err := db.rowLock(ctx, tx, "claims", "id", id); err != nil {
			return err
		}
		var err error
		if c, err = db.claimTx(ctx, tx, id); err != nil {
			return err
		}
		if c.Status != store.ClaimDisputed {
			return fmt.Errorf("claim %s is %s, not disputed: %w", id, c.Status, store.ErrConflict)
		}
		// The shop before any balance: a ledger batch share-locks the shop
		// first too, so the two queue instead of deadlocking.
		if err := db.rowLock(ctx, tx, "shops", "id", c.Shop); err != nil {
			return err
		}
		winner, status := c.Holder, store.ClaimUpheld
		if decision == store.Reverse {
			winner, status = c.Uploader, store.ClaimReversed
		}
		released, err := db.releaseEscrow(ctx, tx, c, winner)
		if err != nil {
			return err
		}
		if decision == store.Reverse {
			if _, err := tx.ExecContext(ctx, db.q(`UPDATE shops SET payee = ?, price_sats = ? WHERE id = ?`), c.PrevPayee, c.PrevPrice, c.Shop); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE shops SET frozen = 0, escrow_account = NULL, updated_at = ? WHERE id = ?`), at, c.Shop); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE claims SET status = ?, updated_at = ? WHERE id = ?`), status, at, id); err != nil {
			return err
		}
		c.Status, c.UpdatedAt = status, at
		body := fmt.Sprintf(`{"decision":%q,"escrow_released_sats":%d,"to":%q}`, decision, released, winner)
		return db.appendEvent(ctx, tx, id, admin, "resolved", body, at)
	})
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", id, err)
	}
	return c, nil
}

// releaseEscrow pays the whole escrow balance to the winner's wallet.
func (db *DB) releaseEscrow(ctx context.Context, tx *sql.Tx, c *store.Claim, winner string) (int64, error) {
	if c.Escrow == 0 {
		return 0, nil
	}
	var held int64
	if err := tx.QueryRowContext(ctx, db.q(`SELECT credits_posted - debits_posted FROM balances WHERE account_id = ?`), c.Escrow).Scan(&held); err != nil {
		return 0, err
	}
	if held <= 0 {
		return 0, nil
	}
	var wallet int64
	if err := tx.QueryRowContext(ctx, db.q(`SELECT wallet_id FROM accounts WHERE id = ?`), winner).Scan(&wallet); err != nil {
		return 0, fmt.Errorf("wallet of %s: %w", winner, mapErr(err))
	}
	t := store.Transfer{ID: "escrow-release:" + c.ID, Debit: c.Escrow, Credit: wallet, Amount: held, Code: store.CodeRelease, Ref: c.Shop}
	return held, db.postTransfer(ctx, tx, t)
}

// appendEvent adds an audit entry chained to the claim's previous one.
func (db *DB) appendEvent(ctx context.Context, tx *sql.Tx, claim, actor, kind, body string, at int64) error {
	prev := ""
	err := tx.QueryRowContext(ctx, db.q(`SELECT hash FROM claim_events WHERE claim_id = ? ORDER BY seq DESC LIMIT 1`), claim).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	h := store.EventHash(prev, claim, actor, kind, body, at)
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO claim_events (claim_id, actor, kind, body, at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		claim, actor, kind, body, at, prev, h)
	return err
}

// Claim loads one claim.
func (db *DB) Claim(ctx context.Context, id string) (*store.Claim, error) {
	c := &store.Claim{}
	if err := scanClaim(db.r.QueryRowContext(ctx, db.q(`SELECT `+claimColumns+` FROM claims WHERE id = ?`), id), c); err != nil {
		return nil, fmt.Errorf("claim %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ShopClaim returns the shop's open (active or disputed) claim.
func (db *DB) ShopClaim(ctx context.Context, shop string) (*store.Claim, error) {
	c := &store.Claim{}
	err := scanClaim(db.r.QueryRowContext(ctx, db.q(`SELECT `+claimColumns+` FROM claims
		WHERE shop_id = ? AND status IN ('active', 'disputed') ORDER BY created_at DESC LIMIT 1`), shop), c)
	if err != nil {
		return nil, fmt.Errorf("claim on %s: %w", shop, mapErr(err))
	}
	return c, nil
}

// Claims lists the claims party is in, or all of them.
func (db *DB) Claims(ctx context.Context, party string) ([]store.Claim, error) {
	query, args := `SELECT `+claimColumns+` FROM claims`, []any{}
	if party != "" {
		query += ` WHERE holder = ? OR uploader = ?`
		args = append(args, party, party)
	}
	rows, err := db.r.QueryContext(ctx, db.q(query+` ORDER BY created_at DESC, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	defer rows.Close()
	out := []store.Claim{}
	for rows.Next() {
		var c store.Claim
		if err := scanClaim(rows, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimEvents lists a claim's audit log, oldest first.
func (db *DB) ClaimEvents(ctx context.Context, id string) ([]store.ClaimEvent, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT seq, claim_id, actor, kind, body, at, prev_hash, hash FROM claim_events
		WHERE claim_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", id, err)
	}
	defer rows.Close()
	out := []store.ClaimEvent{}
	for rows.Next() {
		var e store.ClaimEvent
		if err := rows.Scan(&e.Seq, &e.Claim, &e.Actor, &e.Kind, &e.Body, &e.At, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
