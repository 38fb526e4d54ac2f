package tui_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"regexp"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/store/blob"
	"github.com/shopfile/shopfile/store/sqlstore"
	"github.com/shopfile/shopfile/tui/common"
)

// noNode is a payout node that is never reached: quoting, holding and
// listing payouts ask nothing of the node; only batches do.
type noNode struct{}

var errNoNode = errors.New("no btcd in this test")

func (noNode) SendRawTransaction(context.Context, *wire.MsgTx) (chainhash.Hash, error) {
	return chainhash.Hash{}, errNoNode
}
func (noNode) TxState(context.Context, chainhash.Hash) (chain.TxState, error) {
	return chain.TxState{}, errNoNode
}
func (noNode) RawTransaction(context.Context, chainhash.Hash) (*wire.MsgTx, error) {
	return nil, errNoNode
}
func (noNode) TxOut(context.Context, wire.OutPoint, bool) (*btcjson.GetTxOutResult, error) {
	return nil, errNoNode
}
func (noNode) BestBlock(context.Context) (int64, chainhash.Hash, error) {
	return 0, chainhash.Hash{}, errNoNode
}

// payoutWorld is a world whose market pays out.
type payoutWorld struct {
	*world
	payouts *market.Payouts
	dir     string
}

// newPayoutWorld builds a real market (SQLite, the ledger writer, real
// keys) with payouts on the shop's regtest account key, wired the way
// `shopfile serve` wires it: the deposit side, the payouts and the market
// share one event hub. deposits builds the deposit side on the opened
// store; nil: a fixed address on a node that is always up.
func newPayoutWorld(t *testing.T, node market.PayoutNode,
	deposits func(st store.ChainStore, d *chain.Deriver, hub *market.Hub) (market.Chain, error)) *payoutWorld {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	params := &chaincfg.RegressionNetParams
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	xpub, err := chain.EnsureRegtestAccount(dir)
	must(err)
	acct, err := chain.ParseAccountKey(xpub, params)
	must(err)
	deriver, err := chain.NewDeriver(acct, params)
	must(err)
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "shop.db"))
	must(err)
	host, err := keys.HostKey(filepath.Join(dir, "ssh", "host_ed25519"))
	must(err)
	escrow, err := keys.Escrow(filepath.Join(dir, "keys", "escrow.age"))
	must(err)
	sealer, err := keys.SealKey(filepath.Join(dir, "keys", "seal.key"))
	must(err)
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	must(err)
	hub := market.NewHub()
	var dep market.Chain = fakeChain{addr: regtestAddr, status: market.ChainStatus{Network: "regtest", Enabled: true, Reachable: true, Height: 101}}
	if deposits != nil {
		dep, err = deposits(st, deriver, hub)
		must(err)
	}
	pay, err := market.NewPayouts(st, market.PayoutsConfig{Network: "regtest", Params: params, Deriver: deriver, Node: node,
		FeeRate: 2, Events: hub})
	must(err)
	led := ledger.New(st, ledger.Options{})
	m, err := market.New(ctx, market.Config{Host: "shop.test:2222"}, market.Deps{Store: st, Blobs: blobs, Ledger: led, Host: host,
		Escrow: escrow.Recipient(), Sealer: sealer, Chain: market.WithPayouts(dep, pay), Events: hub})
	if err != nil {
		led.Close()
		st.Close()
		t.Fatal(err)
	}
	env := &markettest.Env{Market: m, Store: st, Ledger: led, Blobs: blobs, Host: host, DataDir: dir}
	t.Cleanup(env.Close)
	return &payoutWorld{world: &world{t: t, env: env, m: m}, payouts: pay, dir: dir}
}

// destination is a regtest P2WPKH address of a key made from seed.
func destination(t *testing.T, seed string) string {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte(seed)))
	a, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(k.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

var regexpAddress = regexp.MustCompile(`\bbcrt1[0-9a-z]{39,59}\b`)

// paste sends text the way a terminal sends a paste: one message.
func (s *session) paste(text string) {
	s.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(text), Paste: true})
}

