package market_test

import (
	"context"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
)

// depositShop is a market whose wallets are funded by a real btcd regtest
// node, with the watcher driven one pass at a time.
type depositShop struct {
	*markettest.Env
	deposits *market.Deposits
}

func newDepositShop(t *testing.T, h *chaintest.Harness, dataDir string, confirmations int) *depositShop {
	t.Helper()
	ctx := context.Background()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	xpub, err := chain.EnsureRegtestAccount(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := chain.ParseAccountKey(xpub, h.Params)
	if err != nil {
		t.Fatal(err)
	}
	deriver, err := chain.NewDeriver(acct, h.Params)
	if err != nil {
		t.Fatal(err)
	}
	var dep *market.Deposits
	e := markettest.New(t, markettest.Options{DataDir: dataDir, ChainFrom: func(st store.ChainStore) (market.Chain, error) {
		var err error
		dep, err = market.NewDeposits(ctx, st, market.DepositsConfig{Network: "regtest", Deriver: deriver, Source: h.Client,
			Params: h.Params, Confirmations: confirmations})
		return dep, err
	}})
	return &depositShop{Env: e, deposits: dep}
}

func (d *depositShop) sync(t *testing.T) {
	t.Helper()
	if err := d.deposits.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (d *depositShop) wallet(t *testing.T, a *store.Account) market.Wallet {
	t.Helper()
	w, err := d.Market.Wallet(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestDepositLifecycleAgainstBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a btcd regtest node")
	}
	h := chaintest.Start(t)
	h.Mine(101)
	shop := newDepositShop(t, h, "", 1)
	key := newKey(t)
	alice := shop.Account(t, key)

	w := shop.wallet(t, alice)
	if w.DepositAddress == "" || w.DepositAddress[:6] != "bcrt1q" {
		t.Fatalf("deposit address %q", w.DepositAddress)
	}
	if again := shop.wallet(t, alice); again.DepositAddress != w.DepositAddress {
		t.Fatal("an unused address was replaced")
	}
	shop.sync(t)

	h.Send(w.DepositAddress, 100_000) // in the mempool only
	shop.sync(t)
	if got := shop.wallet(t, alice); got.PendingSats != 100_000 || got.BalanceSats != 0 {
		t.Fatalf("seen: pending %d balance %d, want 100000 and 0", got.PendingSats, got.BalanceSats)
	}
	shop.CheckLedger(t)

	h.Mine(1)
	shop.sync(t)
	shop.sync(t) // a second pass credits nothing twice
	if got := shop.wallet(t, alice); got.BalanceSats != 100_000 || got.PendingSats != 0 {
		t.Fatalf("confirmed: balance %d pending %d", got.BalanceSats, got.PendingSats)
	}
	shop.CheckLedger(t)

	h.InvalidateTip()
	shop.sync(t)
	if got := shop.wallet(t, alice); got.BalanceSats != 0 || got.PendingSats != 100_000 {
		t.Fatalf("after reorg: balance %d pending %d, want 0 and 100000", got.BalanceSats, got.PendingSats)
	}
	shop.CheckLedger(t)

	h.Mine(1)
	shop.sync(t)
	if got := shop.wallet(t, alice); got.BalanceSats != 100_000 {
		t.Fatalf("re-mined: balance %d", got.BalanceSats)
	}
	shop.CheckLedger(t)

	// A restart replays nothing.
	shop.Close()
	shop2 := newDepositShop(t, h, shop.DataDir, 1)
	h.Mine(2)
	shop2.sync(t)
	alice2 := shop2.Account(t, key)
	if got := shop2.wallet(t, alice2); got.BalanceSats != 100_000 {
		t.Fatalf("after restart: balance %d, want 100000", got.BalanceSats)
	}
	hist, err := shop2.Market.History(context.Background(), alice2, 10)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range hist {
		kinds = append(kinds, it.Kind)
	}
	if len(hist) != 3 || kinds[0] != "deposit" || kinds[1] != "deposit-reversal" || kinds[2] != "deposit" {
		t.Fatalf("history kinds %v, want deposit, reversal, deposit", kinds)
	}
	shop2.CheckLedger(t)
}

// A reorg after the deposit was spent takes back what is left and books
// the rest as owed: no wallet goes negative and the ledger still balances.
func TestReorgAfterSpendingNeverGoesNegative(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a btcd regtest node")
	}
	h := chaintest.Start(t)
	h.Mine(101)
	shop := newDepositShop(t, h, "", 1)
	alice := shop.Account(t, newKey(t))
	bob := shop.Account(t, newKey(t))
	s := shop.Upload(t, bob, "x", []byte("x"), 60_000)
	shop.sync(t)
	h.Pay(shop.wallet(t, alice).DepositAddress, 100_000)
	shop.sync(t)
	if _, err := shop.Market.Buy(context.Background(), alice, s.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	h.InvalidateTip()
	shop.sync(t)
	if got := shop.wallet(t, alice); got.BalanceSats != 0 {
		t.Fatalf("balance after reorg %d, want 0", got.BalanceSats)
	}
	shop.CheckLedger(t)
}

func TestAccountKeysRefused(t *testing.T) {
	params, _ := chain.Params("regtest")
	for name, key := range map[string]string{
		"garbage":      "not-a-key",
		"private":      "tprv8ZgxMBicQKsPd7Uf69XL1XwhmjHopUGep8GuEiJDZmbQz6o58LninorQAfcKZWARbtRtfnLcJ5MQ2AtHcQJCCRUcMRvmDUjyEmNUWwx8UbK",
		"mainnet xpub": "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
	} {
		if _, err := chain.ParseAccountKey(key, params); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func newMarketWithChain(t *testing.T, from func(store.ChainStore) (market.Chain, error)) *markettest.Env {
	t.Helper()
	return markettest.New(t, markettest.Options{ChainFrom: from})
}
