package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/shopfile/shopfile/store/sqlstore"
)

// openStore opens the shop's database: SQLite in the data directory, or
// the PostgreSQL database dsn names (--db-driver, --db-dsn).
func openStore(ctx context.Context, driver, dsn, data string) (*sqlstore.DB, error) {
	switch driver {
	case "", "sqlite":
		if dsn != "" {
			return nil, exitError{2, errors.New("--db-dsn is for --db-driver postgres; SQLite lives in --data")}
		}
		return sqlstore.OpenSQLite(ctx, filepath.Join(data, "shop.db"))
	case "postgres", "postgresql", "pgx":
		if dsn == "" {
			return nil, exitError{2, errors.New("--db-driver postgres needs --db-dsn (e.g. postgres://user:pass@127.0.0.1:5432/shop?sslmode=disable)")}
		}
		return sqlstore.OpenPostgres(ctx, dsn)
	}
	return nil, exitError{2, fmt.Errorf("--db-driver %q: want sqlite or postgres", driver)}
}