func (w *world) quote(a *store.Account, addr string) market.WithdrawQuote {
	w.t.Helper()
	q, err := w.m.QuoteWithdraw(context.Background(), a, addr)
	if err != nil {
		w.t.Fatal(err)
	}
	return q
}

func (w *world) payoutsOf(a *store.Account) []market.PayoutView {
	w.t.Helper()
	ps, err := w.m.Payouts(context.Background(), a, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return ps
}

// heldNothing fails the test unless a's balance is still balance and a
// has no payout.
func (w *world) heldNothing(a *store.Account, balance int64, why string) {
	w.t.Helper()
	if got := w.balance(a); got != balance || len(w.payoutsOf(a)) != 0 {
		w.t.Fatalf("%s: balance %d, %d payouts", why, got, len(w.payoutsOf(a)))
	}
}

// openWithdraw opens the wallet tab at 100×30 and the form on it.
func openWithdraw(w *world, a *store.Account, balance string) *session {
	s := w.open(a, 100, 30)
	s.keys("3")
	s.settled("balance    "+balance, "none yet · w withdraws to a Bitcoin address")
	s.keys("w")
	s.waitText("Withdraw to a Bitcoin address", "▸ address")
	return s
}

func TestWithdrawFormAndConfirmationViews(t *testing.T) {
	t.Parallel()
	w := newPayoutWorld(t, noNode{}, nil)
	alice := w.account("alice")
	w.fund(alice, 100_000)
	dest := destination(t, "tui withdraw views")
	fee := w.quote(alice, dest).FeeSats

	s := openWithdraw(w.world, alice, "100,000 sats")
	s.paste(dest)
	s.waitText("✓ a regtest address · fee " + sats(fee))
	s.keys("tab")
	s.typ("60000")
	v := s.waitText("✓ 60,000 + " + thousands(fee) + " fee = " + sats(60_000+fee) + " held; balance after: " + sats(40_000-fee))
	if !strings.Contains(v, "▸ amount") || strings.Contains(v, "▸ address") {
		t.Errorf("the focus mark is not on the amount:\n%s", v)
	}
	golden(t, "withdraw_form_100x30", w.stable(v))

	s.keys("enter")
	v = s.waitText("Withdraw 60,000 sats", "held now", "enter withdraw 60,000 sats · esc go back")
	for _, want := range []string{dest, "fee           " + sats(fee), "balance after " + sats(40_000-fee),
		"are held from your balance as soon as you confirm", "once its signer signs it", "cannot be undone"} {
		if !strings.Contains(strings.ReplaceAll(v, "│", ""), want) {
			t.Errorf("the confirmation does not say %q:\n%s", want, v)
		}
	}
	golden(t, "withdraw_confirm_100x30", w.stable(v))

	s.keys("esc") // back to the form, text kept
	s.waitText("▸ amount", "60000")
	s.keys("esc") // cancelled: nothing held
	s.waitFor("the form to close", func(v string) bool { return !strings.Contains(v, "Withdraw to a Bitcoin address") })
	w.heldNothing(alice, 100_000, "a cancelled withdrawal")
}

func TestWithdrawFormValidatesLive(t *testing.T) {
	t.Parallel()
	w := newPayoutWorld(t, noNode{}, nil)
	alice := w.account("alice")
	w.fund(alice, 100_000)
	dest := destination(t, "tui withdraw validation")
	q := w.quote(alice, dest)

	s := openWithdraw(w.world, alice, "100,000 sats")
	s.keys("enter")
	s.waitText("✗ address empty: enter the regtest address to send to")
	s.paste("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4") // mainnet, on a regtest shop
	s.waitText("✗ not a regtest address")
	s.keys("q", "3") // text while typing: neither quits nor switches tabs
	s.waitText("f3t4q3", "✗ not a regtest address")
	s.keys("ctrl+u")
	s.typ(dest) // typed key by key: each change is quoted, the last answer wins
	s.waitText("✓ a regtest address · fee " + sats(q.FeeSats))
	s.keys("enter") // a good address and no amount: on to the amount
	s.waitText("▸ amount", "whole sats · at least "+thousands(q.MinSats)+" · at most "+sats(q.MaxSats))
	for _, c := range []struct{ typed, want string }{
		{"abc", "✗ the amount must be a whole number of sats, 1 or more"},
		{"1.5", "✗ the amount must be a whole number of sats, 1 or more"},
		{"-5", "✗ the amount must be a whole number of sats, 1 or more"},
		{"99999999999999999999", "✗ more bitcoin than there will ever be"},
		{thousands(q.MinSats - 1), "✗ below the minimum: at least " + sats(q.MinSats)},
		{thousands(q.MaxSats + 1), "✗ above the maximum: at most " + sats(q.MaxSats) + " (balance 100,000 − " + thousands(q.FeeSats) + " fee)"},
		{thousands(q.MaxSats), "✓ " + thousands(q.MaxSats) + " + " + thousands(q.FeeSats) + " fee = 100,000 sats held; balance after: 0 sats"},
	} {
		s.keys("ctrl+u")
		s.typ(c.typed)
		s.waitText(c.want)
	}
	s.keys("ctrl+u")
	s.typ(thousands(q.MaxSats + 1))
	s.keys("enter") // refused by the form: no confirmation
	v := s.waitText("✗ above the maximum")
	if strings.Contains(v, "held now") {
		t.Fatalf("an amount above the maximum reached the confirmation:\n%s", v)
	}
	s.keys("shift+tab") // back to the address; the amount stays checked
	s.waitText("▸ address", "✗ above the maximum")
	s.keys("esc")
	s.waitFor("the form to close", func(v string) bool { return !strings.Contains(v, "▸ address") })
	w.heldNothing(alice, 100_000, "validation held something")
}

func TestWithdrawHoldsOnceAndListsThePayout(t *testing.T) {
	t.Parallel()
	w := newPayoutWorld(t, noNode{}, nil)
	alice := w.account("alice")
	w.fund(alice, 100_000)
	dest := destination(t, "tui withdraw once")
	fee := w.quote(alice, dest).FeeSats

	s := openWithdraw(w.world, alice, "100,000 sats")
	s.paste(dest)
	s.keys("enter") // the answer to the quote moves on to the amount
	s.waitText("▸ amount")
	s.typ("60,000")
	s.keys("enter")
	s.waitText("enter withdraw 60,000 sats")
	s.keys("enter", "enter", "enter") // impatient: must still hold once
	v := s.waitText("Withdrawal held", "✓ HELD "+sats(60_000+fee), "status pending", "payout w", dial+" payouts")
	if !rePayout.MatchString(v) {
		t.Errorf("the answer shows no payout id:\n%s", v)
	}
	s.waitText("balance " + sats(40_000-fee)) // the header
	if got := w.balance(alice); got != 40_000-fee {
		t.Fatalf("balance after one withdrawal and three Enters: %d, want %d", got, 40_000-fee)
	}
	ps := w.payoutsOf(alice)
	if len(ps) != 1 || ps[0].AmountSats != 60_000 || ps[0].FeeSats != fee || ps[0].Status != store.PayoutPending || ps[0].Address != dest {
		t.Fatalf("payouts: %+v", ps)
	}
	s.keys("esc")
	v = s.settled("balance    "+sats(40_000-fee), "1 on the way, "+sats(60_000+fee)+" held", "payouts · newest first")
	if !hasLine(v, "pending", "60,000", thousands(fee), dest) {
		t.Errorf("the payouts list does not show the payout:\n%s", v)
	}
	golden(t, "wallet_payouts_100x30", w.stable(v))
	before := s.msgs.Load() // nothing ticks on an idle wallet page
	time.Sleep(300 * time.Millisecond)
	if n := s.msgs.Load() - before; n != 0 {
		t.Errorf("an idle wallet page got %d messages in 0.3 s", n)
	}
	s.keys("p")
	v = s.waitText("history · p shows your payouts", "payout held", "-"+thousands(60_000+fee))
	if !strings.Contains(v, sats(40_000-fee)) || !strings.Contains(v, thousands(40_000-fee)) {
		t.Errorf("the history's balance column is not the available balance:\n%s", v)
	}

	// A refusal is shown inline and holds nothing: the balance moved
	// (another session withdrew) after the confirmation opened.
	s.keys("w")
	s.waitText("▸ address")
	s.paste(dest)
	s.keys("tab")
	s.typ("30000")
	s.waitText("✓ 30,000 + ")
	s.keys("enter")
	s.waitText("enter withdraw 30,000 sats")
	if _, err := w.m.Withdraw(context.Background(), alice, dest, 30_000, ""); err != nil {
		t.Fatal(err)
	}
	left := 40_000 - fee - 30_000 - fee
	s.waitText("no longer covers this")
	s.keys("enter")
	s.waitText("✗ refused: not enough", "nothing was held", "enter tries again")
	if got := w.balance(alice); got != left {
		t.Fatalf("balance after a refused withdrawal: %d, want %d", got, left)
	}
	if n := len(w.payoutsOf(alice)); n != 2 {
		t.Fatalf("%d payouts after a refusal, want 2", n)
	}
	s.keys("esc", "esc")
	s.settled("2 on the way")
}

func TestWithdrawalsOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sshtest.Options{NoTUI: true}) // --chain none
	alice := w.account("alice")
	w.fund(alice, 5000)
	s := w.open(alice, 100, 30)
	s.keys("3")
	s.settled("deposits are off (--chain none)", "payouts    OFF withdrawals are off (--chain none)")
	s.keys("w")
	v := s.waitText("withdrawals are off (--chain none): nothing can be sent", "esc closes")
	if strings.Contains(v, "▸ address") {
		t.Fatalf("the form opened with withdrawals off:\n%s", v)
	}
	s.keys("p") // keys are not text here, and the form does not open
	s.keys("esc")
	s.waitFor("the notice to close", func(v string) bool { return !strings.Contains(v, "nothing can be sent") })
	s.keys("p")
	s.waitText("no payouts — withdrawals are off (--chain none)")

	// With a deposit side but no payouts, the form says so too.
	fake := newWorld(t, sshtest.Options{NoTUI: true, Chain: fakeChain{addr: regtestAddr,
		status: market.ChainStatus{Network: "regtest", Enabled: true, Reachable: true, Height: 101}}})
	bob := fake.account("bob")
	s = fake.open(bob, 100, 30)
	s.keys("3")
	s.settled("payouts    OFF withdrawals are off on this shop")
	s.keys("w")
	s.waitText("withdrawals are off on this shop: nothing can be sent")
}

