package chain_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/shopfile/shopfile/market/chain"
)

// payAccount is a regtest BIP84 account: the server's deriver and the
// signer's key, as EnsureRegtestAccount keeps them.
type payAccount struct {
	params  *chaincfg.Params
	deriver *chain.Deriver
	signer  *chain.AccountSigner
}

func newPayAccount(t *testing.T) payAccount {
	t.Helper()
	dir := t.TempDir()
	params := &chaincfg.RegressionNetParams
	xpub, err := chain.EnsureRegtestAccount(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := chain.ParseAccountKey(xpub, params)
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.NewDeriver(pub, params)
	if err != nil {
		t.Fatal(err)
	}
	xprv, err := chain.LoadAccountXprv(filepath.Join(dir, chain.RegtestXprvFile), params)
	if err != nil {
		t.Fatal(err)
	}
	s, err := chain.NewAccountSigner(xprv, params)
	if err != nil {
		t.Fatal(err)
	}
	return payAccount{params: params, deriver: d, signer: s}
}

// coins makes deposit outputs of the account at receive indexes 0.., each
// in a transaction of its own.
func (a payAccount) coins(t *testing.T, amounts ...int64) ([]chain.Coin, map[chainhash.Hash]*wire.MsgTx) {
	t.Helper()
	txs := map[chainhash.Hash]*wire.MsgTx{}
	var coins []chain.Coin
	for i, amt := range amounts {
		_, script, err := a.deriver.Address(uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{byte(i + 1)}, 0), []byte{0x51}, nil))
		tx.AddTxOut(wire.NewTxOut(1000, []byte{0x51})) // someone else's change first
		tx.AddTxOut(wire.NewTxOut(amt, script))
		h := tx.TxHash()
		txs[h] = tx
		coins = append(coins, chain.Coin{TxID: h, Vout: 1, Amount: amt, PkScript: script, Branch: 0, Index: uint32(i)})
	}
	return coins, txs
}

func payee(t *testing.T, params *chaincfg.Params, seed string) string {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte(seed)))
	a, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(k.PubKey().SerializeCompressed()), params)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

func (a payAccount) build(t *testing.T, payouts []chain.PayoutOutput, amounts ...int64) (*chain.Batch, []chain.Coin) {
	t.Helper()
	coins, txs := a.coins(t, amounts...)
	b, err := chain.BuildBatch(chain.BatchSpec{Params: a.params, Deriver: a.deriver, FeeRate: 2, Payouts: payouts, Coins: coins,
		ChangeIndex: 7, PrevTx: func(h chainhash.Hash) (*wire.MsgTx, error) {
			if tx, ok := txs[h]; ok {
				return tx, nil
			}
			return nil, errors.New("unknown tx")
		}})
	if err != nil {
		t.Fatal(err)
	}
	return b, b.Inputs
}

