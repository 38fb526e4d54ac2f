// Package sqlstore implements store.Store over database/sql. Queries are
// written once, with ? placeholders, in the SQL subset SQLite and
// PostgreSQL share; a dialect rebinds them and supplies the migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mattn/go-sqlite3"
	"github.com/shopfile/shopfile/store"
)

// DB is a store.Store over one writer and a pool of readers. On SQLite the
// writer is a single connection, so every write transaction is serialised
// without lock waits; readers run beside it thanks to WAL. On PostgreSQL
// (postgres.go) one pool does both, and several servers may share it.
type DB struct {
	w, r    *sql.DB
	dialect dialect
	walPath string // the SQLite WAL, synced before acknowledging a write
	now     func() time.Time
	// hot holds the ledger batch's statements, prepared once on the
	// writer connection and reused by every batch (Tx.StmtContext).
	hot map[string]*sql.Stmt
	// writes counts write transactions other than ledger batches, so the
	// batch's shop-terms cache knows when a shop may have changed.
	writes atomic.Int64
	terms  termsCache
	ckpt   *checkpointer
	// pgConfig is set on PostgreSQL: dedicated connections (LISTEN,
	// advisory locks) are opened with it.
	pgConfig *pgx.ConnConfig
	// pending holds the legs not yet in the balance rows (deferred.go):
	// SQLite in the process that holds the ledger lock; nil elsewhere.
	pending *pendingLegs
	// ledgerElsewhere: another process holds this SQLite database's
	// ledger lock, so this one applies no ledger op.
	ledgerElsewhere bool
}

var _ store.Store = (*DB)(nil)

// Checkpointing. The writer never checkpoints in the normal course: a
// checkpoint copies WAL pages into the database file and fsyncs it, and
// with a million accounts those are thousands of random page writes,
// tens of milliseconds that every purchase of the next batch would wait
// for. A checkpointer goroutine on its own connection does it instead,
// beside the writer. The writer's own automatic checkpoint stays on as a
// backstop with a larger threshold: it also restarts the WAL from its
// beginning (only a writer can), and by then the checkpointer has already
// copied nearly every frame, so it costs little.
//
// Under steady load the checkpointer never quite catches up (the writer
// appends while it copies), so the WAL would only restart through that
// backstop, in the middle of some batch's COMMIT. Instead, when a pass of
// the checkpointer has copied every frame of a WAL past restartFrames, the
// ledger writer, between two batches, checkpoints the few frames committed
// since (restartWAL); its next transaction then starts the WAL afresh.
// That short checkpoint still waits for two fsyncs on a disk busy with the
// WAL and the checkpointer's writes (10-50 ms measured), so it comes
// rarely: every 128 MiB of WAL, about once a second at full load (with
// every 32 MiB the p99 of purchases was 55 ms, with 128 MiB 38 ms).
const (
	restartFrames = 32768 // 128 MiB
	// restartWithin: a caught-up pass older than this is stale (the
	// writer has appended too much since for a short checkpoint).
	restartWithin        = 20 * time.Millisecond
	writerAutoCheckpoint = 65536 // pages (256 MiB at 4 KiB)
	checkpointEvery      = 100 * time.Millisecond
	// writerCacheKiB is the ledger writer's page cache: small on purpose.
	// While a database is under 1 GiB, SQLite walks the writer's whole
	// page cache at the end of any transaction that split a B-tree page
	// out of order (balance_nonroot renumbers pages through the lock
	// page's number, 262145, and the cache is then truncated back to the
	// database's size). With 128 MiB that walk was 11 % of all CPU at a
	// million accounts; with 4 MiB purchases ran 1.3-1.6x faster. Pages
	// the writer does not keep come from the OS page cache instead.
	writerCacheKiB = 4096
	// A pass that copied more frames than this runs again at once.
	checkpointCatchUp = 2048
)

