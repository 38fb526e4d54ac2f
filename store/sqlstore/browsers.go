package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopfile/shopfile/store"
)

// Paired browsers (see store.BrowserStore). Every cap check and the write
// it guards share one write transaction; the session row is touched first,
// so on an engine with row locks two clicks of one session queue there.

// CreatePairing records a pairing link, rate limited per account.
func (db *DB) CreatePairing(ctx context.Context, p *store.Pairing, since int64, maxRecent int) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		// The account's row serialises its pairings across servers.
		if err := db.rowLock(ctx, tx, "accounts", "id", p.Account); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM browser_pairings WHERE account_id = ? AND created_at >= ?`),
			p.Account, since).Scan(&n); err != nil {
			return err
		}
		if n >= maxRecent {
			return store.ErrRateLimited
		}
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO browser_pairings (token_hash, account_id, per_purchase_cap, daily_cap, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`), p.TokenHash, p.Account, p.PerPurchaseCap, p.DailyCap, p.CreatedAt, p.ExpiresAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("pairing link for %s: %w", p.Account, err)
	}
	return nil
}

const pairingCols = `token_hash, account_id, per_purchase_cap, daily_cap, created_at, expires_at, used_at, session_id`

func scanPairing(r scanner) (*store.Pairing, error) {
	p := &store.Pairing{}
	err := r.Scan(&p.TokenHash, &p.Account, &p.PerPurchaseCap, &p.DailyCap, &p.CreatedAt, &p.ExpiresAt, &p.UsedAt, &p.Session)
	return p, err
}

// Pairing returns a live pairing link.
func (db *DB) Pairing(ctx context.Context, tokenHash string, at int64) (*store.Pairing, error) {
	p, err := scanPairing(db.r.QueryRowContext(ctx, db.q(`SELECT `+pairingCols+` FROM browser_pairings
		WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`), tokenHash, at))
	if err != nil {
		return nil, fmt.Errorf("pairing link: %w", mapErr(err))
	}
	return p, nil
}

// ConsumePairing uses a link once and creates its session.
func (db *DB) ConsumePairing(ctx context.Context, tokenHash string, s *store.BrowserSession) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE browser_pairings SET used_at = ?, session_id = ?
			WHERE token_hash = ? AND used_at = 0 AND expires_at > ?`), s.CreatedAt, s.ID, tokenHash, s.CreatedAt))
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("unknown, used or expired: %w", store.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, db.q(`SELECT account_id FROM browser_pairings WHERE token_hash = ?`), tokenHash).Scan(&s.Account); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO browser_sessions (id, secret_hash, account_id, label, per_purchase_cap, daily_cap,
			created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			s.ID, s.SecretHash, s.Account, s.Label, s.PerPurchaseCap, s.DailyCap, s.CreatedAt, s.CreatedAt, s.ExpiresAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("pairing link: %w", err)
	}
	return nil
}

// sessionCols reads a session and what it spent on day (the first ?).
const sessionCols = `SELECT s.id, s.secret_hash, s.account_id, s.label, s.per_purchase_cap, s.daily_cap,
	CAST(COALESCE((SELECT SUM(p.amount) FROM browser_payments p WHERE p.session_id = s.id AND p.day = ?), 0) AS BIGINT),
	s.created_at, s.last_used_at, s.expires_at, s.revoked_at FROM browser_sessions s`

func scanSession(r scanner) (*store.BrowserSession, error) {
	s := &store.BrowserSession{}
	err := r.Scan(&s.ID, &s.SecretHash, &s.Account, &s.Label, &s.PerPurchaseCap, &s.DailyCap, &s.SpentToday,
		&s.CreatedAt, &s.LastUsedAt, &s.ExpiresAt, &s.RevokedAt)
	return s, err
}

// BrowserSession returns a live session by its secret's hash.
func (db *DB) BrowserSession(ctx context.Context, secretHash string, at, day int64) (*store.BrowserSession, error) {
	s, err := scanSession(db.r.QueryRowContext(ctx, db.q(sessionCols+` WHERE s.secret_hash = ? AND s.revoked_at = 0 AND s.expires_at > ?`),
		day, secretHash, at))
	if err != nil {
		return nil, fmt.Errorf("browser session: %w", mapErr(err))
	}
	return s, nil
}

// BrowserSessions lists an account's live sessions, newest first.
func (db *DB) BrowserSessions(ctx context.Context, account string, at, day int64) ([]store.BrowserSession, error) {
	rows, err := db.r.QueryContext(ctx, db.q(sessionCols+` WHERE s.account_id = ? AND s.revoked_at = 0 AND s.expires_at > ?
		ORDER BY s.created_at DESC, s.id DESC LIMIT 1000`), day, account, at)
	if err != nil {
		return nil, fmt.Errorf("browser sessions of %s: %w", account, err)
	}
	defer rows.Close()
	out := []store.BrowserSession{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("browser sessions of %s: %w", account, err)
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

// RevokeBrowserSession ends a session of the account's.
func (db *DB) RevokeBrowserSession(ctx context.Context, account, id string, at int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE browser_sessions SET revoked_at = ?
			WHERE id = ? AND account_id = ? AND revoked_at = 0`), at, id, account))
		if err != nil {
			return err
		}
		if n != 1 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke browser session %s: %w", id, err)
	}
	return nil
}

