package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// Payout batches: one transaction paying many withdrawals from the shop's
// own P2WPKH outputs, built here as an unsigned PSBT (BIP174), checked and
// signed by a separate signer that holds the account xprv, and finalised
// again here. The server never holds a spending key; the signer never
// trusts the server: it checks every output against the payout list, that
// change goes back to its own key, and that the fee is bounded.
//
// Every input carries its WitnessUtxo, the whole previous transaction
// (NonWitnessUtxo, so amounts cannot be lied about across two signing
// rounds: CVE-2020-14199) and one BIP32 derivation at the BIP84 path
// m/84'/coin'/0'/branch/index. The derivation's fingerprint is the
// account key's own (the shop knows only the account key, not the master).

// Errors a signer or the server refuses a batch with (wrapped).
var (
	ErrBatchRefused  = errors.New("batch refused")
	ErrBatchMismatch = errors.New("the transaction does not match the batch")
	ErrNoFunds       = errors.New("the shop's confirmed outputs cannot pay any waiting payout")
)

// Size constants of P2WPKH-only transactions, in weight units.
const (
	// version, locktime (non-witness, ×4) plus the segwit marker and flag.
	txFixedWeight = (4+4)*4 + 2
	// outpoint, empty scriptSig length, sequence (non-witness, ×4) plus
	// the witness: item count, a 72-byte signature, a 33-byte key.
	p2wpkhInputWeight = (32+4+1+4)*4 + 1 + 1 + 72 + 1 + 33
	// p2wpkhScriptLen is OP_0 <20 bytes>.
	p2wpkhScriptLen = 22
)

// OutputSize is the serialized size of an output paying pkScript.
func OutputSize(pkScript []byte) int64 {
	return 8 + int64(wire.VarIntSerializeSize(uint64(len(pkScript)))) + int64(len(pkScript))
}

// batchVSize estimates the virtual size of a transaction spending nIn
// P2WPKH inputs to outputs whose serialized sizes sum to outBytes.
func batchVSize(nIn, nOut int, outBytes int64) int64 {
	w := int64(txFixedWeight) + 4*int64(wire.VarIntSerializeSize(uint64(nIn))+wire.VarIntSerializeSize(uint64(nOut))) +
		int64(nIn)*p2wpkhInputWeight + 4*outBytes
	return (w + 3) / 4
}

// TxVSize estimates the virtual size of tx once its inputs (all P2WPKH)
// are signed.
func TxVSize(tx *wire.MsgTx) int64 {
	w := int64(tx.SerializeSizeStripped())*4 + 2
	for range tx.TxIn {
		w += 1 + 1 + 72 + 1 + 33
	}
	return (w + 3) / 4
}

// PayoutFee is the fee charged for one withdrawal to pkScript at feeRate
// sat/vB: what a transaction of its own would cost (one input, the
// payout, change). In a batch the real fee per payout is lower.
func PayoutFee(feeRate int64, pkScript []byte) int64 {
	return feeRate * batchVSize(1, 2, OutputSize(pkScript)+OutputSize(make([]byte, p2wpkhScriptLen)))
}

// Coin is one of the shop's own P2WPKH outputs, at account path
// Branch/Index (0: a deposit address, 1: change).
type Coin struct {
	TxID     chainhash.Hash
	Vout     uint32
	Amount   int64
	PkScript []byte
	Branch   uint32
	Index    uint32
}

// PayoutOutput is one requested payout, as the signer is told about it.
type PayoutOutput struct {
	ID      string `json:"payout"`
	Address string `json:"address"`
	Amount  int64  `json:"amount_sats"`
}

// BatchSpec is what a batch is built from.
type BatchSpec struct {
	Params  *chaincfg.Params
	Deriver *Deriver
	FeeRate int64 // sat/vB
	// Payouts in priority order; when the coins cannot pay them all, the
	// batch takes the longest prefix they can pay.
	Payouts []PayoutOutput
	// Coins the batch may spend.
	Coins []Coin
	// ChangeIndex is the change address index …/1/ChangeIndex to use.
	ChangeIndex uint32
	// PrevTx returns the transaction that created an output (for
	// NonWitnessUtxo).
	PrevTx func(chainhash.Hash) (*wire.MsgTx, error)
}