// OpenSQLite opens (creating) the database at path and migrates it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// The ledger lock first: only its keeper migrates (requireCurrentSchema).
	release, keeper, err := lockLedger(abs)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := openSQLite(ctx, abs, keeper)
	if err != nil {
		if keeper {
			_ = release()
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !keeper {
		db.ledgerElsewhere = true
		return db, nil
	}
	if err := db.keepLedger(ctx, release); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// openSQLite opens the connections and migrates (keeper) or checks the
// schema (another process keeps the ledger).
func openSQLite(ctx context.Context, abs string, keeper bool) (*DB, error) {
	// synchronous=NORMAL, with the WAL fsynced by syncWAL before anything
	// is acknowledged: every write is on stable storage before its caller
	// hears of it, exactly as with FULL (research/ledger-scale.md §2), but
	// the ledger's fsync of batch N runs while batch N+1 executes instead of
	// inside its COMMIT. Checkpoints still sync the WAL and the database.
	wdsn := "file:" + abs + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000" +
		"&_txlock=immediate&_foreign_keys=1&_cache_size=-" + strconv.Itoa(writerCacheKiB)
	w, err := sql.Open("sqlite3", wdsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{w: w, dialect: sqliteDialect, now: time.Now, walPath: abs + "-wal"}
	migrate := db.migrate
	if !keeper {
		migrate = db.requireCurrentSchema
	}
	if err := migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	for _, pragma := range []string{"PRAGMA temp_store=MEMORY", "PRAGMA journal_size_limit=268435456",
		fmt.Sprintf("PRAGMA wal_autocheckpoint=%d", writerAutoCheckpoint)} {
		if _, err := w.ExecContext(ctx, pragma); err != nil {
			w.Close()
			return nil, fmt.Errorf("%s: %w", pragma, err)
		}
	}
	if err := db.prepareHot(ctx); err != nil {
		w.Close()
		return nil, err
	}
	rdsn := "file:" + abs + "?mode=ro&_busy_timeout=10000&_query_only=1&_cache_size=-32768"
	r, err := sql.Open("sqlite3", rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("read-only: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	db.r = r
	ck, err := sql.Open("sqlite3", "file:"+abs+"?_synchronous=FULL&_busy_timeout=10000")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("for checkpoints: %w", err)
	}
	ck.SetMaxOpenConns(1)
	ck.SetMaxIdleConns(1)
	db.ckpt = newCheckpointer(ck)
	return db, nil
}

// keepLedger makes this process, which holds the ledger lock, the keeper
// of the database's pending legs, and rebuilds them.
func (db *DB) keepLedger(ctx context.Context, release func() error) error {
	p := newPendingLegs(db.now(), release)
	if err := p.recover(ctx, db.w); err != nil {
		_ = release()
		return err
	}
	db.pending = p
	go db.settleIdle(p)
	return nil
}

// checkpointer runs PASSIVE checkpoints on its own connection until
// stopped. A PASSIVE checkpoint never blocks the writer or the readers.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	// caughtUp is when a pass last copied every frame of a WAL past
	// restartFrames (Unix nanoseconds), 0 once the writer has used it.
	caughtUp atomic.Int64
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTimer(checkpointEvery)
	defer t.Stop()
	prev := 0
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// busy: another checkpoint (the writer's backstop) is running.
		// copied counts every frame copied since the WAL last restarted.
		// An error is left for the next pass: the writer's backstop still
		// checkpoints, and a failing disk fails the writer's own commits,
		// which stops the ledger (fail closed).
		var busy, logFrames, copied int
		err := c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied)
		if err == nil && busy == 0 && copied == logFrames && logFrames >= restartFrames {
			c.caughtUp.Store(time.Now().UnixNano())
		}
		delta := copied - prev
		if delta < 0 {
			delta = copied
		}
		prev = copied
		next := checkpointEvery
		if err == nil && busy == 0 && delta > checkpointCatchUp {
			next = 0
		}
		t.Reset(next)
	}
}

// restartWAL runs, on the writer connection, the short checkpoint that
// lets the next transaction restart a WAL the checkpointer has caught up
// with. A failure is left to the backstop.
func (db *DB) restartWAL(ctx context.Context) {
	if db.ckpt == nil {
		return
	}
	at := db.ckpt.caughtUp.Swap(0)
	if at == 0 || time.Since(time.Unix(0, at)) > restartWithin {
		return
	}
	_, _ = db.w.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}

// prepareHot prepares the ledger batch's statements on the writer.
func (db *DB) prepareHot(ctx context.Context) error {
	qs := db.hotStatements()
	db.hot = make(map[string]*sql.Stmt, len(qs))
	for _, q := range qs {
		s, err := db.w.PrepareContext(ctx, db.q(q))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		db.hot[q] = s
	}
	return nil
}

// Close applies the pending legs, stops the checkpointer and closes both
// pools.
func (db *DB) Close() error {
	var ckErr, flushErr, lockErr error
	if db.pending != nil {
		close(db.pending.stop)
		<-db.pending.done
		// Not needed for safety (the next open rebuilds them); it leaves
		// the balance rows complete for whoever reads the file next. The
		// lock goes last, once this process can write nothing more.
		flushErr = db.writeLedger(context.Background(), func(*sql.Tx) error { return nil })
	}
	if db.ckpt != nil {
		ckErr = db.ckpt.close()
	}
	for _, s := range db.hot {
		_ = s.Close()
	}
	if db.r == db.w { // PostgreSQL: one pool
		return db.w.Close()
	}
	_, _ = db.w.Exec("PRAGMA optimize")
	rErr := error(nil)
	if db.r != nil {
		rErr = db.r.Close()
	}
	wErr := db.w.Close()
	if db.pending != nil {
		lockErr = db.pending.release()
	}
	return errors.Join(flushErr, lockErr, ckErr, rErr, wErr)
}

func (db *DB) micros() int64 { return db.now().UnixMicro() }

// q rebinds a query for this dialect.
func (db *DB) q(query string) string { return db.dialect.rebind(query) }

// write runs fn in one write transaction. On PostgreSQL a transaction
// that lost a deadlock or a serialisation race is run again from the
// start (fn must only set its results, never accumulate them).
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := db.retry(ctx, func() error {
		return db.inTx(ctx, func(tx *sql.Tx) error {
			db.writes.Add(1) // holding the writer connection: no batch is running
			return fn(tx)
		})
	})
	if p := db.pending; p != nil {
		// Such writes move no money (writeLedger does), but the cached
		// balance rows are cheap to read again.
		p.mu.Lock()
		clear(p.rows)
		p.mu.Unlock()
	}
	if err != nil {
		return err
	}
	return db.syncWAL()
}

