// Package store defines what shopfile keeps on disk, as one small interface
// per aggregate. The SQL implementation lives in store/sqlstore; market/ only
// ever sees these interfaces, so a second engine can sit behind them.
package store

import (
	"context"
	"errors"
	"io"
)

// Errors every implementation maps its driver errors onto.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	// ErrConflict: a write lost a race or its guard did not hold (e.g. the
	// shop's payee changed while a reprice was in flight).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the storage itself failed (disk full, I/O error). The
	// ledger stops taking purchases rather than acknowledge anything that
	// may not be on disk.
	ErrUnavailable = errors.New("storage unavailable")
)

// Store is everything the market needs from persistence.
type Store interface {
	AccountStore
	ShopStore
	LedgerStore
	PurchaseStore
	ChainStore
	io.Closer
}

// DeriveFunc derives the deposit address at a BIP32 index.
type DeriveFunc func(index uint32) (address string, pkScript []byte, err error)

// ChainStore keeps deposit addresses, seen deposits and the watcher's cursor.
// Crediting a deposit and advancing the cursor happen in one transaction, so
// a deposit is credited exactly once across crashes.
type ChainStore interface {
	// DepositAddress returns the account's current unused address, issuing
	// the next index with derive when it has none. maxUnused bounds the
	// unused addresses across all accounts.
	DepositAddress(ctx context.Context, account string, derive DeriveFunc, maxUnused int) (string, error)
	// WatchedScripts lists every issued address's script.
	WatchedScripts(ctx context.Context) ([][]byte, error)
	// PendingDeposits sums the account's deposits seen but not credited.
	PendingDeposits(ctx context.Context, account string) (int64, error)
	ChainCursor(ctx context.Context) ([]ChainCursor, error)
	ConnectBlock(ctx context.Context, c ChainCursor, outs []ChainOutput, confirmations int) error
	DisconnectBlock(ctx context.Context, c ChainCursor) error
	SeenMempool(ctx context.Context, outs []ChainOutput) error
}

// AccountStore keeps accounts (SSH keys) and their roles.
type AccountStore interface {
	// EnsureAccount returns the account with this id, creating it (and its
	// wallet) on first sight.
	EnsureAccount(ctx context.Context, id, publicKey string) (*Account, error)
	Account(ctx context.Context, id string) (*Account, error)
	// GrantRole records a role for an account id, even one that has not
	// connected yet.
	GrantRole(ctx context.Context, id, role string) error
	Roles(ctx context.Context, id string) ([]string, error)
}

// ShopStore keeps the catalogue.
type ShopStore interface {
	CreateShop(ctx context.Context, s *Shop) error
	Shop(ctx context.Context, id string) (*Shop, error)
	ListShops(ctx context.Context, q ShopQuery) (ShopPage, error)
	// SetPrice changes the price only while payee is still the shop's payee
	// and the price is not frozen; otherwise ErrConflict.
	SetPrice(ctx context.Context, id, payee string, price int64, at int64) error
}

// LedgerStore applies ledger batches and reads balances.
type LedgerStore interface {
	// ApplyBatch runs ops in one durable transaction and returns one result
	// per op. An op that is refused (insufficient funds, already owned) has
	// its Err set and changed nothing; a non-nil error means nothing at all
	// was committed.
	ApplyBatch(ctx context.Context, ops []Op) ([]OpResult, error)
	Balance(ctx context.Context, ledgerAccount int64) (Balance, error)
	// History lists the posted transfers touching an account, newest first.
	History(ctx context.Context, ledgerAccount int64, limit int) ([]Transfer, error)
	// LedgerTotals sums every balance row, for the invariant checks.
	LedgerTotals(ctx context.Context) (LedgerTotals, error)
	// SystemAccount returns (creating once) the ledger account named name.
	SystemAccount(ctx context.Context, name string, kind AccountKind) (int64, error)
}

// PurchaseStore reads purchases (they are written by ApplyBatch).
type PurchaseStore interface {
	Purchase(ctx context.Context, id string) (*Purchase, error)
	PurchaseFor(ctx context.Context, buyer, shop string) (*Purchase, error)
	Library(ctx context.Context, buyer string, limit int) ([]LibraryItem, error)
}