// Batch is a built, unsigned batch.
type Batch struct {
	Packet       *psbt.Packet
	Payouts      []PayoutOutput // the payouts it pays (a prefix of the spec's)
	Inputs       []Coin         // in transaction order
	Fee          int64
	VSize        int64
	ChangeVout   int // -1: no change output
	ChangeAmount int64
	ChangeScript []byte
}

// minChange is the smallest change kept as an output; less goes to the fee.
func minChange(script []byte) int64 { return DustLimit(script) }

// BuildBatch selects coins (largest first) and builds the unsigned PSBT:
// inputs and outputs in BIP69 order, change (if any) to the change
// address at spec.ChangeIndex.
func BuildBatch(spec BatchSpec) (*Batch, error) {
	if spec.Params == nil || spec.Deriver == nil || spec.PrevTx == nil {
		return nil, errors.New("build batch: missing params, deriver or PrevTx")
	}
	if spec.FeeRate <= 0 {
		return nil, fmt.Errorf("build batch: fee rate %d sat/vB must be positive", spec.FeeRate)
	}
	if len(spec.Payouts) == 0 {
		return nil, errors.New("build batch: no payouts")
	}
	_, changeScript, err := spec.Deriver.ChangeAddress(spec.ChangeIndex)
	if err != nil {
		return nil, fmt.Errorf("build batch: %w", err)
	}
	scripts := make([][]byte, len(spec.Payouts))
	for i, p := range spec.Payouts {
		_, s, err := DecodeAddress(p.Address, spec.Params)
		if err != nil {
			return nil, fmt.Errorf("build batch: payout %s: %w", p.ID, err)
		}
		if p.Amount < DustLimit(s) {
			return nil, fmt.Errorf("build batch: payout %s: %d sats is dust", p.ID, p.Amount)
		}
		scripts[i] = s
	}
	coins := append([]Coin(nil), spec.Coins...)
	sort.SliceStable(coins, func(i, j int) bool { return coins[i].Amount > coins[j].Amount })

	// The longest prefix of payouts the coins can pay.
	for n := len(spec.Payouts); n > 0; n-- {
		sel, fee, change, ok := selectCoins(coins, scripts[:n], spec.Payouts[:n], changeScript, spec.FeeRate)
		if !ok {
			continue
		}
		return assemble(spec, sel, scripts[:n], spec.Payouts[:n], changeScript, fee, change)
	}
	return nil, ErrNoFunds
}

// selectCoins takes coins largest first until they pay the outputs and the
// fee; change is 0 when it would be dust (the rest goes to the fee).
func selectCoins(coins []Coin, scripts [][]byte, payouts []PayoutOutput, changeScript []byte, rate int64) ([]Coin, int64, int64, bool) {
	var out, outBytes int64
	for i, p := range payouts {
		out += p.Amount
		outBytes += OutputSize(scripts[i])
	}
	changeBytes := OutputSize(changeScript)
	var in int64
	for k := range coins {
		in += coins[k].Amount
		n := k + 1
		withChange := rate * batchVSize(n, len(payouts)+1, outBytes+changeBytes)
		if change := in - out - withChange; change >= minChange(changeScript) {
			return coins[:n], withChange, change, true
		}
		noChange := rate * batchVSize(n, len(payouts), outBytes)
		if in-out >= noChange {
			return coins[:n], in - out, 0, true
		}
	}
	return nil, 0, 0, false
}

