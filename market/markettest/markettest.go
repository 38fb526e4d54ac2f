// Package markettest builds a real market for tests: SQLite in a temp dir,
// the real ledger writer, real keys and blobs. Nothing is faked.
package markettest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/store/blob"
	"github.com/shopfile/shopfile/store/sqlstore"
	"golang.org/x/crypto/ssh"
)

// Env is a market and what it is built from.
type Env struct {
	Market  *market.Market
	Store   *sqlstore.DB
	Ledger  *ledger.Ledger
	Blobs   *blob.Dir
	Host    ssh.Signer
	DataDir string
	closed  bool
}

// Options tune the market.
type Options struct {
	Config market.Config
	Chain  market.Chain
	// ChainFrom builds the chain side on the opened store (deposits need it).
	ChainFrom func(store.ChainStore) (market.Chain, error)
	DataDir   string // reuse (a restart); empty: fresh
	Ledger    ledger.Options
}

// New builds a market whose resources close when the test ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	e, err := Open(context.Background(), o, t.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// Open builds a market without a testing.TB (for benchmarks and tools).
func Open(ctx context.Context, o Options, tempDir func() string) (*Env, error) {
	dir := o.DataDir
	if dir == "" {
		dir = tempDir()
	}
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "shop.db"))
	if err != nil {
		return nil, err
	}
	host, err := keys.HostKey(filepath.Join(dir, "ssh", "host_ed25519"))
	if err != nil {
		return nil, err
	}
	escrow, err := keys.Escrow(filepath.Join(dir, "keys", "escrow.age"))
	if err != nil {
		return nil, err
	}
	sealer, err := keys.SealKey(filepath.Join(dir, "keys", "seal.key"))
	if err != nil {
		return nil, err
	}
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	if o.ChainFrom != nil {
		if o.Chain, err = o.ChainFrom(st); err != nil {
			st.Close()
			return nil, err
		}
	}
	led := ledger.New(st, o.Ledger)
	cfg := o.Config
	if cfg.Host == "" {
		cfg.Host = "shop.test:2222"
	}
	logger := log.New(io.Discard)
	if os.Getenv("SHOPFILE_TEST_LOG") != "" {
		logger = log.New(os.Stderr)
	}
	m, err := market.New(ctx, cfg, market.Deps{Store: st, Blobs: blobs, Ledger: led, Host: host, Escrow: escrow.Recipient(),
		Sealer: sealer, Chain: o.Chain, Logger: logger})
	if err != nil {
		led.Close()
		st.Close()
		return nil, err
	}
	return &Env{Market: m, Store: st, Ledger: led, Blobs: blobs, Host: host, DataDir: dir}, nil
}

// Close stops the ledger and closes the store (idempotent).
func (e *Env) Close() {
	if e.closed {
		return
	}
	e.closed = true
	e.Ledger.Close()
	e.Store.Close()
}

// Account logs a key in, creating its account.
func (e *Env) Account(t testing.TB, key ssh.PublicKey) *store.Account {
	t.Helper()
	a, err := e.Market.Login(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Fund credits a wallet as a confirmed deposit would: a real ledger
// transfer from the on-chain asset account.
func (e *Env) Fund(t testing.TB, a *store.Account, sats int64) {
	t.Helper()
	if err := e.FundErr(a, sats); err != nil {
		t.Fatal(err)
	}
}

// FundErr is Fund without a testing.TB.
func (e *Env) FundErr(a *store.Account, sats int64) error {
	ctx := context.Background()
	onchain, err := e.Store.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		return err
	}
	op := store.TransferOp{Transfers: []store.Transfer{{ID: fmt.Sprintf("test-fund:%s:%d:%s", a.ID, sats, e.Market.NewPurchaseKey()),
		Debit: onchain, Credit: a.WalletID, Amount: sats, Code: store.CodeDeposit, Ref: "test"}}}
	res, err := e.Ledger.Submit(ctx, op)
	if err != nil {
		return err
	}
	return res.Err
}

// Upload creates a shop from bytes.
func (e *Env) Upload(t testing.TB, a *store.Account, name string, data []byte, price int64) market.Shop {
	t.Helper()
	s, err := e.Market.Upload(context.Background(), a, market.UploadRequest{Name: name, PriceSats: price}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// CheckLedger fails the test unless the ledger's invariants hold: all
// debits equal all credits, no wallet below zero, every balance row equal
// to the transfers that touch it.
func (e *Env) CheckLedger(t testing.TB) store.LedgerTotals {
	t.Helper()
	tot, err := e.Store.LedgerTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tot.DebitsPosted != tot.CreditsPosted {
		t.Errorf("ledger: Σ debits %d ≠ Σ credits %d", tot.DebitsPosted, tot.CreditsPosted)
	}
	if tot.DebitsPending != tot.CreditsPending {
		t.Errorf("ledger: Σ pending debits %d ≠ Σ pending credits %d", tot.DebitsPending, tot.CreditsPending)
	}
	if tot.DebitsPosted != tot.TransferSum {
		t.Errorf("ledger: Σ balance debits %d ≠ Σ transfer amounts %d", tot.DebitsPosted, tot.TransferSum)
	}
	if tot.NegativeWallets != 0 {
		t.Errorf("ledger: %d wallets below zero", tot.NegativeWallets)
	}
	if n, err := e.Store.BalanceMismatches(context.Background()); err != nil {
		t.Fatal(err)
	} else if n != 0 {
		t.Errorf("ledger: %d balance rows disagree with their transfers", n)
	}
	return tot
}
