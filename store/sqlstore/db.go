// Package sqlstore implements store.Store over database/sql. Queries are
// written once, with ? placeholders, in the SQL subset SQLite and
// PostgreSQL share; a dialect rebinds them and supplies the migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/shopfile/shopfile/store"
)

// DB is a store.Store over one writer and a pool of readers. On SQLite the
// writer is a single connection, so every write transaction is serialised
// without lock waits; readers run beside it thanks to WAL.
type DB struct {
	w, r    *sql.DB
	dialect dialect
	now     func() time.Time
}

var _ store.Store = (*DB)(nil)

// OpenSQLite opens (creating) the database at path and migrates it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// synchronous=FULL: a purchase acknowledged after COMMIT survives power
	// loss, not just a crash of this process (research/ledger-scale.md §2).
	wdsn := "file:" + abs + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000" +
		"&_txlock=immediate&_foreign_keys=1&_cache_size=-131072"
	w, err := sql.Open("sqlite3", wdsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{w: w, dialect: sqliteDialect, now: time.Now}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	for _, pragma := range []string{"PRAGMA temp_store=MEMORY", "PRAGMA journal_size_limit=67108864", "PRAGMA wal_autocheckpoint=4000"} {
		if _, err := w.ExecContext(ctx, pragma); err != nil {
			w.Close()
			return nil, fmt.Errorf("open %s: %s: %w", path, pragma, err)
		}
	}
	rdsn := "file:" + abs + "?mode=ro&_busy_timeout=10000&_query_only=1&_cache_size=-32768"
	r, err := sql.Open("sqlite3", rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db.r = r
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	_, _ = db.w.Exec("PRAGMA optimize")
	return errors.Join(db.r.Close(), db.w.Close())
}

func (db *DB) micros() int64 { return db.now().UnixMicro() }

// q rebinds a query for this dialect.
func (db *DB) q(query string) string { return db.dialect.rebind(query) }

// write runs fn in one write transaction.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

// mapErr turns driver errors into the store's own.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return fmt.Errorf("%w: %w", store.ErrDuplicate, err)
		case sqlite3.ErrConstraintCheck:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
		switch se.Code {
		case sqlite3.ErrIoErr, sqlite3.ErrFull, sqlite3.ErrCorrupt, sqlite3.ErrCantOpen, sqlite3.ErrReadonly, sqlite3.ErrNotADB:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	return err
}

type dialect struct {
	name       string
	rebind     func(string) string
	migrations string // directory inside the embedded migrations
}

var sqliteDialect = dialect{name: "sqlite", rebind: func(q string) string { return q }, migrations: "migrations/sqlite"}

// dollarRebind turns ? placeholders into $1, $2, … for PostgreSQL.
func dollarRebind(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// rowsAffected reports how many rows an Exec changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