func assemble(spec BatchSpec, sel []Coin, scripts [][]byte, payouts []PayoutOutput, changeScript []byte, fee, change int64) (*Batch, error) {
	tx := wire.NewMsgTx(2)
	for _, c := range sel {
		op := wire.NewOutPoint(&c.TxID, c.Vout)
		tx.AddTxIn(wire.NewTxIn(op, nil, nil))
	}
	for i, p := range payouts {
		tx.AddTxOut(wire.NewTxOut(p.Amount, scripts[i]))
	}
	if change > 0 {
		tx.AddTxOut(wire.NewTxOut(change, changeScript))
	}
	pkt, err := psbt.NewFromUnsignedTx(tx)
	if err != nil {
		return nil, fmt.Errorf("build batch: %w", err)
	}
	if err := psbt.InPlaceSort(pkt); err != nil {
		return nil, fmt.Errorf("build batch: sort: %w", err)
	}
	tx = pkt.UnsignedTx
	byOutpoint := make(map[wire.OutPoint]Coin, len(sel))
	for _, c := range sel {
		byOutpoint[wire.OutPoint{Hash: c.TxID, Index: c.Vout}] = c
	}
	fp := spec.Deriver.AccountFingerprint()
	u, err := psbt.NewUpdater(pkt)
	if err != nil {
		return nil, fmt.Errorf("build batch: %w", err)
	}
	b := &Batch{Packet: pkt, Payouts: payouts, Fee: fee, VSize: TxVSize(tx), ChangeVout: -1}
	for i, in := range tx.TxIn {
		c := byOutpoint[in.PreviousOutPoint]
		prev, err := spec.PrevTx(c.TxID)
		if err != nil {
			return nil, fmt.Errorf("build batch: previous transaction %s: %w", c.TxID, err)
		}
		if prev.TxHash() != c.TxID || int(c.Vout) >= len(prev.TxOut) ||
			prev.TxOut[c.Vout].Value != c.Amount || !bytes.Equal(prev.TxOut[c.Vout].PkScript, c.PkScript) {
			return nil, fmt.Errorf("build batch: output %s:%d is not what the node holds", c.TxID, c.Vout)
		}
		pub, err := spec.Deriver.PubKey(c.Branch, c.Index)
		if err != nil {
			return nil, fmt.Errorf("build batch: %w", err)
		}
		if !bytes.Equal(p2wpkhScript(pub), c.PkScript) {
			return nil, fmt.Errorf("build batch: output %s:%d is not at path %d/%d of the account key", c.TxID, c.Vout, c.Branch, c.Index)
		}
		if err := u.AddInNonWitnessUtxo(prev, i); err != nil {
			return nil, fmt.Errorf("build batch: input %d: %w", i, err)
		}
		if err := u.AddInWitnessUtxo(wire.NewTxOut(c.Amount, c.PkScript), i); err != nil {
			return nil, fmt.Errorf("build batch: input %d: %w", i, err)
		}
		if err := u.AddInSighashType(txscript.SigHashAll, i); err != nil {
			return nil, fmt.Errorf("build batch: input %d: %w", i, err)
		}
		if err := u.AddInBip32Derivation(fp, spec.Deriver.Path(c.Branch, c.Index), pub, i); err != nil {
			return nil, fmt.Errorf("build batch: input %d: %w", i, err)
		}
		b.Inputs = append(b.Inputs, c)
	}
	if change > 0 {
		pub, err := spec.Deriver.PubKey(1, spec.ChangeIndex)
		if err != nil {
			return nil, fmt.Errorf("build batch: %w", err)
		}
		for i, out := range tx.TxOut {
			if bytes.Equal(out.PkScript, changeScript) {
				if err := u.AddOutBip32Derivation(fp, spec.Deriver.Path(1, spec.ChangeIndex), pub, i); err != nil {
					return nil, fmt.Errorf("build batch: change output: %w", err)
				}
				b.ChangeVout, b.ChangeAmount, b.ChangeScript = i, change, changeScript
				break
			}
		}
		if b.ChangeVout < 0 {
			return nil, errors.New("build batch: change output lost in sorting")
		}
	}
	return b, nil
}

// p2wpkhScript is OP_0 <hash160(pub)>.
func p2wpkhScript(pub []byte) []byte {
	s, _ := txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(btcutil.Hash160(pub)).Script()
	return s
}

// fingerprint is a key's BIP32 fingerprint as psbt stores it (the first
// four bytes of hash160(pubkey), read little-endian so they serialize in
// order).
func fingerprint(pub []byte) uint32 {
	return binary.LittleEndian.Uint32(btcutil.Hash160(pub)[:4])
}