// hasLine reports whether a line of v holds every part, in order.
func hasLine(v string, parts ...string) bool {
	for _, l := range strings.Split(v, "\n") {
		rest, ok := l, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

func sats(n int64) string { return common.Sats(n) }

func thousands(n int64) string { return common.Thousands(n) }

// TestWithdrawAgainstBtcd runs the whole way on a real regtest node: a
// real deposit funds the wallet, the form withdraws (Enter pressed twice:
// one hold), the payout shows as pending, then, as the signer signs and
// the node mines, as broadcast with its txid and as confirmed — each
// step reaching the open session as a WalletChanged event.
func TestWithdrawAgainstBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a btcd regtest node")
	}
	t.Parallel()
	ctx := context.Background()
	h := chaintest.Start(t)
	var deposits *market.Deposits
	w := newPayoutWorld(t, h.Client, func(st store.ChainStore, d *chain.Deriver, hub *market.Hub) (market.Chain, error) {
		var err error
		deposits, err = market.NewDeposits(ctx, st, market.DepositsConfig{Network: "regtest", Deriver: d, Source: h.Client,
			Params: h.Params, Confirmations: 1, Events: hub})
		return deposits, err
	})
	alice := w.account("alice")
	dest := destination(t, "tui withdraw btcd")
	fee := w.quote(alice, dest).FeeSats

	// A deposit credited while the wallet is open shows on it.
	if err := deposits.Sync(ctx); err != nil { // the watcher has seen the node
		t.Fatal(err)
	}
	s := w.open(alice, 100, 30, opts{idle: time.Hour})
	s.keys("3")
	v := s.settled("balance    0 sats", "✓ ON regtest", "no movements yet")
	addr := regexpAddress.FindString(v)
	if addr == "" {
		t.Fatalf("no deposit address:\n%s", v)
	}
	h.Pay(addr, 100_000)
	if err := deposits.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.settled("balance    100,000 sats", "deposit", "+100,000", "none yet · w withdraws")
	s.keys("w")
	s.waitText("▸ address")
	s.paste(dest)
	s.keys("tab")
	s.typ("60000")
	s.waitText("✓ 60,000 + " + thousands(fee) + " fee = " + sats(60_000+fee) + " held")
	s.keys("enter")
	s.waitText("enter withdraw 60,000 sats")
	s.keys("enter", "enter")
	s.waitText("✓ HELD "+sats(60_000+fee), "status pending")
	if got := w.balance(alice); got != 40_000-fee {
		t.Fatalf("balance %d after withdrawing 60,000 + %d fee once, want %d", got, fee, 40_000-fee)
	}
	if ps := w.payoutsOf(alice); len(ps) != 1 || ps[0].Status != store.PayoutPending {
		t.Fatalf("payouts: %+v", ps)
	}
	s.keys("esc")
	v = s.settled("balance    "+sats(40_000-fee), "1 on the way", "payouts · newest first")
	if !hasLine(v, "pending", "60,000", thousands(fee)) {
		t.Fatalf("the payout is not listed as pending:\n%s", v)
	}

	// The signer signs; the server broadcasts: the open session shows it.
	h.ActivateSegwit() // the deposit is a P2WPKH output
	signer := w.grant(w.account("signer"), store.RoleSigner)
	req, err := w.m.PayoutBatch(ctx, signer)
	if err != nil || req.Batch == "" {
		t.Fatalf("batch: %+v, %v", req, err)
	}
	pkt, err := chain.DecodePSBT([]byte(req.PSBT))
	if err != nil {
		t.Fatal(err)
	}
	xprv, err := chain.LoadAccountXprv(filepath.Join(w.dir, chain.RegtestXprvFile), h.Params)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := chain.NewAccountSigner(xprv, h.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Check(pkt, req.Payouts, chain.SignerPolicy{MaxFeeRate: 10}); err != nil {
		t.Fatal(err)
	}
	if err := sg.Sign(pkt); err != nil {
		t.Fatal(err)
	}
	b64, err := chain.EncodePSBT(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.m.SubmitBatch(ctx, signer, req.Batch, []byte(b64)); err != nil || res.Status != store.BatchBroadcast {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	s.waitFor("broadcast with its txid", func(v string) bool {
		return hasLine(v, "broadcast", "60,000") && strings.Contains(v, "txid "+req.TxID)
	})
	h.Mine(1)
	if err := w.payouts.Step(ctx); err != nil {
		t.Fatal(err)
	}
	v = s.waitFor("confirmed", func(v string) bool { return hasLine(v, "confirmed", "60,000") })
	if !strings.Contains(v, "1, none on the way") || !strings.Contains(v, "balance    "+sats(40_000-fee)) {
		t.Errorf("after the confirmation:\n%s", v)
	}
	s.keys("p")
	s.waitText("payout held", "-60,282")
	if got := w.balance(alice); got != 40_000-fee {
		t.Fatalf("balance %d after the payout confirmed, want %d", got, 40_000-fee)
	}
}
