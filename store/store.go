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
	FingerprintStore
	ClaimStore
	io.Closer
}

// FingerprintStore keeps file fingerprints, references and matches.
type FingerprintStore interface {
	// SaveFingerprints stores the fingerprints of one shop's file and its
	// archive members, with their sampled postings.
	SaveFingerprints(ctx context.Context, files []FPFile) error
	FPFile(ctx context.Context, id int64) (*FPFile, error)
	// FilesSharing counts, per indexed file, how many of hashes it posts;
	// files below minShared are left out.
	FilesSharing(ctx context.Context, hashes []uint64, minShared int) (map[int64]int, error)
	// RefsSharing counts, per reference, how many of hashes it holds.
	RefsSharing(ctx context.Context, hashes []uint64, minShared int) (map[string]int, error)
	// HashStats says how many indexed files and owners post each hash, and
	// how many files are indexed in all (for the stop list).
	HashStats(ctx context.Context, hashes []uint64) (map[uint64]HashStat, int, error)
	ShopFiles(ctx context.Context, shop string) ([]FPFile, error)
	CreateRef(ctx context.Context, r *Ref) error
	Ref(ctx context.Context, id string) (*Ref, error)
	Refs(ctx context.Context, holder string) ([]Ref, error)
	// UpsertMatch records a match, or raises an open one's score; approved
	// and dismissed matches are left as they are. It reports the id.
	UpsertMatch(ctx context.Context, m *Match) (string, error)
	Match(ctx context.Context, id string) (*Match, error)
	Matches(ctx context.Context, holder, ref string) ([]Match, error)
	DismissMatch(ctx context.Context, id, holder string, at int64) error
}

// ClaimStore runs each claim transition in one transaction with its money
// movement and its audit entry.
type ClaimStore interface {
	ApproveMatch(ctx context.Context, p ApproveParams) (*Claim, error)
	DisputeClaim(ctx context.Context, id, uploader, reason string, at int64) (*Claim, error)
	ResolveClaim(ctx context.Context, id, admin, decision string, at int64) (*Claim, error)
	Claim(ctx context.Context, id string) (*Claim, error)
	// Claims lists the claims party is in (as holder or uploader), or all
	// of them when party is "".
	Claims(ctx context.Context, party string) ([]Claim, error)
	ClaimEvents(ctx context.Context, id string) ([]ClaimEvent, error)
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