// AccountFingerprint is the account key's fingerprint, written into every
// derivation of a batch.
func (d *Deriver) AccountFingerprint() uint32 {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], d.receive.ParentFingerprint())
	return binary.LittleEndian.Uint32(b[:])
}

// Path is the full BIP84 path m/84'/coin'/0'/branch/index.
func (d *Deriver) Path(branch, index uint32) []uint32 {
	return bip84Path(d.params, branch, index)
}

func bip84Path(p *chaincfg.Params, branch, index uint32) []uint32 {
	h := uint32(hdkeychain.HardenedKeyStart)
	return []uint32{h + 84, h + p.HDCoinType, h + 0, branch, index}
}

// PubKey is the compressed public key at branch/index of the account.
func (d *Deriver) PubKey(branch, index uint32) ([]byte, error) {
	var k *hdkeychain.ExtendedKey
	switch branch {
	case 0:
		k = d.receive
	case 1:
		k = d.internal
	default:
		return nil, fmt.Errorf("branch %d is neither receive (0) nor change (1)", branch)
	}
	if index >= hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("index %d out of range", index)
	}
	child, err := k.Derive(index)
	if err != nil {
		return nil, fmt.Errorf("derive %d/%d: %w", branch, index, err)
	}
	pub, err := child.ECPubKey()
	if err != nil {
		return nil, fmt.Errorf("derive %d/%d: %w", branch, index, err)
	}
	return pub.SerializeCompressed(), nil
}

// EncodePSBT is the base64 form of a packet.
func EncodePSBT(p *psbt.Packet) (string, error) {
	s, err := p.B64Encode()
	if err != nil {
		return "", fmt.Errorf("encode psbt: %w", err)
	}
	return s, nil
}

// DecodePSBT parses a base64 (or binary) PSBT.
func DecodePSBT(data []byte) (*psbt.Packet, error) {
	data = bytes.TrimSpace(data)
	b64 := !bytes.HasPrefix(data, []byte("psbt\xff"))
	p, err := psbt.NewFromRawBytes(bytes.NewReader(data), b64)
	if err != nil {
		return nil, fmt.Errorf("decode psbt: %w", err)
	}
	return p, nil
}

// PSBTBytes is the binary serialization of a packet.
func PSBTBytes(p *psbt.Packet) ([]byte, error) {
	var b bytes.Buffer
	if err := p.Serialize(&b); err != nil {
		return nil, fmt.Errorf("serialize psbt: %w", err)
	}
	return b.Bytes(), nil
}

// UnsignedBytes is tx without witnesses or scriptSigs: what a batch fixes.
func UnsignedBytes(tx *wire.MsgTx) ([]byte, error) {
	c := tx.Copy()
	for _, in := range c.TxIn {
		in.SignatureScript, in.Witness = nil, nil
	}
	var b bytes.Buffer
	if err := c.SerializeNoWitness(&b); err != nil {
		return nil, fmt.Errorf("serialize transaction: %w", err)
	}
	return b.Bytes(), nil
}

// SignerPolicy bounds what a signer signs.
type SignerPolicy struct {
	MaxFeeRate int64 // sat/vB (default 100)
	MaxFee     int64 // sats (default 500,000)
}

func (p SignerPolicy) withDefaults() SignerPolicy {
	if p.MaxFeeRate <= 0 {
		p.MaxFeeRate = 100
	}
	if p.MaxFee <= 0 {
		p.MaxFee = 500_000
	}
	return p
}

// BatchSummary is what a checked batch does.
type BatchSummary struct {
	TxID    string
	Inputs  int
	In      int64
	Paid    int64 // Σ payouts
	Change  int64
	Fee     int64
	VSize   int64
	FeeRate float64
}

// AccountSigner holds the account extended private key m/84'/coin'/0'.
type AccountSigner struct {
	params   *chaincfg.Params
	receive  *hdkeychain.ExtendedKey
	internal *hdkeychain.ExtendedKey
	fp       uint32
}

