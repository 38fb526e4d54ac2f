package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/shopfile/shopfile/store"
)

// PostgreSQL (15, or an engine that speaks its dialect: see
// docs/postgres.md for what YugabyteDB would need). Several shopfile
// servers may share one database. The differences from SQLite are kept
// here and in the dialect: one pool serves reads and writes (PostgreSQL
// has no single-writer rule), COMMIT is durable by itself
// (synchronous_commit=on), write transactions that lose a deadlock or a
// serialisation race are retried, and the rows a transaction decides on
// are locked (rowLock) where SQLite's single writer made that implicit.

// Pool sizes for one server.
const (
	pgMaxConns     = 16
	pgMaxIdleConns = 8
)

// Transaction advisory lock keys ("shopfil" in ASCII, then a number):
// migrations, and the issue of deposit addresses. Leaderships use keys
// hashed from their names.
const (
	lockMigrate   int64 = 0x73686f7066696c00
	lockAddresses int64 = 0x73686f7066696c01
)

var postgresDialect = dialect{
	name:       "postgres",
	rebind:     dollarRebind,
	migrations: "migrations/postgres",
	forShare:   " FOR SHARE",
	rowLocks:   true,
}

// OpenPostgres connects to the database dsn names (a postgres:// URL or a
// key=value string) and migrates it. Several servers may open the same
// database at once: migrations run under an advisory lock.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(pgMaxConns)
	p.SetMaxIdleConns(pgMaxIdleConns)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres %s: %w", redactDSN(dsn), mapErr(err))
	}
	db := &DB{w: p, r: p, dialect: postgresDialect, now: time.Now, pgConfig: cfg}
	if err := db.migrate(ctx); err != nil {
		p.Close()
		return nil, err
	}
	if err := db.prepareHot(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return db, nil
}

// Driver names this store's engine: "sqlite" or "postgres".
func (db *DB) Driver() string { return db.dialect.name }

// pgConn opens a connection of its own, outside the pool: for LISTEN and
// for session-level advisory locks, which belong to one connection.
func (db *DB) pgConn(ctx context.Context) (*pgx.Conn, error) {
	if db.pgConfig == nil {
		return nil, errors.New("not a PostgreSQL store")
	}
	c, err := pgx.ConnectConfig(ctx, db.pgConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres connection: %w", err)
	}
	return c, nil
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// SQLSTATEs the store maps (PostgreSQL appendix A).
const (
	pgUniqueViolation      = "23505"
	pgCheckViolation       = "23514"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgDiskFull             = "53100"
	pgIOError              = "58030"
	pgDataCorrupted        = "XX001"
	pgIndexCorrupted       = "XX002"
)

// errRetry marks a transaction that lost a race the engine detected (a
// deadlock or a serialisation failure): running it again may succeed.
var errRetry = errors.New("transaction lost a race; retry")

// mapPgErr maps a PostgreSQL error; nil when it is not one.
func mapPgErr(err error) error {
	switch pgCode(err) {
	case "":
		return nil
	case pgUniqueViolation:
		return fmt.Errorf("%w: %w", store.ErrDuplicate, err)
	case pgCheckViolation:
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case pgSerializationFailure, pgDeadlockDetected:
		// ErrConflict, not ErrUnavailable: the ledger retries the batch
		// op by op instead of failing closed.
		return fmt.Errorf("%w: %w: %w", store.ErrConflict, errRetry, err)
	case pgDiskFull, pgIOError, pgDataCorrupted, pgIndexCorrupted:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// retryable reports whether a failed transaction may succeed if run again.
func retryable(err error) bool { return errors.Is(err, errRetry) }

// maxTxAttempts bounds the runs of one write transaction that keeps
// losing deadlocks or serialisation races.
const maxTxAttempts = 5

// retryBackoff waits a little, more after each attempt, with jitter so
// two servers that deadlocked do not collide again in step.
func retryBackoff(ctx context.Context, attempt int) error {
	ms := int64(2 << min(attempt, 6))
	n, err := rand.Int(rand.Reader, big.NewInt(ms*1000))
	d := time.Duration(ms) * time.Millisecond
	if err == nil {
		d = time.Duration(n.Int64()) * time.Microsecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// rowLock locks the rows of table whose column equals key until the
// transaction ends, so what the transaction reads next is the newest
// committed state and stays so. PostgreSQL only: SQLite's one writer
// connection already serialises every write transaction.
func (db *DB) rowLock(ctx context.Context, tx *sql.Tx, table, column string, key any) error {
	if !db.dialect.rowLocks {
		return nil
	}
	rows, err := tx.QueryContext(ctx, db.q(`SELECT 1 FROM `+table+` WHERE `+column+` = ? FOR UPDATE`), key)
	if err != nil {
		return fmt.Errorf("lock %s %v: %w", table, key, err)
	}
	return rows.Close()
}

// redactDSN hides a password in a DSN for messages.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	if strings.Contains(dsn, "password") {
		return "(a key=value DSN with a password)"
	}
	return dsn
}

// TempDatabase creates a fresh, empty database on the server dsn points at
// (whose role may create databases) and returns a DSN for it and a func
// that drops it. Tests and benchmarks use it so every run starts clean.
func TempDatabase(ctx context.Context, dsn, prefix string) (string, func() error, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("postgres dsn: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	name := prefix + "_" + hex.EncodeToString(b[:])
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("postgres %s: %w", redactDSN(dsn), err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	out, err := withDatabase(dsn, name)
	if err != nil {
		return "", nil, err
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return out, drop, nil
}

// withDatabase returns dsn naming database name instead.
func withDatabase(dsn, name string) (string, error) {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String(), nil
	}
	// key=value form: a later dbname wins.
	return dsn + " dbname=" + name, nil
}
