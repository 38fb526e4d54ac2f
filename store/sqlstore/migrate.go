package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists this dialect's NNNN_name.sql files in order.
func (db *DB) migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, db.dialect.migrations)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(db.dialect.migrations, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: version, name: strings.TrimSuffix(rest, ".sql"), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies every pending migration in one transaction: a failure
// leaves the schema exactly as it was.
func (db *DB) migrate(ctx context.Context) error { return db.migrateTo(ctx, math.MaxInt) }

// ErrSchemaBehind: the database needs migrations this process may not
// apply, because another process keeps its SQLite ledger.
var ErrSchemaBehind = errors.New("the database's schema is older than this binary's")

// requireCurrentSchema is migrate for a process that does not keep the
// ledger of a SQLite database (another process, usually the running
// server, does): it applies nothing. A running server of an older release
// relies on the schema it knows (0009 dropped the unique index it uses to
// refuse a second purchase of a shop), so an admin command of a newer
// release must not upgrade the database under it. It waits for a
// migration in progress, like migrate.
func (db *DB) requireCurrentSchema(ctx context.Context) error {
	return db.migrateOrCheck(ctx, math.MaxInt, false)
}

// migrateTo applies the pending migrations up to version last (tests build
// databases as older releases left them).
func (db *DB) migrateTo(ctx context.Context, last int) error {
	return db.migrateOrCheck(ctx, last, true)
}

func (db *DB) migrateOrCheck(ctx context.Context, last int, apply bool) error {
	all, err := db.migrations()
	if err != nil {
		return err
	}
	for len(all) > 0 && all[len(all)-1].version > last {
		all = all[:len(all)-1]
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if db.dialect.rowLocks {
			// Several servers may start at once: one migrates, the others
			// wait here and then find the schema current.
			if _, err := tx.ExecContext(ctx, db.q(`SELECT pg_advisory_xact_lock(?)`), lockMigrate); err != nil {
				return fmt.Errorf("migration lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if n := len(all); n > 0 && current > all[n-1].version {
			return fmt.Errorf("database schema %d is newer than this binary (%d): upgrade shopfile", current, all[n-1].version)
		}
		if n := len(all); !apply && n > 0 && current < all[n-1].version {
			return fmt.Errorf("%w (%d, this binary %d), and another shopfile process keeps its ledger: "+
				"stop that process and start this release to upgrade", ErrSchemaBehind, current, all[n-1].version)
		}
		for _, m := range all {
			if m.version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.version, m.name, db.micros()); err != nil {
				return fmt.Errorf("record migration %d: %w", m.version, err)
			}
		}
		return nil
	})
}
