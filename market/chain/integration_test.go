package chain_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/mempool"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/charmbracelet/log"

	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
)

func TestDustLimitMatchesBtcd(t *testing.T) {
	reg := &chaincfg.RegressionNetParams
	key := chaintest.MinerKey()
	pkh, _ := chain.MinerAddress(key, reg)
	wpkh, _ := btcutil.NewAddressWitnessPubKeyHash(make([]byte, 20), reg)
	wsh, _ := btcutil.NewAddressWitnessScriptHash(make([]byte, 32), reg)
	sh, _ := btcutil.NewAddressScriptHash([]byte{0x51}, reg)
	tr, _ := btcutil.NewAddressTaproot(make([]byte, 32), reg)
	want := map[btcutil.Address]int64{pkh: 546, wpkh: 294, wsh: 330, sh: 540, tr: 330}
	for a, limit := range want {
		script, _ := txscript.PayToAddrScript(a)
		if got := chain.DustLimit(script); got != limit {
			t.Errorf("%T: DustLimit = %d, want %d", a, got, limit)
		}
		for _, v := range []int64{limit - 1, limit} {
			if dust := mempool.IsDust(wire.NewTxOut(v, script), mempool.DefaultMinRelayTxFee); dust != (v < limit) {
				t.Errorf("%T: btcd IsDust(%d) = %v, DustLimit %d disagrees", a, v, dust, limit)
			}
		}
	}
}

// TestAgainstBtcd runs the deposit lifecycle against a real btcd regtest
// node: pending in the mempool, credited at one confirmation, reversed by
// invalidateblock, credited again when re-mined, never twice.
func TestAgainstBtcd(t *testing.T) {
	h := chaintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg := h.Params

	seed := chainhash.HashB([]byte("shopfile chain integration account"))
	master, _ := hdkeychain.NewMaster(seed, reg)
	acct := master
	for _, i := range []uint32{84, 1, 0} {
		acct, _ = acct.Derive(hdkeychain.HardenedKeyStart + i)
	}
	pub, _ := acct.Neuter()
	k, err := chain.ParseAccountKey(pub.String(), reg)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := chain.NewDeriver(k, reg)
	addr, script, err := d.Address(0)
	if err != nil || !strings.HasPrefix(addr, "bcrt1q") {
		t.Fatalf("address %s, %v", addr, err)
	}

	logger := log.New(os.Stderr)
	logger.SetLevel(log.WarnLevel)
	if testing.Verbose() {
		logger.SetLevel(log.InfoLevel)
	}
	s := newFakeStore(script)
	w := chain.NewWatcher(h.Client, s, reg, 1, logger)
	sync := func() {
		t.Helper()
		if err := w.Sync(ctx); err != nil {
			t.Fatalf("Sync: %v", err)
		}
	}
	sync() // fresh start at genesis

	// Refusals first (cheap): dust, and other networks.
	if _, err := chain.PayFromMiner(ctx, h.Client, h.MinerKey, reg, addr, 293); err == nil || !strings.Contains(err.Error(), "dust") {
		t.Errorf("PayFromMiner(293 sats to P2WPKH) = %v, want a dust refusal", err)
	}
	if _, err := chain.PayFromMiner(ctx, h.Client, h.MinerKey, &chaincfg.TestNet3Params, addr, 10_000); err == nil || !strings.Contains(err.Error(), "regtest only") {
		t.Errorf("PayFromMiner on testnet = %v", err)
	}
	if _, err := chain.PayFromMiner(ctx, h.Client, h.MinerKey, reg, addr, 60*100_000_000); err == nil || !strings.Contains(err.Error(), "coinbase") {
		t.Errorf("PayFromMiner(60 BTC) = %v", err)
	}

	// Pay without mining: pending only. (This first mines 101 blocks.)
	txid := h.Send(addr, 100_000)
	sync()
	wantState(t, s, 0, 100_000)
	if got := s.tip().Height; got != h.Height() {
		t.Fatalf("cursor %d, node %d", got, h.Height())
	}

	// One confirmation: credited.
	mined := h.Mine(1)[0]
	sync()
	wantState(t, s, 100_000, 0, "credit")
	blk, err := h.Client.Block(ctx, mined)
	if err != nil || len(blk.Transactions) != 2 || blk.Transactions[1].TxHash().String() != txid {
		t.Fatalf("mined block does not hold the payment: %v", err)
	}
	sync()
	sync()
	wantState(t, s, 100_000, 0, "credit")

	// Reorg: invalidate the block; the tx returns to the mempool.
	if inv := h.InvalidateTip(); inv != mined {
		t.Fatalf("invalidated %s, want %s", inv, mined)
	}
	sync()
	wantState(t, s, 0, 100_000, "credit", "reversal")

	// Mine again: the tx is mined in a new block and credited once more.
	remined := h.Mine(1)[0]
	if remined == mined {
		t.Fatal("re-mined the invalidated block")
	}
	sync()
	sync()
	wantState(t, s, 100_000, 0, "credit", "reversal", "credit")
	blk, _ = h.Client.Block(ctx, remined)
	if len(blk.Transactions) != 2 || blk.Transactions[1].TxHash().String() != txid {
		t.Error("the re-mined block does not hold the payment")
	}

	// A new watcher over the same store (a restart) changes nothing.
	w2 := chain.NewWatcher(h.Client, s, reg, 1, logger)
	if err := w2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, 100_000, 0, "credit", "reversal", "credit")

	// Pay (mines a block) to a P2PKH address; the output is there, unspent.
	other, _ := chain.MinerAddress(chaintest.MinerKey(), reg)
	payID := h.Pay(other.EncodeAddress(), 12_345)
	ph, _ := chainhash.NewHashFromStr(payID)
	out, err := h.Client.TxOut(ctx, wire.OutPoint{Hash: *ph, Index: 0}, true)
	if err != nil || out == nil || out.Confirmations != 1 {
		t.Errorf("paid output: %+v, %v", out, err)
	}
	sync()
	wantState(t, s, 100_000, 0, "credit", "reversal", "credit")

	// Mempool fetch works with several transactions (cache path).
	h.Send(addr, 1_000)
	sync()
	h.Send(addr, 2_000)
	sync()
	wantState(t, s, 100_000, 3_000, "credit", "reversal", "credit")
	h.Mine(1)
	sync()
	wantState(t, s, 103_000, 0, "credit", "reversal", "credit", "credit", "credit")

	if st := w.Status(); !st.Reachable || st.Height != h.Height() || st.LastError != "" {
		t.Errorf("status %+v", st)
	}

	// The node goes away: reported at once, not after rpcclient's retries.
	h.Node.Stop()
	start := time.Now()
	err = w.Sync(ctx)
	if !errors.Is(err, chain.ErrUnreachable) {
		t.Errorf("Sync with the node stopped = %v, want ErrUnreachable", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("unreachable node took %s to report", el)
	}
	if st := w.Status(); st.Reachable || st.LastError == "" {
		t.Errorf("status with node stopped %+v", st)
	}
}