// NewAccountSigner prepares a signer for the account xprv (as returned by
// LoadAccountXprv).
func NewAccountSigner(acct *hdkeychain.ExtendedKey, params *chaincfg.Params) (*AccountSigner, error) {
	if acct == nil || params == nil {
		return nil, errors.New("signer: nil key or params")
	}
	if !acct.IsPrivate() {
		return nil, errors.New("signer: the account key is public; a signer needs the extended private key")
	}
	if acct.Depth() != 3 {
		return nil, fmt.Errorf("signer: the key is at depth %d; want the BIP84 account key m/84'/coin'/0' (depth 3)", acct.Depth())
	}
	recv, err := acct.Derive(0)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	chg, err := acct.Derive(1)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	pub, err := acct.ECPubKey()
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &AccountSigner{params: params, receive: recv, internal: chg, fp: fingerprint(pub.SerializeCompressed())}, nil
}

// key returns the private key at a batch derivation, refusing any that is
// not m/84'/coin'/0'/{0,1}/i under this account.
func (s *AccountSigner) key(d *psbt.Bip32Derivation, wantBranch int) (*btcec.PrivateKey, error) {
	if d.MasterKeyFingerprint != s.fp {
		return nil, fmt.Errorf("derivation fingerprint %08x is not this account's (%08x)", d.MasterKeyFingerprint, s.fp)
	}
	p := d.Bip32Path
	want := bip84Path(s.params, 0, 0)
	if len(p) != 5 || p[0] != want[0] || p[1] != want[1] || p[2] != want[2] || p[3] > 1 || p[4] >= hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("derivation path %s is not m/84'/%d'/0'/{0,1}/i", pathString(p), s.params.HDCoinType)
	}
	if wantBranch >= 0 && p[3] != uint32(wantBranch) {
		return nil, fmt.Errorf("derivation path %s is not on branch %d", pathString(p), wantBranch)
	}
	chain := s.receive
	if p[3] == 1 {
		chain = s.internal
	}
	child, err := chain.Derive(p[4])
	if err != nil {
		return nil, fmt.Errorf("derive %s: %w", pathString(p), err)
	}
	priv, err := child.ECPrivKey()
	if err != nil {
		return nil, fmt.Errorf("derive %s: %w", pathString(p), err)
	}
	if !bytes.Equal(priv.PubKey().SerializeCompressed(), d.PubKey) {
		return nil, fmt.Errorf("the key at %s is not the one the batch names", pathString(p))
	}
	return priv, nil
}

func pathString(p []uint32) string {
	var b bytes.Buffer
	b.WriteString("m")
	for _, i := range p {
		if i >= hdkeychain.HardenedKeyStart {
			fmt.Fprintf(&b, "/%d'", i-hdkeychain.HardenedKeyStart)
		} else {
			fmt.Fprintf(&b, "/%d", i)
		}
	}
	return b.String()
}

func refuse(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBatchRefused, fmt.Sprintf(format, a...))
}