// retry runs txFn again while it fails with a retryable error (PostgreSQL
// deadlocks and serialisation failures), a few times at most.
func (db *DB) retry(ctx context.Context, txFn func() error) error {
	for attempt := 1; ; attempt++ {
		err := txFn()
		if err == nil || !retryable(err) || attempt >= maxTxAttempts {
			return err
		}
		if werr := retryBackoff(ctx, attempt); werr != nil {
			return err
		}
	}
}

// SyncLedger makes every committed ledger batch durable. On PostgreSQL
// COMMIT already is (synchronous_commit=on): nothing to do.
func (db *DB) SyncLedger(context.Context) error { return db.syncWAL() }

// syncWAL fsyncs the write-ahead log, making every transaction committed
// before the call durable. fsync works on the file whichever descriptor
// wrote it, so a fresh descriptor is opened each time: SQLite may truncate
// or recreate the WAL between syncs.
func (db *DB) syncWAL() error {
	if db.walPath == "" {
		return nil
	}
	f, err := os.Open(db.walPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no WAL: nothing written since the last checkpoint reset
	}
	if err != nil {
		return fmt.Errorf("%w: open WAL: %w", store.ErrUnavailable, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: sync WAL: %w", store.ErrUnavailable, err)
	}
	return nil
}

// writeLedger is write for a transaction that reads or moves balances
// outside a ledger batch (deposits, payouts, claims' escrow): it first
// applies every pending leg, so fn sees complete balance rows.
func (db *DB) writeLedger(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.ledgerElsewhere {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, ErrLedgerOwned)
	}
	if db.pending == nil {
		return db.write(ctx, fn)
	}
	err := db.retry(ctx, func() error {
		legs := newBatchLegs()
		return db.ledgerTx(ctx, legs, func(tx *sql.Tx) error {
			db.writes.Add(1)
			b := &batch{db: db, tx: tx, ctx: ctx, stmts: map[string]*sql.Stmt{}, legs: legs}
			defer b.close()
			legs.clearRows = true // fn may change any balance row
			if len(db.pending.accts) > 0 || len(db.pending.sales) > 0 {
				if err := b.flushAll(); err != nil {
					return err
				}
			}
			return fn(tx)
		})
	})
	if err != nil {
		return err
	}
	return db.syncWAL()
}

// ledgerTx is inTx for a transaction that changes the pending legs: it
// reads them under a shared lock and commits under the exclusive one,
// installing the batch's legs, so readers see each leg exactly once.
func (db *DB) ledgerTx(ctx context.Context, legs *batchLegs, fn func(tx *sql.Tx) error) error {
	if legs == nil {
		return db.inTx(ctx, fn)
	}
	p := db.pending
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	// The previous transaction released the connection at COMMIT and may
	// still be installing its legs: the shared lock waits for that.
	p.mu.RLock()
	err = fn(tx)
	p.mu.RUnlock()
	if err != nil {
		_ = tx.Rollback()
		return mapErr(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := tx.Commit(); err != nil {
		return mapErr(err)
	}
	p.commitLegs(legs)
	return nil
}

// inTx runs fn in one write transaction without counting it as a change
// to the catalogue (ledger batches only).
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
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
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrUnavailable) {
		return err // mapped already (an error passed up through inTx)
	}
	if pe := mapPgErr(err); pe != nil {
		return pe
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
	// forShare ends a SELECT whose rows must not change until the
	// transaction ends (PostgreSQL " FOR SHARE"; SQLite's one writer
	// needs nothing).
	forShare string
	// rowLocks: concurrent write transactions exist (PostgreSQL), so a
	// transaction locks the rows it decides on (rowLock).
	rowLocks bool
	// creditLegs: who a purchase credited is kept in credit_legs, written
	// by the write-behind sweeper (SQLite), not indexed on purchases.
	creditLegs bool
}

var sqliteDialect = dialect{name: "sqlite", rebind: func(q string) string { return q }, migrations: "migrations/sqlite", creditLegs: true}

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
