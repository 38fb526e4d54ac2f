package market_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/store"
	"golang.org/x/crypto/ssh"
)

// keyFile writes an ed25519 private key in OpenSSH format and returns its
// public key and path.
func keyFile(t *testing.T, dir, name string) (ssh.PublicKey, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	return signer.PublicKey(), path
}

// The point of the product: a buyer funded by a real regtest deposit pays a
// few sats and the file opens, with get and with licence + open.
func TestBuyWithRealDepositAndOpenTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a btcd regtest node")
	}
	ctx := context.Background()
	h := chaintest.Start(t)
	h.Mine(101)
	shop := newDepositShop(t, h, "", 1)
	dir := t.TempDir()
	buyerKey, buyerPath := keyFile(t, dir, "buyer")
	_, otherPath := keyFile(t, dir, "other")
	buyer := shop.Account(t, buyerKey)
	seller := shop.Account(t, newKey(t))
	film := randomBytes(t, 3*65536+123)
	s := shop.Upload(t, seller, "film.bin", film, 1500)

	shop.sync(t)
	h.Pay(shop.wallet(t, buyer).DepositAddress, 20_000)
	shop.sync(t)
	if got := shop.wallet(t, buyer); got.BalanceSats != 20_000 {
		t.Fatalf("deposit not credited: %+v", got)
	}
	p, err := shop.Market.Buy(ctx, buyer, s.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.BalanceSats != 18_500 {
		t.Fatalf("balance after buy %d", p.BalanceSats)
	}
	var got bytes.Buffer
	if _, err := shop.Market.Get(ctx, buyer, s.ID, &got); err != nil || !bytes.Equal(got.Bytes(), film) {
		t.Fatalf("get: %v", err)
	}

	var enc bytes.Buffer
	if _, err := shop.Market.Fetch(ctx, buyer, s.ID, &enc); err != nil {
		t.Fatal(err)
	}
	shopFile := filepath.Join(dir, "film.shop")
	os.WriteFile(shopFile, enc.Bytes(), 0o644)
	slip, err := shop.Market.Licence(ctx, buyer, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	slipFile := filepath.Join(dir, "film.slip")
	os.WriteFile(slipFile, slip, 0o644)

	out := filepath.Join(dir, "film.out")
	if err := container.OpenFile(shopFile, slipFile, buyerPath, out); err != nil {
		t.Fatal(err)
	}
	if opened, _ := os.ReadFile(out); !bytes.Equal(opened, film) {
		t.Fatal("the opened file differs from the upload")
	}

	wrong := filepath.Join(dir, "wrong.out")
	if err := container.OpenFile(shopFile, slipFile, otherPath, wrong); err == nil {
		t.Fatal("the slip opened with another key")
	}
	if _, err := os.Stat(wrong); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed open left output behind")
	}
	tampered := append([]byte{}, enc.Bytes()...)
	tampered[len(tampered)/2] ^= 0x40
	os.WriteFile(shopFile, tampered, 0o644)
	if err := container.OpenFile(shopFile, slipFile, buyerPath, filepath.Join(dir, "t.out")); err == nil {
		t.Fatal("a tampered container opened")
	}
	shop.CheckLedger(t)
}

// With the node down the shop keeps serving and says so.
func TestWalletShowsUnreachableNode(t *testing.T) {
	ctx := context.Background()
	params, _ := chain.Params("regtest")
	xpub, err := chain.EnsureRegtestAccount(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := chain.ParseAccountKey(xpub, params)
	deriver, _ := chain.NewDeriver(acct, params)
	client, err := chain.Dial(chain.RPCConfig{Host: "127.0.0.1:1", User: "u", Pass: "p", NoTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var dep *market.Deposits
	e := newMarketWithChain(t, func(st store.ChainStore) (market.Chain, error) {
		dep, err = market.NewDeposits(ctx, st, market.DepositsConfig{Network: "regtest", Deriver: deriver, Source: client, Params: params, Confirmations: 1})
		return dep, err
	})
	if err := dep.Sync(ctx); err == nil {
		t.Fatal("a sync against a dead node succeeded")
	}
	a := e.Account(t, newKey(t))
	w, err := e.Market.Wallet(ctx, a)
	if err != nil {
		t.Fatalf("the wallet failed with the node down: %v", err)
	}
	if w.Chain.Reachable || !w.Chain.Enabled || w.DepositAddress == "" {
		t.Fatalf("wallet %+v: want an address and an unreachable node", w)
	}
}