// Check verifies a batch before signing: every input is this account's
// P2WPKH output with its whole previous transaction; every output is
// either exactly one listed payout (address and amount) or change to this
// account's change branch; every listed payout is paid once; at most one
// change output; and the fee is positive and within the policy.
func (s *AccountSigner) Check(p *psbt.Packet, payouts []PayoutOutput, pol SignerPolicy) (BatchSummary, error) {
	pol = pol.withDefaults()
	var sum BatchSummary
	tx := p.UnsignedTx
	if tx == nil || len(tx.TxIn) == 0 || len(tx.TxOut) == 0 {
		return sum, refuse("empty transaction")
	}
	if len(p.Inputs) != len(tx.TxIn) || len(p.Outputs) != len(tx.TxOut) {
		return sum, refuse("the PSBT's input or output maps do not match its transaction")
	}
	if len(payouts) == 0 {
		return sum, refuse("no payouts listed")
	}
	seen := map[wire.OutPoint]bool{}
	for i, in := range p.Inputs {
		op := tx.TxIn[i].PreviousOutPoint
		if seen[op] {
			return sum, refuse("input %d spends %s twice", i, op)
		}
		seen[op] = true
		if in.WitnessUtxo == nil || in.NonWitnessUtxo == nil {
			return sum, refuse("input %d lacks its previous output or transaction", i)
		}
		if in.NonWitnessUtxo.TxHash() != op.Hash || int(op.Index) >= len(in.NonWitnessUtxo.TxOut) {
			return sum, refuse("input %d: the previous transaction is not %s", i, op.Hash)
		}
		prev := in.NonWitnessUtxo.TxOut[op.Index]
		if prev.Value != in.WitnessUtxo.Value || !bytes.Equal(prev.PkScript, in.WitnessUtxo.PkScript) {
			return sum, refuse("input %d: the stated amount or script differs from the previous transaction", i)
		}
		if in.RedeemScript != nil || in.WitnessScript != nil || in.FinalScriptSig != nil || in.FinalScriptWitness != nil {
			return sum, refuse("input %d is not a plain P2WPKH input", i)
		}
		if in.SighashType != 0 && in.SighashType != txscript.SigHashAll {
			return sum, refuse("input %d asks for sighash %v; only ALL is signed", i, in.SighashType)
		}
		if len(in.Bip32Derivation) != 1 {
			return sum, refuse("input %d has %d derivations; want 1", i, len(in.Bip32Derivation))
		}
		if _, err := s.key(in.Bip32Derivation[0], -1); err != nil {
			return sum, refuse("input %d: %v", i, err)
		}
		if !bytes.Equal(p2wpkhScript(in.Bip32Derivation[0].PubKey), prev.PkScript) {
			return sum, refuse("input %d does not pay this account's key at the stated path", i)
		}
		if prev.Value <= 0 {
			return sum, refuse("input %d has no value", i)
		}
		sum.In += prev.Value
	}
	wanted := make(map[string][]string, len(payouts)) // script|amount → payout ids
	keyOf := func(script []byte, amount int64) string { return fmt.Sprintf("%x|%d", script, amount) }
	for _, po := range payouts {
		_, script, err := DecodeAddress(po.Address, s.params)
		if err != nil {
			return sum, refuse("payout %s: %v", po.ID, err)
		}
		if po.Amount <= 0 {
			return sum, refuse("payout %s: amount %d", po.ID, po.Amount)
		}
		k := keyOf(script, po.Amount)
		wanted[k] = append(wanted[k], po.ID)
		sum.Paid += po.Amount
	}
	changes := 0
	var out int64
	for i, o := range tx.TxOut {
		out += o.Value
		pout := p.Outputs[i]
		if len(pout.Bip32Derivation) > 0 {
			if len(pout.Bip32Derivation) != 1 {
				return sum, refuse("output %d has %d derivations", i, len(pout.Bip32Derivation))
			}
			if _, err := s.key(pout.Bip32Derivation[0], 1); err != nil {
				return sum, refuse("change output %d: %v", i, err)
			}
			if !bytes.Equal(p2wpkhScript(pout.Bip32Derivation[0].PubKey), o.PkScript) {
				return sum, refuse("change output %d does not pay this account's key at the stated path", i)
			}
			changes++
			sum.Change += o.Value
			continue
		}
		k := keyOf(o.PkScript, o.Value)
		if len(wanted[k]) == 0 {
			return sum, refuse("output %d (%d sats) matches no listed payout", i, o.Value)
		}
		wanted[k] = wanted[k][1:]
	}
	for _, po := range payouts {
		_, script, _ := DecodeAddress(po.Address, s.params)
		if left := wanted[keyOf(script, po.Amount)]; len(left) > 0 {
			return sum, refuse("payout %s (%d sats to %s) is not paid", left[0], po.Amount, po.Address)
		}
	}
	if changes > 1 {
		return sum, refuse("%d change outputs; at most one", changes)
	}
	sum.Fee = sum.In - out
	sum.VSize = TxVSize(tx)
	sum.Inputs = len(tx.TxIn)
	sum.TxID = tx.TxHash().String()
	if sum.Fee <= 0 {
		return sum, refuse("the fee is %d sats", sum.Fee)
	}
	sum.FeeRate = float64(sum.Fee) / float64(sum.VSize)
	if sum.Fee > pol.MaxFee {
		return sum, refuse("the fee of %d sats is above the bound of %d sats", sum.Fee, pol.MaxFee)
	}
	if sum.Fee > pol.MaxFeeRate*sum.VSize {
		return sum, refuse("the fee rate of %.1f sat/vB is above the bound of %d sat/vB", sum.FeeRate, pol.MaxFeeRate)
	}
	return sum, nil
}