const paymentCols = `SELECT session_id, click, shop_id, day, amount, status, purchase_id, confirmed, created_at, updated_at
	FROM browser_payments WHERE session_id = ? AND click = ?`

func scanPayment(r scanner) (*store.BrowserPayment, error) {
	p := &store.BrowserPayment{}
	var confirmed int
	err := r.Scan(&p.Session, &p.Click, &p.Shop, &p.Day, &p.Amount, &p.Status, &p.Purchase, &confirmed, &p.CreatedAt, &p.UpdatedAt)
	p.Confirmed = confirmed != 0
	return p, err
}

// ReserveBrowserSpend reserves a click's amount against the session's caps.
func (db *DB) ReserveBrowserSpend(ctx context.Context, p *store.BrowserPayment, guard bool, staleBefore int64) (*store.BrowserPayment, bool, error) {
	var got *store.BrowserPayment
	fresh := false
	err := db.write(ctx, func(tx *sql.Tx) error {
		got, fresh = nil, false
		// Touch the session first: it must be live, and on engines with
		// row locks this serialises the session's clicks.
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE browser_sessions SET last_used_at = ?
			WHERE id = ? AND revoked_at = 0 AND expires_at > ?`), p.CreatedAt, p.Session, p.CreatedAt))
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("the browser session is revoked or expired: %w", store.ErrNotFound)
		}
		old, err := scanPayment(tx.QueryRowContext(ctx, db.q(paymentCols), p.Session, p.Click))
		switch {
		case err == nil:
			if old.Status == store.BrowserReserved && old.UpdatedAt < staleBefore {
				if _, err := tx.ExecContext(ctx, db.q(`UPDATE browser_payments SET updated_at = ? WHERE session_id = ? AND click = ?`),
					p.CreatedAt, p.Session, p.Click); err != nil {
					return err
				}
				old.UpdatedAt, fresh = p.CreatedAt, true
			}
			got = old
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if guard {
			var perPurchase, daily, spent int64
			if err := tx.QueryRowContext(ctx, db.q(`SELECT per_purchase_cap, daily_cap,
				CAST(COALESCE((SELECT SUM(amount) FROM browser_payments WHERE session_id = ? AND day = ?), 0) AS BIGINT)
				FROM browser_sessions WHERE id = ?`), p.Session, p.Day, p.Session).Scan(&perPurchase, &daily, &spent); err != nil {
				return err
			}
			if p.Amount > perPurchase || spent+p.Amount > daily {
				return store.ErrOverCap
			}
		}
		confirmed := 0
		if p.Confirmed {
			confirmed = 1
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO browser_payments (session_id, click, shop_id, day, amount, status, confirmed, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), p.Session, p.Click, p.Shop, p.Day, p.Amount, store.BrowserReserved, confirmed,
			p.CreatedAt, p.CreatedAt); err != nil {
			return err
		}
		cp := *p
		cp.Status, cp.UpdatedAt = store.BrowserReserved, p.CreatedAt
		got, fresh = &cp, true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("reserve %d sats for browser session %s: %w", p.Amount, p.Session, err)
	}
	return got, fresh, nil
}

// SettleBrowserSpend marks a reservation paid.
func (db *DB) SettleBrowserSpend(ctx context.Context, session, click, purchase string, amount, at int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, db.q(`UPDATE browser_payments SET status = ?, purchase_id = ?, amount = ?, updated_at = ?
			WHERE session_id = ? AND click = ? AND status = ?`), store.BrowserPaid, purchase, amount, at, session, click, store.BrowserReserved))
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("no reservation: %w", store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle browser payment %s: %w", click, err)
	}
	return nil
}

// ReleaseBrowserSpend drops a reservation.
func (db *DB) ReleaseBrowserSpend(ctx context.Context, session, click string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM browser_payments WHERE session_id = ? AND click = ? AND status = ?`),
			session, click, store.BrowserReserved)
		return err
	})
	if err != nil {
		return fmt.Errorf("release browser payment %s: %w", click, err)
	}
	return nil
}
