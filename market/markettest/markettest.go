// Package markettest builds a real market for tests: SQLite in a temp dir,
// the real ledger writer, real keys and blobs. Nothing is faked.
//
// With SHOPFILE_TEST_DB=postgres the same tests run on PostgreSQL: every
// market gets a database of its own, created on the server
// SHOPFILE_TEST_PG_DSN names and dropped when the test ends. Its DSN is
// kept in the data directory (pg.dsn), so a market reopened on the same
// directory (a restart) finds the same database.
package markettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	drop    func() error // drops a PostgreSQL database made for this env
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
	t.Cleanup(func() {
		if err := e.Drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	t.Cleanup(e.Close)
	return e
}

// Environment variables that choose the tests' database.
const (
	EnvDB    = "SHOPFILE_TEST_DB"     // "sqlite" (default) or "postgres"
	EnvPGDSN = "SHOPFILE_TEST_PG_DSN" // a PostgreSQL server whose role may create databases
)

// Driver is the database the tests run on: "sqlite" or "postgres".
func Driver() string {
	if strings.EqualFold(os.Getenv(EnvDB), "postgres") {
		return "postgres"
	}
	return "sqlite"
}

// OpenStore opens the store of data directory dir on the tests' driver. On
// PostgreSQL it creates a fresh database the first time (drop, when not
// nil, removes it) and reopens it later.
func OpenStore(ctx context.Context, dir string) (st *sqlstore.DB, drop func() error, err error) {
	if Driver() != "postgres" {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "shop.db"))
		return st, nil, err
	}
	dsnFile := filepath.Join(dir, "pg.dsn")
	if b, err := os.ReadFile(dsnFile); err == nil {
		st, err = sqlstore.OpenPostgres(ctx, strings.TrimSpace(string(b)))
		return st, nil, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	server := os.Getenv(EnvPGDSN)
	if server == "" {
		return nil, nil, fmt.Errorf("%s=postgres needs %s (a server where the tests may create databases)", EnvDB, EnvPGDSN)
	}
	dsn, drop, err := sqlstore.TempDatabase(ctx, server, "shopfile_test")
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, errors.Join(err, drop())
	}
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		return nil, nil, errors.Join(err, drop())
	}
	if st, err = sqlstore.OpenPostgres(ctx, dsn); err != nil {
		return nil, nil, errors.Join(err, drop())
	}
	return st, drop, nil
}

// TestStore opens a store for t on the tests' driver, closed (and on
// PostgreSQL dropped) when the test ends.
func TestStore(t testing.TB, dir string) *sqlstore.DB {
	t.Helper()
	st, drop, err := OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if drop != nil {
		t.Cleanup(func() {
			if err := drop(); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		})
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Open builds a market without a testing.TB (for benchmarks and tools). On
// PostgreSQL its database stays until Drop.
func Open(ctx context.Context, o Options, tempDir func() string) (*Env, error) {
	dir := o.DataDir
	if dir == "" {
		dir = tempDir()
	}
	st, drop, err := OpenStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Env, error) {
		st.Close()
		if drop != nil {
			err = errors.Join(err, drop())
		}
		return nil, err
	}
	host, err := keys.HostKey(filepath.Join(dir, "ssh", "host_ed25519"))
	if err != nil {
		return fail(err)
	}
	escrow, err := keys.Escrow(filepath.Join(dir, "keys", "escrow.age"))
	if err != nil {
		return fail(err)
	}
	sealer, err := keys.SealKey(filepath.Join(dir, "keys", "seal.key"))
	if err != nil {
		return fail(err)
	}
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		return fail(err)
	}
	if o.ChainFrom != nil {
		if o.Chain, err = o.ChainFrom(st); err != nil {
			return fail(err)
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
		return fail(err)
	}
	return &Env{Market: m, Store: st, Ledger: led, Blobs: blobs, Host: host, DataDir: dir, drop: drop}, nil
}

// Drop removes the PostgreSQL database Open made for e (after Close); a
// no-op on SQLite or when New manages it.
func (e *Env) Drop() error {
	if e.drop == nil {
		return nil
	}
	drop := e.drop
	e.drop = nil
	return drop()
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
	if tot.SalesMismatches != 0 {
		t.Errorf("ledger: %d shops' sales counts disagree with their purchases", tot.SalesMismatches)
	}
	if n, err := e.Store.BalanceMismatches(context.Background()); err != nil {
		t.Fatal(err)
	} else if n != 0 {
		t.Errorf("ledger: %d balance rows disagree with their transfers", n)
	}
	return tot
}