// TestStartNodeFailure: a btcd that cannot start reports its own message.
func TestStartNodeFailure(t *testing.T) {
	bin := chaintest.Btcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := chain.StartNode(ctx, chain.NodeConfig{
		Bin: bin, DataDir: t.TempDir(), RPCListen: "127.0.0.1:1", User: "u", Pass: "p",
		MiningAddr: "not-an-address",
	})
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "mining address") {
		t.Errorf("StartNode with a bad mining address = %v", err)
	}
	if _, err := chain.StartNode(ctx, chain.NodeConfig{Bin: bin, DataDir: t.TempDir(), RPCListen: "0.0.0.0:18334", User: "u", Pass: "p"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("StartNode on 0.0.0.0 = %v", err)
	}
}

// TestSpendDepositAfterSegwit: a deposit to a derived address can be spent
// with the account xprv kept by EnsureRegtestAccount, once segwit is active
// (btcd regtest enforces it from block 432 only).
func TestSpendDepositAfterSegwit(t *testing.T) {
	h := chaintest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg := h.Params
	dir := t.TempDir()
	xpub, err := chain.EnsureRegtestAccount(dir)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := chain.ParseAccountKey(xpub, reg)
	d, _ := chain.NewDeriver(k, reg)
	addr, script, _ := d.Address(3)
	txid := h.Pay(addr, 200_000)
	prevHash, _ := chainhash.NewHashFromStr(txid)

	xprv, err := chain.LoadAccountXprv(filepath.Join(dir, chain.RegtestXprvFile), reg)
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := xprv.Derive(0)
	child, _ := ext.Derive(3)
	priv, err := child.ECPrivKey()
	if err != nil {
		t.Fatal(err)
	}
	minerScript, _ := txscript.PayToAddrScript(h.MinerAddr)
	spend := func() error {
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(prevHash, 0), nil, nil))
		tx.AddTxOut(wire.NewTxOut(200_000-500, minerScript))
		fetcher := txscript.NewCannedPrevOutputFetcher(script, 200_000)
		hashes := txscript.NewTxSigHashes(tx, fetcher)
		wit, err := txscript.WitnessSignature(tx, hashes, 0, 200_000, script, txscript.SigHashAll, priv, true)
		if err != nil {
			return err
		}
		tx.TxIn[0].Witness = wit
		vm, err := txscript.NewEngine(script, tx, 0, txscript.StandardVerifyFlags, nil, hashes, 200_000, fetcher)
		if err != nil {
			return err
		}
		if err := vm.Execute(); err != nil {
			t.Fatalf("witness does not verify: %v", err)
		}
		_, err = h.Client.SendRawTransaction(ctx, tx)
		return err
	}
	if err := spend(); err == nil || !strings.Contains(err.Error(), "segwit") {
		t.Errorf("spend before segwit activation = %v, want a segwit refusal", err)
	}
	h.ActivateSegwit()
	if err := spend(); err != nil {
		t.Fatalf("spend after activation: %v", err)
	}
	h.Mine(1)
	out, err := h.Client.TxOut(ctx, wire.OutPoint{Hash: *prevHash, Index: 0}, true)
	if err != nil || out != nil {
		t.Errorf("deposit output still unspent: %+v, %v", out, err)
	}
}