func clone(t *testing.T, p *psbt.Packet) *psbt.Packet {
	t.Helper()
	raw, err := chain.PSBTBytes(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.DecodePSBT(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func threePayouts(t *testing.T, params *chaincfg.Params) []chain.PayoutOutput {
	return []chain.PayoutOutput{
		{ID: "w1", Address: payee(t, params, "one"), Amount: 30_000},
		{ID: "w2", Address: payee(t, params, "two"), Amount: 45_000},
		{ID: "w3", Address: payee(t, params, "one"), Amount: 30_000}, // the same again: paid twice
	}
}

func TestBatchBuildCheckSignFinalize(t *testing.T) {
	a := newPayAccount(t)
	payouts := threePayouts(t, a.params)
	b, coins := a.build(t, payouts, 20_000, 80_000, 60_000)
	if len(b.Payouts) != 3 || b.ChangeVout < 0 {
		t.Fatalf("payouts %d change vout %d", len(b.Payouts), b.ChangeVout)
	}
	if len(coins) != 2 || coins[0].Amount+coins[1].Amount != 140_000 {
		t.Fatalf("selected %+v, want the two largest", coins)
	}
	if got := 140_000 - 105_000 - b.ChangeAmount; got != b.Fee || b.Fee != 2*b.VSize {
		t.Fatalf("fee %d, change %d, vsize %d", b.Fee, b.ChangeAmount, b.VSize)
	}
	sum, err := a.signer.Check(b.Packet, payouts, chain.SignerPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Fee != b.Fee || sum.Paid != 105_000 || sum.Change != b.ChangeAmount {
		t.Fatalf("summary %+v", sum)
	}
	unsigned, err := chain.UnsignedBytes(b.Packet.UnsignedTx)
	if err != nil {
		t.Fatal(err)
	}
	signed := clone(t, b.Packet)
	if err := a.signer.Sign(signed); err != nil {
		t.Fatal(err)
	}
	tx, err := chain.Finalize(clone(t, signed), unsigned, coins)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TxHash() != b.Packet.UnsignedTx.TxHash() {
		t.Fatal("signing changed the txid")
	}
	// The estimate never undercuts the real size (signatures are 71-72 bytes).
	real := (int64(tx.SerializeSizeStripped())*3 + int64(tx.SerializeSize()) + 3) / 4
	if real > b.VSize || b.VSize-real > int64(len(tx.TxIn)) {
		t.Fatalf("vsize estimate %d, real %d", b.VSize, real)
	}
}

func TestBuildTakesThePayoutsTheCoinsCover(t *testing.T) {
	a := newPayAccount(t)
	payouts := threePayouts(t, a.params)
	b, _ := a.build(t, payouts, 50_000, 30_000)
	if len(b.Payouts) != 2 {
		t.Fatalf("%d payouts, want the two the 80000 sats cover", len(b.Payouts))
	}
	coins, txs := a.coins(t, 1_000)
	_, err := chain.BuildBatch(chain.BatchSpec{Params: a.params, Deriver: a.deriver, FeeRate: 2, Payouts: payouts, Coins: coins,
		PrevTx: func(h chainhash.Hash) (*wire.MsgTx, error) { return txs[h], nil }})
	if !errors.Is(err, chain.ErrNoFunds) {
		t.Fatalf("err %v, want ErrNoFunds", err)
	}
}

// Every way a server (or anyone between it and the signer) could bend a
// batch is refused before anything is signed.
func TestSignerRefusesTamperedBatches(t *testing.T) {
	a := newPayAccount(t)
	other := newPayAccount(t)
	payouts := threePayouts(t, a.params)
	b, _ := a.build(t, payouts, 80_000, 60_000)
	thief := payee(t, a.params, "thief")
	_, thiefScript, _ := chain.DecodeAddress(thief, a.params)
	payoutVout := func(p *psbt.Packet) int {
		for i, o := range p.UnsignedTx.TxOut {
			if o.Value == 45_000 {
				return i
			}
		}
		t.Fatal("no 45000 output")
		return -1
	}
	change := b.ChangeVout
	otherPub, _ := other.deriver.PubKey(1, 7)
	_, otherChange, _ := other.deriver.ChangeAddress(7)

	cases := map[string]struct {
		tamper  func(p *psbt.Packet)
		payouts []chain.PayoutOutput
		policy  chain.SignerPolicy
	}{
		"output redirected": {tamper: func(p *psbt.Packet) { p.UnsignedTx.TxOut[payoutVout(p)].PkScript = thiefScript }},
		"amount raised": {tamper: func(p *psbt.Packet) {
			p.UnsignedTx.TxOut[payoutVout(p)].Value += 5_000
			p.UnsignedTx.TxOut[change].Value -= 5_000
		}},
		"extra output": {tamper: func(p *psbt.Packet) {
			p.UnsignedTx.TxOut[change].Value -= 10_000
			p.UnsignedTx.AddTxOut(wire.NewTxOut(10_000, thiefScript))
			p.Outputs = append(p.Outputs, psbt.POutput{})
		}},
		"listed payout missing": {payouts: append(threePayouts(t, a.params), chain.PayoutOutput{ID: "w4", Address: thief, Amount: 1_000})},
		"payout list names another address": {payouts: func() []chain.PayoutOutput {
			ps := threePayouts(t, a.params)
			ps[1].Address = thief
			return ps
		}()},
		"change to a foreign key": {tamper: func(p *psbt.Packet) {
			p.UnsignedTx.TxOut[change].PkScript = otherChange
			p.Outputs[change].Bip32Derivation[0].PubKey = otherPub
			p.Outputs[change].Bip32Derivation[0].MasterKeyFingerprint = other.deriver.AccountFingerprint()
		}},
		"change pubkey not at the stated path": {tamper: func(p *psbt.Packet) {
			p.UnsignedTx.TxOut[change].PkScript = otherChange
			p.Outputs[change].Bip32Derivation[0].PubKey = otherPub
		}},
		"change on the receive branch": {tamper: func(p *psbt.Packet) {
			path := a.deriver.Path(0, 7)
			pub, _ := a.deriver.PubKey(0, 7)
			_, script, _ := a.deriver.Address(7)
			p.Outputs[change].Bip32Derivation[0].Bip32Path, p.Outputs[change].Bip32Derivation[0].PubKey = path, pub
			p.UnsignedTx.TxOut[change].PkScript = script
		}},
		"change path outside the payAccount": {tamper: func(p *psbt.Packet) {
			p.Outputs[change].Bip32Derivation[0].Bip32Path[2]++
		}},
		"fee above the bound": {policy: chain.SignerPolicy{MaxFee: b.Fee - 1}},
		"fee rate above the bound": {tamper: func(p *psbt.Packet) {
			p.UnsignedTx.TxOut[change].Value -= 20_000 // to the miners
		}, policy: chain.SignerPolicy{MaxFeeRate: 50}},
		"input amount lie":                       {tamper: func(p *psbt.Packet) { p.Inputs[0].WitnessUtxo.Value -= 10_000 }},
		"input without its previous transaction": {tamper: func(p *psbt.Packet) { p.Inputs[0].NonWitnessUtxo = nil }},
		"input of another account": {tamper: func(p *psbt.Packet) {
			p.Inputs[0].Bip32Derivation[0].MasterKeyFingerprint = other.deriver.AccountFingerprint()
		}},
		"input spent twice": {tamper: func(p *psbt.Packet) {
			p.UnsignedTx.TxIn[1].PreviousOutPoint = p.UnsignedTx.TxIn[0].PreviousOutPoint
			p.Inputs[1] = p.Inputs[0]
		}},
		"sighash other than ALL": {tamper: func(p *psbt.Packet) { p.Inputs[0].SighashType = 0x83 }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := clone(t, b.Packet)
			if c.tamper != nil {
				c.tamper(p)
			}
			list := c.payouts
			if list == nil {
				list = payouts
			}
			_, err := a.signer.Check(p, list, c.policy)
			if !errors.Is(err, chain.ErrBatchRefused) {
				t.Fatalf("signer accepted it: %v", err)
			}
			t.Log(err)
		})
	}
	// The untouched batch passes: the refusals are the tampering's.
	if _, err := a.signer.Check(clone(t, b.Packet), payouts, chain.SignerPolicy{}); err != nil {
		t.Fatal(err)
	}
	// A signer of another account refuses the batch outright.
	if _, err := other.signer.Check(clone(t, b.Packet), payouts, chain.SignerPolicy{}); !errors.Is(err, chain.ErrBatchRefused) {
		t.Fatalf("another account's signer: %v", err)
	}
}

// The server takes back only its own transaction, fully and validly
// signed, whatever the signer (or a thief holding a key) sends.
func TestFinalizeRefusesAnythingButTheBatch(t *testing.T) {
	a := newPayAccount(t)
	other := newPayAccount(t)
	payouts := threePayouts(t, a.params)
	b, coins := a.build(t, payouts, 80_000, 60_000)
	unsigned, _ := chain.UnsignedBytes(b.Packet.UnsignedTx)
	_, thiefScript, _ := chain.DecodeAddress(payee(t, a.params, "thief"), a.params)

	signedAfter := func(tamper func(p *psbt.Packet), s *chain.AccountSigner) *psbt.Packet {
		p := clone(t, b.Packet)
		tamper(p)
		if err := s.Sign(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]*psbt.Packet{
		"output redirected, then signed": signedAfter(func(p *psbt.Packet) { p.UnsignedTx.TxOut[0].PkScript = thiefScript }, a.signer),
		"amount changed, then signed":    signedAfter(func(p *psbt.Packet) { p.UnsignedTx.TxOut[0].Value-- }, a.signer),
		"input dropped, then signed": signedAfter(func(p *psbt.Packet) {
			p.UnsignedTx.TxIn = p.UnsignedTx.TxIn[:1]
			p.Inputs = p.Inputs[:1]
		}, a.signer),
		"locktime changed, then signed": signedAfter(func(p *psbt.Packet) { p.UnsignedTx.LockTime = 1 }, a.signer),
		"not signed":                    clone(t, b.Packet),
		"half signed": func() *psbt.Packet {
			p := signedAfter(func(*psbt.Packet) {}, a.signer)
			p.Inputs[1].PartialSigs = nil
			return p
		}(),
		"signed with the wrong amount": func() *psbt.Packet {
			p := clone(t, b.Packet)
			p.Inputs[0].WitnessUtxo.Value -= 1 // the signature commits to it
			if err := a.signer.Sign(p); err != nil {
				t.Fatal(err)
			}
			return p
		}(),
	}
	// A signature by another key over the right transaction.
	forged := clone(t, b.Packet)
	for i := range forged.Inputs {
		pub, _ := other.deriver.PubKey(forged.Inputs[i].Bip32Derivation[0].Bip32Path[3], forged.Inputs[i].Bip32Derivation[0].Bip32Path[4])
		forged.Inputs[i].Bip32Derivation[0].PubKey = pub
		forged.Inputs[i].Bip32Derivation[0].MasterKeyFingerprint = other.deriver.AccountFingerprint()
		forged.Inputs[i].WitnessUtxo.PkScript = p2wpkh(pub)
	}
	if err := other.signer.Sign(forged); err != nil {
		t.Fatal(err)
	}
	cases["signed by another key"] = forged

	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := chain.Finalize(p, unsigned, coins)
			if !errors.Is(err, chain.ErrBatchMismatch) {
				t.Fatalf("server accepted it: %v", err)
			}
			t.Log(err)
		})
	}
}

func p2wpkh(pub []byte) []byte {
	return append([]byte{0x00, 0x14}, btcutil.Hash160(pub)...)
}

func TestPayoutFee(t *testing.T) {
	params := &chaincfg.RegressionNetParams
	_, wpkh, _ := chain.DecodeAddress(payee(t, params, "x"), params)
	// 1 P2WPKH input (68 vB), P2WPKH payout and change (31 vB each), 10.5 vB overhead.
	if got := chain.PayoutFee(1, wpkh); got != 141 {
		t.Fatalf("fee at 1 sat/vB: %d, want 141", got)
	}
	if got := chain.PayoutFee(3, wpkh); got != 423 {
		t.Fatalf("fee at 3 sat/vB: %d", got)
	}
	if !bytes.Equal(wpkh[:2], []byte{0, 20}) {
		t.Fatal(fmt.Sprintf("%x", wpkh))
	}
}
