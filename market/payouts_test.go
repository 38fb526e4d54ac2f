package market_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
)

// payoutShop is a market with deposits and payouts on a real btcd regtest
// node, the watcher and the payout loop driven one pass at a time.
type payoutShop struct {
	*markettest.Env
	h        *chaintest.Harness
	deposits *market.Deposits
	payouts  *market.Payouts
}

func newPayoutShop(t *testing.T, h *chaintest.Harness, dataDir string, node market.PayoutNode) *payoutShop {
	t.Helper()
	ctx := context.Background()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	if node == nil {
		node = h.Client
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
	s := &payoutShop{h: h}
	s.Env = markettest.New(t, markettest.Options{DataDir: dataDir, ChainFrom: func(cs store.ChainStore) (market.Chain, error) {
		var err error
		s.deposits, err = market.NewDeposits(ctx, cs, market.DepositsConfig{Network: "regtest", Deriver: deriver, Source: h.Client,
			Params: h.Params, Confirmations: 1})
		if err != nil {
			return nil, err
		}
		s.payouts, err = market.NewPayouts(cs.(store.Store), market.PayoutsConfig{Network: "regtest", Params: h.Params,
			Deriver: deriver, Node: node, FeeRate: 2})
		if err != nil {
			return nil, err
		}
		return market.WithPayouts(s.deposits, s.payouts), nil
	}})
	return s
}

func (s *payoutShop) sync(t *testing.T) {
	t.Helper()
	if err := s.deposits.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (s *payoutShop) step(t *testing.T) {
	t.Helper()
	if err := s.payouts.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// signerAccount logs a key in and grants it the signer role.
func (s *payoutShop) signerAccount(t *testing.T) *store.Account {
	t.Helper()
	key := newKey(t)
	a := s.Account(t, key)
	if err := s.Market.Grant(context.Background(), a.ID, store.RoleSigner); err != nil {
		t.Fatal(err)
	}
	return s.Account(t, key)
}

// accountSigner loads the account xprv the shop generated on regtest.
func (s *payoutShop) accountSigner(t *testing.T) *chain.AccountSigner {
	t.Helper()
	xprv, err := chain.LoadAccountXprv(filepath.Join(s.DataDir, chain.RegtestXprvFile), s.h.Params)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := chain.NewAccountSigner(xprv, s.h.Params)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// fetch gets the open batch as a signer and checks it.
func (s *payoutShop) fetch(t *testing.T, signer *store.Account) (market.BatchRequest, *psbt.Packet) {
	t.Helper()
	req, err := s.Market.PayoutBatch(context.Background(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if req.Batch == "" {
		t.Fatal("no batch to sign")
	}
	p, err := chain.DecodePSBT([]byte(req.PSBT))
	if err != nil {
		t.Fatal(err)
	}
	return req, p
}

// signAndSubmit is what `shopfile signer --once` does.
func (s *payoutShop) signAndSubmit(t *testing.T, signer *store.Account) market.SubmitResult {
	t.Helper()
	req, p := s.fetch(t, signer)
	sg := s.accountSigner(t)
	if _, err := sg.Check(p, req.Payouts, chain.SignerPolicy{MaxFeeRate: 10}); err != nil {
		t.Fatal(err)
	}
	if err := sg.Sign(p); err != nil {
		t.Fatal(err)
	}
	b64, err := chain.EncodePSBT(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Market.SubmitBatch(context.Background(), signer, req.Batch, []byte(b64))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (s *payoutShop) address(t *testing.T, a *store.Account) string {
	t.Helper()
	w, err := s.Market.Wallet(context.Background(), a)
	if err != nil || w.DepositAddress == "" {
		t.Fatalf("deposit address: %q %v", w.DepositAddress, err)
	}
	return w.DepositAddress
}

func (s *payoutShop) balance(t *testing.T, a *store.Account) int64 {
	t.Helper()
	b, err := s.Market.Balance(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *payoutShop) payout(t *testing.T, a *store.Account, id string) market.PayoutView {
	t.Helper()
	ps, err := s.Market.Payouts(context.Background(), a, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no payout %s", id)
	return market.PayoutView{}
}

// checkLedger checks what holds with two-phase transfers: Σ debits = Σ
// credits for the posted and the pending counters, every counter equal to
// its transfers, no wallet below zero, and the on-chain asset account equal
// to the coins the shop's keys hold.
func (s *payoutShop) checkLedger(t *testing.T, reconcile bool) {
	t.Helper()
	ctx := context.Background()
	tot, err := s.Store.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot.DebitsPosted != tot.CreditsPosted || tot.DebitsPending != tot.CreditsPending {
		t.Errorf("ledger: posted %d/%d, pending %d/%d (debits/credits)", tot.DebitsPosted, tot.CreditsPosted, tot.DebitsPending, tot.CreditsPending)
	}
	if tot.NegativeWallets != 0 {
		t.Errorf("ledger: %d wallets below zero", tot.NegativeWallets)
	}
	for name, f := range map[string]func(context.Context) (int, error){"balance": s.Store.BalanceMismatches} {
		if n, err := f(ctx); err != nil {
			t.Fatal(err)
		} else if n != 0 {
			t.Errorf("ledger: %d balance rows disagree with their %s transfers", n, name)
		}
	}
	onchain, err := s.Store.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Store.Balance(ctx, onchain)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := s.Store.SpendableOutputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var coins int64
	for _, o := range outs {
		coins += o.Amount
	}
	inflight, err := s.Store.InFlightBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if held := b.DebitsPosted - b.CreditsPosted; reconcile && len(inflight) == 0 && held != coins {
		t.Errorf("asset:onchain says %d sats, the shop's confirmed outputs hold %d", held, coins)
	}
}

// received sums what the best chain paid to address.
func received(t *testing.T, h *chaintest.Harness, address string) int64 {
	t.Helper()
	ctx := context.Background()
	_, script, err := chain.DecodeAddress(address, h.Params)
	if err != nil {
		t.Fatal(err)
	}
	tip := h.Height()
	var sum int64
	for height := int64(chaintest.SegwitHeight - 1); height <= tip; height++ {
		hash, err := h.Client.BlockHash(ctx, height)
		if err != nil {
			t.Fatal(err)
		}
		blk, err := h.Client.Block(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range blk.Transactions {
			for _, o := range tx.TxOut {
				if string(o.PkScript) == string(script) {
					sum += o.Value
				}
			}
		}
	}
	return sum
}

// testAddress is a P2WPKH address of a key the test holds.
func testAddress(t *testing.T, seed string) string {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte(seed)))
	a, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(k.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

func startSegwitNode(t *testing.T) *chaintest.Harness {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a btcd regtest node")
	}
	h := chaintest.Start(t)
	h.ActivateSegwit()
	return h
}

func TestPayoutAgainstBtcd(t *testing.T) {
	h := startSegwitNode(t)
	ctx := context.Background()
	shop := newPayoutShop(t, h, "", nil)
	alice := shop.Account(t, newKey(t))
	signer := shop.signerAccount(t)
	h.Pay(shop.address(t, alice), 100_000)
	shop.sync(t)
	if got := shop.balance(t, alice); got != 100_000 {
		t.Fatalf("funded balance %d", got)
	}
	dest := testAddress(t, "payout destination "+t.Name())

	// Refusals hold nothing.
	if _, err := shop.Market.Withdraw(ctx, alice, dest, 500_000, ""); !errors.Is(err, market.ErrInsufficientFunds) {
		t.Fatalf("over the balance: %v", err)
	}
	if _, err := shop.Market.Withdraw(ctx, alice, dest, 100_000, ""); !errors.Is(err, market.ErrInsufficientFunds) {
		t.Fatalf("the whole balance, fee on top: %v", err)
	}
	if _, err := shop.Market.Withdraw(ctx, alice, dest, 250, ""); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("below the minimum: %v", err)
	}
	if _, err := shop.Market.Withdraw(ctx, alice, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", 10_000, ""); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("a mainnet address on regtest: %v", err)
	}
	if ps, _ := shop.Market.Payouts(ctx, alice, 0); len(ps) != 0 || shop.balance(t, alice) != 100_000 {
		t.Fatalf("a refusal held something: %d payouts, balance %d", len(ps), shop.balance(t, alice))
	}
	shop.checkLedger(t, true)

	// The hold is immediate.
	p, err := shop.Market.Withdraw(ctx, alice, dest, 60_000, "w-alice-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.PayoutPending || p.FeeSats <= 0 || shop.balance(t, alice) != 100_000-60_000-p.FeeSats {
		t.Fatalf("after withdraw: %+v, balance %d", p, shop.balance(t, alice))
	}
	again, err := shop.Market.Withdraw(ctx, alice, dest, 60_000, "w-alice-1")
	if err != nil || again.ID != p.ID || shop.balance(t, alice) != 100_000-60_000-p.FeeSats {
		t.Fatalf("a repeated key held again: %v, balance %d", err, shop.balance(t, alice))
	}
	shop.checkLedger(t, true)

	// Only signers fetch or submit.
	if _, err := shop.Market.PayoutBatch(ctx, alice); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("alice fetched a batch: %v", err)
	}
	if _, err := shop.Market.SubmitBatch(ctx, alice, "b0", []byte("cHNidP8=")); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("alice submitted a batch: %v", err)
	}

	// A signed transaction that is not the batch's is refused; the batch
	// stays as it was and the honest signature then goes through.
	req, pkt := shop.fetch(t, signer)
	if len(req.Payouts) != 1 || req.Payouts[0].Amount != 60_000 {
		t.Fatalf("batch payouts %+v", req.Payouts)
	}
	thief := testAddress(t, "thief")
	_, thiefScript, _ := chain.DecodeAddress(thief, h.Params)
	for i, o := range pkt.UnsignedTx.TxOut {
		if o.Value == 60_000 {
			pkt.UnsignedTx.TxOut[i].PkScript = thiefScript
		}
	}
	sg := shop.accountSigner(t)
	if _, err := sg.Check(pkt, req.Payouts, chain.SignerPolicy{}); !errors.Is(err, chain.ErrBatchRefused) {
		t.Fatalf("the signer signed a redirected output: %v", err)
	}
	if err := sg.Sign(pkt); err != nil { // a signer that would sign anything
		t.Fatal(err)
	}
	tampered, _ := chain.EncodePSBT(pkt)
	if _, err := shop.Market.SubmitBatch(ctx, signer, req.Batch, []byte(tampered)); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("the server took a redirected output: %v", err)
	}
	if got := shop.payout(t, alice, p.ID); got.Status != store.PayoutPending || got.TxID != "" {
		t.Fatalf("after the refused submission: %+v", got)
	}

	res := shop.signAndSubmit(t, signer)
	if res.Batch != req.Batch || res.Status != store.BatchBroadcast {
		t.Fatalf("submit: %+v", res)
	}
	got := shop.payout(t, alice, p.ID)
	if got.Status != store.PayoutBroadcast || got.TxID != req.TxID {
		t.Fatalf("after submit: %+v", got)
	}
	shop.step(t) // in the mempool: nothing changes
	if got := shop.payout(t, alice, p.ID); got.Status != store.PayoutBroadcast {
		t.Fatalf("unconfirmed: %s", got.Status)
	}
	shop.checkLedger(t, true)

	h.Mine(1)
	shop.step(t)
	shop.step(t) // a second pass posts nothing twice
	if got := shop.payout(t, alice, p.ID); got.Status != store.PayoutConfirmed {
		t.Fatalf("mined: %s", got.Status)
	}
	if r := received(t, h, dest); r != 60_000 {
		t.Fatalf("the destination received %d sats, want 60000", r)
	}
	if got := shop.balance(t, alice); got != 100_000-60_000-p.FeeSats {
		t.Fatalf("balance %d, want %d", got, 100_000-60_000-p.FeeSats)
	}
	shop.sync(t)
	shop.checkLedger(t, true)

	// A repeated submission changes nothing; no second batch is built.
	signed, _ := chain.EncodePSBT(pkt)
	if _, err := shop.Market.SubmitBatch(ctx, signer, req.Batch, []byte(signed)); err == nil {
		t.Fatal("the tampered batch was taken after all")
	}
	if next, err := shop.Market.PayoutBatch(ctx, signer); err != nil || next.Batch != "" {
		t.Fatalf("a second batch: %+v, %v", next, err)
	}

	// The change came back to the account: the next payout spends it.
	p2, err := shop.Market.Withdraw(ctx, alice, dest, 20_000, "")
	if err != nil {
		t.Fatal(err)
	}
	req2, pkt2 := shop.fetch(t, signer)
	if len(pkt2.Inputs) != 1 || pkt2.Inputs[0].Bip32Derivation[0].Bip32Path[3] != 1 {
		t.Fatalf("second batch inputs: %+v", pkt2.Inputs)
	}
	if res := shop.signAndSubmit(t, signer); res.Batch != req2.Batch {
		t.Fatalf("second submit: %+v", res)
	}
	h.Mine(1)
	shop.step(t)
	if got := shop.payout(t, alice, p2.ID); got.Status != store.PayoutConfirmed {
		t.Fatalf("second payout: %s", got.Status)
	}
	if r := received(t, h, dest); r != 80_000 {
		t.Fatalf("the destination received %d sats in all, want 80000", r)
	}
	if got := shop.balance(t, alice); got != 100_000-80_000-p.FeeSats-p2.FeeSats {
		t.Fatalf("balance %d", got)
	}
	shop.checkLedger(t, true)
	// Where the money went: the holds are all posted and passed on, the
	// fees charged are revenue, the fees paid to miners an expense.
	for name, want := range map[string]store.Balance{
		store.AccountPayoutPending: {DebitsPosted: 80_000 + p.FeeSats + p2.FeeSats, CreditsPosted: 80_000 + p.FeeSats + p2.FeeSats},
		store.AccountPayoutFees:    {CreditsPosted: p.FeeSats + p2.FeeSats},
		store.AccountNetworkFees:   {DebitsPosted: req.FeeSats + req2.FeeSats},
	} {
		id, err := shop.Store.SystemAccount(ctx, name, store.KindAsset)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := shop.Store.Balance(ctx, id); err != nil || got != want {
			t.Errorf("%s: %+v, want %+v (%v)", name, got, want, err)
		}
	}
}

// flakyNode fails broadcasts: drop is true for a broadcast that never
// reached the node, false for one that did but whose answer was lost.
type flakyNode struct {
	market.PayoutNode
	drop bool
}

func (f flakyNode) SendRawTransaction(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	if !f.drop {
		if _, err := f.PayoutNode.SendRawTransaction(ctx, tx); err != nil {
			return chainhash.Hash{}, err
		}
	}
	return chainhash.Hash{}, chain.ErrUnreachable
}

// The server stops (the market is closed and reopened on the same data
// directory, as a crash and restart would) at each point between storing
// the signed transaction and its confirmation: no payout is paid twice,
// none is lost, no second transaction is ever built.
func TestPayoutSurvivesRestarts(t *testing.T) {
	h := startSegwitNode(t)
	ctx := context.Background()
	dir := t.TempDir()

	shop := newPayoutShop(t, h, dir, flakyNode{PayoutNode: h.Client, drop: true})
	aliceKey, signerKey := newKey(t), newKey(t)
	alice := shop.Account(t, aliceKey)
	signer := shop.Account(t, signerKey)
	if err := shop.Market.Grant(ctx, signer.ID, store.RoleSigner); err != nil {
		t.Fatal(err)
	}
	signer = shop.Account(t, signerKey)
	h.Pay(shop.address(t, alice), 50_000)
	h.Pay(shop.address(t, alice), 70_000)
	shop.sync(t)
	dest1, dest2 := testAddress(t, "restart one "+t.Name()), testAddress(t, "restart two "+t.Name())
	p1, err := shop.Market.Withdraw(ctx, alice, dest1, 30_000, "")
	if err != nil {
		t.Fatal(err)
	}

	// 1. Stored, never sent: the broadcast is lost with the process.
	if res := shop.signAndSubmit(t, signer); res.Status != store.BatchSigned {
		t.Fatalf("submit with the node away: %+v", res)
	}
	shop.Close()
	shop = newPayoutShop(t, h, dir, flakyNode{PayoutNode: h.Client, drop: false})
	alice, signer = shop.Account(t, aliceKey), shop.Account(t, signerKey)
	if got := shop.payout(t, alice, p1.ID); got.Status != store.PayoutSigned || got.TxID == "" {
		t.Fatalf("after restart: %+v", got)
	}
	if next, err := shop.Market.PayoutBatch(ctx, signer); err != nil || next.Batch != "" {
		t.Fatalf("a signed payout was batched again: %+v %v", next, err)
	}
	// The restarted loop sends it; the answer is lost again (sent, not recorded).
	if err := shop.payouts.Step(ctx); !errors.Is(err, chain.ErrUnreachable) {
		t.Fatalf("step: %v", err)
	}
	if got := shop.payout(t, alice, p1.ID); got.Status != store.PayoutSigned {
		t.Fatalf("unrecorded broadcast: %s", got.Status)
	}
	if n, _ := h.Client.MempoolCount(ctx); n != 1 {
		t.Fatalf("mempool holds %d transactions, want the batch", n)
	}

	// 2. Sent but not recorded: the next process finds it at the node.
	shop.Close()
	shop = newPayoutShop(t, h, dir, nil)
	alice, signer = shop.Account(t, aliceKey), shop.Account(t, signerKey)
	shop.step(t)
	if got := shop.payout(t, alice, p1.ID); got.Status != store.PayoutBroadcast {
		t.Fatalf("found at the node: %s", got.Status)
	}

	// 3. Broadcast, killed before the confirmation; a block comes meanwhile.
	p2, err := shop.Market.Withdraw(ctx, alice, dest2, 25_000, "")
	if err != nil {
		t.Fatal(err)
	}
	shop.signAndSubmit(t, signer)
	shop.Close()
	h.Mine(1)
	shop = newPayoutShop(t, h, dir, nil)
	alice, signer = shop.Account(t, aliceKey), shop.Account(t, signerKey)
	shop.step(t)
	shop.sync(t)
	for _, id := range []string{p1.ID, p2.ID} {
		if got := shop.payout(t, alice, id); got.Status != store.PayoutConfirmed {
			t.Fatalf("payout %s after restart: %s", id, got.Status)
		}
	}
	if next, err := shop.Market.PayoutBatch(ctx, signer); err != nil || next.Batch != "" {
		t.Fatalf("a confirmed payout was batched again: %+v %v", next, err)
	}
	if a, b := received(t, h, dest1), received(t, h, dest2); a != 30_000 || b != 25_000 {
		t.Fatalf("received %d and %d, want 30000 and 25000", a, b)
	}
	if got := shop.balance(t, alice); got != 120_000-30_000-25_000-p1.FeeSats-p2.FeeSats {
		t.Fatalf("balance %d", got)
	}
	shop.checkLedger(t, true)
}

// A batch whose input another transaction spends (only a signer holding
// the key could do that) fails once the conflict is buried, and its holds
// are voided: the money is back in the wallet.
func TestConflictedPayoutFailsAndVoids(t *testing.T) {
	h := startSegwitNode(t)
	ctx := context.Background()
	shop := newPayoutShop(t, h, "", nil)
	alice := shop.Account(t, newKey(t))
	signer := shop.signerAccount(t)
	h.Pay(shop.address(t, alice), 40_000)
	shop.sync(t)
	p, err := shop.Market.Withdraw(ctx, alice, testAddress(t, "conflict "+t.Name()), 10_000, "")
	if err != nil {
		t.Fatal(err)
	}
	req, pkt := shop.fetch(t, signer)

	// The key holder spends the batch's input elsewhere first.
	sg := shop.accountSigner(t)
	conflict := pkt.UnsignedTx.Copy()
	conflict.TxOut = []*wire.TxOut{wire.NewTxOut(pkt.Inputs[0].WitnessUtxo.Value-2_000, pkt.UnsignedTx.TxOut[0].PkScript)}
	cp, err := psbt.NewFromUnsignedTx(conflict)
	if err != nil {
		t.Fatal(err)
	}
	cp.Inputs[0] = pkt.Inputs[0]
	if err := sg.Sign(cp); err != nil {
		t.Fatal(err)
	}
	if err := psbt.MaybeFinalizeAll(cp); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ctx = ctx2
	ctxTx, err := psbt.Extract(cp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Client.SendRawTransaction(ctx, ctxTx); err != nil {
		t.Fatal(err)
	}
	h.Mine(1)

	if err := sg.Sign(pkt); err != nil {
		t.Fatal(err)
	}
	signed, _ := chain.EncodePSBT(pkt)
	res, err := shop.Market.SubmitBatch(ctx, signer, req.Batch, []byte(signed))
	if err != nil || res.Status != store.BatchSigned {
		t.Fatalf("submit: %+v %v", res, err)
	}
	_ = shop.payouts.Step(ctx) // refused: conflict noted
	if got := shop.payout(t, alice, p.ID); got.Status != store.PayoutSigned {
		t.Fatalf("conflict seen: %s", got.Status)
	}
	h.Mine(6)
	_ = shop.payouts.Step(ctx)
	if got := shop.payout(t, alice, p.ID); got.Status != store.PayoutFailed {
		t.Fatalf("conflict buried: %s", got.Status)
	}
	if got := shop.balance(t, alice); got != 40_000 {
		t.Fatalf("balance after the void: %d, want 40000", got)
	}
	// The coin the other transaction took is never offered again (the
	// loss itself is the operator's to book: the ledger cannot know who
	// the other transaction paid).
	if outs, err := shop.Store.SpendableOutputs(ctx); err != nil || len(outs) != 0 {
		t.Fatalf("spendable after the conflict: %+v %v", outs, err)
	}
	shop.checkLedger(t, false)
}

func TestWithdrawWithoutANode(t *testing.T) {
	shop := markettest.New(t, markettest.Options{})
	alice := shop.Account(t, newKey(t))
	shop.Fund(t, alice, 10_000)
	if _, err := shop.Market.Withdraw(context.Background(), alice, testAddress(t, "x"), 5_000, ""); !errors.Is(err, market.ErrUnavailable) {
		t.Fatalf("withdraw with --chain none: %v", err)
	}
	if _, err := shop.Market.PayoutBatch(context.Background(), alice); !errors.Is(err, market.ErrUnavailable) {
		t.Fatalf("payout-batch with --chain none: %v", err)
	}
}
