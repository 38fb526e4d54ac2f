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
	PayoutStore
	BrowserStore
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
	// ShopClaim returns the shop's active or disputed claim, or ErrNotFound.
	ShopClaim(ctx context.Context, shop string) (*Claim, error)
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
	// ApplyBatch may return before its transaction is on stable storage;
	// SyncLedger returns once every batch applied before it is. The ledger
	// acknowledges a batch only after a SyncLedger that started after the
	// batch committed, so the next batch runs while the disk syncs.
	SyncLedger(ctx context.Context) error
}

// PurchaseStore reads purchases (they are written by ApplyBatch).
type PurchaseStore interface {
	Purchase(ctx context.Context, id string) (*Purchase, error)
	PurchaseFor(ctx context.Context, buyer, shop string) (*Purchase, error)
	Library(ctx context.Context, buyer string, limit int) ([]LibraryItem, error)
}

// PayoutStore keeps withdrawals and the batches that pay them. Every money
// movement happens in the same transaction as the state change it belongs
// to: the hold with the payout row, the posts (or voids) with the batch's
// confirmation (or failure). Each transition is guarded by the state it
// leaves, so a repeat changes nothing.
type PayoutStore interface {
	// HoldPayout records p (status pending) and its pending transfer of
	// Amount+Fee from p.Wallet to the payout account. If the wallet's
	// available balance is short it returns ErrInsufficientFunds and
	// holds nothing; if p.ID exists it returns ErrDuplicate.
	HoldPayout(ctx context.Context, p *Payout) error
	Payout(ctx context.Context, id string) (*Payout, error)
	// Payouts lists an account's payouts, newest first.
	Payouts(ctx context.Context, account string, limit int) ([]Payout, error)
	// UnbatchedPayouts lists pending payouts in no live batch, oldest first.
	UnbatchedPayouts(ctx context.Context, limit int) ([]Payout, error)
	// SpendableOutputs lists the shop's confirmed outputs that no live
	// (not failed, not cancelled) batch spends.
	SpendableOutputs(ctx context.Context) ([]SpendableOutput, error)
	// NextChangeIndex is the first change index no batch has used.
	NextChangeIndex(ctx context.Context) (uint32, error)
	// CreateBatch records an unsigned batch with its inputs and puts the
	// payouts in it. ErrConflict if a payout is no longer unbatched and
	// pending, an input is spent by a live batch, or a batch is open.
	CreateBatch(ctx context.Context, b *PayoutBatch, payouts []string) error
	// OpenBatch is the unsigned batch, ErrNotFound when there is none.
	OpenBatch(ctx context.Context) (*PayoutBatch, error)
	Batch(ctx context.Context, id string) (*PayoutBatch, error)
	BatchPayouts(ctx context.Context, id string) ([]Payout, error)
	// CancelBatch drops an unsigned batch; its payouts wait for the next.
	CancelBatch(ctx context.Context, id string) error
	// SignBatch stores the signed transaction of an unsigned batch (before
	// anything is broadcast) and marks it and its payouts signed. A repeat
	// with the same transaction is not an error; ErrConflict otherwise.
	SignBatch(ctx context.Context, id string, raw []byte, signer string) error
	// MarkBroadcast moves a signed batch and its payouts to broadcast.
	MarkBroadcast(ctx context.Context, id string) error
	// NoteBatch records a failed attempt and, when conflictHeight > 0 and
	// none is recorded yet, the height an input was first seen spent
	// elsewhere (0 clears it).
	NoteBatch(ctx context.Context, id, lastErr string, conflictHeight int64) error
	// InFlightBatches lists signed and broadcast batches, oldest first.
	InFlightBatches(ctx context.Context) ([]PayoutBatch, error)
	// ConfirmBatch posts every hold of the batch, books each payout's
	// amount out of the on-chain asset and its fee to revenue, and the
	// network fee to expense, and marks all confirmed.
	ConfirmBatch(ctx context.Context, id string, height int64, blockHash string) error
	// FailBatch voids every hold of the batch and marks all failed. The
	// outputs in spentElsewhere ("txid:vout", inputs another transaction
	// spent) are never offered as spendable again; its other inputs are.
	FailBatch(ctx context.Context, id, reason string, spentElsewhere []string) error
}

// BrowserStore keeps paired browsers: the one-time links that pair them,
// the sessions those links become, and what each session has spent against
// its caps. Caps are enforced here, by guarded writes in one transaction,
// so two clicks racing cannot both slip under a cap.
type BrowserStore interface {
	// CreatePairing records a pairing link unless the account already
	// created maxRecent or more since `since`: then ErrRateLimited.
	CreatePairing(ctx context.Context, p *Pairing, since int64, maxRecent int) error
	// Pairing returns an unused, unexpired link (at `at`), or ErrNotFound.
	Pairing(ctx context.Context, tokenHash string, at int64) (*Pairing, error)
	// ConsumePairing marks the link used and creates s for its account (s.
	// Account is set from the link) in one transaction. ErrNotFound when
	// the link is unknown, used or expired at s.CreatedAt.
	ConsumePairing(ctx context.Context, tokenHash string, s *BrowserSession) error
	// BrowserSession returns a live (unrevoked, unexpired at `at`) session
	// by its secret's hash, with what it spent on UTC day `day`.
	BrowserSession(ctx context.Context, secretHash string, at, day int64) (*BrowserSession, error)
	// BrowserSessions lists an account's live sessions, newest first.
	BrowserSessions(ctx context.Context, account string, at, day int64) ([]BrowserSession, error)
	// RevokeBrowserSession ends one of the account's sessions at once;
	// ErrNotFound when it has no such live session.
	RevokeBrowserSession(ctx context.Context, account, id string, at int64) error
	// ReserveBrowserSpend records p (status reserved) against its session.
	// With guard, p.Amount must fit under the per-purchase cap and, with
	// what the session spent or reserved on p.Day, the daily cap; else
	// ErrOverCap. A click already recorded is returned as it is (fresh
	// false), except a reservation last touched before staleBefore, which
	// is taken over (fresh true). A revoked or expired session:
	// ErrNotFound.
	ReserveBrowserSpend(ctx context.Context, p *BrowserPayment, guard bool, staleBefore int64) (got *BrowserPayment, fresh bool, err error)
	// SettleBrowserSpend marks a reservation paid with what was charged.
	SettleBrowserSpend(ctx context.Context, session, click, purchase string, amount, at int64) error
	// ReleaseBrowserSpend drops a reservation nothing was charged for.
	ReleaseBrowserSpend(ctx context.Context, session, click string) error
}