// Sign adds this account's signature to every input of a checked batch.
func (s *AccountSigner) Sign(p *psbt.Packet) error {
	tx := p.UnsignedTx
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for i, in := range p.Inputs {
		if in.WitnessUtxo == nil {
			return refuse("input %d lacks its previous output", i)
		}
		fetcher.AddPrevOut(tx.TxIn[i].PreviousOutPoint, in.WitnessUtxo)
	}
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	u, err := psbt.NewUpdater(p)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	for i, in := range p.Inputs {
		if len(in.Bip32Derivation) != 1 {
			return refuse("input %d has %d derivations; want 1", i, len(in.Bip32Derivation))
		}
		priv, err := s.key(in.Bip32Derivation[0], -1)
		if err != nil {
			return refuse("input %d: %v", i, err)
		}
		sig, err := txscript.RawTxInWitnessSignature(tx, hashes, i, in.WitnessUtxo.Value, in.WitnessUtxo.PkScript, txscript.SigHashAll, priv)
		if err != nil {
			return fmt.Errorf("sign input %d: %w", i, err)
		}
		if _, err := u.Sign(i, sig, priv.PubKey().SerializeCompressed(), nil, nil); err != nil {
			return fmt.Errorf("sign input %d: %w", i, err)
		}
	}
	return nil
}

// Finalize turns a signed batch into the transaction to broadcast. The
// submitted packet's transaction must equal unsigned (the batch's, byte
// for byte); the inputs' amounts and scripts are taken from coins (what
// the shop knows), not from the packet; every input's script must then
// execute.
func Finalize(p *psbt.Packet, unsigned []byte, coins []Coin) (*wire.MsgTx, error) {
	if p.UnsignedTx == nil {
		return nil, fmt.Errorf("%w: no transaction", ErrBatchMismatch)
	}
	got, err := UnsignedBytes(p.UnsignedTx)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(got, unsigned) {
		return nil, fmt.Errorf("%w: an input, output or amount differs", ErrBatchMismatch)
	}
	if len(coins) != len(p.UnsignedTx.TxIn) || len(p.Inputs) != len(coins) {
		return nil, fmt.Errorf("%w: %d inputs, the batch has %d", ErrBatchMismatch, len(p.Inputs), len(coins))
	}
	fetcher := txscript.NewMultiPrevOutFetcher(nil)
	for i, c := range coins {
		op := p.UnsignedTx.TxIn[i].PreviousOutPoint
		if op.Hash != c.TxID || op.Index != c.Vout {
			return nil, fmt.Errorf("%w: input %d is not %s:%d", ErrBatchMismatch, i, c.TxID, c.Vout)
		}
		prev := wire.NewTxOut(c.Amount, c.PkScript)
		fetcher.AddPrevOut(op, prev)
		in := &p.Inputs[i]
		in.WitnessUtxo = prev
		in.NonWitnessUtxo = nil // the finaliser needs only the witness output
		in.RedeemScript, in.WitnessScript = nil, nil
	}
	if err := psbt.MaybeFinalizeAll(p); err != nil {
		return nil, fmt.Errorf("%w: not fully signed: %w", ErrBatchMismatch, err)
	}
	tx, err := psbt.Extract(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBatchMismatch, err)
	}
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	for i, c := range coins {
		vm, err := txscript.NewEngine(c.PkScript, tx, i, txscript.StandardVerifyFlags, nil, hashes, c.Amount, fetcher)
		if err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrBatchMismatch, i, err)
		}
		if err := vm.Execute(); err != nil {
			return nil, fmt.Errorf("%w: input %d has no valid signature: %w", ErrBatchMismatch, i, err)
		}
	}
	return tx, nil
}
